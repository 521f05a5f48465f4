"""The Terraform aws provider applies to the sandbox and a second plan shows no changes.

Applies sandbox/tests/tf (the resource types that need the compatibility fixes in
studio_sandbox/server/compat.py) to an in-process sandbox with the real provider.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest

from studio_sandbox.server.app import Sandbox

ROOT = Path(__file__).parent / "tf"
REPO = Path(__file__).resolve().parents[2]
TF_RC = REPO / "build" / "terraform.rc"


def _terraform(workdir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "TF_CLI_CONFIG_FILE": str(TF_RC),
        "TF_IN_AUTOMATION": "1",
        "CHECKPOINT_DISABLE": "1",
    }
    return subprocess.run(
        ["terraform", f"-chdir={workdir}", *args, "-no-color"],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
        check=False,
    )


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the test root with its function zip; terraform initialised."""
    if not TF_RC.is_file():
        subprocess.run([str(REPO / "scripts" / "tf-cli-config.sh"), str(TF_RC)], check=True)
    workdir = tmp_path_factory.mktemp("tf-compat")
    shutil.copy(ROOT / "main.tf", workdir / "main.tf")
    with zipfile.ZipFile(workdir / "function.zip", "w") as zf:
        zf.writestr(
            "app.py",
            "def handler(event, context):\n    return {'pong': event.get('ping')}\n",
        )
    init = _terraform(workdir, "init", "-input=false", "-backend=false")
    assert init.returncode == 0, init.stdout + init.stderr
    return workdir


def test_apply_then_plan_shows_no_changes(root: Path, sandbox: Sandbox) -> None:
    endpoint = f"-var=sandbox_endpoint={sandbox.endpoint_url}"

    apply = _terraform(root, "apply", "-auto-approve", "-input=false", endpoint)
    assert apply.returncode == 0, apply.stdout[-4000:] + apply.stderr

    output = _terraform(root, "output", "-json")
    assert '"pong": "terraform"' in output.stdout.replace(
        '"pong":"terraform"', '"pong": "terraform"'
    )

    plan = _terraform(root, "plan", "-input=false", "-detailed-exitcode", endpoint)
    assert plan.returncode == 0, plan.stdout[-4000:] + plan.stderr  # 2 would mean a diff
    assert "No changes." in plan.stdout
