"""5. Deploy: `terraform apply` of the complete module (examples/sandbox, the real root
module) on the sandbox, its resource count, and a second plan (time, and changes: 0)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from studio_sandbox.harness.scenario import Terraform, apply_module

from bench.report import Goal, Results, Row

SECTION = "5 deploy"
EXAMPLES_DIR = (
    Path(__file__).resolve().parents[1] / "examples"
)  # bench runs from the repository


@dataclass
class Deployed:
    """What the restore measurements need from the applied module."""

    endpoint: str
    terraform: Terraform
    outputs: dict[str, Any]
    tf_output: Path


def run(
    results: Results,
    endpoint: str,
    zip_path: Path,
    data_dir: Path,
    log: Callable[[str], None],
) -> Deployed:
    tf, apply_s = apply_module(endpoint, zip_path, data_dir, examples_dir=EXAMPLES_DIR)
    resources = tf.resource_count()
    log(f"deploy: apply {apply_s:.1f} s, {resources} resources")
    started = time.monotonic()
    changes = tf.plan_changes()
    plan_s = time.monotonic() - started
    log(f"deploy: second plan {plan_s:.1f} s, {changes} changes")
    results.details["deploy"] = {
        "apply_seconds": apply_s,
        "resources": resources,
        "second_plan_seconds": plan_s,
        "second_plan_changes": changes,
    }
    results.add(
        Row(SECTION, "terraform apply (examples/sandbox)", apply_s, None, "s",
            note=f"{resources} resources", ratio_kind="none")
    )  # fmt: skip
    results.add(
        Row(SECTION, "second terraform plan", plan_s, apply_s, "s",
            note="baseline: the apply", ratio_kind="ours/baseline")
    )  # fmt: skip
    results.add(
        Row(SECTION, "changes proposed by the second plan", changes, None, "",
            Goal("max", 0, "0"), ratio_kind="none")
    )  # fmt: skip
    outputs = tf.outputs()
    return Deployed(endpoint, tf, outputs, tf.write_outputs(data_dir / "outputs.json"))
