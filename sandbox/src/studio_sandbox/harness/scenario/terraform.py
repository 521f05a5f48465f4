"""Terraform on the examples directory's `sandbox` root, and the admin CLI, against the sandbox."""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from studio_sandbox.harness.scenario.base import SANDBOX_EXAMPLE, ScenarioError

# --------------------------------------------------------------------------- Terraform


@dataclass
class Terraform:
    """`terraform` on `examples/sandbox`, with its state and data kept in the sandbox dir."""

    workdir: Path
    data_dir: Path
    variables: dict[str, str]

    def _env(self) -> dict[str, str]:
        env = dict(os.environ)
        env["TF_DATA_DIR"] = str(self.data_dir / "terraform")
        env["TF_IN_AUTOMATION"] = "1"
        env["CHECKPOINT_DISABLE"] = "1"
        return env

    def _args(self) -> list[str]:
        return [f"-var={name}={value}" for name, value in sorted(self.variables.items())]

    def _run(
        self, *args: str, ok_codes: tuple[int, ...] = (0,)
    ) -> subprocess.CompletedProcess[str]:
        command = ["terraform", f"-chdir={self.workdir}", *args]
        result = subprocess.run(
            command, env=self._env(), capture_output=True, text=True, check=False
        )
        if result.returncode not in ok_codes:
            tail = "\n".join((result.stdout + result.stderr).splitlines()[-40:])
            raise ScenarioError(f"`terraform {args[0]}` failed ({result.returncode}):\n{tail}")
        return result

    @property
    def state_path(self) -> Path:
        return self.data_dir / "terraform.tfstate"

    def init(self) -> None:
        self._run("init", "-input=false", "-no-color", "-backend=false")

    def apply(self) -> float:
        started = time.monotonic()
        self._run(
            "apply", "-auto-approve", "-input=false", "-no-color",
            f"-state={self.state_path}", *self._args(),
        )  # fmt: skip
        return time.monotonic() - started

    def plan_changes(self) -> int:
        """Number of changes a new plan proposes (0 means the apply converged)."""
        result = self._run(
            "plan", "-input=false", "-no-color", "-detailed-exitcode",
            f"-state={self.state_path}", *self._args(), ok_codes=(0, 2),
        )  # fmt: skip
        if result.returncode == 0:
            return 0
        return sum(1 for line in result.stdout.splitlines() if line.strip().startswith("# "))

    def outputs(self) -> dict[str, Any]:
        return {name: value["value"] for name, value in self.outputs_json().items()}

    def outputs_json(self) -> dict[str, Any]:
        """`terraform output -json` as the admin CLI's `--tf-output` reads it."""
        result = self._run("output", "-json", "-no-color", f"-state={self.state_path}")
        outputs: dict[str, Any] = json.loads(result.stdout)
        return outputs

    def write_outputs(self, path: Path) -> Path:
        path.write_text(json.dumps(self.outputs_json(), indent=2))
        return path

    def resource_count(self) -> int:
        result = self._run("state", "list", f"-state={self.state_path}")
        return len([line for line in result.stdout.splitlines() if line.strip()])


def sandbox_root(examples_dir: Path) -> Path:
    """`<examples_dir>/sandbox`, the root that calls the real module with the sandbox's endpoint."""
    root = Path(examples_dir).resolve() / SANDBOX_EXAMPLE
    if not (root / "main.tf").is_file():
        raise ScenarioError(
            f"{root}/main.tf does not exist: pass the repository's examples directory "
            "(--examples-dir examples)"
        )
    return root


def apply_module(
    endpoint: str, zip_path: Path, data_dir: Path, *, examples_dir: Path
) -> tuple[Terraform, float]:
    """Apply `examples/sandbox` (the real root module) to the sandbox; return it and the time."""
    return apply_module_with(endpoint, zip_path, data_dir, {}, examples_dir=examples_dir)


def admin(endpoint: str, tf_output: Path, *args: str) -> tuple[int, str]:
    """Run the admin CLI `studio-recovery` in-process, as an admin would; (exit code, output)."""
    from studio_recovery.cli.main import main as cli_main  # the CLI is an optional extra

    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        code = cli_main(["--endpoint-url", endpoint, "--tf-output", str(tf_output), *args])
    return code, buffer.getvalue()


def apply_module_with(
    endpoint: str, zip_path: Path, data_dir: Path, variables: dict[str, str], *, examples_dir: Path
) -> tuple[Terraform, float]:
    """:func:`apply_module` with more `examples/sandbox` variables (timeouts, concurrency)."""
    if not zip_path.is_file():
        raise ScenarioError(f"{zip_path} does not exist: run `make build` first")
    if shutil.which("terraform") is None:
        raise ScenarioError("terraform is not on PATH: install Terraform 1.5 or newer")
    workdir = sandbox_root(examples_dir)
    tf = Terraform(
        workdir=workdir,
        data_dir=data_dir,
        variables={
            **variables,
            "sandbox_endpoint": endpoint,
            "lambda_package_path": str(zip_path.resolve()),
        },
    )
    tf.init()
    return tf, tf.apply()
