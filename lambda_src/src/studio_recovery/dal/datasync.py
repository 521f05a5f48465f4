"""DataSync EFS and S3 locations and tasks: create, delete (already gone is fine).

Every call goes through `call_with_backoff`: botocore's own bounded retries first
(`RETRY_CONFIG`, adaptive mode here), then a few more of ours with capped full jitter;
throttling or 5xx that outlives both becomes `TransientAwsError` (the workflow retries).
"""

from __future__ import annotations

import functools
import random
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

from studio_recovery.dal.aws_errors import error_code, is_transient, transient_aws_errors
from studio_recovery.models.datasync import (
    BACKUP_STORAGE_CLASS,
    RESTORE_TASK_OPTIONS,
    TaskOptions,
    TaskReport,
)
from studio_recovery.models.errors import ResourceNotDeletedError
from studio_recovery.observability import logger

if TYPE_CHECKING:
    from mypy_boto3_datasync.client import DataSyncClient

ADAPTIVE_RETRY_CONFIG = Config(retries={"mode": "adaptive", "max_attempts": 5}, connect_timeout=5)
"""botocore's client-side rate limiting plus bounded retries: DataSync and EFS throttle
creation calls at a few per second per account."""

OUR_ATTEMPTS = 3
BACKOFF_BASE_SECONDS = 0.5
BACKOFF_CAP_SECONDS = 4.0

ResultT = TypeVar("ResultT")


def call_with_backoff(action: str, call: Callable[[], ResultT]) -> ResultT:
    """Run `call`; retry throttling/5xx OUR_ATTEMPTS times with capped full jitter.

    Other client errors propagate unchanged; transient ones that outlive the retries
    become `TransientAwsError`.
    """
    for attempt in range(OUR_ATTEMPTS):
        try:
            return call()
        except ClientError as exc:
            if not is_transient(exc) or attempt == OUR_ATTEMPTS - 1:
                with transient_aws_errors(action):
                    raise
            delay = min(BACKOFF_CAP_SECONDS, BACKOFF_BASE_SECONDS * 2**attempt)
            logger.info("AWS throttled; backing off", extra={"action": action, "attempt": attempt})
            time.sleep(random.uniform(0, delay))  # noqa: S311 - jitter, not cryptography
    raise AssertionError("unreachable")  # pragma: no cover


def is_not_found(exc: ClientError) -> bool:
    """DataSync says "not found" with InvalidRequestException and a message."""
    if error_code(exc) in {"ResourceNotFoundException", "NotFoundException"}:
        return True
    message = str(exc.response.get("Error", {}).get("Message", "")).lower()
    return error_code(exc) == "InvalidRequestException" and (
        "not found" in message or "does not exist" in message or "not exist" in message
    )


def tag_list(tags: Mapping[str, str]) -> list[dict[str, str]]:
    return [{"Key": key, "Value": value} for key, value in sorted(tags.items())]


class DataSyncGateway:
    """The DataSync calls a restore or a backup needs."""

    def __init__(self, client: DataSyncClient | Any | None = None) -> None:
        self._client: Any = client or boto3.client("datasync", config=ADAPTIVE_RETRY_CONFIG)

    def create_efs_location(
        self,
        *,
        efs_arn: str,
        subdirectory: str,
        subnet_arn: str,
        security_group_arn: str,
        tags: Mapping[str, str],
        access_point_arn: str | None = None,
        access_role_arn: str | None = None,
        in_transit_encryption: str = "TLS1_2",
    ) -> str:
        """A DataSync EFS location; returns its ARN."""
        request: dict[str, Any] = {
            "EfsFilesystemArn": efs_arn,
            "Subdirectory": subdirectory,
            "Ec2Config": {"SubnetArn": subnet_arn, "SecurityGroupArns": [security_group_arn]},
            "InTransitEncryption": in_transit_encryption,
            "Tags": tag_list(tags),
        }
        if access_point_arn is not None:
            request["AccessPointArn"] = access_point_arn
        if access_role_arn is not None:
            request["FileSystemAccessRoleArn"] = access_role_arn
        reply = call_with_backoff(
            "datasync create_location_efs", lambda: self._client.create_location_efs(**request)
        )
        return str(reply["LocationArn"])

    def create_s3_location(
        self,
        *,
        bucket_arn: str,
        subdirectory: str,
        access_role_arn: str,
        tags: Mapping[str, str],
        storage_class: str = BACKUP_STORAGE_CLASS,
    ) -> str:
        """A DataSync S3 location on a prefix of a bucket; returns its ARN."""
        request: dict[str, Any] = {
            "S3BucketArn": bucket_arn,
            "Subdirectory": subdirectory,
            "S3StorageClass": storage_class,
            "S3Config": {"BucketAccessRoleArn": access_role_arn},
            "Tags": tag_list(tags),
        }
        reply = call_with_backoff(
            "datasync create_location_s3", lambda: self._client.create_location_s3(**request)
        )
        return str(reply["LocationArn"])

    def create_task(
        self,
        *,
        name: str,
        source_location_arn: str,
        target_location_arn: str,
        log_group_arn: str | None,
        tags: Mapping[str, str],
        options: TaskOptions = RESTORE_TASK_OPTIONS,
        report: TaskReport | None = None,
    ) -> str:
        """A task with `options` (RESTORE_TASK_OPTIONS unless told) and, when given, a
        `TaskReportConfig`; returns its ARN. Never a manifest: a restore from an older
        backup reads a staged copy instead (`dal.s3`)."""
        request: dict[str, Any] = {
            "Name": name,
            "SourceLocationArn": source_location_arn,
            "DestinationLocationArn": target_location_arn,
            "Options": options.as_request(),
            "Tags": tag_list(tags),
        }
        if log_group_arn:
            request["CloudWatchLogGroupArn"] = log_group_arn
        if report is not None:
            request["TaskReportConfig"] = report.as_request()
        reply = call_with_backoff(
            "datasync create_task", lambda: self._client.create_task(**request)
        )
        return str(reply["TaskArn"])

    def cancel_running_executions(self, task_arn: str) -> int:
        """Best effort: cancel the task's queued or running executions; how many were."""
        try:
            reply = call_with_backoff(
                "datasync list_task_executions",
                lambda: self._client.list_task_executions(TaskArn=task_arn),
            )
        except ClientError as exc:
            if is_not_found(exc):
                return 0
            raise
        cancelled = 0
        for execution in reply.get("TaskExecutions", []):
            if execution.get("Status") in {"SUCCESS", "ERROR", "CANCELLING"}:
                continue
            arn = execution["TaskExecutionArn"]
            try:
                call_with_backoff(
                    "datasync cancel_task_execution",
                    functools.partial(self._client.cancel_task_execution, TaskExecutionArn=arn),
                )
                cancelled += 1
            except ClientError as exc:
                logger.warning("Could not cancel a task execution", extra={"error": str(exc)})
        return cancelled

    def delete_task(self, task_arn: str) -> bool:
        """Delete a task; False when it was already gone."""
        return self._delete(
            "datasync delete_task", lambda: self._client.delete_task(TaskArn=task_arn)
        )

    def delete_location(self, location_arn: str) -> bool:
        """Delete a location; False when it was already gone."""
        return self._delete(
            "datasync delete_location",
            lambda: self._client.delete_location(LocationArn=location_arn),
        )

    @staticmethod
    def _delete(action: str, call: Callable[[], object]) -> bool:
        try:
            call_with_backoff(action, call)
        except ClientError as exc:
            if is_not_found(exc):
                return False
            raise ResourceNotDeletedError(f"{action}: {error_code(exc)}: {exc}") from exc
        return True
