"""S3 bucket notifications in the sandbox: GetBucketNotificationConfiguration answers what
PutBucketNotificationConfiguration set, EventBridge included (moto leaves that out)."""

from __future__ import annotations

from sandbox.tests.helpers import SandboxClients


def test_eventbridge_notifications_are_reported_once_turned_on(aws: SandboxClients) -> None:
    # Given a bucket that sends its events to EventBridge
    s3 = aws.client("s3")
    s3.create_bucket(Bucket="notify-eventbridge")
    s3.put_bucket_notification_configuration(
        Bucket="notify-eventbridge",
        NotificationConfiguration={"EventBridgeConfiguration": {}},
    )

    # When its notification configuration is read
    reply = s3.get_bucket_notification_configuration(Bucket="notify-eventbridge")

    # Then it says so, as AWS does (Terraform's `eventbridge = true` reads this)
    assert reply.get("EventBridgeConfiguration") == {}


def test_a_bucket_without_eventbridge_notifications_reports_none(aws: SandboxClients) -> None:
    # Given a bucket whose notification configuration was emptied again
    s3 = aws.client("s3")
    s3.create_bucket(Bucket="notify-nothing")
    s3.put_bucket_notification_configuration(
        Bucket="notify-nothing", NotificationConfiguration={"EventBridgeConfiguration": {}}
    )
    s3.put_bucket_notification_configuration(Bucket="notify-nothing", NotificationConfiguration={})

    # When it is read, then no EventBridge configuration is reported
    reply = s3.get_bucket_notification_configuration(Bucket="notify-nothing")
    assert "EventBridgeConfiguration" not in reply
