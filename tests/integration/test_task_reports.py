"""TaskReportReader on moto: finalize reads back exactly one execution's report objects."""

from __future__ import annotations

import json
from typing import Any

import boto3
from studio_recovery.dal import reports as reports_module
from studio_recovery.dal.reports import TaskReportReader

BUCKET = "studio-recovery-reports-123456789012-us-east-1"
EXECUTION = "arn:aws:datasync:us-east-1:123456789012:task/task-1/execution/exec-1"


def _put(s3: Any, key: str, document: dict[str, Any]) -> None:
    s3.put_object(Bucket=BUCKET, Key=key, Body=json.dumps(document).encode())


def test_reads_every_report_of_the_execution_and_nothing_else(
    aws_env: dict[str, str],
) -> None:
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket=BUCKET)
    base = "reports/r1/task-1"
    _put(
        s3,
        f"{base}/exec-1/exec-1.transferred.json",
        {"Transferred": [{"RelativePath": "/a"}]},
    )
    _put(s3, f"{base}/exec-1/exec-1.skipped.json", {"Skipped": []})
    _put(
        s3,
        f"{base}/exec-2/exec-2.transferred.json",
        {"Transferred": [{"RelativePath": "/x"}]},
    )
    _put(s3, "reports/r2/task-1/exec-1/exec-1.summary.json", {"Status": "SUCCESS"})

    documents = TaskReportReader().read(BUCKET, "reports/r1", EXECUTION)

    assert documents == [{"Skipped": []}, {"Transferred": [{"RelativePath": "/a"}]}]


def test_no_report_and_a_report_too_large_to_read_are_none(
    aws_env: dict[str, str], monkeypatch: Any
) -> None:
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket=BUCKET)
    assert TaskReportReader().read(BUCKET, "reports/r1", EXECUTION) is None
    _put(s3, "reports/r1/task-1/exec-1/exec-1.transferred.json", {"Transferred": []})
    monkeypatch.setattr(reports_module, "MAX_REPORT_BYTES", 5)
    assert TaskReportReader().read(BUCKET, "reports/r1", EXECUTION) is None
