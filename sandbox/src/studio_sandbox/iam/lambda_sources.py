"""Lambda reads a DynamoDB stream with the function's execution role.

"Lambda needs the following permissions to manage resources related to your DynamoDB
stream": dynamodb:DescribeStream, dynamodb:GetRecords, dynamodb:GetShardIterator,
dynamodb:ListStreams, in the execution role ("Using AWS Lambda with Amazon DynamoDB",
execution role permissions,
https://docs.aws.amazon.com/lambda/latest/dg/services-dynamodb-eventsourcemapping.html).
Without them the mapping reads nothing (on AWS its state becomes PROBLEM).
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
