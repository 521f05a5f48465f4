"""Step Functions tasks call as the state machine's role.

A state machine "assumes the execution role to call other services" (Step Functions
developer guide, "How Step Functions works with IAM",
https://docs.aws.amazon.com/step-functions/latest/dg/procedure-create-iam-role.html).
moto's interpreter signs its Lambda and aws-sdk task calls with a fixed key; this module
gives `boto_client_for` the role session's credentials instead (the task's state
credentials name the execution's role, or the role of the task's `Credentials` field).
"""

from __future__ import annotations

from typing import Any

_originals: dict[str, Any] = {}
_clients: dict[tuple[str, str, str], Any] = {}
_SESSION = "StepFunctions"


def _modules() -> list[Any]:
    from moto.stepfunctions.parser.asl.component.state.exec.state_task import lambda_eval_utils
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import (
        state_task_service_aws_sdk,
    )

    return [lambda_eval_utils, state_task_service_aws_sdk]


def _client_for(region: str, service: str, state_credentials: Any = None) -> Any:
    import boto3
    from botocore.config import Config
    from moto.settings import moto_server_port

    from studio_sandbox.iam import principals

    original = _originals["boto_client_for"]
    role_arn = getattr(state_credentials, "role_arn", None)
    if not role_arn:
        return original(region=region, service=service, state_credentials=state_credentials)
    key = (service, region, str(role_arn))
    if key in _clients:
        return _clients[key]
    creds = principals.credentials_for(str(role_arn), _SESSION)
    make: Any = boto3.client
    client = _clients[key] = make(
        service_name=service,
        region_name=region,
        endpoint_url=f"http://localhost:{moto_server_port()}",
        aws_access_key_id=creds.access_key_id,
        aws_secret_access_key=creds.secret_access_key,
        aws_session_token=creds.session_token,
        config=Config(
            parameter_validation=False,
            retries={"max_attempts": 0, "total_max_attempts": 1},
            connect_timeout=60,
            read_timeout=60,
        ),
    )
    return client


def install() -> None:
    if _originals:
        return
    from moto.stepfunctions.parser.asl.utils import boto_client

    _originals["boto_client_for"] = boto_client.boto_client_for
    for module in _modules():
        module.boto_client_for = _client_for


def uninstall() -> None:
    if not _originals:
        return
    _clients.clear()
    original = _originals.pop("boto_client_for")
    for module in _modules():
        module.boto_client_for = original
