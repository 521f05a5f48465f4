"""Failure notifications (SNS)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import boto3

from studio_recovery.dal.aws_errors import RETRY_CONFIG, transient_aws_errors

if TYPE_CHECKING:
    from mypy_boto3_sns.client import SNSClient

MAX_SUBJECT = 100


class Notifier:
    """Publishes to the module's notification topic."""

    def __init__(self, topic_arn: str, client: SNSClient | Any | None = None) -> None:
        self._client: Any = client or boto3.client("sns", config=RETRY_CONFIG)
        self.topic_arn = topic_arn

    def publish(self, subject: str, message: str) -> str:
        """Publish; returns the message id. SNS subjects are one line of at most 100 chars."""
        clean_subject = " ".join(subject.split())[:MAX_SUBJECT]
        with transient_aws_errors("sns publish"):
            reply = self._client.publish(
                TopicArn=self.topic_arn, Subject=clean_subject, Message=message
            )
        return str(reply["MessageId"])
