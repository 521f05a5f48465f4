"""Delivery of failed invocations and events to SQS, SNS and Lambda, in-process.

Used by async Lambda invocation (dead-letter queue, on-failure destination), EventBridge
targets (the target's dead-letter queue) and stream event source mappings (on-failure
destination).

Lambda's own deliveries (dead-letter queue, destinations) are made with the function's
execution role: with IAM enforced, one the role does not allow is dropped
(`iam.lambda_sources.may_deliver`).

Delivery sits below the Lambda runtime: the runtime registers how to invoke a function
asynchronously (:func:`set_lambda_invoker`) when it is installed; until then a Lambda
destination is dropped, as before the sandbox runs.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from moto.awslambda.models import LambdaFunction
from moto.awslambda.utils import get_backend as lambda_backend
from moto.sns.models import sns_backends
from moto.sqs.models import sqs_backends

from studio_sandbox.iam import lambda_sources

LOG = logging.getLogger(__name__)

LambdaInvoker = Callable[[LambdaFunction, Any], object]
"""Queue an asynchronous (`Event`) invocation of a function with an event."""

_lambda_invoker: LambdaInvoker | None = None


def set_lambda_invoker(invoker: LambdaInvoker | None) -> None:
    """The Lambda runtime's asynchronous invoke, or None when it stops."""
    global _lambda_invoker
    _lambda_invoker = invoker


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _string_attribute(value: str) -> dict[str, Any]:
    return {"DataType": "String", "StringValue": value}


def send(arn: str, body: str, attributes: dict[str, str] | None = None) -> None:
    """Send `body` to the SQS queue, SNS topic or Lambda function named by `arn`."""
    parts = arn.split(":")
    if len(parts) < 6:
        raise ValueError(f"not an ARN: {arn}")
    service, region, account = parts[2], parts[3], parts[4]
    attrs = {k: _string_attribute(v) for k, v in (attributes or {}).items()}
    if service == "sqs":
        sqs_backends[account][region].send_message(
            queue_name=parts[5], message_body=body, message_attributes=attrs
        )
    elif service == "sns":
        sns_backends[account][region].publish(body, arn=arn)
    elif service == "lambda":
        invoke = _lambda_invoker
        fn = lambda_backend(account, region).get_function(arn)
        if invoke is not None:
            invoke(fn, json.loads(body))
    else:
        LOG.warning("delivery to %s is not supported by the sandbox; dropped", arn)


def dead_letter(fn: LambdaFunction, event: Any, request_id: str, error_payload: bytes) -> None:
    """The function's DeadLetterConfig target gets the event, as AWS sends it."""
    config = getattr(fn, "dead_letter_config", None) or {}
    target = config.get("TargetArn")
    if not target or not lambda_sources.may_deliver(str(fn.role), fn.function_name, target):
        return
    try:
        message = json.loads(error_payload).get("errorMessage", "")
    except ValueError:
        message = ""
    send(
        target,
        json.dumps(event),
        {"RequestID": request_id, "ErrorCode": "200", "ErrorMessage": str(message)[:1024]},
    )


def on_failure(
    fn: LambdaFunction, event: Any, request_id: str, error_payload: bytes, attempts: int
) -> None:
    """The function's asynchronous on-failure destination gets an invocation record."""
    destination = None
    for config in getattr(fn, "event_invoke_config", None) or []:
        dest = getattr(config, "config", {}).get("DestinationConfig", {})
        destination = dest.get("OnFailure", {}).get("Destination") or destination
    if not destination or not lambda_sources.may_deliver(
        str(fn.role), fn.function_name, destination
    ):
        return
    try:
        response_payload = json.loads(error_payload)
    except ValueError:
        response_payload = None
    record = {
        "version": "1.0",
        "timestamp": _now(),
        "requestContext": {
            "requestId": request_id,
            "functionArn": f"{fn.function_arn}:$LATEST",
            "condition": "RetriesExhausted",
            "approximateInvokeCount": attempts,
        },
        "requestPayload": event,
        "responseContext": {
            "statusCode": 200,
            "executedVersion": "$LATEST",
            "functionError": "Unhandled",
        },
        "responsePayload": response_payload,
    }
    send(destination, json.dumps(record))
