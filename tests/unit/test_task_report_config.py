"""prepare asks DataSync for a task report on restores only, where finalize will read it."""

from __future__ import annotations

from typing import Any

from studio_recovery.config import PrepareSettings, parse_settings
from studio_recovery.dal.datasync import DataSyncGateway
from studio_recovery.logic.transfer import prepare
from studio_recovery.models.datasync import TaskReport

from tests.unit.test_transfer_backup import (
    BASE_ENV,
    BUCKET,
    ROLE,
    RecordingClient,
    World,
    backup_request,
    from_backup_request,
)

REPORT_ROLE = "arn:aws:iam::123456789012:role/datasync-reports"
REPORTS = "studio-recovery-reports-123456789012-us-east-1"
SETTINGS = parse_settings(
    PrepareSettings,
    {
        **BASE_ENV,
        "BACKUP_BUCKET_NAME": BUCKET,
        "BACKUP_BUCKET_ACCESS_ROLE_ARN": ROLE,
        "REPORT_BUCKET_NAME": REPORTS,
        "REPORT_ACCESS_ROLE_ARN": REPORT_ROLE,
    },
)


def test_a_restore_task_gets_a_standard_report_in_the_report_bucket() -> None:
    world = World()
    transfer = prepare(from_backup_request(), SETTINGS, world.services())
    report: Any = world.datasync.tasks[transfer.task_arn]["report"]
    assert report == TaskReport(
        bucket_arn=f"arn:aws:s3:::{REPORTS}",
        subdirectory=f"reports/{from_backup_request().restore_id}",
        access_role_arn=REPORT_ROLE,
    )
    assert transfer.report is not None
    assert (transfer.report.bucket, transfer.report.prefix) == (
        REPORTS,
        report.subdirectory,
    )


def test_a_backup_task_gets_no_report() -> None:
    world = World()
    transfer = prepare(backup_request(), SETTINGS, world.services())
    assert world.datasync.tasks[transfer.task_arn]["report"] is None
    assert transfer.report is None


def test_the_gateway_sends_the_report_config_datasync_documents() -> None:
    client = RecordingClient()
    DataSyncGateway(client).create_task(
        name="t",
        source_location_arn="src",
        target_location_arn="dst",
        log_group_arn=None,
        tags={},
        report=TaskReport(
            bucket_arn=f"arn:aws:s3:::{REPORTS}",
            subdirectory="reports/r1",
            access_role_arn=REPORT_ROLE,
        ),
    )
    (_, request), *_ = [r for r in client.requests if r[0] == "create_task"]
    assert request["TaskReportConfig"] == {
        "Destination": {
            "S3": {
                "S3BucketArn": f"arn:aws:s3:::{REPORTS}",
                "Subdirectory": "reports/r1",
                "BucketAccessRoleArn": REPORT_ROLE,
            }
        },
        "OutputType": "STANDARD",
        "ReportLevel": "ERRORS_ONLY",
        "ObjectVersionIds": "NONE",
        "Overrides": {
            "Transferred": {"ReportLevel": "SUCCESSES_AND_ERRORS"},
            "Skipped": {"ReportLevel": "SUCCESSES_AND_ERRORS"},
        },
    }
