"""The restore workflow's ASL run for real by moto's Step Functions interpreter.

The two Lambda steps are replaced by test functions (moto would need Docker to run a
function); the DataSync states run against moto's DataSync, whose executions step through
INITIALIZING, PREPARING, TRANSFERRING, VERIFYING and SUCCESS, one status per describe.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import boto3
import pytest
from moto import mock_aws
from moto.stepfunctions.parser.asl.component.state.exec.state_task import (
    lambda_eval_utils,
)

from tests.unit.test_asl_workflow import TEMPLATE, VARIABLES, render

REGION = "us-east-1"
ROLE = "arn:aws:iam::123456789012:role/workflow"
LambdaFn = Callable[[dict[str, Any]], dict[str, Any]]


class FunctionError(Exception):
    """Raised by a fake step: becomes a Lambda error whose errorType is `error_type`."""

    def __init__(self, error_type: str, message: str) -> None:
        super().__init__(message)
        self.error_type = error_type


@dataclass
class FakeLambdas:
    """prepare and finalize stand-ins, with the events they received."""

    prepare: LambdaFn
    finalize: LambdaFn
    calls: dict[str, list[dict[str, Any]]] = field(
        default_factory=lambda: {"prepare": [], "finalize": []}
    )

    def invoke(self, parameters: dict[str, Any], **_: Any) -> dict[str, Any]:
        name = (
            "prepare" if parameters["FunctionName"].endswith("prepare") else "finalize"
        )
        payload = json.loads(parameters["Payload"])
        self.calls[name].append(payload)
        try:
            result = (self.prepare if name == "prepare" else self.finalize)(payload)
        except FunctionError as exc:
            body = {"errorType": exc.error_type, "errorMessage": str(exc)}
            return {"StatusCode": 200, "FunctionError": "Unhandled", "Payload": body}
        return {"StatusCode": 200, "Payload": result}


@pytest.fixture
def aws() -> Iterator[None]:
    with mock_aws(config={"stepfunctions": {"execute_state_machine": True}}):
        yield


@pytest.fixture(autouse=True)
def credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(name, "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)


def moto_task() -> str:
    """A DataSync task moto can run (S3 -> SMB: moto has no EFS locations)."""
    datasync = boto3.client("datasync", region_name=REGION)
    source = datasync.create_location_s3(
        S3BucketArn="arn:aws:s3:::src", S3Config={"BucketAccessRoleArn": ROLE}
    )["LocationArn"]
    target = datasync.create_location_smb(
        ServerHostname="h",
        Subdirectory="/d",
        User="u",
        Password="p",
        AgentArns=["arn:a"],
    )["LocationArn"]
    task = datasync.create_task(SourceLocationArn=source, DestinationLocationArn=target)
    return str(task["TaskArn"])


def run(
    lambdas: FakeLambdas,
    monkeypatch: pytest.MonkeyPatch,
    timeout_seconds: int = 60,
) -> dict[str, Any]:
    """Run one execution to its end; returns DescribeExecution."""
    monkeypatch.setattr(lambda_eval_utils, "_invoke_lambda_function", lambdas.invoke)
    variables = {
        **VARIABLES,
        "poll_interval_seconds": "1",
        "transfer_timeout_seconds": str(timeout_seconds),
    }
    boto3.client("dynamodb", region_name=REGION).create_table(
        TableName=VARIABLES["registry_table_name"],
        KeySchema=[
            {"AttributeName": "pk", "KeyType": "HASH"},
            {"AttributeName": "sk", "KeyType": "RANGE"},
        ],
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
        ],
        BillingMode="PAY_PER_REQUEST",
    )
    sfn = boto3.client("stepfunctions", region_name=REGION)
    machine = sfn.create_state_machine(
        name="restore", definition=render(TEMPLATE.read_text(), variables), roleArn=ROLE
    )["stateMachineArn"]
    execution_input = {"restore_id": "alice-g2-0123456789ab", "trigger": "auto"}
    execution_input |= {"target": {"uid": "200005"}, "source": {"uid": "200001"}}
    arn = sfn.start_execution(
        stateMachineArn=machine,
        name="alice-g2-0123456789ab",
        input=json.dumps(execution_input),
    )["executionArn"]
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        described: dict[str, Any] = sfn.describe_execution(executionArn=arn)
        if described["status"] != "RUNNING":
            return described
        time.sleep(0.2)
    raise AssertionError("the execution did not end within 60 s")


def transfer_of(task_arn: str) -> dict[str, Any]:
    return {
        "task_arn": task_arn,
        "source_location_arn": "arn:src",
        "target_location_arn": "arn:dst",
        "access_point_ids": ["fsap-1"],
        "report": {"bucket": "reports-bucket", "prefix": "reports/r1"},
    }


def outcome(
    status: str, reason: str = "ok", follow_up: str | None = None
) -> dict[str, Any]:
    return {"status": status, "reason": reason, "follow_up_restore_id": follow_up}


def test_successful_transfer_polls_until_success_then_finalizes_and_succeeds(
    aws: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    task = moto_task()
    lambdas = FakeLambdas(lambda e: transfer_of(task), lambda e: outcome("SUCCEEDED"))

    described = run(lambdas, monkeypatch)

    assert described["status"] == "SUCCEEDED"
    [prepare_event] = lambdas.calls["prepare"]
    assert prepare_event["execution_arn"] == described["executionArn"]
    assert prepare_event["slot_wait_timeout_seconds"] == 3600
    [finalize_event] = lambdas.calls["finalize"]
    state = finalize_event["state"]
    assert finalize_event["execution_arn"] == described["executionArn"]
    assert state["transfer"]["task_arn"] == task
    # where the task report is, for finalize to read it (ResultSelector keeps it)
    assert state["transfer"]["report"] == {
        "bucket": "reports-bucket",
        "prefix": "reports/r1",
    }
    assert state["execution"]["describe"]["Status"] == "SUCCESS"
    assert state["execution"]["waited_seconds"] >= 4  # one second per poll, 5 polls
    assert "error" not in state


def test_failed_finalize_status_ends_the_execution_failed_with_the_reason(
    aws: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    task = moto_task()
    lambdas = FakeLambdas(
        lambda e: transfer_of(task),
        lambda e: outcome("FAILED", "PermissionDenied: /200001"),
    )

    described = run(lambdas, monkeypatch)

    assert described["status"] == "FAILED"
    assert described["error"] == "RestoreFailed"
    assert described["cause"] == "PermissionDenied: /200001"


@pytest.mark.parametrize(
    ("follow_up", "expected"),
    [("alice-g2-ffffffffffff", "SUCCEEDED"), (None, "FAILED")],
)
def test_empty_source_succeeds_only_with_a_follow_up(
    aws: None, monkeypatch: pytest.MonkeyPatch, follow_up: str | None, expected: str
) -> None:
    task = moto_task()
    lambdas = FakeLambdas(
        lambda e: transfer_of(task),
        lambda e: outcome("SOURCE_EMPTY", "empty", follow_up),
    )
    assert run(lambdas, monkeypatch)["status"] == expected


def test_unsafe_transfer_is_not_retried_and_goes_to_finalize(
    aws: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(event: dict[str, Any]) -> dict[str, Any]:
        raise FunctionError(
            "UnsafeTransferError", "source uid '0' is not a positive number"
        )

    lambdas = FakeLambdas(refuse, lambda e: outcome("FAILED", "unsafe"))

    described = run(lambdas, monkeypatch)

    assert described["status"] == "FAILED"
    assert len(lambdas.calls["prepare"]) == 1
    [finalize_event] = lambdas.calls["finalize"]
    assert finalize_event["state"]["error"]["Error"] == "UnsafeTransferError"
    assert "transfer" not in finalize_event["state"]


def test_transfer_past_its_timeout_is_cancelled_and_finalized_as_timeout(
    aws: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    task = moto_task()
    lambdas = FakeLambdas(
        lambda e: transfer_of(task), lambda e: outcome("FAILED", "timed out")
    )

    described = run(lambdas, monkeypatch, timeout_seconds=2)

    assert described["status"] == "FAILED"
    [finalize_event] = lambdas.calls["finalize"]
    assert finalize_event["state"]["error"]["Error"] == "Timeout"
    datasync = boto3.client("datasync", region_name=REGION)
    execution_arn = finalize_event["state"]["execution"]["arn"]
    status = datasync.describe_task_execution(TaskExecutionArn=execution_arn)["Status"]
    assert status == "ERROR"  # moto's cancel


def test_finalize_crashing_releases_the_slot_and_fails(
    aws: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    task = moto_task()

    def crash(event: dict[str, Any]) -> dict[str, Any]:
        raise FunctionError("KeyError", "boom")

    lambdas = FakeLambdas(lambda e: transfer_of(task), crash)
    table = VARIABLES["registry_table_name"]

    def prepare_taking_a_slot(event: dict[str, Any]) -> dict[str, Any]:
        boto3.client("dynamodb", region_name=REGION).put_item(
            TableName=table,
            Item={
                "pk": {"S": "SEMAPHORE"},
                "sk": {"S": "DATASYNC"},
                "holders": {
                    "M": {event["execution_arn"]: {"S": "2026-11-28T14:00:00Z"}}
                },
                "count": {"N": "1"},
            },
        )
        return transfer_of(task)

    lambdas.prepare = prepare_taking_a_slot

    described = run(lambdas, monkeypatch)

    assert (described["status"], described["error"]) == ("FAILED", "FinalizeFailed")
    item = boto3.client("dynamodb", region_name=REGION).get_item(
        TableName=table, Key={"pk": {"S": "SEMAPHORE"}, "sk": {"S": "DATASYNC"}}
    )["Item"]
    assert item["count"] == {"N": "0"}
    assert item["holders"] == {"M": {}}
