"""The restore workflow stays under Step Functions' 25,000-event execution history.

Counted from the ASL template the way docs/internals.md section 4 counts it: the events
each state type writes, the worst case of every retrier, the one loop whose length the
inputs set (the transfer wait), and the root module's bound on that loop (main.tf,
`max_transfer_checks`). A new loop, a new state in the loop or a larger retry budget fails
here until the bound and the document are checked again.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Any

import pytest

from tests.unit.test_asl_workflow import (
    TEMPLATE,
    VARIABLES,
    reachable,
    render,
    successors,
)

ROOT = Path(__file__).resolve().parents[2]
HISTORY_LIMIT = 25_000
"""Step Functions service quotas: "Maximum execution history size: 25,000 events"."""

LOOP = ["WaitForTransfer", "CheckTransfer", "TransferStatus", "CountWait"]
PER_CHECK, FIXED, MAX_CHECKS, MARGIN = 11, 1_603, 1_500, 6_899
"""The numbers docs/internals.md section 4 gives."""


def entered_and_exited(state: dict[str, Any]) -> int:
    """Events a state writes when nothing is retried."""
    kind = state["Type"]
    if kind == "Task":
        return 5  # Entered, Scheduled, Started, Succeeded (or Failed), Exited
    if kind == "Fail":
        return 2  # FailStateEntered, then ExecutionFailed
    if kind == "Succeed":
        return 3  # Entered, Exited, then ExecutionSucceeded
    return 2  # Wait, Choice, Pass: Entered, Exited


def retry_events(state: dict[str, Any]) -> int:
    """3 events (Scheduled, Started, Failed) for every retry every retrier may make."""
    return 3 * sum(int(retrier["MaxAttempts"]) for retrier in state.get("Retry", []))


def worst(state: dict[str, Any]) -> int:
    return entered_and_exited(state) + retry_events(state)


def cycles(states: dict[str, dict[str, Any]]) -> set[str]:
    """Every state on a cycle of the graph (a state that can reach itself)."""
    return {
        name
        for name, state in states.items()
        if any(name in reachable(states, after) for after in successors(state))
    }


def longest_fixed_path(states: dict[str, dict[str, Any]], start: str) -> int:
    """Most events on a path from `start` to an end, the loop counted once per state."""

    def walk(name: str, seen: frozenset[str]) -> int:
        after = [n for n in set(successors(states[name])) if n not in seen]
        rest = max((walk(n, seen | {n}) for n in after), default=0)
        return worst(states[name]) + rest

    return 1 + walk(start, frozenset({start}))  # + ExecutionStarted


@pytest.fixture(scope="module")
def asl() -> dict[str, Any]:
    parsed: dict[str, Any] = json.loads(render(TEMPLATE.read_text(), VARIABLES))
    return parsed


@pytest.fixture(scope="module")
def asl_states(asl: dict[str, Any]) -> dict[str, dict[str, Any]]:
    result: dict[str, dict[str, Any]] = asl["States"]
    return result


@pytest.fixture(scope="module")
def max_transfer_checks() -> int:
    text = (ROOT / "main.tf").read_text()
    match = re.search(r"^\s*max_transfer_checks\s*=\s*(\d+)\s*$", text, re.MULTILINE)
    assert match, "main.tf must set local.max_transfer_checks"
    return int(match.group(1))


def test_the_transfer_wait_is_the_only_loop(
    asl_states: dict[str, dict[str, Any]],
) -> None:
    assert cycles(asl_states) == set(LOOP)


def test_each_check_of_a_running_transfer_writes_eleven_events(
    asl_states: dict[str, dict[str, Any]],
) -> None:
    assert [asl_states[name]["Type"] for name in LOOP] == [
        "Wait",
        "Task",
        "Choice",
        "Pass",
    ]
    assert sum(entered_and_exited(asl_states[name]) for name in LOOP) == PER_CHECK


def test_everything_but_the_loop_writes_at_most_the_documented_fixed_events(
    asl: dict[str, Any], asl_states: dict[str, dict[str, Any]]
) -> None:
    # the loop's own asl_states are counted per check; outside it, every retry is used up
    outside = {
        name: state for name, state in asl_states.items() if name not in LOOP[1:]
    }
    outside["WaitForTransfer"] = {"Type": "Pass", "Next": "CancelTransfer"}
    fixed = longest_fixed_path(outside, asl["StartAt"]) - 2
    assert fixed == FIXED


def test_the_bound_on_checks_keeps_the_documented_margin(
    asl_states: dict[str, dict[str, Any]], max_transfer_checks: int
) -> None:
    assert max_transfer_checks == MAX_CHECKS
    most = PER_CHECK * max_transfer_checks - 2 + FIXED
    assert HISTORY_LIMIT - most == MARGIN
    # the margin is for retried DescribeTaskExecution calls: well over one per check
    assert MARGIN // 3 > max_transfer_checks
    assert retry_events(asl_states["CheckTransfer"]) == 15


@pytest.mark.parametrize(
    ("timeout", "poll", "allowed"),
    [
        (21_600, 60, True),  # the defaults: 360 checks
        (604_800, 404, True),  # the largest timeout with its shortest poll: 1,498
        (604_800, 403, False),  # 1,501
        (15_000, 10, True),  # the shortest poll with its longest timeout: 1,500
        (15_001, 10, False),
    ],
)
def test_allowed_pairs_stay_under_the_history_limit_and_the_others_do_not_plan(
    max_transfer_checks: int, timeout: int, poll: int, allowed: bool
) -> None:
    checks = math.ceil(timeout / poll)
    assert (checks <= max_transfer_checks) is allowed
    assert (poll >= math.ceil(timeout / max_transfer_checks)) is allowed
    if allowed:
        assert PER_CHECK * checks - 2 + FIXED <= HISTORY_LIMIT - MARGIN
