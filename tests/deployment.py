"""Where the end-to-end and reliability suites find what `make` built, and Terraform's config."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
ZIP_PATH = REPO_ROOT / "build" / "lambda.zip"
EXAMPLES_DIR = REPO_ROOT / "examples"


def use_offline_terraform_config() -> None:
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
