"""DataSync in the sandbox: task reports (`TaskReportConfig`), written to S3 as JSON.

The DataSync guide ("Monitoring your data transfers with task reports",
https://docs.aws.amazon.com/datasync/latest/userguide/task-reports.html) says what a report
holds: a summary (counts of what was skipped, transferred, verified and deleted, the
execution's status) and, for a STANDARD report, detailed reports listing each file, object
or directory DataSync attempted to transfer, skip, verify or delete, at the report level
asked for (ERRORS_ONLY or SUCCESSES_AND_ERRORS, per aspect through `Overrides`). The
botocore model gives the request shapes (`TaskReportConfig`, `ReportDestinationS3`,
`ReportOverrides`) and `DescribeTaskExecution.ReportResult` (whether a complete report was
made). Where the guide gives no object names or field names, the sandbox's are:

- one JSON object per report under `<Subdirectory>/<task-id>/<exec-id>/`:
  `<exec-id>.summary.json` and, for STANDARD, `<exec-id>.<aspect>.json` for each aspect
  (`transferred`, `skipped`, `verified`, `deleted`);
- a detailed report is `{"TaskExecutionId", "<Aspect>": [entry, ...]}`, each entry
  `{"RelativePath": "/a/b", "SrcMetadata": {"Type": "Regular" | "Directory" |
  "SymbolicLink", "ContentSize", "Mtime"}, "Status": "SUCCESS" | "FAILED"}`, plus
  `DstMetadata` (a skipped entry the destination already has) and `ErrorCode` /
  `ErrorDetail` (a failed one).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from moto.datasync.exceptions import InvalidRequestException
from moto.s3.models import s3_backends
from moto.utilities.utils import get_partition

from studio_sandbox.datasync.models import Entry

ASPECTS = ("Transferred", "Skipped", "Verified", "Deleted")
_BUCKET_ARN = re.compile(r"^arn:aws[a-z-]*:s3:::([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])$")
_TYPES = {"file": "Regular", "dir": "Directory", "symlink": "SymbolicLink"}


def validate_report_config(config: Any) -> dict[str, Any] | None:
    """`TaskReportConfig` as stored on a task or an execution (None: no report).

    The role (`BucketAccessRoleArn`) is checked by the caller, like every DataSync role.
    """
    if config is None:
        return None
    if not isinstance(config, dict):
        raise InvalidRequestException("Invalid TaskReportConfig.")
    s3 = (config.get("Destination") or {}).get("S3")
    if not isinstance(s3, dict):
        raise InvalidRequestException("TaskReportConfig.Destination.S3 is required.")
    bucket_name(s3.get("S3BucketArn"))
    output = config.get("OutputType", "STANDARD")
    level = config.get("ReportLevel", "ERRORS_ONLY")
    _check(output, ("SUMMARY_ONLY", "STANDARD"), "TaskReportConfig.OutputType")
    _check(level, ("ERRORS_ONLY", "SUCCESSES_AND_ERRORS"), "TaskReportConfig.ReportLevel")
    _check(config.get("ObjectVersionIds", "INCLUDE"), ("INCLUDE", "NONE"), "ObjectVersionIds")
    overrides = config.get("Overrides") or {}
    for aspect, override in overrides.items():
        if aspect not in ASPECTS or not isinstance(override, dict):
            raise InvalidRequestException(f"Invalid TaskReportConfig.Overrides.{aspect}.")
        _check(
            override.get("ReportLevel"),
            ("ERRORS_ONLY", "SUCCESSES_AND_ERRORS"),
            f"TaskReportConfig.Overrides.{aspect}.ReportLevel",
        )
    subdirectory = s3.get("Subdirectory", "")
    if not isinstance(subdirectory, str) or len(subdirectory) > 4096:
        raise InvalidRequestException("Invalid TaskReportConfig.Destination.S3.Subdirectory.")
    return {**config, "OutputType": output, "ReportLevel": level}


def bucket_name(bucket_arn: Any) -> str:
    """The bucket of `TaskReportConfig.Destination.S3.S3BucketArn` (an S3 bucket ARN)."""
    match = _BUCKET_ARN.match(bucket_arn) if isinstance(bucket_arn, str) else None
    if match is None:
        raise InvalidRequestException(
            f"Invalid TaskReportConfig.Destination.S3.S3BucketArn: {bucket_arn!r}"
        )
    return match.group(1)


def _check(value: Any, allowed: tuple[str, ...], what: str) -> None:
    if value not in allowed:
        raise InvalidRequestException(
            f"Invalid value {value!r} for {what}; expected one of {', '.join(allowed)}."
        )


def _metadata(entry: Entry) -> dict[str, Any]:
    return {
        "Type": _TYPES[entry.kind],
        "ContentSize": entry.size,
        "Mtime": entry.mtime_ns // 10**9,
    }


@dataclass
class ReportLog:
    """What one execution did to each entry, aspect by aspect."""

    entries: dict[str, list[dict[str, Any]]] = field(
        default_factory=lambda: {aspect: [] for aspect in ASPECTS}
    )

    def add(
        self,
        aspect: str,
        entry: Entry,
        *,
        error: tuple[str, str] | None = None,
        destination: Entry | None = None,
    ) -> None:
        item: dict[str, Any] = {
            "RelativePath": "/" + entry.rel,
            "SrcMetadata": _metadata(entry),
            "Status": "FAILED" if error else "SUCCESS",
        }
        if destination is not None:
            item["DstMetadata"] = _metadata(destination)
        if error is not None:
            item["ErrorCode"], item["ErrorDetail"] = error
        self.entries[aspect].append(item)

    def failed(self) -> int:
        return sum(1 for items in self.entries.values() for i in items if i["Status"] == "FAILED")

    def documents(
        self, config: dict[str, Any], execution_id: str, summary: dict[str, Any]
    ) -> dict[str, dict[str, Any]]:
        """`{name suffix: JSON document}` of every report the config asks for."""
        counts = {
            aspect: {
                "Succeeded": sum(1 for i in items if i["Status"] == "SUCCESS"),
                "Failed": sum(1 for i in items if i["Status"] == "FAILED"),
            }
            for aspect, items in self.entries.items()
        }
        documents = {"summary": {"TaskExecutionId": execution_id, **summary, "Counts": counts}}
        if config["OutputType"] != "STANDARD":
            return documents
        overrides = config.get("Overrides") or {}
        for aspect, items in self.entries.items():
            level = (overrides.get(aspect) or {}).get("ReportLevel", config["ReportLevel"])
            kept = (
                items
                if level == "SUCCESSES_AND_ERRORS"
                else [i for i in items if i["Status"] == "FAILED"]
            )
            documents[aspect.lower()] = {"TaskExecutionId": execution_id, aspect: kept}
        return documents


def write_reports(
    config: dict[str, Any],
    log: ReportLog,
    execution_arn: str,
    summary: dict[str, Any],
    account_id: str,
    region: str,
) -> dict[str, Any]:
    """Upload the reports; the execution's `ReportResult`."""
    s3 = config["Destination"]["S3"]
    bucket = bucket_name(s3["S3BucketArn"])
    task_id = execution_arn.split("task/", 1)[1].split("/", 1)[0]
    execution_id = execution_arn.rsplit("/", 1)[-1]
    prefix = "/".join(p for p in (s3.get("Subdirectory") or "").split("/") if p)
    base = f"{prefix}/{task_id}/{execution_id}" if prefix else f"{task_id}/{execution_id}"
    backend = s3_backends[account_id][get_partition(region)]
    if bucket not in backend.buckets:
        return {
            "Status": "ERROR",
            "ErrorCode": "ReportUploadFailed",
            "ErrorDetail": f"The task report could not be uploaded: no bucket {bucket}.",
        }
    for name, document in log.documents(config, execution_id, summary).items():
        body = json.dumps(document, indent=1).encode()
        backend.put_object(bucket, f"{base}/{execution_id}.{name}.json", body)
    return {"Status": "SUCCESS"}
