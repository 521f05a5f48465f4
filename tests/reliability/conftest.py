"""Reliability fixtures: ONE sandbox with the module applied once, shared by every scenario.

Each scenario runs in its own domain names (`r<time>-<index>-d<n>`), so they never see each
other's profiles; faults are switched off after each one.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from studio_sandbox.harness.reliability import Env, environment

from tests.deployment import (
    EXAMPLES_DIR,
    ZIP_PATH,
    use_offline_terraform_config,
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Under pytest-xdist (`make test-e2e`: `-n 2 --dist loadgroup`) the scenarios share one
    worker and its one environment; that worker runs them beside the e2e package's (its
    own sandbox and apply: the scenarios need backups off and 10 slots, the e2e tests need
    backups on and 20, so the two installations stay apart)."""
    here = Path(__file__).parent
    for item in items:
        if here in Path(item.path).parents:
            item.add_marker(pytest.mark.xdist_group("reliability"))


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
