"""5. Deploy: `terraform apply` of the complete module (examples/sandbox, the real root
module) on the sandbox, its resource count, and a second plan (time, and changes: 0).

The apply runs with `-json`, whose per-resource timestamps show where its time goes: each
resource type with a wait the provider makes whatever the API answers stands beside that
floor (bench/apply_profile.py), so what the sandbox adds is the difference."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from studio_sandbox.harness.scenario import Terraform
from studio_sandbox.harness.scenario.terraform import sandbox_root

from bench.apply_profile import (
    PROVIDER_FLOORS,
    apply_json,
    first_start_seconds,
    parse_apply_log,
    resource_type,
)
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
    if not zip_path.is_file():
        raise RuntimeError(f"{zip_path} does not exist: run `make build` first")
    tf = Terraform(
        workdir=sandbox_root(EXAMPLES_DIR),
        data_dir=data_dir,
        variables={
            "sandbox_endpoint": endpoint,
            "lambda_package_path": str(zip_path.resolve()),
        },
    )
    tf.init()
    apply_s, lines, _stderr = apply_json(tf)
    _where_the_apply_goes(results, lines)
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


def _where_the_apply_goes(results: Results, lines: list[str]) -> None:
    spans = parse_apply_log(lines)
    startup = first_start_seconds(lines)
    results.details.setdefault("deploy_resources", {})["slowest"] = [
        {"address": s.address, "seconds": round(s.seconds, 2)} for s in spans[:20]
    ]
    results.add(
        Row(SECTION, "apply: before the first resource starts", startup, None, "s",
            note="Terraform and three provider starts (validate, plan, apply), the plan",
            ratio_kind="none")
    )  # fmt: skip
    for kind, floor, why, fastest in PROVIDER_FLOORS:
        times = [s.seconds for s in spans if resource_type(s.address) == kind]
        if not times:
            continue
        which = "fastest" if fastest else "slowest"
        results.add(
            Row(SECTION, f"apply: {which} {kind} (x{len(times)}) vs the provider's floor",
                min(times) if fastest else max(times), floor, "s", Goal("max", floor * 1.25 + 1, "within 25% of the floor"),
                f"floor: {why}; the sandbox answers at once", ratio_kind="ours/baseline")
        )  # fmt: skip
