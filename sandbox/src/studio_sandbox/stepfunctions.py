"""Step Functions as AWS runs it: real executions, AWS error names, status-change events.

moto's ASL interpreter (enabled with `execute_state_machine`) runs the deployed
definition; Lambda tasks reach the sandbox's Lambda runtime and aws-sdk tasks call back
to the sandbox endpoint. This module corrects what differs from AWS:

- aws-sdk task errors are named `<Service>.<Exception>` with the service as the AWS SDK
  names it (`DataSync.InvalidRequestException`, `DynamoDb...`, `Efs...`), not lowercase;
- an execution started without a name gets a unique one (moto names them all "None");
  a name that does not match AWS's rules is refused;
- aws-sdk task results carry timestamps as ISO 8601 strings (boto3's datetimes would
  make the execution's state unserialisable);
- StopExecution makes the execution ABORTED at once;
- a definite JSONPath (`$.Apps[0].Status`) gives one value, not a list (`sfn_paths`);
- an execution fails when its history reaches 25,000 events (`sfn_history`);
- every status change (RUNNING, SUCCEEDED, FAILED, TIMED_OUT, ABORTED) is published to
  EventBridge as `Step Functions Execution Status Change`, so rules on `aws.states` fire.
"""

from __future__ import annotations

import base64
import copy
import datetime
import json
import logging
import re
import threading
import uuid
from functools import cache
from typing import Any

import botocore.session
from moto.stepfunctions.exceptions import InvalidName
from moto.stepfunctions.models import StateMachine
from moto.stepfunctions.parser.api import ExecutionStatus
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import (
    state_task_service_aws_sdk as aws_sdk,
)
from moto.stepfunctions.parser.backend import execution as parser_execution
from moto.stepfunctions.parser.models import (
    StepFunctionsParserBackend,
    stepfunctions_parser_backends,
)

from studio_sandbox import sfn_history, sfn_paths
from studio_sandbox.eventbridge import bus

LOG = logging.getLogger(__name__)

# AWS: 1-80 characters, no whitespace, brackets, wildcards, special or control characters.
_EXECUTION_NAME = re.compile(r"^[^\s<>{}\[\]*?\"#%\\^|~`$&,;:/\x00-\x1f\x7f-\x9f]{1,80}$")
_BOTO_SERVICE_ALIASES = {"sfn": "stepfunctions"}

_originals: dict[str, Any] = {}


def backend_for(account_id: str, region: str) -> StepFunctionsParserBackend:
    """The executing Step Functions backend of an account and region."""
    backend: StepFunctionsParserBackend = stepfunctions_parser_backends[account_id][region]
    return backend


# -- error names ------------------------------------------------------------------------
def sdk_service_name(service: str) -> str:
    """The service part of an aws-sdk error name, as Step Functions writes it.

    Step Functions uses the AWS SDK for Java v2 client name: the service id split into
    words, each capitalised (`DataSync`, `SageMaker`, `DynamoDb`, `Efs`, `Ec2`, `Sfn`).
    """
    service_id = _service_id(service.lower())
    words = re.findall(r"[A-Z]+(?![a-z])|[A-Z][a-z]*|[a-z]+|\d+", service_id)
    return "".join(word[:1].upper() + word[1:].lower() for word in words)


@cache
def _service_id(service: str) -> str:
    name = _BOTO_SERVICE_ALIASES.get(service, service)
    try:
        model = botocore.session.get_session().get_service_model(name)
    except Exception:  # an unknown service: keep its name, capitalised
        return service[:1].upper() + service[1:]
    return str(model.service_id)


def _normalise_service_error_name(service_name: str) -> str:
    return sdk_service_name(service_name)


# -- aws-sdk results ---------------------------------------------------------------------
def to_state_json(value: Any) -> Any:
    """An SDK result as Step Functions passes it on: timestamps as ISO 8601 strings, blobs
    as base64 (boto3 gives datetime and bytes, which the state's JSON cannot hold)."""
    if isinstance(value, dict):
        return {key: to_state_json(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [to_state_json(item) for item in value]
    if isinstance(value, datetime.datetime):
        moment = value if value.tzinfo else value.replace(tzinfo=datetime.UTC)
        text = moment.astimezone(datetime.UTC).isoformat(timespec="milliseconds")
        return text.replace("+00:00", "Z")
    if isinstance(value, bytes | bytearray):
        return base64.b64encode(value).decode()
    return value


def _eval_service_task(self: Any, env: Any, *args: Any, **kwargs: Any) -> None:
    _originals["eval_service_task"](self, env, *args, **kwargs)
    env.stack[-1] = to_state_json(env.stack[-1])


# -- executions -------------------------------------------------------------------------
def _start_execution(
    self: StepFunctionsParserBackend,
    state_machine_arn: str,
    name: str | None = None,
    execution_input: str | None = None,
    trace_header: str | None = None,
) -> Any:
    if name is None:
        name = str(uuid.uuid4())
    elif not _EXECUTION_NAME.match(name):
        raise InvalidName(f"Invalid Name: '{name}'")
    return _originals["start_execution"](
        self, state_machine_arn, name, execution_input, trace_header
    )


_SHARED_ON_COPY = ("backend", "executions")


def _state_machine_deepcopy(self: StateMachine, memo: dict[int, Any]) -> StateMachine:
    """Snapshot a state machine for an execution without copying its whole backend.

    moto deep-copies the machine at every StartExecution; the machine points at its
    backend, whose earlier executions hold thread locks that cannot be copied.
    """
    clone = object.__new__(type(self))
    memo[id(self)] = clone
    for key, value in self.__dict__.items():
        shared = key in _SHARED_ON_COPY
        setattr(clone, key, value if shared else copy.deepcopy(value, memo))
    return clone


def _millis(value: Any) -> int | None:
    if isinstance(value, datetime.datetime):
        return int(value.timestamp() * 1000)
    return None


def status_change_event(execution: Any, status: str) -> dict[str, Any]:
    """The EventBridge event Step Functions emits when an execution changes status."""
    output = getattr(execution, "output", None)
    detail = {
        "executionArn": execution.exec_arn,
        "stateMachineArn": execution.state_machine_arn,
        "name": execution.name,
        "status": status,
        "startDate": _millis(execution.start_date),
        "stopDate": _millis(execution.stop_date) if status != "RUNNING" else None,
        "input": json.dumps(execution.input_data),
        "output": json.dumps(output) if output is not None and status == "SUCCEEDED" else None,
        "inputDetails": {"included": True},
        "outputDetails": {"included": True} if status == "SUCCEEDED" else None,
        "error": getattr(execution, "error", None),
        "cause": getattr(execution, "cause", None),
    }
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Step Functions Execution Status Change",
        "source": "aws.states",
        "account": execution.account_id,
        "time": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": execution.region_name,
        "resources": [execution.exec_arn],
        "detail": detail,
    }


def _emit(execution: Any, status: str) -> None:
    emitted: set[str] = execution.__dict__.setdefault("_sandbox_emitted", set())
    if status in emitted:
        return
    emitted.add(status)
    try:
        bus.publish(
            status_change_event(execution, status),
            region=execution.region_name,
            account_id=execution.account_id,
        )
    except Exception:
        LOG.exception("could not publish the status change of %s", execution.exec_arn)


def _execution_start(self: Any) -> None:
    _originals["start"](self)
    _emit(self, "RUNNING")


def _execution_stop(self: Any, stop_date: Any, error: str | None, cause: str | None) -> None:
    if self.exec_status != ExecutionStatus.RUNNING:
        return
    _originals["stop"](self, stop_date, error, cause)
    self.exec_status = ExecutionStatus.ABORTED
    self.stop_date = stop_date or datetime.datetime.now(datetime.UTC)
    self.error = error or None
    self.cause = cause or None
    _emit(self, "ABORTED")


def _terminated(self: Any) -> None:
    execution = self.execution
    if execution.exec_status == ExecutionStatus.ABORTED:
        return  # stopped: the status and its event are already out
    _originals["terminated"](self)
    _emit(execution, execution.exec_status.value)


_install_lock = threading.Lock()


def install() -> None:
    """Apply the corrections to moto's Step Functions interpreter (once)."""
    with _install_lock:
        if not _originals:
            _install()


def _install() -> None:
    sfn_paths.install()
    sfn_history.install()
    comm = parser_execution.BaseExecutionWorkerCommunication
    _originals.update(
        start_execution=StepFunctionsParserBackend.start_execution,
        start=parser_execution.Execution.start,
        stop=parser_execution.Execution.stop,
        terminated=comm.terminated,
        normalise=aws_sdk.StateTaskServiceAwsSdk.__dict__["_normalise_service_error_name"],
        eval_service_task=aws_sdk.StateTaskServiceAwsSdk._eval_service_task,
    )
    StepFunctionsParserBackend.start_execution = _start_execution  # type: ignore[method-assign]
    StateMachine.__deepcopy__ = _state_machine_deepcopy  # type: ignore[attr-defined]
    parser_execution.Execution.start = _execution_start  # type: ignore[method-assign]
    parser_execution.Execution.stop = _execution_stop  # type: ignore[method-assign]
    comm.terminated = _terminated  # type: ignore[method-assign]
    aws_sdk.StateTaskServiceAwsSdk._normalise_service_error_name = staticmethod(  # type: ignore[method-assign]
        _normalise_service_error_name
    )
    aws_sdk.StateTaskServiceAwsSdk._eval_service_task = _eval_service_task  # type: ignore[method-assign]


def uninstall() -> None:
    """Give moto back its own behaviour."""
    if not _originals:
        return
    sfn_paths.uninstall()
    sfn_history.uninstall()
    StepFunctionsParserBackend.start_execution = _originals["start_execution"]  # type: ignore[method-assign]
    del StateMachine.__deepcopy__  # type: ignore[attr-defined]
    parser_execution.Execution.start = _originals["start"]  # type: ignore[method-assign]
    parser_execution.Execution.stop = _originals["stop"]  # type: ignore[method-assign]
    parser_execution.BaseExecutionWorkerCommunication.terminated = _originals["terminated"]  # type: ignore[method-assign]
    aws_sdk.StateTaskServiceAwsSdk._normalise_service_error_name = _originals["normalise"]  # type: ignore[method-assign]
    aws_sdk.StateTaskServiceAwsSdk._eval_service_task = _originals["eval_service_task"]  # type: ignore[method-assign]
    _originals.clear()
