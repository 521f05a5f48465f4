"""The invariants checked after each scenario, and the row that reports them."""

from __future__ import annotations

import json
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from studio_sandbox.harness.reliability.env import (
    MAX_CONCURRENT_RESTORES,
    OWN_FILE,
    Env,
    Scenario,
    Target,
)
from studio_sandbox.harness.reliability.steps import (
    executions_since,
    restores_of,
)
from studio_sandbox.harness.scenario import (
    leftovers,
)

# --------------------------------------------------------------------------- invariants


@dataclass
class Row:
    """One scenario's figures (the table's columns) and what went wrong."""

    scenario: str
    events_sent: int = 0
    restores_expected: int = 0
    restores_done: int = 0
    lost: int = 0
    duplicated: int = 0
    wrong_source: int = 0
    files_clobbered: int = 0
    leftovers: int = 0
    failures: int = 0
    failures_visible: int = 0
    seconds: float = 0.0
    peak_tasks: int = 0
    stream_backlog: int = 0
    faults_fired: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def _execution_targets(env: Env, since: float) -> Counter[tuple[str, str, str, int]]:
    """SUCCEEDED restore executions per target (domain, kind, name, generation)."""
    sfn = env.client("stepfunctions")
    counts: Counter[tuple[str, str, str, int]] = Counter()
    for execution in executions_since(env, since):
        if execution["status"] != "SUCCEEDED":
            continue
        described = sfn.describe_execution(executionArn=execution["executionArn"])
        target = json.loads(described.get("input") or "{}").get("target") or {}
        if "bucket" in target:  # a backup (its target is S3), not a restore
            continue
        counts[
            (
                str(target.get("domain_name")),
                str(target.get("kind")),
                str(target.get("name")),
                int(target.get("generation", -1)),
            )
        ] += 1
    return counts


def _source_ok(item: dict[str, Any], target: Target) -> bool:
    source = item.get("source") or {}
    return (
        int(source.get("generation", -1)) == 1
        and str(source.get("uid")) == str(target.old.uid)
        and str(source.get("efs_id")) == target.old.efs_id
    )


def _content_problems(target: Target) -> list[str]:
    assert target.new is not None
    problems = []
    for rel, data in target.files.items():
        path = target.new.path / rel
        if not path.is_file() or path.read_bytes() != data:
            problems.append(f"{target.name}: {rel} not restored byte for byte")
    return problems


def check(env: Env, scenario: Scenario, targets: list[Target], since: float, row: Row) -> None:
    """Fill the row's figures and problems from what the system recorded."""
    executions = _execution_targets(env, since)
    notes = env.drain(env.notify_queue)
    dead = env.drain(str(env.outputs["event_dead_letter_queue_url"]))
    for target in targets:
        _check_target(env, scenario, target, executions, notes, row)
    if dead:
        row.failures += len(dead)
        row.failures_visible += len(dead)  # a dead letter is a visible failure
    if scenario.extra_failures is not None:
        failures, visible = scenario.extra_failures(env)
        row.failures += failures
        row.failures_visible += visible
    left = _leftovers(env)
    row.leftovers = sum(len(v) for v in left.values())
    row.stream_backlog = env.stream_backlog()
    row.peak_tasks = env.quota.peak
    summarise(row, left)


def _check_target(
    env: Env,
    scenario: Scenario,
    target: Target,
    executions: Counter[tuple[str, str, str, int]],
    notes: list[str],
    row: Row,
) -> None:
    items = restores_of(env, target)
    succeeded = [i for i in items if i.get("status") == "SUCCEEDED"]
    failed = [i for i in items if i.get("status") in ("FAILED",)]
    key = (target.domain_name, target.kind, target.name, 2)
    if scenario.expect == "restore":
        row.restores_expected += 1
    row.restores_done += 1 if succeeded else 0
    if len(succeeded) > 1 or executions[key] > 1:
        row.duplicated += 1
        row.problems.append(
            f"{target.name}: {len(succeeded)} SUCCEEDED restores, {executions[key]} executions"
        )
    row.wrong_source += sum(1 for i in items if not _source_ok(i, target))
    if target.new is not None and (target.new.path / OWN_FILE).exists():
        if (target.new.path / OWN_FILE).read_bytes() != target.own_bytes:
            row.files_clobbered += 1
    elif target.new is not None and scenario.expect != "any":
        row.files_clobbered += 1
    if succeeded and target.new is not None:
        wrong = _content_problems(target)
        row.wrong_source += 1 if wrong else 0
        row.problems += wrong[:3]
    visible = [i for i in failed if _failure_visible(env, i, target, notes)]
    row.failures += len(failed)
    row.failures_visible += len(visible)
    if not succeeded and not visible:
        row.lost += 1
        statuses = [i.get("status") for i in items]
        row.problems.append(f"{target.kind} {target.name}: no restore and no failure {statuses}")
    if scenario.expect == "restore" and not succeeded:
        reasons = [str(i.get("reason")) for i in failed]
        row.problems.append(f"{target.kind} {target.name}: not restored, failed: {reasons}")
    if scenario.expect == "fail" and succeeded:
        row.problems.append(f"{target.kind} {target.name}: restored despite the fault")


def _failure_visible(env: Env, item: dict[str, Any], target: Target, notes: list[str]) -> bool:
    """A FAILED restore is visible with a reason, a FAILED execution and an SNS message."""
    if not item.get("reason"):
        return False
    arn = item.get("execution_arn")
    if arn:
        status = env.client("stepfunctions").describe_execution(executionArn=arn)["status"]
        if status not in ("FAILED", "TIMED_OUT", "ABORTED"):
            return False
    return any(target.domain_name in n and target.name in n for n in notes)


def _leftovers(env: Env, timeout: float = 30) -> dict[str, list[str]]:
    deadline = time.monotonic() + timeout
    while True:
        left = leftovers(env.endpoint)
        if not any(left.values()) or time.monotonic() > deadline:
            return left
        time.sleep(1)


def summarise(row: Row, left: dict[str, list[str]]) -> None:
    if row.lost:
        row.problems.append(f"{row.lost} lost")
    if row.wrong_source:
        row.problems.append(f"{row.wrong_source} restores from a wrong source or with wrong data")
    if row.files_clobbered:
        row.problems.append(f"{row.files_clobbered} files of the new owners clobbered")
    if row.leftovers:
        row.problems.append(f"left behind: {left}")
    if row.failures_visible < row.failures:
        row.problems.append(f"{row.failures - row.failures_visible} failures not visible")
    if row.peak_tasks > MAX_CONCURRENT_RESTORES:
        row.problems.append(f"{row.peak_tasks} DataSync tasks at once > {MAX_CONCURRENT_RESTORES}")
    if row.stream_backlog:
        row.problems.append(f"{row.stream_backlog} records stuck in the stream")
