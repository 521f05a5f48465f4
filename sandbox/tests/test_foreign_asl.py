"""A definition this project did not write for itself (sandbox/tests/asl/foreign.asl.json)
runs in the sandbox as the Step Functions documentation says: aws-sdk tasks for SageMaker,
DataSync and DynamoDB, definite and indefinite JSONPath, Choice rules, a Wait loop on a
Pending domain, Map, Pass with Parameters, ResultSelector, ResultPath and intrinsics."""

from __future__ import annotations

import base64
import hashlib
import json
import re
from pathlib import Path
from typing import Any

import pytest

from sandbox.tests.helpers import SandboxClients, wait_for
from studio_sandbox.sagemaker import models as sagemaker_models

DEFINITION = Path(__file__).parent / "asl" / "foreign.asl.json"
USERS = ("carol", "alice", "bob")


def _history(aws: SandboxClients, arn: str) -> list[dict[str, Any]]:
    paginator = aws.client("stepfunctions").get_paginator("get_execution_history")
    return [e for page in paginator.paginate(executionArn=arn) for e in page["events"]]


def _studio(aws: SandboxClients) -> str:
    ec2 = aws.client("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.70.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.70.1.0/24", AvailabilityZone="us-east-1a")
    sagemaker = aws.client("sagemaker")
    domain_id: str = sagemaker.create_domain(
        DomainName="foreign",
        AuthMode="IAM",
        DefaultUserSettings={"ExecutionRole": aws.role()},
        SubnetIds=[subnet["Subnet"]["SubnetId"]],
        VpcId=vpc,
    )["DomainId"]
    for user in USERS:
        sagemaker.create_user_profile(DomainId=domain_id, UserProfileName=user)
    return domain_id


def test_a_foreign_definition_runs_as_the_documentation_says(
    aws: SandboxClients, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given a Studio domain just created (Pending for 2 s), three users, and a table
    monkeypatch.setattr(sagemaker_models.timing, "pending_seconds", 2.0)
    domain_id = _studio(aws)
    aws.client("dynamodb").create_table(
        TableName="foreign-counts",
        BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
    )
    sfn = aws.client("stepfunctions")
    machine = sfn.create_state_machine(
        name="foreign", definition=DEFINITION.read_text(), roleArn=aws.role()
    )["stateMachineArn"]

    # when
    arn = sfn.start_execution(
        stateMachineArn=machine,
        input=json.dumps(
            {"domainId": domain_id, "table": "foreign-counts", "polls": 0, "waited": False}
        ),
    )["executionArn"]

    def done() -> dict[str, Any] | None:
        reply: dict[str, Any] = sfn.describe_execution(executionArn=arn)
        return reply if reply["status"] != "RUNNING" else None

    finished = wait_for(done, timeout=60)

    # then the output is what the specification gives
    assert finished["status"] == "SUCCEEDED", finished
    output = json.loads(finished["output"])
    uuid = output.pop("id")
    assert re.fullmatch(
        r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}", uuid
    )
    assert output == {
        "domain": "foreign",
        "first": "alice",
        "greetings": ["0:alice", "1:bob", "2:carol"],
        "stored": 3,
        "storedNames": ["alice", "bob", "carol"],
        "taskError": "DataSync.InvalidRequestException",
        "waited": True,
        "pair": ["alice", 3],
        "hasBob": True,
        "range": [1, 3, 5],
        "second": "bob",
        "unique": [1, 2],
        "chunks": [["alice", "bob"], ["carol"]],
        "encoded": base64.b64encode(b"alice").decode(),
        "decoded": "alice",
        "split": ["a", "b", "c"],
        "digest": hashlib.sha256(b"abc").hexdigest(),
        "source": "foreign",
    }
    item = aws.client("dynamodb").get_item(
        TableName="foreign-counts", Key={"pk": {"S": domain_id}}
    )["Item"]
    assert item["users"] == {"N": "3"}

    # and the history has the events the documentation lists, in order
    events = _history(aws, arn)
    types = [e["type"] for e in events]
    assert types[0] == "ExecutionStarted"
    assert types[-1] == "ExecutionSucceeded"
    assert "WaitStateEntered" in types  # the domain was Pending: the loop waited
    assert types.count("MapIterationSucceeded") == 3
    failed = [e for e in events if e["type"] == "TaskFailed"]
    assert [e["taskFailedEventDetails"]["error"] for e in failed] == [
        "DataSync.InvalidRequestException"
    ]
    entered = [
        e["stateEnteredEventDetails"]["name"] for e in events if "stateEnteredEventDetails" in e
    ]
    tail = ["ListUsers", "Greet", "Hello", "Hello", "Hello", "StoreCount", "ReadCount"]
    assert entered[-len(tail) - 4 :][: len(tail)] == tail
    assert entered[-4:] == ["FindTask", "Summarise", "Checked", "Done"]
