"""8. Time to a restore: from a recreation to the restored files, with DataSync's phases
lasting what they last on AWS, and what part of that time the product itself adds.

Ours, measured on the applied module: a profile with the demo's home is recorded and
deleted; then the sandbox's DataSync phases are given `ASSUMED_PHASES` and the workflow's
poll the module's default (`poll_interval_seconds` 60, set on the deployed state machine,
as the default variable would), and the profile is recreated with its app opened at once.
The time runs from CreateUserProfile until the restore record is SUCCEEDED (the files are
in the new home then). The product's own part is all of it but DataSync's execution
(its TotalDuration); the execution history splits it into: before the workflow (event
Lambda, registry, stream batching window, stream Lambda), Prepare (the slot, access point,
locations, task), StartTransfer, the poll (from the end of DataSync's execution to the check
that sees it), and Finalize.

Baseline, modelled from the original sample's workflow at the same settings (the way
bench/baseline_seeder.py models its seeder; DESIGN.md section 5): its stream Lambda starts
the execution; ListApps is checked (Task, Choice, Wait 300 s) and finds the app opened at
the recreation; two locations and a task are created and started; DescribeTaskExecution
is checked at once and every 30 s, so the end is seen at the first multiple of 30 s at or
after DataSync's duration. Its Lambdas and API calls are counted as taking no time, which
favours the baseline.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from studio_sandbox.datasync import models as datasync_models

from bench import prices
from bench.deploy import Deployed
from bench.report import Goal, Results, Row
from bench.restores import (
    MODULE_POLL_S,
    TERMINAL,
    _create,
    _history,
    _prepare_generation_one,
    _restores,
    _s,
    _wait,
    open_domain,
)
from bench.sandbox_setup import client

SECTION = "8 time to a restore"
DOMAIN = "latency"
NAME = "latency-home"
ASSUMED_PHASES = {
    "LAUNCHING": 10.0,
    "PREPARING": 10.0,
    "TRANSFERRING": 30.0,
    "VERIFYING": 10.0,
}
"""Seconds per phase: an ASSUMPTION. AWS publishes no per-phase figures (the user guide:
LAUNCHING "usually goes quickly but can take up to a few minutes", PREPARING "minutes or a
few hours depending on the number of files"); the sample's blog measured "roughly 1 minute"
for 1 GB, so the four phases add up to 60 s, split by judgement."""
GOAL_OWN_SHARE = 0.10
Log = Callable[[str], None]


def original_latency(datasync_s: float) -> float:
    """Seconds from a recreation to the restored files in the original's workflow, its own
    steps taking no time: ListApps finds the app at the first check, DescribeTaskExecution
    sees the end at the first multiple of its 30 s poll at or after `datasync_s`."""
    polls = max(1, math.ceil(datasync_s / prices.SAMPLE_DATASYNC_POLL_S))
    return polls * prices.SAMPLE_DATASYNC_POLL_S


def split_history(
    events: list[dict[str, Any]], recreated_at: float, datasync_s: float
) -> dict[str, float]:
    """Seconds of the product's own steps, from one restore execution's history."""

    def at(event: dict[str, Any]) -> float:
        stamp = event["timestamp"]
        return stamp.timestamp() if isinstance(stamp, datetime) else float(stamp)

    entered: dict[str, list[float]] = {}
    exited: dict[str, list[float]] = {}
    for event in events:
        details = event.get("stateEnteredEventDetails") or event.get(
            "stateExitedEventDetails"
        )
        if not details:
            continue
        book = entered if event["type"].endswith("StateEntered") else exited
        book.setdefault(details["name"], []).append(at(event))

    def spent(state: str) -> float:
        return sum(b - a for a, b in zip(entered.get(state, []), exited.get(state, [])))

    started = at(events[0])
    transfer_started = exited["StartTransfer"][-1]
    seen = exited["CheckTransfer"][-1]
    return {
        "before the workflow (event, registry, stream batching, stream Lambda)": started
        - recreated_at,
        "Prepare (slot, access point, locations, task)": spent("Prepare"),
        "StartTransfer": spent("StartTransfer"),
        "poll (DataSync ended until a check saw it)": max(
            0.0, seen - (transfer_started + datasync_s)
        ),
        "Finalize (task report, record, clean-up)": spent("Finalize"),
    }


@contextmanager
def _aws_timing(env: Deployed, poll_s: float) -> Iterator[None]:
    """DataSync phases at `ASSUMED_PHASES`, the workflow polling every `poll_s`."""
    sfn = client("stepfunctions", env.endpoint, observer=True)
    arn = env.outputs["state_machine_arn"]
    original = sfn.describe_state_machine(stateMachineArn=arn)["definition"]
    definition = json.loads(original)
    definition["States"]["WaitForTransfer"]["Seconds"] = int(poll_s)
    sfn.update_state_machine(stateMachineArn=arn, definition=json.dumps(definition))
    datasync_models.set_phase_durations(**ASSUMED_PHASES)
    try:
        yield
    finally:
        datasync_models.set_phase_durations()
        sfn.update_state_machine(stateMachineArn=arn, definition=original)


def run(results: Results, env: Deployed, log: Log) -> None:
    studio, domain_id = open_domain(env, DOMAIN)
    _prepare_generation_one(env, studio, domain_id, [NAME], 1, log, domain=DOMAIN)
    with _aws_timing(env, MODULE_POLL_S):
        recreated_at = time.time()
        _create(studio, domain_id, NAME, open_app=True)
        _wait(
            "the restore at AWS phase durations",
            lambda: any(
                _s(i, "status") in TERMINAL for i in _restores(env, {NAME}, 2, DOMAIN)
            ),
            timeout=900,
            every=0.2,
        )
        total = time.time() - recreated_at
    item = _restores(env, {NAME}, 2, DOMAIN)[0]
    status = _s(item, "status")
    datasync_s = float(_s(item, "total_duration_ms") or 0) / 1000
    parts = split_history(
        _history(env, _s(item, "execution_arn")), recreated_at, datasync_s
    )
    own = total - datasync_s
    baseline = original_latency(datasync_s)
    baseline_own = baseline - datasync_s
    log(
        f"latency: {status} in {total:.1f} s, DataSync {datasync_s:.1f} s, own {own:.1f} s"
    )
    results.details["latency"] = {
        "status": status,
        "total_seconds": total,
        "datasync_seconds": datasync_s,
        "assumed_phases": ASSUMED_PHASES,
        "poll_interval_seconds": MODULE_POLL_S,
        "parts": parts,
        "original_modelled_seconds": baseline,
    }
    phases = ", ".join(f"{k} {v:.0f} s" for k, v in ASSUMED_PHASES.items())
    add = results.add
    add(Row(SECTION, f"restore status ({status})", float(status == "SUCCEEDED"), 1, "",
            goal=Goal("min", 1, "SUCCEEDED")))  # fmt: skip
    add(Row(SECTION, "time from a recreation to the restored files", total, baseline, "s",
            note=(f"DataSync phases ASSUMED: {phases}; poll {MODULE_POLL_S:.0f} s (the "
                  "module's default); baseline: the original's workflow, modelled, at the "
                  "same phases (ListApps finds the app at once, DataSync polled every 30 s)")))  # fmt: skip
    add(Row(SECTION, "DataSync's execution (TotalDuration, measured)", datasync_s, datasync_s,
            "s", note="the same execution in both"))  # fmt: skip
    add(Row(SECTION, "the product's own part (all but DataSync's execution)", own,
            baseline_own, "s", note="baseline: the original's own part, modelled"))  # fmt: skip
    add(Row(SECTION, "own part as a share of the total", own / total, baseline_own / baseline,
            "", goal=Goal("max", GOAL_OWN_SHARE, "<= 10% of the total"),
            ratio_kind="none"))  # fmt: skip
    for label, seconds in parts.items():
        add(Row(SECTION, f"own part: {label}", seconds, None, "s"))
