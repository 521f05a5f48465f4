"""The restore workflow's ASL template (modules/workflow/templates/restore.asl.json).

Rendered the way Terraform's templatefile would (each `${var}` replaced), then checked for
the properties the design asks for: every path ends through Finalize, no unbounded loop,
no Task without a Catch, retries only on error names that exist.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from studio_recovery.models import errors

TEMPLATE = (
    Path(__file__).resolve().parents[2]
    / "modules"
    / "workflow"
    / "templates"
    / "restore.asl.json"
)
VARIABLES: dict[str, str] = {
    "partition": "aws",
    "prepare_function_arn": "arn:aws:lambda:us-east-1:123456789012:function:sr-prepare",
    "finalize_function_arn": "arn:aws:lambda:us-east-1:123456789012:function:sr-finalize",
    "registry_table_name": "sr-registry",
    "max_concurrent_restores": "4",
    "poll_interval_seconds": "30",
    "transfer_timeout_seconds": "21600",
    "slot_wait_timeout_seconds": "3600",
}
"""Exactly the variables of docs/internals.md section 4."""

FINALIZE = "Finalize"
FINALIZE_FALLBACK = "ReleaseSlot"
TERMINAL_TYPES = {"Succeed", "Fail"}

OUR_ERRORS = {
    name
    for name, value in vars(errors).items()
    if isinstance(value, type) and issubclass(value, errors.StudioRecoveryError)
}
AWS_ERRORS = {
    "States.ALL",
    "States.TaskFailed",
    "States.Timeout",
    "Lambda.ServiceException",
    "Lambda.AWSLambdaException",
    "Lambda.SdkClientException",
    "Lambda.TooManyRequestsException",
    "DataSync.InternalException",
    "DataSync.ThrottlingException",
    # DataSync does not model throttling: the SDK integration reports "Rate exceeded" as
    # its base exception, so the retry must name it too.
    "DataSync.DataSyncException",
    "DynamoDB.ProvisionedThroughputExceededException",
    "DynamoDB.ThrottlingException",
    "DynamoDB.InternalServerError",
}


def render(text: str, variables: dict[str, str]) -> str:
    def substitute(match: re.Match[str]) -> str:
        return variables[match.group(1)]

    return re.sub(r"\$\{([a-z_]+)\}", substitute, text)


@pytest.fixture(scope="module")
def definition() -> dict[str, Any]:
    rendered = render(TEMPLATE.read_text(), VARIABLES)
    parsed: dict[str, Any] = json.loads(rendered)
    return parsed


@pytest.fixture(scope="module")
def states(definition: dict[str, Any]) -> dict[str, dict[str, Any]]:
    result: dict[str, dict[str, Any]] = definition["States"]
    return result


def successors(state: dict[str, Any]) -> Iterator[str]:
    """Every state `state` can hand over to (Next, Choice branches, Default, Catch)."""
    if "Next" in state:
        yield state["Next"]
    for choice in state.get("Choices", []):
        yield choice["Next"]
    if "Default" in state:
        yield state["Default"]
    for catcher in state.get("Catch", []):
        yield catcher["Next"]


def reachable(
    states: dict[str, dict[str, Any]], start: str, removed: str = ""
) -> set[str]:
    seen: set[str] = set()
    todo = [start]
    while todo:
        name = todo.pop()
        if name in seen or name == removed:
            continue
        seen.add(name)
        todo.extend(successors(states[name]))
    return seen


def is_terminal(state: dict[str, Any]) -> bool:
    return state["Type"] in TERMINAL_TYPES or state.get("End") is True


def test_template_uses_exactly_the_contract_variables() -> None:
    used = set(re.findall(r"\$\{([a-z_]+)\}", TEMPLATE.read_text()))
    assert used == set(VARIABLES)


def test_rendered_template_is_json_with_numbers_where_numbers_are_needed(
    states: dict[str, dict[str, Any]],
) -> None:
    assert states["WaitForTransfer"]["Seconds"] == 30
    assert (
        states["Prepare"]["Parameters"]["FunctionName"]
        == VARIABLES["prepare_function_arn"]
    )
    assert (
        states["Finalize"]["Parameters"]["FunctionName"]
        == VARIABLES["finalize_function_arn"]
    )


def test_every_state_is_reachable_and_every_target_exists(
    definition: dict[str, Any], states: dict[str, dict[str, Any]]
) -> None:
    for state in states.values():
        for name in successors(state):
            assert name in states, f"unknown state {name}"
    assert reachable(states, definition["StartAt"]) == set(states)


def test_every_task_before_finalize_catches_everything_into_finalize(
    states: dict[str, dict[str, Any]],
) -> None:
    tasks = [
        n
        for n, s in states.items()
        if s["Type"] == "Task" and n not in {FINALIZE, FINALIZE_FALLBACK}
    ]
    assert tasks, "no task found"
    for name in tasks:
        catchers = states[name].get("Catch", [])
        assert any(
            c["ErrorEquals"] == ["States.ALL"] and c["Next"] == FINALIZE
            for c in catchers
        ), f"{name} has no catch-all into Finalize"


def test_finalize_failing_still_releases_the_slot_and_ends_failed(
    states: dict[str, dict[str, Any]],
) -> None:
    catchers = states[FINALIZE]["Catch"]
    assert [c["Next"] for c in catchers if c["ErrorEquals"] == ["States.ALL"]] == [
        FINALIZE_FALLBACK
    ]
    fallback = states[FINALIZE_FALLBACK]
    assert fallback["Parameters"]["TableName"] == VARIABLES["registry_table_name"]
    ends = {fallback["Next"], *(c["Next"] for c in fallback["Catch"])}
    assert all(states[name]["Type"] == "Fail" for name in ends)


def test_every_path_to_an_end_goes_through_finalize(
    definition: dict[str, Any], states: dict[str, dict[str, Any]]
) -> None:
    without_finalize = reachable(states, definition["StartAt"], removed=FINALIZE)
    ends = [name for name in without_finalize if is_terminal(states[name])]
    assert ends == [], f"{ends} reachable without Finalize"


def test_a_failed_restore_ends_failed_never_succeeded(
    states: dict[str, dict[str, Any]],
) -> None:
    result = states[states[FINALIZE]["Next"]]
    assert result["Type"] == "Choice"
    assert states[result["Default"]]["Type"] == "Fail"
    to_success = [
        c for c in result["Choices"] if states[c["Next"]]["Type"] == "Succeed"
    ]
    statuses = set()
    for choice in to_success:
        rules = choice.get("And", [choice])
        statuses |= {r["StringEquals"] for r in rules if "StringEquals" in r}
    assert statuses == {"SUCCEEDED", "SUPERSEDED", "SOURCE_EMPTY", "PARTIAL"}
    # An empty source or a partial copy ends well only when a follow-up took over (the
    # next source, or the step run again); otherwise it is RestoreFailed.
    conditional = [c for c in to_success if "And" in c]
    assert len(conditional) == 2
    for choice in conditional:
        assert {
            "Variable": "$.finalize.follow_up_restore_id",
            "IsString": True,
        } in choice["And"]


def cycles_through(states: dict[str, dict[str, Any]]) -> list[set[str]]:
    """The strongly connected parts with more than one state (the loops)."""
    loops: list[set[str]] = []
    for name in states:
        part = {n for n in reachable(states, name) if name in reachable(states, n)}
        if len(part) > 1 and part not in loops:
            loops.append(part)
    return loops


def test_every_loop_is_bounded_by_a_counter(states: dict[str, dict[str, Any]]) -> None:
    loops = cycles_through(states)
    assert loops, "expected the poll loop"
    for loop in loops:
        counters = [
            states[n]
            for n in loop
            if states[n]["Type"] == "Pass"
            and any(
                "States.MathAdd" in str(v)
                for v in states[n].get("Parameters", {}).values()
            )
        ]
        exits = [
            choice
            for n in loop
            if states[n]["Type"] == "Choice"
            for choice in states[n]["Choices"]
            if "NumericGreaterThanEquals" in choice and choice["Next"] not in loop
        ]
        assert counters, f"loop {sorted(loop)} has no counter"
        assert exits, f"loop {sorted(loop)} has no bounded exit"
        assert exits[0]["NumericGreaterThanEquals"] == int(
            VARIABLES["transfer_timeout_seconds"]
        )


def test_poll_loop_gives_up_by_cancelling_then_finalizing(
    states: dict[str, dict[str, Any]],
) -> None:
    cancel = states["CancelTransfer"]
    assert cancel["Resource"].endswith("datasync:cancelTaskExecution")
    assert cancel["ResultSelector"]["Error"] == "Timeout"
    assert cancel["Next"] == FINALIZE


def all_retriers(
    states: dict[str, dict[str, Any]],
) -> Iterator[tuple[str, dict[str, Any]]]:
    for name, state in states.items():
        for retrier in state.get("Retry", []):
            yield name, retrier


def test_retries_name_real_errors_and_are_capped_and_jittered(
    states: dict[str, dict[str, Any]],
) -> None:
    for name, retrier in all_retriers(states):
        for error in retrier["ErrorEquals"]:
            assert error in OUR_ERRORS | AWS_ERRORS, (
                f"{name} retries unknown error {error}"
            )
            assert error != "States.ALL", f"{name} retries every error"
        assert retrier["MaxAttempts"] <= 500
        assert retrier["JitterStrategy"] == "FULL"
        assert "MaxDelaySeconds" in retrier


def test_prepare_waits_for_a_slot_and_retries_transient_errors(
    states: dict[str, dict[str, Any]],
) -> None:
    retried = {e for r in states["Prepare"]["Retry"] for e in r["ErrorEquals"]}
    assert {
        "SlotUnavailable",
        "TransientAwsError",
        "Lambda.TooManyRequestsException",
    } <= retried
    assert "UnsafeTransferError" not in retried
    payload = states["Prepare"]["Parameters"]["Payload"]
    assert payload["slot_wait_timeout_seconds"] == int(
        VARIABLES["slot_wait_timeout_seconds"]
    )


def test_every_service_integration_arn_is_in_the_deployed_partition() -> None:
    # given the template rendered for the China partition
    rendered: dict[str, Any] = json.loads(
        render(TEMPLATE.read_text(), {**VARIABLES, "partition": "aws-cn"})
    )

    # then every Task resource is an integration ARN of that partition
    resources = [
        state["Resource"]
        for state in rendered["States"].values()
        if state["Type"] == "Task"
    ]
    assert resources
    for resource in resources:
        assert resource.startswith("arn:aws-cn:states:::"), resource
