"""Fixtures of the sandbox suite; tests/e2e imports them from here too.

`sandbox` starts one in-process sandbox per test module on a free loopback port, with its
data in a temporary directory, and stops it afterwards (so moto's global state and the
patches never leak into other suites).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from sandbox.tests.helpers import SandboxClients
from studio_sandbox.server.app import Sandbox

__all__ = ["aws", "sandbox"]


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    """A running sandbox for the test module."""
    data_dir: Path = tmp_path_factory.mktemp("sandbox")
    with Sandbox(port=0, data_dir=data_dir) as running:
        yield running


@pytest.fixture(scope="module")
def aws(sandbox: Sandbox) -> SandboxClients:
    """boto3 clients pointed at the module's sandbox."""
    return SandboxClients(sandbox.endpoint_url)


def client_factory(endpoint_url: str) -> Callable[[str], Any]:
    """A function returning boto3 clients for `endpoint_url` (for tests/e2e)."""
    return SandboxClients(endpoint_url).client
