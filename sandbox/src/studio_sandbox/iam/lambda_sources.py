"""What Lambda does with the function's execution role: read a DynamoDB stream, and send
failed events and invocation records to the dead-letter queue and destinations.

Stream: "Lambda needs the following permissions to manage resources related to your DynamoDB
stream": dynamodb:DescribeStream, dynamodb:GetRecords, dynamodb:GetShardIterator,
dynamodb:ListStreams, in the execution role ("Using AWS Lambda with Amazon DynamoDB",
execution role permissions,
https://docs.aws.amazon.com/lambda/latest/dg/services-dynamodb-eventsourcemapping.html).
Without them the mapping reads nothing (on AWS its state becomes PROBLEM).

Dead-letter queue and destinations: "your function's execution role" needs
`sqs:SendMessage` (SQS), `sns:Publish` (SNS), `lambda:InvokeFunction` (Lambda) or
`events:PutEvents` (EventBridge) on the target ("Capturing records of Lambda asynchronous
invocations", https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-retain-records.html;
the same for a stream mapping's on-failure destination, "Retaining discarded batches for a
DynamoDB event source in Lambda",
https://docs.aws.amazon.com/lambda/latest/dg/services-dynamodb-errors.html), and for an
encrypted queue or topic the KMS permissions a producer needs. A delivery the role does not
allow is dropped (on AWS: the `DeadLetterErrors` or `DestinationDeliveryFailures` metric).
"""

from __future__ import annotations

import logging

from studio_sandbox import iam

LOG = logging.getLogger(__name__)
_STREAM_ACTIONS = ("dynamodb:DescribeStream", "dynamodb:GetShardIterator", "dynamodb:GetRecords")


def may_read_stream(role_arn: str, function_name: str, stream_arn: str) -> bool:
    """Whether the function's role lets Lambda read the stream (always, when not enforcing)."""
    if not iam.enforcing():
        return True
    from studio_sandbox.iam.enforce import AccessDenied

    try:
        iam.authorize_role(role_arn, function_name, "dynamodb:ListStreams", ["*"])
        for action in _STREAM_ACTIONS:
            iam.authorize_role(role_arn, function_name, action, [stream_arn])
    except AccessDenied as denied:
        LOG.warning(
            "event source mapping of %s cannot read %s: %s", function_name, stream_arn, denied
        )
        return False
    return True


_DELIVERY_ACTIONS = {
    "sqs": "sqs:SendMessage",
    "sns": "sns:Publish",
    "lambda": "lambda:InvokeFunction",
    "events": "events:PutEvents",
}


def may_deliver(role_arn: str, function_name: str, target_arn: str) -> bool:
    """Whether the function's role lets Lambda send to `target_arn` (a dead-letter queue
    or a destination); always, when not enforcing."""
    if not iam.enforcing():
        return True
    from studio_sandbox.iam.enforce import AccessDenied

    parts = target_arn.split(":")
    service = parts[2] if len(parts) > 5 else ""
    action = _DELIVERY_ACTIONS.get(service)
    if action is None:
        return True  # not a target the sandbox delivers to (delivery drops it anyway)
    params: dict[str, str] = {}
    if service == "sqs":
        params = {"QueueUrl": parts[5]}
    elif service == "sns":
        params = {"TopicArn": target_arn}
    try:
        iam.authorize_role(role_arn, function_name, action, [target_arn])
        iam.authorize_role_side_effects(role_arn, function_name, service, action, params)
    except AccessDenied as denied:
        LOG.warning("Lambda cannot deliver for %s to %s: %s", function_name, target_arn, denied)
        return False
    return True
