"""Reliability fixtures: ONE sandbox with the module applied once, shared by every scenario.

Each scenario runs in its own domain names (`r<time>-<index>-d<n>`), so they never see each
other's profiles; faults are switched off after each one.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from studio_sandbox.harness.reliability import Env, environment

REPO_ROOT = Path(__file__).resolve().parents[2]
ZIP_PATH = REPO_ROOT / "build" / "lambda.zip"
EXAMPLES_DIR = REPO_ROOT / "examples"


def _use_offline_terraform_config() -> None:
    """Terraform must read the project's CLI config (filesystem mirror), as make exports it."""
    current = os.environ.get("TF_CLI_CONFIG_FILE", "")
    if current and Path(current).is_file():
        return
    rc = REPO_ROOT / "build" / "terraform.rc"
    if not rc.is_file():
        pytest.fail(
            f"{rc} is missing: run `scripts/tf-cli-config.sh {rc}` (make does it)"
        )
    os.environ["TF_CLI_CONFIG_FILE"] = str(rc)


@pytest.fixture(scope="package")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    """The sandbox, the module applied to it, the event tap and the quota watch."""
    if not ZIP_PATH.is_file():
        pytest.fail(
            f"{ZIP_PATH} is missing: run `make build` (make test does it first)"
        )
    _use_offline_terraform_config()
    with environment(
        tmp_path_factory.mktemp("reliability-sandbox"), ZIP_PATH, EXAMPLES_DIR
    ) as running:
        yield running
