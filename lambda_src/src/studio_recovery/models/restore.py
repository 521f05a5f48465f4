"""Models of a restore (docs/internals.md sections 1 and 4).

- `RestoreRequest`: the workflow's execution input (who is restored from where).
- `Transfer`: what `prepare` created (task, locations, access points).
- `TransferStats` / `RestoreOutcome`: what `finalize` records and returns.
- `RestoreItem`, `CopyRequest`: the registry items `RESTORE#<id>` (or `BACKUP#<id>`) and
  `COPY`.
- `BackupLocation`: one home directory's backups in S3 (docs/internals.md section 7).

A backup is the same workflow run the other way: its source is the home directory
(`HomeLocation`) and its target a `BackupLocation`; its item lives at `BACKUP#<id>`
under the profile's partition. A restore from a backup has a `BackupLocation` source.

uids are plain strings here on purpose: the workflow's own checks
(`studio_recovery.logic.transfer.validate_transfer`) refuse an unsafe one with
`UnsafeTransferError`, a typed error the workflow and the tests can see.
"""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag

from studio_recovery.models.registry import (
    Generation,
    Kind,
    Name,
    Profile,
    ProfileKey,
    UtcDateTime,
)
from studio_recovery.models.report import Conflict, CopyCheck

Trigger = Literal["auto", "copy", "manual", "scheduled", "deletion"]
"""auto/copy/manual start restores; scheduled/deletion start backups."""
BACKUP_TRIGGERS: frozenset[str] = frozenset({"scheduled", "deletion"})
RestoreStatus = Literal[
    "PENDING",
    "RUNNING",
    "SUCCEEDED",
    "PARTIAL",
    "FAILED",
    "SKIPPED",
    "SOURCE_EMPTY",
    "SUPERSEDED",
]
"""PARTIAL: the copy ran, but the task report lists entries the new home is missing.
SUPERSEDED: the profile was recreated again while this step ran (docs/internals.md)."""
TERMINAL_STATUSES: frozenset[str] = frozenset(
    {"SUCCEEDED", "PARTIAL", "FAILED", "SKIPPED", "SOURCE_EMPTY", "SUPERSEDED"}
)
CopyStatus = Literal["PENDING", "STARTED"]

RESTORE_PREFIX = "RESTORE#"
BACKUP_PREFIX = "BACKUP#"
BACKUP_ROOT = "homes"
"""Every backup lives under `homes/` in the bucket; the staged copies of restores from an
older backup under `staging/<restore_id>/` (docs/internals.md section 7)."""
STAGING_ROOT = "staging"
COPY_SK = "COPY"
RESTORE_ID_PATTERN = r"^[A-Za-z0-9_-]{1,80}$"
"""A restore id is its execution name: Step Functions allows 80 of these characters."""
BACKUP_ID_SUFFIX = re.compile(r"-b[0-9]{14}-[0-9a-f]{12}$")


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")


class HomeLocation(_Model):
    """One generation's home directory: the profile, its volume, its uid, its number."""

    domain_id: str = Field(min_length=1)
    domain_name: Name
    kind: Kind
    name: Name
    efs_id: str = Field(min_length=1)
    uid: str
    generation: int = Field(ge=1)

    @property
    def key(self) -> ProfileKey:
        return ProfileKey(domain_name=self.domain_name, kind=self.kind, name=self.name)

    @property
    def directory(self) -> tuple[str, str]:
        """(volume, uid): two locations with the same directory are the same files."""
        return (self.efs_id, self.uid)

    @classmethod
    def of(cls, home: Generation | Profile) -> Self:
        """The location of a recorded generation, or of a profile's current one."""
        return cls(
            domain_id=home.domain_id,
            domain_name=home.domain_name,
            kind=home.kind,
            name=home.name,
            efs_id=home.efs_id,
            uid=home.uid,
            generation=home.generation,
        )

    def __str__(self) -> str:
        return f"{self.key} generation {self.generation} ({self.efs_id}:/{self.uid})"


class BackupLocation(_Model):
    """The S3 prefix that holds one home directory's backups (incremental, versioned).

    As a restore's source, `backup_id` and `as_of` name the backup read: every object as
    it was at `as_of` (the backup's end): the prefix itself when that is its current state,
    else a staged copy of those versions (`staging_prefix`).
    """

    bucket: str = Field(min_length=3, max_length=63)
    domain_id: str = Field(min_length=1)
    domain_name: Name
    kind: Kind
    name: Name
    generation: int = Field(ge=1)
    efs_id: str = Field(min_length=1)
    uid: str
    backup_id: str | None = Field(default=None, pattern=RESTORE_ID_PATTERN)
    as_of: UtcDateTime | None = None

    @property
    def key(self) -> ProfileKey:
        return ProfileKey(domain_name=self.domain_name, kind=self.kind, name=self.name)

    @property
    def prefix(self) -> str:
        """`homes/<domain>/<kind>/<name>/<efs_id>-<uid>/`: one prefix per home directory."""
        return backup_prefix(self.key, self.efs_id, self.uid)

    @property
    def directory(self) -> tuple[str, str]:
        """(bucket, prefix): never equal to an EFS directory."""
        return (f"s3://{self.bucket}", self.prefix)

    @classmethod
    def of(cls, home: HomeLocation, bucket: str) -> Self:
        """Where the backups of `home` are written."""
        return cls(
            bucket=bucket,
            domain_id=home.domain_id,
            domain_name=home.domain_name,
            kind=home.kind,
            name=home.name,
            generation=home.generation,
            efs_id=home.efs_id,
            uid=home.uid,
        )

    def __str__(self) -> str:
        which = f" backup {self.backup_id}" if self.backup_id else ""
        return f"{self.key} generation {self.generation}{which} (s3://{self.bucket}/{self.prefix})"


def _endpoint_tag(value: object) -> str:
    if isinstance(value, BackupLocation) or (isinstance(value, dict) and "bucket" in value):
        return "s3"
    return "efs"


Endpoint = Annotated[
    Annotated[HomeLocation, Tag("efs")] | Annotated[BackupLocation, Tag("s3")],
    Discriminator(_endpoint_tag),
]
"""One side of a transfer: a home directory on EFS, or its backups in S3 (has `bucket`)."""


def make_backup_id(home: HomeLocation, started_at: datetime, trigger: Trigger) -> str:
    """`<name>-b<YYYYMMDDHHMMSS>-<12 hex>`: the execution name of one backup of `home`.

    Deterministic for (directory, second, trigger): a retried start cannot run it twice.
    """
    stamp = started_at.astimezone(UTC).strftime("%Y%m%d%H%M%S")
    material = "|".join([home.key.pk, str(home.generation), home.efs_id, home.uid, stamp, trigger])
    digest = hashlib.sha256(material.encode()).hexdigest()[:12]
    suffix = f"-b{stamp}-{digest}"
    readable = re.sub(r"[^A-Za-z0-9_-]", "-", home.name)[: 80 - len(suffix)]
    return f"{readable}{suffix}"


def backup_prefix(key: ProfileKey, efs_id: str, uid: str) -> str:
    return f"{BACKUP_ROOT}/{key.domain_name}/{key.kind}/{key.name}/{efs_id}-{uid}/"


def staging_prefix(restore_id: str) -> str:
    """`staging/<restore_id>/`: where a restore from an older backup stages its versions."""
    return f"{STAGING_ROOT}/{restore_id}/"


def is_backup_id(restore_id: str) -> bool:
    """Backup ids end in `-b<14 digits>-<12 hex>` (`make_backup_id`); restore ids do not."""
    return BACKUP_ID_SUFFIX.search(restore_id) is not None


class RestoreRequest(_Model):
    """The workflow's execution input; its `restore_id` is the execution name.

    A restore from several sources runs as a chain of executions, one per source, newest
    first: `step` counts them from 1, `head` is the first step's id (None on the first
    step) and `then` holds the sources still to copy, which finalize starts one by one.
    """

    restore_id: str = Field(pattern=RESTORE_ID_PATTERN)
    trigger: Trigger
    target: Endpoint
    source: Endpoint
    step: int = Field(default=1, ge=1)
    head: str | None = Field(default=None, pattern=RESTORE_ID_PATTERN)
    then: list[Endpoint] = Field(default_factory=list)

    @property
    def chain_id(self) -> str:
        """The id every step of this restore shares: its first step's."""
        return self.head or self.restore_id

    @property
    def is_backup(self) -> bool:
        return isinstance(self.target, BackupLocation)

    def execution_input(self) -> dict[str, Any]:
        """The JSON document the execution starts with."""
        return self.model_dump(mode="json")


class PrepareInput(_Model):
    """What the workflow's Prepare state sends (the request plus execution context)."""

    restore_id: str = Field(pattern=RESTORE_ID_PATTERN)
    target: Endpoint
    source: Endpoint
    execution_arn: str = Field(min_length=1)
    execution_started_at: UtcDateTime | None = None
    slot_wait_timeout_seconds: int | None = Field(default=None, ge=0)


class ReportLocation(_Model):
    """Where DataSync writes a restore's task report: a bucket and a prefix."""

    bucket: str = Field(min_length=3, max_length=63)
    prefix: str = Field(min_length=1)


class Transfer(_Model):
    """What `prepare` created, stored by the workflow at `$.transfer`."""

    task_arn: str
    source_location_arn: str
    target_location_arn: str
    access_point_ids: list[str] = Field(default_factory=list)
    report: ReportLocation | None = None
    """Where the task report goes; None for backups (and wiring without a report bucket)."""


class WorkflowError(_Model):
    """A caught error as Step Functions hands it over."""

    model_config = ConfigDict(frozen=True, extra="ignore", populate_by_name=True)

    error: str = Field(default="Error", alias="Error")
    cause: str | None = Field(default=None, alias="Cause")


class TransferExecution(_Model):
    """The DataSync execution as the poll loop left it (`$.execution`)."""

    arn: str | None = None
    waited_seconds: int = 0
    describe: dict[str, Any] | None = None

    @property
    def status(self) -> str | None:
        """DataSync's status from the last DescribeTaskExecution (SUCCESS, ERROR, ...)."""
        return None if self.describe is None else self.describe.get("Status")


class FinalizeInput(_Model):
    """The workflow state when it reaches Finalize (any path, with or without an error)."""

    restore_id: str = Field(pattern=RESTORE_ID_PATTERN)
    trigger: Trigger = "auto"
    target: Endpoint
    source: Endpoint | None = None
    step: int = Field(default=1, ge=1)
    head: str | None = Field(default=None, pattern=RESTORE_ID_PATTERN)
    then: list[Endpoint] = Field(default_factory=list)
    execution_arn: str | None = None
    transfer: Transfer | None = None
    execution: TransferExecution | None = None
    error: WorkflowError | None = None
    cancel_error: WorkflowError | None = None


def _mapping(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _count(value: object) -> int | None:
    """A DataSync counter as a non-negative int; None when absent or unreadable."""
    if value is None or isinstance(value, bool):
        return None if value is None else 0
    try:
        number = int(value)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        return None
    return number if number >= 0 else None


class TransferStats(_Model):
    """Counters of a finished DataSync execution (0 when it never ran)."""

    bytes_written: int = 0
    bytes_file_transferred: int = 0
    files_transferred: int = 0
    total_duration_ms: int = 0
    files_at_source: int | None = None
    counters_readable: bool = True

    @classmethod
    def from_describe(cls, describe: dict[str, Any] | None) -> Self:
        """Read DescribeTaskExecution's counters; absent ones count as 0."""
        if not describe:
            return cls()
        result = _mapping(describe.get("Result"))
        listed = _mapping(describe.get("FilesListed"))
        files = _count(describe.get("FilesTransferred"))
        at_source = _count(listed.get("AtSource")) if "AtSource" in listed else None
        return cls(
            bytes_written=_count(describe.get("BytesWritten")) or 0,
            bytes_file_transferred=_count(describe.get("BytesTransferred")) or 0,
            files_transferred=files or 0,
            total_duration_ms=_count(result.get("TotalDuration")) or 0,
            files_at_source=at_source,
            # An unreadable file count is not "nothing transferred": it must never mark a
            # source empty (that would hide its data from later restores).
            counters_readable=files is not None or "FilesTransferred" not in describe,
        )

    @property
    def source_was_empty(self) -> bool:
        """Nothing but the directory itself was found at the source.

        DataSync lists the location's root directory as one object, so an empty home lists
        1 at the source (`FilesListed.AtSource`). Without that counter, nothing transferred
        counts as empty.
        """
        if self.files_at_source is not None:
            return self.files_at_source <= 1
        return self.counters_readable and self.files_transferred == 0


class RestoreOutcome(_Model):
    """What `finalize` decided and returns to the workflow."""

    status: RestoreStatus
    reason: str
    stats: TransferStats = Field(default_factory=TransferStats)
    follow_up_restore_id: str | None = None
    check: CopyCheck | None = None
    """What the task report says (restores with a report): missing entries, conflicts."""

    @property
    def conflicts(self) -> list[Conflict]:
        return list(self.check.conflicts) if self.check else []

    def workflow_output(self) -> dict[str, Any]:
        """`{"status", "reason", "follow_up_restore_id"}`: every key present (the ASL reads all)."""
        return {
            "status": self.status,
            "reason": self.reason,
            "follow_up_restore_id": self.follow_up_restore_id,
        }


class RestoreItem(_Model):
    """The registry item `RESTORE#<restore_id>` (a restore) or `BACKUP#<restore_id>` (a
    backup) under the profile's partition: the target's for a restore, the source's for a
    backup (a `BackupLocation` has the key of the profile it belongs to)."""

    restore_id: str
    trigger: Trigger
    status: RestoreStatus
    reason: str | None = None
    source: Endpoint | None = None
    target: Endpoint
    step: int = 1
    head: str | None = None
    then: list[Endpoint] = Field(default_factory=list)
    waiting_for: str | None = None
    """A restore not started yet because `waiting_for` (a restore into one of its
    sources) is still running; its end starts this one."""
    execution_arn: str | None = None
    task_arn: str | None = None
    location_arns: list[str] = Field(default_factory=list)
    access_point_ids: list[str] = Field(default_factory=list)
    started_at: UtcDateTime
    ended_at: UtcDateTime | None = None
    bytes_written: int = 0
    bytes_file_transferred: int = 0
    files_transferred: int = 0
    total_duration_ms: int = 0
    missing_paths: list[str] = Field(default_factory=list)
    missing_count: int = 0
    conflicts: list[Conflict] = Field(default_factory=list)
    conflict_count: int = 0

    @property
    def pk(self) -> str:
        return self.target.key.pk

    @property
    def sk(self) -> str:
        return restore_sk(self.restore_id)

    @property
    def is_terminal(self) -> bool:
        return self.status in TERMINAL_STATUSES

    @property
    def is_backup(self) -> bool:
        return isinstance(self.target, BackupLocation)

    @property
    def chain_id(self) -> str:
        """The id every step of this restore shares: its first step's."""
        return self.head or self.restore_id

    def request(self) -> RestoreRequest:
        """The execution input this item was written for."""
        if self.source is None:
            raise ValueError(f"restore {self.restore_id} has no source")
        return RestoreRequest(
            restore_id=self.restore_id,
            trigger=self.trigger,
            target=self.target,
            source=self.source,
            step=self.step,
            head=self.head,
            then=self.then,
        )

    def to_item(self) -> dict[str, Any]:
        body = self.model_dump(mode="json", exclude_none=True)
        entity = "backup" if self.is_backup else "restore"
        return {"pk": self.pk, "sk": self.sk, "entity": entity, **body}

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> Self:
        return cls.model_validate(_plain_numbers(item))


class CopyRequest(_Model):
    """The registry item `COPY`: an admin asked to copy `source_pk`'s files to this profile."""

    target: ProfileKey
    status: CopyStatus
    source_pk: str
    source_generation: int | None = Field(default=None, ge=1)
    requested_at: UtcDateTime
    requested_by: str | None = None
    restore_id: str | None = None
    """Set when the copy was started (`RestoreRepository.mark_copy_started`)."""
    migration_id: str | None = None
    """The `migrate` run that registered this copy (None for `copy`)."""
    attempt: int | None = Field(default=None, ge=2)
    """A `migrate` pair copied again after its copy FAILED or was PARTIAL: the attempt
    number (2, 3, ...) is part of the restore id, so the retry gets an id of its own while
    the CLI and the stream Lambda still agree on it. None for the first attempt."""

    @property
    def source(self) -> ProfileKey:
        return ProfileKey.from_pk(self.source_pk)

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> Self:
        """From a `COPY` item (its `pk` names the target)."""
        body = _plain_numbers(item)
        return cls.model_validate({**body, "target": ProfileKey.from_pk(str(item["pk"]))})


def restore_sk(restore_id: str) -> str:
    """`RESTORE#<id>`, or `BACKUP#<id>` for a backup id (`is_backup_id`)."""
    prefix = BACKUP_PREFIX if is_backup_id(restore_id) else RESTORE_PREFIX
    return f"{prefix}{restore_id}"


def _plain_numbers(value: Any) -> Any:
    """boto3's resource API returns Decimal for numbers: make them ints (ours are whole)."""
    if isinstance(value, Decimal):
        return int(value)
    if isinstance(value, dict):
        return {key: _plain_numbers(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_plain_numbers(item) for item in value]
    return value
