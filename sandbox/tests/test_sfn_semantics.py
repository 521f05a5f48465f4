"""Step Functions semantics the sandbox corrects in moto: definite JSONPath, history quota."""

from __future__ import annotations

import json
from typing import Any

import pytest

from sandbox.tests.helpers import SandboxClients, wait_for
from studio_sandbox import sfn_history

APPS = {
    "Apps": [
        {"AppName": "default", "Status": "InService", "Settings": {"Status": "InService"}},
        {"Status": "Deleted"},
    ]
}


def _run(aws: SandboxClients, name: str, definition: dict[str, Any], data: Any) -> Any:
    sfn = aws.client("stepfunctions")
    machine = sfn.create_state_machine(
        name=name, definition=json.dumps(definition), roleArn=aws.role()
    )["stateMachineArn"]
    arn = sfn.start_execution(stateMachineArn=machine, input=json.dumps(data))["executionArn"]

    def done() -> dict[str, Any] | None:
        reply: dict[str, Any] = sfn.describe_execution(executionArn=arn)
        return reply if reply["status"] != "RUNNING" else None

    return wait_for(done, timeout=120)


def test_indexed_path_inside_a_longer_path_gives_the_value_in_a_choice(
    aws: SandboxClients,
) -> None:
    definition = {
        "StartAt": "Ready",
        "States": {
            "Ready": {
                "Type": "Choice",
                "Choices": [
                    {"Variable": "$.Apps[0].Status", "StringEquals": "InService", "Next": "Yes"}
                ],
                "Default": "No",
            },
            "Yes": {"Type": "Pass", "Result": {"answer": "yes"}, "End": True},
            "No": {"Type": "Pass", "Result": {"answer": "no"}, "End": True},
        },
    }

    finished = _run(aws, "indexed-choice", definition, APPS)

    assert finished["status"] == "SUCCEEDED", finished
    assert json.loads(finished["output"]) == {"answer": "yes"}


@pytest.mark.parametrize(
    ("field", "state_extra"),
    [
        ("InputPath", {"InputPath": "$.Apps[0].Settings", "Parameters": {"status.$": "$.Status"}}),
        ("OutputPath", {"OutputPath": "$.Apps[0].Settings"}),
        ("Parameters", {"Parameters": {"status.$": "$.Apps[0].Status"}}),
    ],
)
def test_indexed_path_inside_a_longer_path_gives_the_value_in_every_field(
    aws: SandboxClients, field: str, state_extra: dict[str, Any]
) -> None:
    definition = {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True, **state_extra}}}

    finished = _run(aws, f"indexed-{field.lower()}", definition, APPS)

    assert finished["status"] == "SUCCEEDED", finished
    output = json.loads(finished["output"])
    assert output.get("status", output.get("Status")) == "InService"


def test_indexed_path_gives_the_value_in_a_result_selector(aws: SandboxClients) -> None:
    aws.client("dynamodb").create_table(
        TableName="indexed",
        BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
    )
    definition = {
        "StartAt": "Describe",
        "States": {
            "Describe": {
                "Type": "Task",
                "Resource": "arn:aws:states:::aws-sdk:dynamodb:describeTable",
                "Parameters": {"TableName": "indexed"},
                "ResultSelector": {"key.$": "$.Table.KeySchema[0].AttributeName"},
                "End": True,
            }
        },
    }

    finished = _run(aws, "indexed-selector", definition, {})

    assert finished["status"] == "SUCCEEDED", finished
    assert json.loads(finished["output"]) == {"key": "pk"}


def test_indefinite_paths_still_give_lists(aws: SandboxClients) -> None:
    definition = {
        "StartAt": "P",
        "States": {
            "P": {
                "Type": "Pass",
                "Parameters": {
                    "all.$": "$.Apps[*].Status",
                    "filtered.$": "$.Apps[?(@.Status == 'Deleted')].Status",
                    "slice.$": "$.Apps[0:1].Status",
                },
                "End": True,
            }
        },
    }

    finished = _run(aws, "indefinite", definition, APPS)

    assert json.loads(finished["output"]) == {
        "all": ["InService", "Deleted"],
        "filtered": ["Deleted"],
        "slice": ["InService"],
    }


def _history(aws: SandboxClients, arn: str) -> list[dict[str, Any]]:
    paginator = aws.client("stepfunctions").get_paginator("get_execution_history")
    return [e for page in paginator.paginate(executionArn=arn) for e in page["events"]]


def test_execution_fails_when_its_history_reaches_25000_events(aws: SandboxClients) -> None:
    # given a loop that never ends: every Pass adds two events (entered, exited)
    definition = {
        "StartAt": "Again",
        "States": {"Again": {"Type": "Pass", "Next": "Again"}},
    }

    # when
    finished = _run(aws, "endless", definition, {})

    # then the execution fails as AWS fails it, with event 25,000 its last
    assert sfn_history.HISTORY_LIMIT == 25_000
    assert finished["status"] == "FAILED"
    assert finished["error"] == "States.Runtime"
    assert finished["cause"] == (
        "The execution reached the maximum number of history events (25000)."
    )
    events = _history(aws, finished["executionArn"])
    assert len(events) == 25_000
    assert events[-1]["type"] == "ExecutionFailed"
    assert events[-1]["id"] == 25_000


def test_an_execution_that_succeeds_on_event_25000_succeeds(
    aws: SandboxClients, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given a limit of 6: ExecutionStarted, 2 x (PassStateEntered, PassStateExited), ...
    monkeypatch.setattr(sfn_history, "HISTORY_LIMIT", 6)
    definition = {
        "StartAt": "One",
        "States": {
            "One": {"Type": "Pass", "Next": "Two"},
            "Two": {"Type": "Pass", "End": True},
        },
    }

    finished = _run(aws, "just-fits", definition, {"a": 1})

    assert finished["status"] == "SUCCEEDED", finished
    events = _history(aws, finished["executionArn"])
    assert [e["type"] for e in events][-1] == "ExecutionSucceeded"
    assert len(events) == 6


def test_an_execution_one_event_over_fails(
    aws: SandboxClients, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sfn_history, "HISTORY_LIMIT", 5)
    definition = {
        "StartAt": "One",
        "States": {
            "One": {"Type": "Pass", "Next": "Two"},
            "Two": {"Type": "Pass", "End": True},
        },
    }

    finished = _run(aws, "one-over", definition, {"a": 1})

    assert finished["status"] == "FAILED"
    assert finished["cause"] == "The execution reached the maximum number of history events (5)."
    events = _history(aws, finished["executionArn"])
    assert [e["type"] for e in events] == [
        "ExecutionStarted",
        "PassStateEntered",
        "PassStateExited",
        "PassStateEntered",
        "ExecutionFailed",
    ]
