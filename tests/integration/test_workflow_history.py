"""The restore workflow's history, as moto's Step Functions interpreter writes it, has the
events docs/internals.md section 4 counts: 11 for each check of a running transfer (less
the last `CountWait`), the fixed states around them, 3 more for each retry."""

from __future__ import annotations

import collections
from typing import Any

import boto3
import pytest

from tests.integration.test_restore_workflow_asl import (
    REGION,
    FakeLambdas,
    FunctionError,
    aws,  # noqa: F401 (fixture)
    credentials,  # noqa: F401 (autouse fixture)
    moto_task,
    outcome,
    run,
    transfer_of,
)

# ExecutionStarted 1, Prepare 5, StartTransfer 5, CancelTransfer 5, Finalize 5,
# RestoreResult 2, RestoreFailed (FailStateEntered, ExecutionFailed) 2
AROUND_A_CANCELLED_TRANSFER = 25


def history(execution_arn: str) -> list[dict[str, Any]]:
    sfn = boto3.client("stepfunctions", region_name=REGION)
    pages = sfn.get_paginator("get_execution_history").paginate(
        executionArn=execution_arn
    )
    return [event for page in pages for event in page["events"]]


@pytest.mark.parametrize("checks", [2, 3])
def test_each_check_of_a_transfer_past_its_timeout_writes_eleven_events(
    aws: None,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
    checks: int,
) -> None:
    # given a transfer still running when it is checked for the `checks`-th time
    task = moto_task()
    lambdas = FakeLambdas(lambda e: transfer_of(task), lambda e: outcome("FAILED"))
    # when the workflow polls it every second up to a timeout of `checks` seconds
    described = run(lambdas, monkeypatch, timeout_seconds=checks)
    # then the history is 11 events a check, less the CountWait after the last one
    events = history(described["executionArn"])
    assert len(events) == 11 * checks - 2 + AROUND_A_CANCELLED_TRANSFER
    kinds = collections.Counter(event["type"] for event in events)
    assert kinds["WaitStateEntered"] == kinds["ChoiceStateEntered"] - 1 == checks
    assert kinds["PassStateEntered"] == checks - 1
    assert [event["type"] for event in events[-2:]] == [
        "FailStateEntered",
        "ExecutionFailed",
    ]


def test_a_retried_task_attempt_writes_three_more_events(
    aws: None,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    task = moto_task()
    attempts: list[int] = []

    def prepare_throttled_once(event: dict[str, Any]) -> dict[str, Any]:
        attempts.append(1)
        if len(attempts) == 1:
            raise FunctionError("TransientAwsError", "throttled")
        return transfer_of(task)

    lambdas = FakeLambdas(prepare_throttled_once, lambda e: outcome("FAILED"))
    described = run(lambdas, monkeypatch, timeout_seconds=2)
    events = history(described["executionArn"])
    assert len(events) == 11 * 2 - 2 + AROUND_A_CANCELLED_TRANSFER + 3
    assert [event["type"] for event in events[1:9]] == [
        "TaskStateEntered",
        "TaskScheduled",
        "TaskStarted",
        "TaskFailed",
        "TaskScheduled",
        "TaskStarted",
        "TaskSucceeded",
        "TaskStateExited",
    ]
