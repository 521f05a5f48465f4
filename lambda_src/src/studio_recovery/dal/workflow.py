"""Start restore executions (Step Functions), named by `restore_id`."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import boto3
from botocore.exceptions import ClientError

from studio_recovery.dal.aws_errors import RETRY_CONFIG, error_code, transient_aws_errors
from studio_recovery.models.aws import StartedExecution
from studio_recovery.models.restore import RestoreRequest

if TYPE_CHECKING:
    from mypy_boto3_stepfunctions.client import SFNClient


def execution_arn_of(state_machine_arn: str, name: str) -> str:
    """`arn:...:execution:<machine>:<name>` from `arn:...:stateMachine:<machine>`."""
    return f"{state_machine_arn.replace(':stateMachine:', ':execution:', 1)}:{name}"


class WorkflowGateway:
    """StartExecution with a deterministic name: starting twice is harmless."""

    def __init__(self, state_machine_arn: str, client: SFNClient | Any | None = None) -> None:
        self._client: Any = client or boto3.client("stepfunctions", config=RETRY_CONFIG)
        self.state_machine_arn = state_machine_arn

    def start(self, request: RestoreRequest) -> StartedExecution:
        """Start the execution `request.restore_id`; an existing one counts as started."""
        try:
            with transient_aws_errors("stepfunctions start_execution"):
                reply = self._client.start_execution(
                    stateMachineArn=self.state_machine_arn,
                    name=request.restore_id,
                    input=json.dumps(request.execution_input()),
                )
        except ClientError as exc:
            if error_code(exc) != "ExecutionAlreadyExists":
                raise
            arn = execution_arn_of(self.state_machine_arn, request.restore_id)
            return StartedExecution(execution_arn=arn, already_started=True)
        return StartedExecution(execution_arn=str(reply["executionArn"]), already_started=False)
