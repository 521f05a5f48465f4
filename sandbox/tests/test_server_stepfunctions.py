"""Step Functions in the sandbox runs ASL for real, with AWS's error names and events."""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import ClientError

from sandbox.tests.helpers import SandboxClients, wait_for
from studio_sandbox.server import state
from studio_sandbox.server.app import Sandbox
from studio_sandbox.stepfunctions import sdk_service_name

DOUBLER = "def handler(event, context):\n    return {'doubled': event['n'] * 2}\n"


def _machine(aws: SandboxClients, name: str, definition: dict[str, Any]) -> str:
    reply = aws.client("stepfunctions").create_state_machine(
        name=name, definition=json.dumps(definition), roleArn=aws.role()
    )
    return str(reply["stateMachineArn"])


def _finished(aws: SandboxClients, execution_arn: str) -> dict[str, Any]:
    sfn = aws.client("stepfunctions")

    def done() -> dict[str, Any] | None:
        reply: dict[str, Any] = sfn.describe_execution(executionArn=execution_arn)
        return reply if reply["status"] != "RUNNING" else None

    return wait_for(done, timeout=30)


def test_lambda_task_and_aws_sdk_task_run_for_real(aws: SandboxClients) -> None:
    # given a table the aws-sdk task writes to, and a Lambda task
    fn = aws.function("doubler", DOUBLER)
    aws.client("dynamodb").create_table(
        TableName="results",
        BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
    )
    machine = _machine(
        aws,
        "double-and-store",
        {
            "StartAt": "Double",
            "States": {
                "Double": {
                    "Type": "Task",
                    "Resource": "arn:aws:states:::lambda:invoke",
                    "Parameters": {"FunctionName": fn, "Payload.$": "$"},
                    "ResultSelector": {"doubled.$": "$.Payload.doubled"},
                    "Next": "Store",
                },
                "Store": {
                    "Type": "Task",
                    "Resource": "arn:aws:states:::aws-sdk:dynamodb:putItem",
                    "Parameters": {
                        "TableName": "results",
                        "Item": {
                            "pk": {"S": "run-1"},
                            "value": {"N.$": "States.Format('{}', $.doubled)"},
                        },
                    },
                    "ResultPath": None,
                    "End": True,
                },
            },
        },
    )

    # when
    execution = aws.client("stepfunctions").start_execution(
        stateMachineArn=machine, name="run-1", input=json.dumps({"n": 21})
    )

    # then
    finished = _finished(aws, execution["executionArn"])
    assert finished["status"] == "SUCCEEDED", finished
    assert json.loads(finished["output"]) == {"doubled": 42}
    item = aws.client("dynamodb").get_item(TableName="results", Key={"pk": {"S": "run-1"}})
    assert item["Item"]["value"] == {"N": "42"}


def test_aws_sdk_errors_are_named_like_aws(aws: SandboxClients) -> None:
    machine = _machine(
        aws,
        "sdk-errors",
        {
            "StartAt": "Describe",
            "States": {
                "Describe": {
                    "Type": "Task",
                    "Resource": "arn:aws:states:::aws-sdk:dynamodb:describeTable",
                    "Parameters": {"TableName": "no-such-table"},
                    "Catch": [
                        {
                            "ErrorEquals": ["DynamoDb.ResourceNotFoundException"],
                            "ResultPath": "$.error",
                            "Next": "Caught",
                        }
                    ],
                    "End": True,
                },
                "Caught": {"Type": "Pass", "End": True},
            },
        },
    )

    execution = aws.client("stepfunctions").start_execution(stateMachineArn=machine, input="{}")

    finished = _finished(aws, execution["executionArn"])
    assert finished["status"] == "SUCCEEDED", finished
    assert json.loads(finished["output"])["error"]["Error"] == "DynamoDb.ResourceNotFoundException"


@pytest.mark.parametrize(
    ("service", "expected"),
    [
        ("datasync", "DataSync"),
        ("sagemaker", "SageMaker"),
        ("dynamodb", "DynamoDb"),
        ("efs", "Efs"),
        ("ec2", "Ec2"),
        ("sfn", "Sfn"),
        ("lambda", "Lambda"),
        ("s3", "S3"),
    ],
)
def test_sdk_service_names_follow_the_aws_sdk(service: str, expected: str) -> None:
    assert sdk_service_name(service) == expected


def test_lambda_task_error_is_the_function_error_type(aws: SandboxClients) -> None:
    fn = aws.function("raiser", "def handler(e, c):\n    raise KeyError('k')\n")
    machine = _machine(
        aws,
        "lambda-error",
        {
            "StartAt": "Call",
            "States": {"Call": {"Type": "Task", "Resource": fn, "End": True}},
        },
    )

    execution = aws.client("stepfunctions").start_execution(stateMachineArn=machine, input="{}")

    finished = _finished(aws, execution["executionArn"])
    assert finished["status"] == "FAILED"
    assert finished["error"] == "KeyError"


def test_duplicate_execution_name_is_refused(aws: SandboxClients) -> None:
    sfn = aws.client("stepfunctions")
    machine = _machine(
        aws, "named", {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}
    )
    first = sfn.start_execution(stateMachineArn=machine, name="restore-1", input='{"a": 1}')
    _finished(aws, first["executionArn"])

    with pytest.raises(ClientError) as caught:
        sfn.start_execution(stateMachineArn=machine, name="restore-1", input='{"a": 1}')

    assert caught.value.response["Error"]["Code"] == "ExecutionAlreadyExists"


def test_unnamed_executions_get_distinct_names(aws: SandboxClients) -> None:
    sfn = aws.client("stepfunctions")
    machine = _machine(
        aws, "unnamed", {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}
    )

    first = sfn.start_execution(stateMachineArn=machine, input="{}")
    second = sfn.start_execution(stateMachineArn=machine, input="{}")

    assert first["executionArn"] != second["executionArn"]


def test_invalid_execution_name_is_refused(aws: SandboxClients) -> None:
    sfn = aws.client("stepfunctions")
    machine = _machine(
        aws, "badname", {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}
    )

    with pytest.raises(ClientError) as caught:
        sfn.start_execution(stateMachineArn=machine, name="has space", input="{}")

    assert caught.value.response["Error"]["Code"] == "InvalidName"


def test_stop_execution_aborts_and_emits_the_status_change(
    aws: SandboxClients, sandbox: Sandbox
) -> None:
    # given a rule on aborted executions and a long-running execution
    out = sandbox.data_dir / "aborted.jsonl"
    recorder = (
        "import json, os\n"
        "def handler(e, c):\n"
        "    open(os.environ['OUT'], 'a').write(json.dumps(e) + '\\n')\n"
    )
    target = aws.function("abort-recorder", recorder, env={"OUT": str(out)})
    machine = _machine(
        aws,
        "slow",
        {"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 60, "End": True}}},
    )
    aws.client("events").put_rule(
        Name="aborted",
        EventPattern=json.dumps(
            {
                "source": ["aws.states"],
                "detail-type": ["Step Functions Execution Status Change"],
                "detail": {
                    "status": ["ABORTED", "TIMED_OUT"],
                    "stateMachineArn": [machine],
                },
            }
        ),
    )
    aws.client("events").put_targets(Rule="aborted", Targets=[{"Id": "t", "Arn": target}])
    aws.client("lambda").add_permission(
        FunctionName=target,
        StatementId="events-aborted",
        Action="lambda:InvokeFunction",
        Principal="events.amazonaws.com",
    )
    sfn = aws.client("stepfunctions")
    execution = sfn.start_execution(stateMachineArn=machine, name="to-stop", input='{"x": 1}')

    # when
    sfn.stop_execution(executionArn=execution["executionArn"])

    # then
    assert sfn.describe_execution(executionArn=execution["executionArn"])["status"] == "ABORTED"
    events = wait_for(lambda: out.is_file() and out.read_text().splitlines())
    assert len(events) == 1
    event = json.loads(events[0])
    assert event["source"] == "aws.states"
    assert event["detail"]["executionArn"] == execution["executionArn"]
    assert event["detail"]["status"] == "ABORTED"
    assert json.loads(event["detail"]["input"]) == {"x": 1}
    assert event["account"] == state.ACCOUNT_ID


def test_validate_state_machine_definition_answers(aws: SandboxClients) -> None:
    sfn = aws.client("stepfunctions")
    ok = sfn.validate_state_machine_definition(
        definition=json.dumps({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}})
    )
    bad = sfn.validate_state_machine_definition(definition='{"StartAt": "Nowhere"}')

    assert ok["result"] == "OK"
    assert bad["result"] == "FAIL"
    assert bad["diagnostics"]


def test_aws_sdk_timestamps_come_back_as_iso_strings(aws: SandboxClients) -> None:
    aws.client("dynamodb").create_table(
        TableName="stamped",
        BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
    )
    machine = _machine(
        aws,
        "timestamps",
        {
            "StartAt": "Describe",
            "States": {
                "Describe": {
                    "Type": "Task",
                    "Resource": "arn:aws:states:::aws-sdk:dynamodb:describeTable",
                    "Parameters": {"TableName": "stamped"},
                    "ResultSelector": {"created.$": "$.Table.CreationDateTime"},
                    "End": True,
                }
            },
        },
    )

    execution = aws.client("stepfunctions").start_execution(stateMachineArn=machine, input="{}")

    finished = _finished(aws, execution["executionArn"])
    assert finished["status"] == "SUCCEEDED", finished
    created = json.loads(finished["output"])["created"]
    assert isinstance(created, str)
    assert created.endswith("Z")
    assert created[:4].isdigit()
    assert created[4] == "-"
