"""Fixtures for the restore-side tests (`test_stream_handler.py`, `test_transfer_handler.py`;
loaded with `pytest_plugins`).

They build on `aws_env` / `registry_table` from this directory's conftest (moto in-process)
and add: the state machine (moto Step Functions records executions), the notification topic
with a queue subscribed to read what was published, two EFS volumes with mount targets in
one zone, and a fake DataSync client (moto 5.2.1 has no EFS locations).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from boto3.dynamodb.types import TypeSerializer
from botocore.exceptions import ClientError
from studio_recovery.dal.registry import RegistryRepository
from studio_recovery.models.registry import Generation, ProfileKey

REGION = "us-east-1"
ACCOUNT = "123456789012"
T0 = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)
STATE_MACHINE_NAME = "studio-recovery-restore"
STATE_MACHINE_ARN = (
    f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:{STATE_MACHINE_NAME}"
)


@dataclass
class LambdaContextStub:
    function_name: str = "studio-recovery-test"
    memory_limit_in_mb: int = 256
    invoked_function_arn: str = (
        f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:studio-recovery"
    )
    aws_request_id: str = "req-1"

    def get_remaining_time_in_millis(self) -> int:
        return 60_000


def user(name: str = "alice") -> ProfileKey:
    return ProfileKey(domain_name="demo", kind="user", name=name)


def space(name: str = "team") -> ProfileKey:
    return ProfileKey(domain_name="demo", kind="space", name=name)


@pytest.fixture
def registry(registry_table: Any) -> RegistryRepository:
    return RegistryRepository(registry_table.name)


@pytest.fixture
def restore_state_machine(
    aws_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> str:
    """A state machine moto accepts (it records executions without running them)."""
    sfn = boto3.client("stepfunctions", region_name=REGION)
    definition = {"StartAt": "Done", "States": {"Done": {"Type": "Succeed"}}}
    arn = sfn.create_state_machine(
        name=STATE_MACHINE_NAME,
        definition=json.dumps(definition),
        roleArn=f"arn:aws:iam::{ACCOUNT}:role/sfn",
    )["stateMachineArn"]
    monkeypatch.setenv("STATE_MACHINE_ARN", arn)
    return str(arn)


def executions(state_machine_arn: str) -> list[dict[str, Any]]:
    """Every execution started, with its parsed input."""
    sfn = boto3.client("stepfunctions", region_name=REGION)
    found = sfn.list_executions(stateMachineArn=state_machine_arn)["executions"]
    result = []
    for execution in found:
        described = sfn.describe_execution(executionArn=execution["executionArn"])
        result.append({**execution, "input": json.loads(described["input"])})
    return result


@dataclass
class Recorder:
    """Record generations of profiles as the event Lambda would (through the repository)."""

    registry: RegistryRepository
    clock: datetime = T0

    def create(self, key: ProfileKey, uid: str, **kwargs: Any) -> Generation:
        self.clock += timedelta(hours=1)
        fields: dict[str, Any] = {"domain_id": "d-abc", "efs_id": "fs-0123"}
        fields.update(kwargs)
        created_at = fields.pop("created_at", self.clock)
        return self.registry.record_generation(
            key, uid=uid, created_at=created_at, **fields
        )

    def delete(self, key: ProfileKey, domain_id: str = "d-abc", **kwargs: Any) -> None:
        self.clock += timedelta(hours=1)
        deleted_at = kwargs.get("deleted_at", self.clock)
        self.registry.mark_deleted(key, domain_id, deleted_at)


@pytest.fixture
def recorder(registry: RegistryRepository) -> Recorder:
    return Recorder(registry)


_serializer = TypeSerializer()


def stream_record(
    item: dict[str, Any],
    event_name: str = "INSERT",
    sequence: str = "100",
    old_item: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A DynamoDB stream record as Lambda receives it."""
    image: dict[str, Any] = {
        "Keys": {k: _serializer.serialize(item[k]) for k in ("pk", "sk")},
        "SequenceNumber": sequence,
        "SizeBytes": 100,
        "StreamViewType": "NEW_AND_OLD_IMAGES",
    }
    if event_name != "REMOVE":
        image["NewImage"] = {k: _serializer.serialize(v) for k, v in item.items()}
    if old_item is not None:
        image["OldImage"] = {k: _serializer.serialize(v) for k, v in old_item.items()}
    return {
        "eventID": f"event-{sequence}",
        "eventName": event_name,
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": REGION,
        "dynamodb": image,
        "eventSourceARN": f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/registry/stream/x",
    }


def stream_event(*records: dict[str, Any]) -> dict[str, Any]:
    return {"Records": list(records)}


def get_item(table: Any, pk: str, sk: str) -> dict[str, Any]:
    item = table.get_item(Key={"pk": pk, "sk": sk}, ConsistentRead=True).get("Item")
    assert item is not None, f"no item {pk} {sk}"
    return dict(item)


def restore_items(table: Any, key: ProfileKey) -> list[dict[str, Any]]:
    reply = table.query(
        KeyConditionExpression="pk = :pk AND begins_with(sk, :r)",
        ExpressionAttributeValues={":pk": key.pk, ":r": "RESTORE#"},
        ConsistentRead=True,
    )
    return list(reply["Items"])


# ------------------------------------------------------------------ notifications


@pytest.fixture
def topic(aws_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """The notification topic, with a queue subscribed so a test can read what was sent."""
    sns = boto3.client("sns", region_name=REGION)
    sqs = boto3.client("sqs", region_name=REGION)
    topic_arn = sns.create_topic(Name="studio-recovery-alerts")["TopicArn"]
    queue_url = sqs.create_queue(QueueName="alerts")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(
        QueueUrl=queue_url, AttributeNames=["QueueArn"]
    )["Attributes"]["QueueArn"]
    sns.subscribe(
        TopicArn=topic_arn,
        Protocol="sqs",
        Endpoint=queue_arn,
        Attributes={"RawMessageDelivery": "false"},
    )
    monkeypatch.setenv("NOTIFICATION_TOPIC_ARN", topic_arn)
    return {"topic_arn": topic_arn, "queue_url": queue_url}


def published(queue_url: str) -> list[dict[str, str]]:
    """Subjects and messages published to the topic so far."""
    sqs = boto3.client("sqs", region_name=REGION)
    messages = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get(
        "Messages", []
    )
    result = []
    for message in messages:
        body = json.loads(message["Body"])
        result.append({"subject": body.get("Subject", ""), "message": body["Message"]})
    return result


# ------------------------------------------------------------------ EFS and DataSync


@dataclass
class Network:
    vpc_id: str
    subnet_a: str
    subnet_b: str
    efs_old: str
    efs_new: str


@pytest.fixture
def restore_network(aws_env: dict[str, str]) -> Network:
    """A VPC with subnets in two zones; two volumes with mount targets in zone a only."""
    ec2 = boto3.client("ec2", region_name=REGION)
    efs = boto3.client("efs", region_name=REGION)
    vpc_id = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    subnet_a = ec2.create_subnet(
        VpcId=vpc_id, CidrBlock="10.0.1.0/24", AvailabilityZone="us-east-1a"
    )["Subnet"]["SubnetId"]
    subnet_b = ec2.create_subnet(
        VpcId=vpc_id, CidrBlock="10.0.2.0/24", AvailabilityZone="us-east-1b"
    )["Subnet"]["SubnetId"]
    volumes = []
    for token in ("old", "new"):
        fs_id = efs.create_file_system(CreationToken=token)["FileSystemId"]
        efs.create_mount_target(FileSystemId=fs_id, SubnetId=subnet_a)
        volumes.append(fs_id)
    return Network(vpc_id, subnet_a, subnet_b, volumes[0], volumes[1])


def access_points(efs_id: str) -> list[dict[str, Any]]:
    efs = boto3.client("efs", region_name=REGION)
    return list(efs.describe_access_points(FileSystemId=efs_id)["AccessPoints"])


def _client_error(code: str, message: str, operation: str) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": message}}, operation)


@dataclass
class FakeDataSyncClient:
    """The DataSync calls the library makes, kept in memory (moto lacks EFS locations).

    `fail` maps an operation name to an error to raise on its next call.
    """

    locations: dict[str, dict[str, Any]] = field(default_factory=dict)
    tasks: dict[str, dict[str, Any]] = field(default_factory=dict)
    executions: dict[str, str] = field(default_factory=dict)
    fail: dict[str, ClientError] = field(default_factory=dict)
    calls: list[str] = field(default_factory=list)
    _next: int = 0

    def _arn(self, kind: str) -> str:
        self._next += 1
        return (
            f"arn:aws:datasync:{REGION}:{ACCOUNT}:{kind}/{kind[:3]}-{self._next:017x}"
        )

    def _call(self, operation: str) -> None:
        self.calls.append(operation)
        if operation in self.fail:
            raise self.fail.pop(operation)

    def create_location_efs(self, **kwargs: Any) -> dict[str, Any]:
        self._call("CreateLocationEfs")
        arn = self._arn("location")
        self.locations[arn] = kwargs
        return {"LocationArn": arn}

    def create_task(self, **kwargs: Any) -> dict[str, Any]:
        self._call("CreateTask")
        for which in ("SourceLocationArn", "DestinationLocationArn"):
            if kwargs[which] not in self.locations:
                raise _client_error(
                    "InvalidRequestException", "Location not found", "CreateTask"
                )
        arn = self._arn("task")
        self.tasks[arn] = kwargs
        return {"TaskArn": arn}

    def list_task_executions(self, TaskArn: str) -> dict[str, Any]:
        self._call("ListTaskExecutions")
        return {
            "TaskExecutions": [
                {"TaskExecutionArn": arn, "Status": status}
                for arn, status in self.executions.items()
                if arn.startswith(TaskArn)
            ]
        }

    def cancel_task_execution(self, TaskExecutionArn: str) -> dict[str, Any]:
        self._call("CancelTaskExecution")
        self.executions[TaskExecutionArn] = "CANCELLING"
        return {}

    def delete_task(self, TaskArn: str) -> dict[str, Any]:
        self._call("DeleteTask")
        if self.tasks.pop(TaskArn, None) is None:
            raise _client_error(
                "InvalidRequestException", f"Task {TaskArn} not found.", "DeleteTask"
            )
        return {}

    def delete_location(self, LocationArn: str) -> dict[str, Any]:
        self._call("DeleteLocation")
        if self.locations.pop(LocationArn, None) is None:
            raise _client_error(
                "InvalidRequestException", "Location does not exist", "DeleteLocation"
            )
        return {}


@pytest.fixture
def datasync() -> FakeDataSyncClient:
    return FakeDataSyncClient()


Clock = Callable[[], datetime]
