"""Fixes that let the Terraform aws provider (5.x) apply to and re-plan against moto.

Each fix answers a call the provider makes that moto 5.2.1 lacks or answers differently
from AWS, found by applying `examples/sandbox` to the sandbox:

- Step Functions: `ValidateStateMachineDefinition` and `ListStateMachineVersions`;
- Lambda: `DeadLetterConfig`, `KMSKeyArn` and `LoggingConfig` kept on the function and
  returned by GetFunction (moto drops them, so every plan would show a change);
- EC2: a security-group rule that references a group keeps its description in
  DescribeSecurityGroupRules (moto reads it only from CIDR rules);
- SQS: a queue encrypted with a KMS key does not also report SQS-managed encryption
  (the provider waits for the attributes it set, ~25 s per queue, otherwise);
- SageMaker: DescribeDomain reports `TagPropagation` (default `DISABLED`), and
  DescribeUserProfile/DescribeSpace omit empty settings objects, as AWS does; applied to
  the JSON reply (:func:`fix_response`), whichever model answers;
- S3: bucket policy conditions evaluated as S3 does (`studio_sandbox.s3_policy`);
  GetBucketNotificationConfiguration reports `EventBridgeConfiguration` when the bucket
  sends its events to EventBridge (moto keeps it but leaves it out, so every plan would
  turn `eventbridge` on again);
- DynamoDB: writes serialized (`_serialize_dynamodb_writes`). moto's TransactWriteItems
  rolls a failed transaction back by restoring a copy of the whole table taken when it
  began, which silently undid a write that another thread committed meanwhile (an e2e run
  lost a recorded generation that way);
- moto itself: per-request costs cut with the same answers (`studio_sandbox.server.moto_speed`).
"""

from __future__ import annotations

import json
import logging
import threading
from typing import Any

from moto.awslambda.models import LambdaFunction
from moto.s3.responses import S3Response
from moto.sqs.models import Queue
from moto.stepfunctions.responses import StepFunctionResponse

from studio_sandbox import s3_policy
from studio_sandbox.server import moto_speed

LOG = logging.getLogger(__name__)

_installed = False

# Lambda function settings moto accepts but does not keep: request key -> attribute.
_KEPT_LAMBDA_SETTINGS = {
    "DeadLetterConfig": "dead_letter_config",
    "KMSKeyArn": "kms_key_arn",
    "LoggingConfig": "logging_config",
}


# -- Step Functions -------------------------------------------------------------------
def _validate_state_machine_definition(self: StepFunctionResponse) -> str:
    """Parse the definition with moto's ASL parser; report errors as AWS diagnostics."""
    definition = self._get_param("definition")
    diagnostics: list[dict[str, str]] = []
    try:
        from moto.stepfunctions.parser.asl.parse.asl_parser import AmazonStateLanguageParser

        AmazonStateLanguageParser.parse(definition)
    except Exception as exc:
        diagnostics.append(
            {"severity": "ERROR", "code": "SCHEMA_VALIDATION_FAILED", "message": str(exc)[:1000]}
        )
    result = "FAIL" if diagnostics else "OK"
    return json.dumps({"result": result, "diagnostics": diagnostics, "truncated": False})


def _list_state_machine_versions(self: StepFunctionResponse) -> str:
    arn = self._get_param("stateMachineArn")
    machine = self.stepfunction_backend.describe_state_machine(arn)
    versions = [
        {"stateMachineVersionArn": v.arn, "creationDate": v.creation_date}
        for v in sorted(machine.versions.values(), key=lambda v: -v.version)
    ]
    return json.dumps({"stateMachineVersions": versions}, default=str)


# -- Lambda -----------------------------------------------------------------------------
_original_init = LambdaFunction.__init__
_original_get_configuration = LambdaFunction.get_configuration
_original_update_configuration = LambdaFunction.update_configuration


def _init(
    self: LambdaFunction, account_id: str, spec: dict[str, Any], *args: Any, **kwargs: Any
) -> None:
    _original_init(self, account_id, spec, *args, **kwargs)
    for key, attribute in _KEPT_LAMBDA_SETTINGS.items():
        setattr(self, attribute, spec.get(key))


def _get_configuration(self: LambdaFunction, *args: Any, **kwargs: Any) -> dict[str, Any]:
    config: dict[str, Any] = _original_get_configuration(self, *args, **kwargs)
    for key, attribute in _KEPT_LAMBDA_SETTINGS.items():
        value = getattr(self, attribute, None)
        if value:
            config[key] = value
    if "LoggingConfig" not in config:
        config["LoggingConfig"] = {
            "LogFormat": "Text",
            "LogGroup": f"/aws/lambda/{self.function_name}",
        }
    return config


def _update_configuration(self: LambdaFunction, config_updates: dict[str, Any]) -> dict[str, Any]:
    for key, attribute in _KEPT_LAMBDA_SETTINGS.items():
        if key in config_updates:
            setattr(self, attribute, config_updates[key] or None)
    return _original_update_configuration(self, config_updates)


# -- SQS ---------------------------------------------------------------------------------
_original_set_attributes = Queue._set_attributes


def _set_attributes(self: Queue, attributes: dict[str, Any], now: float | None = None) -> None:
    _original_set_attributes(self, attributes, now)
    if getattr(self, "kms_master_key_id", None):
        setattr(self, "sqs_managed_sse_enabled", False)  # noqa: B010 - SSE-KMS excludes SSE-SQS


# -- EC2 ---------------------------------------------------------------------------------
def _rule_description(self: Any) -> str | None:
    description = self.ip_range.get("Description") or self.source_group.get("Description")
    return str(description) if description else None


# -- SageMaker replies ---------------------------------------------------------------------
def _drop_empty(reply: dict[str, Any], *keys: str) -> None:
    for key in keys:
        if key in reply and not reply[key]:
            del reply[key]


_REPLY_FIXES: dict[str, Any] = {
    "SageMaker.DescribeDomain": lambda r: r.setdefault("TagPropagation", "DISABLED"),
    "SageMaker.DescribeUserProfile": lambda r: _drop_empty(r, "UserSettings"),
}


def fix_response(target: str, status: int, body: bytes) -> bytes:
    """Correct a JSON reply of the action named by `X-Amz-Target`, if it needs it."""
    fix = _REPLY_FIXES.get(target)
    if fix is None or status != 200 or not body:
        return body
    try:
        reply = json.loads(body)
    except ValueError:
        return body
    if not isinstance(reply, dict):
        return body
    fix(reply)
    return json.dumps(reply).encode()


def needs_response_fix(target: str) -> bool:
    """Whether :func:`fix_response` changes replies to this action."""
    return target in _REPLY_FIXES


_prepared: set[str] = set()
_ec2_original: dict[str, Any] = {}
_prepare_lock = threading.Lock()


def prepare_service(service: str) -> None:
    """Apply the fixes of a service moto loads on its first request (EC2 loads slowly)."""
    with _prepare_lock:
        if service in _prepared:
            return
        _prepared.add(service)
        if service == "ec2":
            from moto.ec2.models.security_groups import SecurityGroupRule

            _ec2_original["description"] = SecurityGroupRule.__dict__["description"]
            SecurityGroupRule.description = property(_rule_description)  # type: ignore[method-assign,assignment]


_DYNAMODB_WRITES = (
    "transact_write_items",
    "put_item",
    "update_item",
    "delete_item",
    "batch_write_item",
)
_dynamodb_original: dict[str, Any] = {}
_dynamodb_lock = threading.RLock()


def _serialized(method: Any) -> Any:
    def locked(self: Any, *args: Any, **kwargs: Any) -> Any:
        with _dynamodb_lock:
            return method(self, *args, **kwargs)

    return locked


def _serialize_dynamodb_writes() -> None:
    from moto.dynamodb.models import DynamoDBBackend

    for name in _DYNAMODB_WRITES:
        _dynamodb_original[name] = getattr(DynamoDBBackend, name)
        setattr(DynamoDBBackend, name, _serialized(_dynamodb_original[name]))


def _restore_dynamodb_writes() -> None:
    from moto.dynamodb.models import DynamoDBBackend

    for name, method in _dynamodb_original.items():
        setattr(DynamoDBBackend, name, method)
    _dynamodb_original.clear()


# -- S3 -------------------------------------------------------------------------------

_original_get_bucket_notification = S3Response.get_bucket_notification
_NOTIFICATION_END = "</NotificationConfiguration>"
_EVENTBRIDGE_ELEMENT = "<EventBridgeConfiguration></EventBridgeConfiguration>"


def _get_bucket_notification(self: S3Response) -> Any:
    """moto's reply, with the `EventBridgeConfiguration` element AWS returns while the
    bucket sends its events to EventBridge."""
    reply = _original_get_bucket_notification(self)
    config = self.backend.get_bucket_notification_configuration(self.bucket_name)
    if config is None or config.event_bridge is None or not isinstance(reply, tuple):
        return reply
    status, headers, body = reply
    if not isinstance(body, str) or "EventBridgeConfiguration" in body:
        return reply
    body = body.rstrip()
    if body.endswith("/>"):  # an otherwise empty configuration: <NotificationConfiguration .../>
        body = body[:-2] + ">" + _NOTIFICATION_END
    body = body.replace(_NOTIFICATION_END, _EVENTBRIDGE_ELEMENT + _NOTIFICATION_END)
    return status, headers, body


def install() -> None:
    """Apply every compatibility fix (once per process)."""
    global _installed
    if _installed:
        return
    StepFunctionResponse.validate_state_machine_definition = _validate_state_machine_definition  # type: ignore[attr-defined]
    StepFunctionResponse.list_state_machine_versions = _list_state_machine_versions  # type: ignore[attr-defined]
    LambdaFunction.__init__ = _init  # type: ignore[method-assign]
    LambdaFunction.get_configuration = _get_configuration  # type: ignore[method-assign]
    LambdaFunction.update_configuration = _update_configuration  # type: ignore[method-assign]
    Queue._set_attributes = _set_attributes  # type: ignore[method-assign]
    S3Response.get_bucket_notification = _get_bucket_notification  # type: ignore[method-assign]
    s3_policy.install()
    moto_speed.install()
    _serialize_dynamodb_writes()
    _installed = True


def uninstall() -> None:
    """Give moto back its own behaviour (the sandbox stopped; other suites may use moto)."""
    global _installed
    with _prepare_lock:
        if "description" in _ec2_original:
            from moto.ec2.models.security_groups import SecurityGroupRule

            SecurityGroupRule.description = _ec2_original.pop("description")  # type: ignore[method-assign]
        _prepared.clear()
    if not _installed:
        return
    del StepFunctionResponse.validate_state_machine_definition  # type: ignore[attr-defined]
    del StepFunctionResponse.list_state_machine_versions  # type: ignore[attr-defined]
    LambdaFunction.__init__ = _original_init  # type: ignore[method-assign]
    LambdaFunction.get_configuration = _original_get_configuration  # type: ignore[method-assign]
    LambdaFunction.update_configuration = _original_update_configuration  # type: ignore[method-assign]
    Queue._set_attributes = _original_set_attributes  # type: ignore[method-assign]
    S3Response.get_bucket_notification = _original_get_bucket_notification  # type: ignore[method-assign]
    s3_policy.uninstall()
    _restore_dynamodb_writes()
    moto_speed.uninstall()
    _installed = False
