"""What a DataSync task is created with: its options and, for a restore, its task report
(docs/internals.md sections 4 and 7).

The decisions pick one of the two option sets and build the report settings; the
DataSync gateway turns them into the `Options` and `TaskReportConfig` of CreateTask.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class TaskOptions(BaseModel):
    """A task's `Options` (CreateTask), named as DataSync names them."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    VerifyMode: Literal["POINT_IN_TIME_CONSISTENT", "ONLY_FILES_TRANSFERRED", "NONE"]
    OverwriteMode: Literal["ALWAYS", "NEVER"]
    PreserveDeletedFiles: Literal["PRESERVE", "REMOVE"]
    TransferMode: Literal["CHANGED", "ALL"]
    PosixPermissions: Literal["NONE", "PRESERVE"]
    Uid: Literal["NONE", "INT_VALUE", "NAME", "BOTH"]
    Gid: Literal["NONE", "INT_VALUE", "NAME", "BOTH"]
    LogLevel: Literal["OFF", "BASIC", "TRANSFER"]

    def as_request(self) -> dict[str, str]:
        """The `Options` parameter of CreateTask."""
        return dict(self.model_dump())


RESTORE_TASK_OPTIONS = TaskOptions(
    VerifyMode="ONLY_FILES_TRANSFERRED",
    OverwriteMode="NEVER",
    PreserveDeletedFiles="PRESERVE",
    TransferMode="CHANGED",
    PosixPermissions="PRESERVE",
    Uid="NONE",
    Gid="NONE",
    LogLevel="BASIC",
)
"""Safe options (docs/internals.md section 4): never overwrite a file the user already has in
the new home, never delete anything; ownership comes from the target access point."""

BACKUP_TASK_OPTIONS = TaskOptions(
    VerifyMode="ONLY_FILES_TRANSFERRED",
    OverwriteMode="ALWAYS",
    PreserveDeletedFiles="REMOVE",
    TransferMode="CHANGED",
    PosixPermissions="PRESERVE",
    Uid="INT_VALUE",
    Gid="INT_VALUE",
    LogLevel="BASIC",
)
"""Backup options (docs/internals.md section 7): incremental (only what changed), the
prefix mirrors the home (a removed file becomes a delete marker: the bucket is versioned,
so nothing is lost), ownership and permissions kept in the objects' metadata."""

BACKUP_STORAGE_CLASS = "STANDARD"
"""The S3 storage class of the backup location."""


REPORT_ROOT = "reports"
"""Task reports of restores are written under `reports/<restore id>/` in the report bucket."""


class TaskReport(BaseModel):
    """A task's `TaskReportConfig`: a STANDARD report into the module's report bucket.

    Errors only, except what was transferred and what was skipped, which are listed with
    their successes too: together they are every entry DataSync found at the source, the
    account finalize decides "has data" and "restored" from (docs/internals.md section 4).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    bucket_arn: str = Field(min_length=1)
    subdirectory: str = Field(min_length=1)
    access_role_arn: str = Field(min_length=1)

    def as_request(self) -> dict[str, Any]:
        """The `TaskReportConfig` parameter of CreateTask."""
        listed = {"ReportLevel": "SUCCESSES_AND_ERRORS"}
        return {
            "Destination": {
                "S3": {
                    "S3BucketArn": self.bucket_arn,
                    "Subdirectory": self.subdirectory,
                    "BucketAccessRoleArn": self.access_role_arn,
                }
            },
            "OutputType": "STANDARD",
            "ReportLevel": "ERRORS_ONLY",
            "ObjectVersionIds": "NONE",
            "Overrides": {"Transferred": listed, "Skipped": listed},
        }


def report_subdirectory(restore_id: str) -> str:
    return f"{REPORT_ROOT}/{restore_id}"
