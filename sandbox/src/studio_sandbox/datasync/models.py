"""DataSync in the sandbox: what its API describes (locations, tasks, executions, entries).

The data shared by the backend (:mod:`.backend`), the copiers (:mod:`.copier`,
:mod:`.s3_locations`) and the API handlers (:mod:`.responses`): option defaults and their
allowed values, ARN and subdirectory checks, the switches (:data:`faults`) that make
executions fail or hang for reliability tests.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, TypeAlias

from moto.datasync.exceptions import InvalidRequestException
from moto.moto_api._internal import mock_random

LOG = logging.getLogger(__name__)


NFS_PORT = 2049

TASK_QUOTA = 100
"""DataSync tasks per account per region (the AWS default quota)."""

DEFAULT_OPTIONS: dict[str, Any] = {
    "VerifyMode": "POINT_IN_TIME_CONSISTENT",
    "OverwriteMode": "ALWAYS",
    "Atime": "BEST_EFFORT",
    "Mtime": "PRESERVE",
    "Uid": "INT_VALUE",
    "Gid": "INT_VALUE",
    "PreserveDeletedFiles": "PRESERVE",
    "PreserveDevices": "NONE",
    "PosixPermissions": "PRESERVE",
    "BytesPerSecond": -1,
    "TaskQueueing": "ENABLED",
    "LogLevel": "OFF",
    "TransferMode": "CHANGED",
    "SecurityDescriptorCopyFlags": "NONE",
    "ObjectTags": "PRESERVE",
}

_ALLOWED: dict[str, tuple[str, ...]] = {
    "VerifyMode": ("POINT_IN_TIME_CONSISTENT", "ONLY_FILES_TRANSFERRED", "NONE"),
    "OverwriteMode": ("ALWAYS", "NEVER"),
    "Atime": ("NONE", "BEST_EFFORT"),
    "Mtime": ("NONE", "PRESERVE"),
    "Uid": ("NONE", "INT_VALUE", "NAME", "BOTH"),
    "Gid": ("NONE", "INT_VALUE", "NAME", "BOTH"),
    "PreserveDeletedFiles": ("PRESERVE", "REMOVE"),
    "PreserveDevices": ("NONE", "PRESERVE"),
    "PosixPermissions": ("NONE", "PRESERVE"),
    "TaskQueueing": ("ENABLED", "DISABLED"),
    "LogLevel": ("OFF", "BASIC", "TRANSFER"),
    "TransferMode": ("CHANGED", "ALL"),
    "SecurityDescriptorCopyFlags": ("NONE", "OWNER_DACL", "OWNER_DACL_SACL"),
    "ObjectTags": ("PRESERVE", "NONE"),
}

_SUBDIRECTORY = re.compile(r"^[a-zA-Z0-9_\-+./()\s]*$")
_ARN = re.compile(
    r"^arn:aws[a-z-]*:(?P<service>[a-z0-9-]+):(?P<region>[a-z0-9-]*):"
    r"(?P<account>\d*):(?P<resource>.+)$"
)
ACTIVE_STATUSES = ("QUEUED", "LAUNCHING", "PREPARING", "TRANSFERRING", "VERIFYING", "CANCELLING")
WRITER_UID = 0  # DataSync writes to EFS as root when no access point imposes a user
WRITER_GID = 0


# --------------------------------------------------------------------------- faults


@dataclass
class Faults:
    """Module-level switches that make executions misbehave, for reliability tests.

    `error`: `(ErrorCode, ErrorDetail)` with which every execution ends in ERROR (nothing is
    copied). `hang`: executions stay TRANSFERRING until cancelled. `phase_delay`: seconds
    spent in each status, so callers can watch the transitions. `fail_paths`: glob patterns
    (of the path relative to the source location, no leading slash) whose files fail to
    transfer, each reported as a failed entry; the rest is copied and the execution ends in
    ERROR (a copy that misses files). `fail_paths_runs`: how many executions `fail_paths`
    lasts (0: every one), so that a retry can succeed (a transient I/O error).
    """

    error: tuple[str, str] | None = None
    hang: bool = False
    phase_delay: float = 0.0
    fail_paths: tuple[str, ...] = ()
    fail_paths_runs: int = 0


faults = Faults()


def reset_faults() -> None:
    """Back to well-behaved executions."""
    faults.error = None
    faults.hang = False
    faults.phase_delay = 0.0
    faults.fail_paths = ()
    faults.fail_paths_runs = 0


# --------------------------------------------------------------------------- phase durations


PHASES = ("LAUNCHING", "PREPARING", "TRANSFERRING", "VERIFYING")


@dataclass
class PhaseDurations:
    """Seconds every execution spends in each status on top of the sandbox's own work
    (default 0: at once). AWS publishes no figures (the user guide's task execution
    statuses: LAUNCHING "usually goes quickly but can take up to a few minutes", PREPARING
    "minutes or a few hours depending on the number of files"); the bench sets labelled
    assumptions (bench/restore_latency.py) to measure the time to a restore as on AWS.
    Cancelling an execution ends its wait at once."""

    seconds: dict[str, float] = field(default_factory=dict)

    def of(self, status: str) -> float:
        return self.seconds.get(status, 0.0)


phase_durations = PhaseDurations()


def set_phase_durations(**seconds: float) -> None:
    """`set_phase_durations(LAUNCHING=15, PREPARING=10, ...)`; no argument: back to 0."""
    unknown = sorted(set(seconds) - set(PHASES))
    if unknown:
        raise ValueError(f"unknown phase(s) {unknown}; choose from {', '.join(PHASES)}")
    bad = {name: value for name, value in seconds.items() if not 0 <= value <= 3600}
    if bad:
        raise ValueError(f"phase durations must be 0 to 3600 seconds, not {bad}")
    phase_durations.seconds = {name: float(value) for name, value in seconds.items()}


# --------------------------------------------------------------------------- models


def new_id(prefix: str) -> str:
    return f"{prefix}-{mock_random.get_random_hex(17)}"


def parse_arn(arn: Any, service: str, kind: str, what: str) -> tuple[str, str, str]:
    """`(region, account, id)` of an ARN like `arn:aws:<service>:...:<kind>/<id>`."""
    match = _ARN.match(arn) if isinstance(arn, str) else None
    resource = match.group("resource") if match else ""
    if not match or match.group("service") != service or not resource.startswith(kind + "/"):
        raise InvalidRequestException(f"Invalid {what}: {arn!r}")
    return match.group("region"), match.group("account"), resource[len(kind) + 1 :]


def normalise_subdirectory(subdirectory: Any) -> str:
    value = subdirectory if subdirectory is not None else "/"
    if not isinstance(value, str) or len(value) > 4096 or not _SUBDIRECTORY.match(value):
        raise InvalidRequestException(f"Invalid Subdirectory: {subdirectory!r}")
    parts = [p for p in value.split("/") if p not in ("", ".")]
    if ".." in parts:
        raise InvalidRequestException(f"Invalid Subdirectory: {subdirectory!r}")
    return "/" + "/".join(parts) + ("/" if parts else "")


@dataclass
class EfsLocation:
    """A DataSync location on an EFS file system (optionally through an access point)."""

    arn: str
    region: str
    file_system_id: str
    efs_filesystem_arn: str
    subdirectory: str
    ec2_config: dict[str, Any]
    access_point_arn: str | None
    file_system_access_role_arn: str | None
    in_transit_encryption: str
    tags: list[dict[str, str]] = field(default_factory=list)
    creation_time: float = field(default_factory=time.time)
    typ: str = "EFS"

    @property
    def uri(self) -> str:
        return f"efs://{self.region}.{self.file_system_id}{self.subdirectory}"

    @property
    def access_point_id(self) -> str | None:
        return self.access_point_arn.rsplit("/", 1)[-1] if self.access_point_arn else None

    def describe(self) -> dict[str, Any]:
        reply: dict[str, Any] = {
            "LocationArn": self.arn,
            "LocationUri": self.uri,
            "Ec2Config": self.ec2_config,
            "CreationTime": self.creation_time,
            "InTransitEncryption": self.in_transit_encryption,
        }
        if self.access_point_arn:
            reply["AccessPointArn"] = self.access_point_arn
        if self.file_system_access_role_arn:
            reply["FileSystemAccessRoleArn"] = self.file_system_access_role_arn
        return reply


@dataclass
class S3Location:
    """A DataSync location on a prefix of an S3 bucket."""

    arn: str
    region: str
    bucket: str
    bucket_arn: str
    subdirectory: str
    s3_config: dict[str, Any]
    storage_class: str
    tags: list[dict[str, str]] = field(default_factory=list)
    creation_time: float = field(default_factory=time.time)
    typ: str = "S3"

    @property
    def prefix(self) -> str:
        """The key prefix of the location: `''` or `'a/b/'`."""
        return self.subdirectory.lstrip("/")

    @property
    def uri(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}"

    def describe(self) -> dict[str, Any]:
        return {
            "LocationArn": self.arn,
            "LocationUri": self.uri,
            "S3StorageClass": self.storage_class,
            "S3Config": self.s3_config,
            "CreationTime": self.creation_time,
        }


Location: TypeAlias = EfsLocation | S3Location  # either end of a task


@dataclass
class SyncTask:
    """A DataSync task: two locations and the options of every execution."""

    arn: str
    name: str | None
    source_location_arn: str
    destination_location_arn: str
    options: dict[str, Any]
    excludes: list[dict[str, str]]
    includes: list[dict[str, str]]
    cloud_watch_log_group_arn: str | None
    manifest_config: dict[str, Any] | None = None
    task_report_config: dict[str, Any] | None = None
    tags: list[dict[str, str]] = field(default_factory=list)
    creation_time: float = field(default_factory=time.time)
    current_execution_arn: str | None = None
    executions: list[str] = field(default_factory=list)

    def status(self, executions: Mapping[str, Execution]) -> str:
        current = executions.get(self.current_execution_arn or "")
        running = current is not None and current.status in ACTIVE_STATUSES
        return "RUNNING" if running else "AVAILABLE"

    def describe(self, executions: Mapping[str, Execution]) -> dict[str, Any]:
        reply: dict[str, Any] = {
            "TaskArn": self.arn,
            "Status": self.status(executions),
            "SourceLocationArn": self.source_location_arn,
            "DestinationLocationArn": self.destination_location_arn,
            "Options": self.options,
            "Excludes": self.excludes,
            "Includes": self.includes,
            "CreationTime": self.creation_time,
            "TaskMode": "BASIC",
            "SourceNetworkInterfaceArns": [],
            "DestinationNetworkInterfaceArns": [],
        }
        for key, value in (
            ("Name", self.name),
            ("CloudWatchLogGroupArn", self.cloud_watch_log_group_arn),
            ("CurrentTaskExecutionArn", self.current_execution_arn),
            ("ManifestConfig", self.manifest_config),
            ("TaskReportConfig", self.task_report_config),
        ):
            if value:
                reply[key] = value
        return reply


@dataclass
class Counters:
    """What an execution reports about its progress."""

    estimated_files: int = 0
    estimated_bytes: int = 0
    estimated_deletes: int = 0
    listed_at_source: int = 0
    listed_at_destination: int = 0
    prepared: int = 0
    files_transferred: int = 0
    bytes_written: int = 0
    files_skipped: int = 0
    files_deleted: int = 0
    files_verified: int = 0
    files_failed: int = 0


@dataclass
class Execution:
    """One run of a task, copied for real by a background thread."""

    arn: str
    task_arn: str
    options: dict[str, Any]
    excludes: list[dict[str, str]]
    includes: list[dict[str, str]]
    manifest_config: dict[str, Any] | None = None
    task_report_config: dict[str, Any] | None = None
    report_result: dict[str, Any] | None = None
    status: str = "QUEUED"
    start_time: float = field(default_factory=time.time)
    counters: Counters = field(default_factory=Counters)
    result: dict[str, Any] = field(
        default_factory=lambda: {
            "PrepareStatus": "PENDING",
            "TransferStatus": "PENDING",
            "VerifyStatus": "PENDING",
        }
    )
    cancel_event: threading.Event = field(default_factory=threading.Event)
    done_event: threading.Event = field(default_factory=threading.Event)
    status_lock: threading.Lock = field(default_factory=threading.Lock)

    def describe(self) -> dict[str, Any]:
        c = self.counters
        extra: dict[str, Any] = {}
        if self.manifest_config:
            extra["ManifestConfig"] = self.manifest_config
        if self.task_report_config:
            extra["TaskReportConfig"] = self.task_report_config
            extra["ReportResult"] = self.report_result or {"Status": "PENDING"}
        # FilesListed and FilesFailed apply only to Enhanced mode tasks (botocore
        # DescribeTaskExecutionResponse); these tasks are Basic, so neither is returned.
        return extra | {
            "TaskExecutionArn": self.arn,
            "Status": self.status,
            "Options": self.options,
            "Excludes": self.excludes,
            "Includes": self.includes,
            "StartTime": self.start_time,
            "EstimatedFilesToTransfer": c.estimated_files,
            "EstimatedBytesToTransfer": c.estimated_bytes,
            "EstimatedFilesToDelete": c.estimated_deletes,
            "FilesTransferred": c.files_transferred,
            "BytesWritten": c.bytes_written,
            "BytesTransferred": c.bytes_written,
            "BytesCompressed": c.bytes_written,
            "FilesDeleted": c.files_deleted,
            "FilesSkipped": c.files_skipped,
            "FilesVerified": c.files_verified,
            "FilesPrepared": c.prepared,
            "Result": dict(self.result),
            "TaskMode": "BASIC",
        }


def merge_options(base: dict[str, Any], changes: dict[str, Any] | None) -> dict[str, Any]:
    merged = dict(base)
    for key, value in (changes or {}).items():
        allowed = _ALLOWED.get(key)
        if allowed is not None and value not in allowed:
            raise InvalidRequestException(
                f"Invalid value {value!r} for Options.{key}; expected one of {', '.join(allowed)}."
            )
        merged[key] = value
    if merged["PreserveDeletedFiles"] == "REMOVE" and merged["TransferMode"] == "ALL":
        raise InvalidRequestException(
            "PreserveDeletedFiles REMOVE cannot be used with TransferMode ALL."
        )
    return merged


# --------------------------------------------------------------------------- copying


@dataclass(frozen=True)
class Entry:
    """One file, directory or symlink of a tree, relative to the tree's root ('' = root)."""

    rel: str
    kind: str  # "dir" | "file" | "symlink"
    size: int
    mode: int
    uid: int
    gid: int
    mtime_ns: int
    atime_ns: int
    link: str | None = None
    inode: tuple[int, int] | None = None
    """(device, inode) of a regular file with more than one hard link, else None."""

    @property
    def depth(self) -> int:
        return 0 if not self.rel else self.rel.count("/") + 1


class ExecutionFailed(Exception):
    """Ends an execution in ERROR with `Result.ErrorCode`/`ErrorDetail`."""

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail


class Cancelled(Exception):
    """The execution was cancelled."""
