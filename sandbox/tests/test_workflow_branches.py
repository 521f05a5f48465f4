"""Every Retry and Catch of the product's workflow (modules/workflow/templates/restore.asl.json)
taken in the sandbox, with the error names AWS gives: aws-sdk DataSync errors as
`DataSync.<Exception>`, the optimized DynamoDB integration's as `DynamoDB.<Exception>`,
Lambda errors as their `errorType`.

The two Lambda steps are small stand-in functions whose outcomes a control file scripts;
the DataSync task is a real sandbox task; AWS errors are injected with `faults`.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.unit.test_asl_workflow import TEMPLATE, VARIABLES, render

from sandbox.tests.helpers import SandboxClients, wait_for
from studio_sandbox import faults
from studio_sandbox.datasync import models as datasync_models
from studio_sandbox.server import state
from studio_sandbox.server.app import Sandbox

STEP = """
import json, os

def handler(event, context):
    name = os.environ["STEP"]
    control = os.environ["CONTROL"]
    with open(control) as f:
        script = json.load(f)
    outcomes = script[name]
    outcome = outcomes.pop(0) if len(outcomes) > 1 else outcomes[0]
    with open(control, "w") as f:
        json.dump(script, f)
    with open(control + "." + name + ".jsonl", "a") as f:
        f.write(json.dumps(event) + "\\n")
    if outcome != "ok":
        raise type(outcome, (Exception,), {})("scripted " + outcome)
    return script["results"][name]
"""


def _arn(service: str, resource: str) -> str:
    return f"arn:aws:{service}:{state.REGION}:{state.ACCOUNT_ID}:{resource}"


class Workflow:
    """The rendered workflow, its stand-in steps and a real DataSync task."""

    def __init__(self, aws: SandboxClients, data_dir: Path) -> None:
        self.aws = aws
        self.control = data_dir / "control.json"
        env = {"CONTROL": str(self.control)}
        prepare = aws.function("wf-prepare", STEP, env={**env, "STEP": "prepare"})
        finalize = aws.function("wf-finalize", STEP, env={**env, "STEP": "finalize"})
        self.table = "wf-registry"
        aws.client("dynamodb").create_table(
            TableName=self.table,
            BillingMode="PAY_PER_REQUEST",
            KeySchema=[
                {"AttributeName": "pk", "KeyType": "HASH"},
                {"AttributeName": "sk", "KeyType": "RANGE"},
            ],
            AttributeDefinitions=[
                {"AttributeName": "pk", "AttributeType": "S"},
                {"AttributeName": "sk", "AttributeType": "S"},
            ],
        )
        variables = {
            **VARIABLES,
            "prepare_function_arn": prepare,
            "finalize_function_arn": finalize,
            "registry_table_name": self.table,
            "poll_interval_seconds": "1",
            "transfer_timeout_seconds": "2",
        }
        self.machine = aws.client("stepfunctions").create_state_machine(
            name="wf-branches",
            definition=render(TEMPLATE.read_text(), variables),
            roleArn=aws.role(),
        )["stateMachineArn"]
        self.task_arn = self._task()
        self.runs = 0

    def _task(self) -> str:
        ec2, efs, ds = (self.aws.client(s) for s in ("ec2", "efs", "datasync"))
        vpc = ec2.create_vpc(CidrBlock="10.80.0.0/16")["Vpc"]["VpcId"]
        subnet = ec2.create_subnet(
            VpcId=vpc, CidrBlock="10.80.1.0/24", AvailabilityZone="us-east-1a"
        )["Subnet"]["SubnetId"]
        group = ec2.create_security_group(GroupName="wf", Description="wf", VpcId=vpc)["GroupId"]
        ec2.authorize_security_group_ingress(
            GroupId=group,
            IpPermissions=[
                {
                    "IpProtocol": "tcp",
                    "FromPort": 2049,
                    "ToPort": 2049,
                    "UserIdGroupPairs": [{"GroupId": group}],
                }
            ],
        )
        fs_id = efs.create_file_system(CreationToken="wf")["FileSystemId"]
        efs.create_mount_target(FileSystemId=fs_id, SubnetId=subnet, SecurityGroups=[group])
        (state.efs_root(fs_id) / "a").mkdir(parents=True)
        (state.efs_root(fs_id) / "a" / "f.txt").write_bytes(b"f")
        config = {
            "SubnetArn": _arn("ec2", f"subnet/{subnet}"),
            "SecurityGroupArns": [_arn("ec2", f"security-group/{group}")],
        }
        fs_arn = _arn("elasticfilesystem", f"file-system/{fs_id}")
        self.source, self.target = (
            ds.create_location_efs(EfsFilesystemArn=fs_arn, Subdirectory=path, Ec2Config=config)[
                "LocationArn"
            ]
            for path in ("/a", "/b")
        )
        task: str = ds.create_task(
            SourceLocationArn=self.source, DestinationLocationArn=self.target
        )["TaskArn"]
        return task

    def run(self, prepare: list[str], finalize: list[str]) -> tuple[dict[str, Any], list[Any]]:
        """Run once with scripted step outcomes; the execution and its history."""
        self.runs += 1
        results = {
            "prepare": {
                "task_arn": self.task_arn,
                "source_location_arn": self.source,
                "target_location_arn": self.target,
                "access_point_ids": [],
                "report": None,  # prepare's result always has it (the ASL selects it)
            },
            "finalize": {"status": "SUCCEEDED", "reason": None, "follow_up_restore_id": None},
        }
        script = {"prepare": prepare, "finalize": finalize, "results": results}
        self.control.write_text(json.dumps(script))
        for name in ("prepare", "finalize"):
            Path(f"{self.control}.{name}.jsonl").unlink(missing_ok=True)
        sfn = self.aws.client("stepfunctions")
        arn = sfn.start_execution(
            stateMachineArn=self.machine,
            name=f"run-{self.runs}",
            input=json.dumps({"restore_id": f"r-{self.runs}", "target": {}, "source": {}}),
        )["executionArn"]

        def done() -> dict[str, Any] | None:
            reply: dict[str, Any] = sfn.describe_execution(executionArn=arn)
            return reply if reply["status"] != "RUNNING" else None

        finished = wait_for(done, timeout=90)
        pages = sfn.get_paginator("get_execution_history").paginate(executionArn=arn)
        return finished, [e for page in pages for e in page["events"]]

    def finalize_events(self) -> list[dict[str, Any]]:
        path = Path(f"{self.control}.finalize.jsonl")
        return [json.loads(line) for line in path.read_text().splitlines()]


@pytest.fixture(scope="module")
def workflow(aws: SandboxClients, sandbox: Sandbox) -> Workflow:
    return Workflow(aws, sandbox.data_dir)


@pytest.fixture(autouse=True)
def fast_and_clean() -> Iterator[None]:
    faults.set_wait_scale(0.01)
    yield
    faults.clear()
    faults.set_wait_scale(1.0)
    datasync_models.reset_faults()


def _scheduled(events: list[Any], state_name: str) -> int:
    """How many times a Task state was attempted (TaskScheduled after its entry)."""
    current, count = None, 0
    for event in events:
        if "stateEnteredEventDetails" in event:
            current = event["stateEnteredEventDetails"]["name"]
        elif event["type"] in ("TaskScheduled", "LambdaFunctionScheduled") and current == (
            state_name
        ):
            count += 1
    return count


def _errors(events: list[Any]) -> list[str]:
    return [
        e[key]["error"]
        for e in events
        for key in ("taskFailedEventDetails", "lambdaFunctionFailedEventDetails")
        if key in e
    ]


@pytest.mark.parametrize("error", ["SlotUnavailable", "TransientAwsError"])
def test_prepare_retries_its_retryable_errors(workflow: Workflow, error: str) -> None:
    finished, events = workflow.run(prepare=[error, "ok"], finalize=["ok"])

    assert finished["status"] == "SUCCEEDED", finished
    assert _scheduled(events, "Prepare") == 2
    assert error in _errors(events)


def test_prepare_error_that_is_not_retried_goes_to_finalize(workflow: Workflow) -> None:
    finished, events = workflow.run(prepare=["UnsafeTransferError"], finalize=["ok"])

    assert finished["status"] == "SUCCEEDED"  # the stand-in finalize says SUCCEEDED
    assert _scheduled(events, "Prepare") == 1
    (event,) = workflow.finalize_events()
    assert event["state"]["error"]["Error"] == "UnsafeTransferError"


@pytest.mark.parametrize(
    ("operation", "state_name"),
    [("StartTaskExecution", "StartTransfer"), ("DescribeTaskExecution", "CheckTransfer")],
)
@pytest.mark.parametrize(
    ("code", "name"),
    [
        ("InternalException", "DataSync.InternalException"),
        # not an error of DataSync's API reference: the SDK's service exception
        ("ThrottlingException", "DataSync.DataSyncException"),
    ],
)
def test_datasync_throttling_and_internal_errors_are_retried(
    workflow: Workflow, operation: str, state_name: str, code: str, name: str
) -> None:
    faults.inject("datasync", operation, error_code=code, count=1)

    finished, events = workflow.run(prepare=["ok"], finalize=["ok"])

    assert finished["status"] == "SUCCEEDED", finished
    assert name in _errors(events)
    assert _scheduled(events, state_name) >= 2


@pytest.mark.parametrize(
    ("operation", "state_name"),
    [("StartTaskExecution", "StartTransfer"), ("DescribeTaskExecution", "CheckTransfer")],
)
def test_datasync_request_errors_are_caught_and_finalized(
    workflow: Workflow, operation: str, state_name: str
) -> None:
    faults.inject("datasync", operation, error_code="InvalidRequestException", count=1)

    finished, events = workflow.run(prepare=["ok"], finalize=["ok"])

    assert _scheduled(events, state_name) == 1
    (event,) = workflow.finalize_events()
    assert event["state"]["error"]["Error"] == "DataSync.InvalidRequestException"
    assert finished["status"] == "SUCCEEDED"  # the stand-in finalize says SUCCEEDED


@pytest.mark.parametrize(
    ("code", "caught"),
    [("InternalException", False), ("InvalidRequestException", True)],
)
def test_cancel_of_a_transfer_past_its_timeout_retries_or_is_caught(
    workflow: Workflow, code: str, caught: bool
) -> None:
    # given a transfer that never ends, and a failing cancel
    datasync_models.faults.hang = True
    faults.inject("datasync", "CancelTaskExecution", error_code=code, count=1)

    finished, events = workflow.run(prepare=["ok"], finalize=["ok"])

    assert finished["status"] == "SUCCEEDED"  # the stand-in finalize says SUCCEEDED
    (event,) = workflow.finalize_events()
    assert f"DataSync.{code}" in _errors(events)
    if caught:
        assert _scheduled(events, "CancelTransfer") == 1
        assert event["state"]["cancel_error"]["Error"] == f"DataSync.{code}"
    else:
        assert _scheduled(events, "CancelTransfer") == 2
        assert event["state"]["error"]["Error"] == "Timeout"
    datasync_models.faults.hang = False
    for execution in workflow.aws.client("datasync").list_task_executions(
        TaskArn=workflow.task_arn
    )["TaskExecutions"]:
        if execution["Status"] not in ("SUCCESS", "ERROR"):
            workflow.aws.client("datasync").cancel_task_execution(
                TaskExecutionArn=execution["TaskExecutionArn"]
            )


def test_finalize_retries_a_transient_error(workflow: Workflow) -> None:
    finished, events = workflow.run(prepare=["ok"], finalize=["TransientAwsError", "ok"])

    assert finished["status"] == "SUCCEEDED", finished
    assert _scheduled(events, "Finalize") == 2


def _holder(workflow: Workflow, execution: str) -> None:
    workflow.aws.client("dynamodb").put_item(
        TableName=workflow.table,
        Item={
            "pk": {"S": "SEMAPHORE"},
            "sk": {"S": "DATASYNC"},
            "count": {"N": "1"},
            "holders": {"M": {execution: {"S": "now"}}},
        },
    )


def test_finalize_failing_releases_the_slot_after_a_throttled_try(workflow: Workflow) -> None:
    # given the semaphore held by the next run, and one throttled UpdateItem
    execution = _arn("states", f"execution:wf-branches:run-{workflow.runs + 1}")
    _holder(workflow, execution)
    faults.inject(
        "dynamodb", "UpdateItem", error_code="ProvisionedThroughputExceededException", count=1
    )

    finished, events = workflow.run(prepare=["ok"], finalize=["KeyError"])

    assert finished["status"] == "FAILED"
    assert finished["error"] == "FinalizeFailed"
    assert "DynamoDB.ProvisionedThroughputExceededException" in _errors(events)
    assert _scheduled(events, "ReleaseSlot") == 2
    item = workflow.aws.client("dynamodb").get_item(
        TableName=workflow.table, Key={"pk": {"S": "SEMAPHORE"}, "sk": {"S": "DATASYNC"}}
    )["Item"]
    assert item["count"] == {"N": "0"}
    assert item["holders"] == {"M": {}}


def test_release_of_a_slot_not_held_is_caught(workflow: Workflow) -> None:
    _holder(workflow, "someone-else")

    finished, events = workflow.run(prepare=["ok"], finalize=["KeyError"])

    assert finished["error"] == "FinalizeFailed"
    assert "DynamoDB.ConditionalCheckFailedException" in _errors(events)
    assert _scheduled(events, "ReleaseSlot") == 1
