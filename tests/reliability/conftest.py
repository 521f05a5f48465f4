"""Reliability fixtures: ONE sandbox with the module applied once, shared by every scenario.

Each scenario runs in its own domain names (`r<time>-<index>-d<n>`), so they never see each
other's profiles; faults are switched off after each one.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from studio_sandbox.harness.reliability import Env, environment

from tests.deployment import (
    EXAMPLES_DIR,
    ZIP_PATH,
    use_offline_terraform_config,
)


@pytest.fixture(scope="package")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    """The sandbox, the module applied to it, the event tap and the quota watch."""
    if not ZIP_PATH.is_file():
        pytest.fail(
            f"{ZIP_PATH} is missing: run `make build` (make test does it first)"
        )
    use_offline_terraform_config()
    with environment(
        tmp_path_factory.mktemp("reliability-sandbox"), ZIP_PATH, EXAMPLES_DIR
    ) as running:
        yield running
