"""Backups (EFS -> S3) and restores from a backup (S3 -> EFS) in the workflow's Lambda
steps, with in-memory fakes (no AWS): the versions a restore reads, task options per
direction, prepare's checks and resources, finalize's outcomes, records and notifications.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from botocore.exceptions import ClientError
from studio_recovery.config import PrepareSettings, parse_settings
from studio_recovery.dal.datasync import DataSyncGateway
from studio_recovery.dal.s3 import (
    ChosenVersion,
    ObjectVersion,
    check_staging_prefix,
    choose_versions,
    parse_versions,
)
from studio_recovery.logic.transfer import (
    finalize,
    finalize_stopped,
    prepare,
    validate_transfer,
)
from studio_recovery.logic.transfer.finalize import MAX_CAUSE_CHARS
from studio_recovery.models.aws import (
    AccessPoint,
    MountTarget,
    Staged,
    Subnet,
    partition_of,
    s3_bucket_arn,
)
from studio_recovery.models.datasync import (
    BACKUP_TASK_OPTIONS,
    RESTORE_TASK_OPTIONS,
)
from studio_recovery.models.errors import (
    BackupsNotConfiguredError,
    HomeDirectoryTimeout,
    MalformedEventError,
    UnsafeTransferError,
)
from studio_recovery.models.registry import ProfileKey
from studio_recovery.models.restore import (
    BackupLocation,
    FinalizeInput,
    HomeLocation,
    PrepareInput,
    RestoreItem,
    RestoreOutcome,
    Trigger,
    make_backup_id,
    restore_sk,
)
from studio_recovery.services import TransferServices

NOW = datetime(2026, 11, 28, 17, 0, tzinfo=UTC)
BUCKET = "studio-recovery-backups-123456789012-us-east-1"
ROLE = "arn:aws:iam::123456789012:role/datasync-backup-bucket"
EXECUTION = "arn:aws:states:us-east-1:123456789012:execution:restore:x"
PREFIX = "homes/demo/user/alice/fs-1-200001/"
BASE_ENV = {
    "REGISTRY_TABLE_NAME": "registry",
    "DATASYNC_SUBNET_IDS": "subnet-a",
    "DATASYNC_SECURITY_GROUP_ARN": "arn:aws:ec2:us-east-1:123456789012:security-group/sg-1",
    "EFS_ACCESS_ROLE_ARN": "arn:aws:iam::123456789012:role/efs",
    "DATASYNC_LOG_GROUP_ARN": "arn:aws:logs:us-east-1:123456789012:log-group:datasync",
    "MAX_CONCURRENT_RESTORES": "2",
}
SETTINGS = parse_settings(
    PrepareSettings,
    {**BASE_ENV, "BACKUP_BUCKET_NAME": BUCKET, "BACKUP_BUCKET_ACCESS_ROLE_ARN": ROLE},
)


def home(
    uid: str = "200001", generation: int = 1, efs_id: str = "fs-1"
) -> HomeLocation:
    return HomeLocation(
        domain_id="d-abc",
        domain_name="demo",
        kind="user",
        name="alice",
        efs_id=efs_id,
        uid=uid,
        generation=generation,
    )


def backup_of(
    location: HomeLocation,
    *,
    backup_id: str | None = None,
    as_of: datetime | None = None,
) -> BackupLocation:
    return BackupLocation.of(location, BUCKET).model_copy(
        update={"backup_id": backup_id, "as_of": as_of}
    )


BACKUP_ID = make_backup_id(home(), NOW, "scheduled")
RESTORE_ID = "alice-g2-0123456789ab"


# ------------------------------------------------------------------------------ fakes


def client_error(
    code: str = "InvalidRequestException", status: int = 400
) -> ClientError:
    reply: Any = {
        "Error": {"Code": code, "Message": "boom"},
        "ResponseMetadata": {"HTTPStatusCode": status},
    }
    return ClientError(reply, "Op")


@dataclass
class Journal:
    """Every call on every fake, in order (`service.method`)."""

    calls: list[str] = field(default_factory=list)

    def note(self, call: str) -> None:
        self.calls.append(call)


@dataclass
class FakeRestores:
    journal: Journal
    items: dict[str, RestoreItem] = field(default_factory=dict)
    slots: set[str] = field(default_factory=set)
    finished: list[RestoreOutcome] = field(default_factory=list)
    profile_writes: list[dict[str, Any]] = field(default_factory=list)

    def get_restore(self, key: ProfileKey, restore_id: str) -> RestoreItem | None:
        return self.items.get(restore_id)

    def create_restore(self, item: RestoreItem) -> bool:
        self.journal.note("restores.create_restore")
        self.items[item.restore_id] = item
        return True

    def acquire_slot(self, execution_arn: str, limit: int, now: datetime) -> bool:
        self.journal.note("restores.acquire_slot")
        self.slots.add(execution_arn)
        return True

    def release_stale_slots(self, now: datetime, max_age: timedelta) -> list[str]:
        return []

    def release_slot(self, execution_arn: str) -> bool:
        self.journal.note("restores.release_slot")
        held = execution_arn in self.slots
        self.slots.discard(execution_arn)
        return held

    def mark_running(
        self, key: ProfileKey, restore_id: str, execution_arn: str
    ) -> None:
        self._update(restore_id, status="RUNNING", execution_arn=execution_arn)

    def add_resource(
        self,
        key: ProfileKey,
        restore_id: str,
        *,
        task_arn: str | None = None,
        location_arn: str | None = None,
        access_point_id: str | None = None,
    ) -> None:
        item = self.items[restore_id]
        self.journal.note("restores.add_resource")
        if task_arn:
            self._update(restore_id, task_arn=task_arn)
        if location_arn:
            self._update(restore_id, location_arns=[*item.location_arns, location_arn])
        if access_point_id:
            self._update(
                restore_id, access_point_ids=[*item.access_point_ids, access_point_id]
            )

    def set_resources(
        self,
        key: ProfileKey,
        restore_id: str,
        *,
        task_arn: str | None,
        location_arns: list[str],
        access_point_ids: list[str],
    ) -> None:
        self._update(
            restore_id,
            task_arn=task_arn,
            location_arns=list(location_arns),
            access_point_ids=list(access_point_ids),
        )

    def finish(
        self,
        key: ProfileKey,
        restore_id: str,
        outcome: RestoreOutcome,
        ended_at: datetime,
    ) -> None:
        self.journal.note("restores.finish")
        self.finished.append(outcome)
        self._update(
            restore_id, status=outcome.status, reason=outcome.reason, ended_at=ended_at
        )

    def set_profile_restore(
        self, key: ProfileKey, generation: int, **fields: Any
    ) -> bool:
        self.journal.note("restores.set_profile_restore")
        self.profile_writes.append({"key": key, "generation": generation, **fields})
        return True

    def list_restores(self, key: ProfileKey) -> list[RestoreItem]:
        return []

    def _update(self, restore_id: str, **fields: Any) -> None:
        self.items[restore_id] = self.items[restore_id].model_copy(update=fields)


@dataclass
class FakeDataSync:
    journal: Journal
    locations: dict[str, dict[str, Any]] = field(default_factory=dict)
    tasks: dict[str, dict[str, Any]] = field(default_factory=dict)
    fail: set[str] = field(default_factory=set)
    cancelled: list[str] = field(default_factory=list)
    _next: int = 0

    def _create(self, operation: str, kind: str) -> str:
        self.journal.note(f"datasync.{operation}")
        if operation in self.fail:
            raise client_error()
        self._next += 1
        return f"arn:aws:datasync:us-east-1:123456789012:{kind}/{kind[:3]}-{self._next}"

    def create_efs_location(self, **kwargs: Any) -> str:
        arn = self._create("create_efs_location", "location")
        self.locations[arn] = {"type": "efs", **kwargs}
        return arn

    def create_s3_location(self, **kwargs: Any) -> str:
        arn = self._create("create_s3_location", "location")
        self.locations[arn] = {"type": "s3", **kwargs}
        return arn

    def create_task(self, **kwargs: Any) -> str:
        arn = self._create("create_task", "task")
        self.tasks[arn] = kwargs
        return arn

    def cancel_running_executions(self, task_arn: str) -> int:
        self.cancelled.append(task_arn)
        return 1

    def delete_task(self, task_arn: str) -> bool:
        self.journal.note("datasync.delete_task")
        return self.tasks.pop(task_arn, None) is not None

    def delete_location(self, location_arn: str) -> bool:
        self.journal.note("datasync.delete_location")
        return self.locations.pop(location_arn, None) is not None


@dataclass
class FakeEfs:
    journal: Journal
    access_points: dict[str, dict[str, Any]] = field(default_factory=dict)

    def subnets(self, subnet_ids: list[str]) -> list[Subnet]:
        return [
            Subnet(
                "subnet-a",
                "arn:aws:ec2:us-east-1:123456789012:subnet/subnet-a",
                "us-east-1a",
                "vpc-1",
            )
        ]

    def mount_targets(self, efs_id: str) -> list[MountTarget]:
        return [MountTarget("us-east-1a", "vpc-1")]

    def file_system_arn(self, efs_id: str) -> str:
        return f"arn:aws:elasticfilesystem:us-east-1:123456789012:file-system/{efs_id}"

    def create_access_point(self, **kwargs: Any) -> AccessPoint:
        self.journal.note("efs.create_access_point")
        point_id = f"fsap-{len(self.access_points) + 1}"
        self.access_points[point_id] = kwargs
        return AccessPoint(
            point_id, f"arn:aws:elasticfilesystem:us-east-1:1:access-point/{point_id}"
        )

    never_available: bool = False

    def wait_until_available(
        self, access_point_id: str, *, timeout_seconds: float
    ) -> None:
        self.journal.note("efs.wait_until_available")
        assert access_point_id in self.access_points
        if self.never_available:
            raise HomeDirectoryTimeout(f"access point {access_point_id} was creating")

    def delete_access_point(self, access_point_id: str) -> bool:
        self.journal.note("efs.delete_access_point")
        return self.access_points.pop(access_point_id, None) is not None


@dataclass
class FakeStaging:
    journal: Journal
    staged: list[dict[str, Any]] = field(default_factory=list)
    deleted: list[tuple[str, str]] = field(default_factory=list)
    current: bool = False
    """The backup is the prefix's current state: nothing is staged."""
    fail_delete: Exception | None = None

    def stage(self, **kwargs: Any) -> Staged | None:
        self.journal.note("s3.stage")
        self.staged.append(kwargs)
        if self.current:
            return None
        return Staged(
            bucket=kwargs["bucket"],
            prefix=kwargs["staging_prefix"],
            objects=3,
            bytes=30,
        )

    def delete_staged(self, bucket: str, staging_prefix: str) -> int:
        self.journal.note("s3.delete_staged")
        if self.fail_delete is not None:
            raise self.fail_delete
        self.deleted.append((bucket, staging_prefix))
        return 3


@dataclass
class FakeNotifier:
    published: list[tuple[str, str]] = field(default_factory=list)

    def publish(self, subject: str, message: str) -> str:
        self.published.append((subject, message))
        return "message-1"


@dataclass
class FakeRegistry:
    """Only records that nothing asked it about generations."""

    calls: list[str] = field(default_factory=list)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)

        def call(*args: Any, **kwargs: Any) -> Any:
            self.calls.append(name)
            return None

        return call


@dataclass
class World:
    journal: Journal = field(default_factory=Journal)

    def __post_init__(self) -> None:
        self.restores = FakeRestores(self.journal)
        self.datasync = FakeDataSync(self.journal)
        self.efs = FakeEfs(self.journal)
        self.staging = FakeStaging(self.journal)
        self.notifier = FakeNotifier()
        self.registry = FakeRegistry()

    def services(self) -> TransferServices:
        return TransferServices(
            restores=self.restores,  # type: ignore[arg-type]
            datasync=self.datasync,  # type: ignore[arg-type]
            efs=self.efs,  # type: ignore[arg-type]
            registry=self.registry,  # type: ignore[arg-type]
            notifier=self.notifier,  # type: ignore[arg-type]
            staging=self.staging,  # type: ignore[arg-type]
            clock=lambda: NOW,
        )

    def item(self, restore_id: str) -> RestoreItem:
        return self.restores.items[restore_id]


@pytest.fixture
def world() -> World:
    return World()


def backup_request(**overrides: Any) -> PrepareInput:
    fields: dict[str, Any] = {
        "restore_id": BACKUP_ID,
        "source": home(),
        "target": backup_of(home()),
        "execution_arn": EXECUTION,
    }
    fields.update(overrides)
    return PrepareInput(**fields)


def from_backup_request(**overrides: Any) -> PrepareInput:
    fields: dict[str, Any] = {
        "restore_id": RESTORE_ID,
        "source": backup_of(home(), backup_id=BACKUP_ID, as_of=NOW),
        "target": home("200002", 2, efs_id="fs-2"),
        "execution_arn": EXECUTION,
    }
    fields.update(overrides)
    return PrepareInput(**fields)


# ------------------------------------------------------------------ the versions read


def version(
    key: str,
    version_id: str,
    at: datetime,
    *,
    marker: bool = False,
    latest: bool = False,
    listed_at: int = 0,
) -> ObjectVersion:
    return ObjectVersion(
        key,
        version_id,
        at,
        is_delete_marker=marker,
        is_latest=latest,
        listed_at=listed_at,
    )


def test_restore_reads_each_keys_newest_version_written_by_as_of() -> None:
    # Given a file written before the backup ended and changed after it
    entries = [
        version(f"{PREFIX}notes.txt", "v1", NOW - timedelta(hours=2)),
        version(f"{PREFIX}notes.txt", "v2", NOW - timedelta(minutes=5)),
        version(f"{PREFIX}notes.txt", "v3", NOW + timedelta(minutes=5)),
        version(f"{PREFIX}later.txt", "v9", NOW + timedelta(seconds=1)),
    ]
    # When the versions as of NOW are chosen
    chosen = choose_versions(entries, PREFIX, NOW)
    # Then the version current at NOW is listed, and a file created later is not
    assert chosen == [ChosenVersion("notes.txt", "v2")]


def test_restore_leaves_out_keys_deleted_by_as_of_and_keeps_those_deleted_later() -> (
    None
):
    entries = [
        version(f"{PREFIX}gone.txt", "g1", NOW - timedelta(hours=2)),
        version(f"{PREFIX}gone.txt", "dm1", NOW - timedelta(hours=1), marker=True),
        version(f"{PREFIX}deleted-later.txt", "k1", NOW - timedelta(hours=2)),
        version(
            f"{PREFIX}deleted-later.txt", "dm2", NOW + timedelta(hours=1), marker=True
        ),
        version(f"{PREFIX}back.txt", "b1", NOW - timedelta(hours=3)),
        version(f"{PREFIX}back.txt", "dm3", NOW - timedelta(hours=2), marker=True),
        version(f"{PREFIX}back.txt", "b2", NOW - timedelta(hours=1)),
    ]
    chosen = choose_versions(entries, PREFIX, NOW)
    assert chosen == [
        ChosenVersion("back.txt", "b2"),
        ChosenVersion("deleted-later.txt", "k1"),
    ]


def test_restore_reads_folder_objects_but_not_the_root_nor_other_prefixes() -> None:
    entries = [
        version(PREFIX, "root", NOW - timedelta(hours=1)),
        version(f"{PREFIX}src/", "dir", NOW - timedelta(hours=1)),
        version(f"{PREFIX}src/main.py", "m1", NOW - timedelta(hours=1)),
        version(
            "homes/demo/user/alice/fs-1-2000010/x", "other", NOW - timedelta(hours=1)
        ),
    ]
    assert choose_versions(entries, PREFIX, NOW) == [
        ChosenVersion("src/", "dir"),
        ChosenVersion("src/main.py", "m1"),
    ]


def test_restore_counts_the_whole_second_of_as_of() -> None:
    """The registry keeps whole seconds; S3 keeps milliseconds."""
    entries = [
        version(f"{PREFIX}a", "in", NOW + timedelta(milliseconds=999)),
        version(f"{PREFIX}b", "out", NOW + timedelta(seconds=1)),
    ]
    assert choose_versions(entries, PREFIX, NOW) == [ChosenVersion("a", "in")]


def test_restore_breaks_ties_by_latest_then_listing_order_then_for_the_file() -> None:
    at = NOW - timedelta(minutes=1)
    entries = [
        version(f"{PREFIX}same", "newer", at, listed_at=0),
        version(f"{PREFIX}same", "older", at, listed_at=1),
        version(f"{PREFIX}raced", "kept", at, listed_at=2),
        version(f"{PREFIX}raced", "dm", at, marker=True, listed_at=3),
        version(f"{PREFIX}deleted", "d1", at, listed_at=4),
        version(f"{PREFIX}deleted", "dm2", at, marker=True, latest=True, listed_at=5),
        version(f"{PREFIX}rewritten", "r2", at, latest=True, listed_at=7),
        version(f"{PREFIX}rewritten", "r1", at, listed_at=6),
    ]
    assert choose_versions(entries, PREFIX, NOW) == [
        ChosenVersion("raced", "kept"),
        ChosenVersion("rewritten", "r2"),
        ChosenVersion("same", "newer"),
    ]


@pytest.mark.parametrize(
    "prefix",
    [
        "homes/demo/user/a/fs-1-200001/",
        "staging/",
        "staging//",
        "staging/x",
        "x/staging/y/",
    ],
)
def test_only_a_staging_prefix_of_one_restore_is_staged_into_or_deleted(
    prefix: str,
) -> None:
    with pytest.raises(ValueError, match="not a staging prefix"):
        check_staging_prefix(prefix)
    check_staging_prefix("staging/user1-g2-0123456789ab/")


def test_parse_versions_reads_versions_and_delete_markers_of_a_page() -> None:
    page = {
        "Versions": [
            {"Key": "k", "VersionId": "v1", "LastModified": NOW, "IsLatest": True}
        ],
        "DeleteMarkers": [{"Key": "d", "VersionId": "m1", "LastModified": NOW}],
    }
    parsed = parse_versions(page, start=10)
    assert [
        (v.key, v.version_id, v.is_delete_marker, v.is_latest, v.listed_at)
        for v in parsed
    ] == [
        ("k", "v1", False, True, 10),
        ("d", "m1", True, False, 11),
    ]


# --------------------------------------------------------------- DataSync task options


def test_backup_options_are_incremental_mirroring_and_keep_ownership() -> None:
    assert BACKUP_TASK_OPTIONS.as_request() == {
        "VerifyMode": "ONLY_FILES_TRANSFERRED",
        "OverwriteMode": "ALWAYS",
        "PreserveDeletedFiles": "REMOVE",
        "TransferMode": "CHANGED",
        "PosixPermissions": "PRESERVE",
        "Uid": "INT_VALUE",
        "Gid": "INT_VALUE",
        "LogLevel": "BASIC",
    }
    # and a restore's stay the safe ones
    assert RESTORE_TASK_OPTIONS.OverwriteMode == "NEVER"
    assert RESTORE_TASK_OPTIONS.PreserveDeletedFiles == "PRESERVE"
    assert RESTORE_TASK_OPTIONS.Uid == RESTORE_TASK_OPTIONS.Gid == "NONE"


@dataclass
class RecordingClient:
    requests: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    def create_location_s3(self, **kwargs: Any) -> dict[str, Any]:
        self.requests.append(("create_location_s3", kwargs))
        return {"LocationArn": "arn:aws:datasync:us-east-1:1:location/loc-s3"}

    def create_task(self, **kwargs: Any) -> dict[str, Any]:
        self.requests.append(("create_task", kwargs))
        return {"TaskArn": "arn:aws:datasync:us-east-1:1:task/task-1"}


def test_gateway_sends_s3_location_and_task_with_options_and_no_manifest() -> None:
    client = RecordingClient()
    gateway = DataSyncGateway(client)
    gateway.create_s3_location(
        bucket_arn=s3_bucket_arn(BUCKET),
        subdirectory=f"/{PREFIX}",
        access_role_arn=ROLE,
        tags={},
    )
    gateway.create_task(
        name="t",
        source_location_arn="src",
        target_location_arn="dst",
        log_group_arn=None,
        tags={"a": "b"},
    )
    (_, location), (_, task) = client.requests
    assert location == {
        "S3BucketArn": f"arn:aws:s3:::{BUCKET}",
        "Subdirectory": f"/{PREFIX}",
        "S3StorageClass": "STANDARD",
        "S3Config": {"BucketAccessRoleArn": ROLE},
        "Tags": [],
    }
    assert task["Options"] == RESTORE_TASK_OPTIONS.as_request()
    assert "ManifestConfig" not in task


def test_partition_comes_from_an_arn() -> None:
    assert (
        partition_of("arn:aws-cn:elasticfilesystem:cn-north-1:1:file-system/fs-1")
        == "aws-cn"
    )
    with pytest.raises(ValueError, match="not an ARN"):
        partition_of("fs-1")


# ---------------------------------------------------------------------- validation


def test_a_backup_goes_only_into_its_own_directorys_prefix() -> None:
    validate_transfer(home(), backup_of(home()))
    with pytest.raises(UnsafeTransferError, match="not to its own prefix"):
        validate_transfer(home("200002"), backup_of(home("200001")))


@pytest.mark.parametrize("uid", ["0", "", "../1", "abc"])
def test_unsafe_uids_are_refused_on_either_side(uid: str) -> None:
    with pytest.raises(UnsafeTransferError, match="not a positive number"):
        validate_transfer(home(uid), backup_of(home(uid)))
    with pytest.raises(UnsafeTransferError, match="not a positive number"):
        validate_transfer(backup_of(home(uid), as_of=NOW), home("200002", 2))


def test_a_restore_from_a_backup_needs_as_of_and_an_efs_side() -> None:
    validate_transfer(backup_of(home(), as_of=NOW), home("200002", 2))
    with pytest.raises(UnsafeTransferError, match="as_of"):
        validate_transfer(backup_of(home()), home("200002", 2))
    with pytest.raises(UnsafeTransferError, match="both backups"):
        validate_transfer(backup_of(home(), as_of=NOW), backup_of(home("200002")))


def test_a_backup_restored_into_the_directory_it_was_taken_of_is_allowed() -> None:
    """The S3 side is never "the same directory" as an EFS side."""
    validate_transfer(backup_of(home(), as_of=NOW), home())


# --------------------------------------------------------------------------- prepare


def test_prepare_backup_creates_efs_source_s3_target_and_backup_task(
    world: World,
) -> None:
    # When a backup is prepared
    transfer = prepare(backup_request(), SETTINGS, world.services())
    # Then the source is the home directory, read as root (no access point)
    source = world.datasync.locations[transfer.source_location_arn]
    assert source["type"] == "efs"
    assert source["subdirectory"] == "/200001"
    assert "access_point_arn" not in source
    assert world.efs.access_points == {}
    # ... the target is the directory's prefix in the backup bucket
    target = world.datasync.locations[transfer.target_location_arn]
    assert target == {
        "type": "s3",
        "bucket_arn": f"arn:aws:s3:::{BUCKET}",
        "subdirectory": f"/{PREFIX}",
        "access_role_arn": ROLE,
        "tags": {"restore_id": BACKUP_ID, "managed-by": "studio-recovery"},
    }
    # ... the task has the backup options and no manifest
    task = world.datasync.tasks[transfer.task_arn]
    assert task["options"] == BACKUP_TASK_OPTIONS
    assert "manifest" not in task
    # ... and every ARN is on the backup item, under BACKUP#
    item = world.item(BACKUP_ID)
    assert item.is_backup and item.status == "RUNNING"
    assert item.sk == restore_sk(BACKUP_ID) and item.sk.startswith("BACKUP#")
    assert item.location_arns == [
        transfer.source_location_arn,
        transfer.target_location_arn,
    ]
    assert item.task_arn == transfer.task_arn
    assert transfer.access_point_ids == []
    assert world.restores.slots == {EXECUTION}


def test_prepare_restore_from_an_older_backup_stages_its_versions_first(
    world: World,
) -> None:
    request = from_backup_request()
    transfer = prepare(request, SETTINGS, world.services())
    # The staging comes before any DataSync or EFS resource
    creations = [
        c
        for c in world.journal.calls
        if c.split(".")[1].startswith(("create", "stage"))
    ]
    assert creations == [
        "restores.create_restore",
        "s3.stage",
        "efs.create_access_point",
        "datasync.create_s3_location",
        "datasync.create_efs_location",
        "datasync.create_task",
    ]
    staging = f"staging/{RESTORE_ID}/"
    assert world.staging.staged == [
        {"bucket": BUCKET, "prefix": PREFIX, "as_of": NOW, "staging_prefix": staging}
    ]
    # DataSync reads the staged copy, folders included, without a manifest
    source = world.datasync.locations[transfer.source_location_arn]
    assert (source["type"], source["subdirectory"]) == ("s3", f"/{staging}")
    assert source["access_role_arn"] == ROLE
    target = world.datasync.locations[transfer.target_location_arn]
    assert target["type"] == "efs" and target["subdirectory"] == "/"
    assert target["access_point_arn"].endswith("access-point/fsap-1")
    assert world.efs.access_points["fsap-1"]["uid"] == "200002"
    task = world.datasync.tasks[transfer.task_arn]
    assert task["options"] == RESTORE_TASK_OPTIONS
    assert "manifest" not in task
    item = world.item(RESTORE_ID)
    assert not item.is_backup
    assert item.access_point_ids == ["fsap-1"] == transfer.access_point_ids
    assert len(item.location_arns) == 2 and item.task_arn == transfer.task_arn


def test_restore_of_the_current_state_of_a_backup_reads_the_prefix_itself(
    world: World,
) -> None:
    # given a backup whose objects are the prefix's current ones
    world.staging.current = True

    # when
    transfer = prepare(from_backup_request(), SETTINGS, world.services())

    # then the task transfers the prefix's objects, directories with their metadata
    task = world.datasync.tasks[transfer.task_arn]
    assert "manifest" not in task
    assert task["options"] == RESTORE_TASK_OPTIONS
    source = world.datasync.locations[transfer.source_location_arn]
    assert (source["type"], source["subdirectory"]) == ("s3", f"/{PREFIX}")


@pytest.mark.parametrize("request_of", [backup_request, from_backup_request])
@pytest.mark.parametrize(
    "env",
    [
        {},
        {"BACKUP_BUCKET_NAME": BUCKET},
        {"BACKUP_BUCKET_ACCESS_ROLE_ARN": ROLE, "BACKUP_BUCKET_NAME": ""},
    ],
)
def test_prepare_refuses_backups_when_not_configured_before_any_call(
    world: World, request_of: Any, env: Mapping[str, str]
) -> None:
    settings = parse_settings(PrepareSettings, {**BASE_ENV, **env})
    with pytest.raises(
        BackupsNotConfiguredError, match="BACKUP_BUCKET_ACCESS_ROLE_ARN|NAME"
    ):
        prepare(request_of(), settings, world.services())
    assert world.journal.calls == []


def test_prepare_refuses_another_bucket(world: World) -> None:
    target = backup_of(home()).model_copy(update={"bucket": "someone-elses-bucket"})
    with pytest.raises(UnsafeTransferError, match="someone-elses-bucket"):
        prepare(backup_request(target=target), SETTINGS, world.services())
    assert world.journal.calls == []


@pytest.mark.parametrize(
    ("request_of", "restore_id"),
    [(backup_request, RESTORE_ID), (from_backup_request, BACKUP_ID)],
)
def test_prepare_refuses_an_id_of_the_other_kind(
    world: World, request_of: Any, restore_id: str
) -> None:
    with pytest.raises(MalformedEventError, match="is not a"):
        prepare(request_of(restore_id=restore_id), SETTINGS, world.services())
    assert world.journal.calls == []


@pytest.mark.parametrize(
    ("request_of", "failing", "deleted"),
    [
        (backup_request, "create_task", ["datasync.delete_location"] * 2),
        (backup_request, "create_s3_location", ["datasync.delete_location"]),
        (
            from_backup_request,
            "create_efs_location",
            ["datasync.delete_location", "efs.delete_access_point", "s3.delete_staged"],
        ),
    ],
)
def test_prepare_failing_half_way_deletes_what_it_created(
    world: World, request_of: Any, failing: str, deleted: list[str]
) -> None:
    request = request_of()
    world.datasync.fail.add(failing)
    with pytest.raises(ClientError):
        prepare(request, SETTINGS, world.services())
    failed_at = world.journal.calls.index(f"datasync.{failing}")
    assert world.journal.calls[failed_at + 1 :] == deleted
    assert world.datasync.locations == {} and world.efs.access_points == {}
    item = world.item(request.restore_id)
    assert (item.task_arn, item.location_arns, item.access_point_ids) == (None, [], [])


def test_prepare_gives_up_on_a_home_that_never_appears_and_deletes_its_access_point(
    world: World,
) -> None:
    request = from_backup_request()
    world.efs.never_available = True
    with pytest.raises(HomeDirectoryTimeout):
        prepare(request, SETTINGS, world.services())
    aws = [c for c in world.journal.calls if c.startswith(("efs.", "datasync."))]
    assert aws == [
        "efs.create_access_point",
        "efs.wait_until_available",
        "efs.delete_access_point",
    ]
    assert world.efs.access_points == {} and world.datasync.locations == {}


# -------------------------------------------------------------------------- finalize


def finalize_state(request: PrepareInput, world: World, **extra: Any) -> FinalizeInput:
    """The workflow state after `prepare` ran for `request` (with `extra` merged)."""
    transfer = prepare(request, SETTINGS, world.services())
    trigger: Trigger = (
        "scheduled" if isinstance(request.target, BackupLocation) else "auto"
    )
    return FinalizeInput(
        restore_id=request.restore_id,
        trigger=trigger,
        target=request.target,
        source=request.source,
        execution_arn=request.execution_arn,
        transfer=transfer,
        **extra,
    )


def described(status: str, files: int, size: int = 0, **more: Any) -> dict[str, Any]:
    return {
        "arn": "arn:aws:datasync:us-east-1:1:task/task-1/execution/exec-1",
        "waited_seconds": 60,
        "describe": {
            "Status": status,
            "FilesTransferred": files,
            "BytesTransferred": size,
            "BytesWritten": size,
            **more,
        },
    }


def assert_cleaned_up(world: World, restore_id: str) -> None:
    assert world.datasync.tasks == {} and world.datasync.locations == {}
    assert world.efs.access_points == {}
    assert world.restores.slots == set()
    item = world.item(restore_id)
    assert (item.task_arn, item.location_arns, item.access_point_ids) == (None, [], [])


def test_finalize_backup_success_records_the_backup_item_only(world: World) -> None:
    state = finalize_state(
        backup_request(), world, execution=described("SUCCESS", 12, 3456)
    )
    outcome = finalize(state, world.services())
    assert outcome.status == "SUCCEEDED"
    assert outcome.reason == "backed up 12 files (3456 bytes)"
    assert outcome.follow_up_restore_id is None
    assert_cleaned_up(world, BACKUP_ID)
    item = world.item(BACKUP_ID)
    assert (item.status, item.ended_at) == ("SUCCEEDED", NOW)
    assert world.restores.profile_writes == []
    assert "restores.set_profile_restore" not in world.journal.calls
    assert world.notifier.published == []


def test_finalize_backup_of_an_empty_home_is_a_success_not_source_empty(
    world: World,
) -> None:
    execution = described("SUCCESS", 0, 0, FilesListed={"AtSource": 1})
    state = finalize_state(backup_request(), world, execution=execution)
    outcome = finalize(state, world.services())
    assert (outcome.status, outcome.reason) == (
        "SUCCEEDED",
        "backed up 0 files (0 bytes)",
    )
    assert (
        world.registry.calls == []
    )  # no generation marked empty, no follow-up planned
    assert world.notifier.published == []


@pytest.mark.parametrize("trigger", ["scheduled", "deletion"])
def test_finalize_failed_backup_is_recorded_and_published(
    world: World, trigger: str
) -> None:
    execution = described(
        "ERROR", 0, Result={"ErrorCode": "AccessDenied", "ErrorDetail": "bucket policy"}
    )
    state = finalize_state(backup_request(), world, execution=execution)
    state = state.model_copy(update={"trigger": trigger})
    outcome = finalize(state, world.services())
    assert (outcome.status, outcome.reason) == ("FAILED", "AccessDenied: bucket policy")
    assert_cleaned_up(world, BACKUP_ID)
    assert world.item(BACKUP_ID).status == "FAILED"
    assert world.restores.profile_writes == []
    [(subject, body)] = world.notifier.published
    assert subject == "studio-recovery: backup FAILED for user alice in domain demo"
    for expected in (
        "Domain: demo (d-abc)",
        "Profile: alice",
        "Cause: AccessDenied: bucket policy",
        f"Backup id: {BACKUP_ID}",
        f"Execution: {EXECUTION}",
        f"s3://{BUCKET}/{PREFIX}",
    ):
        assert expected in body
    hint = (
        "next scheduled backup" if trigger == "scheduled" else "taken when the profile"
    )
    assert hint in body


def test_finalize_restore_from_an_empty_backup_is_source_empty_without_follow_up(
    world: World,
) -> None:
    # a restore whose only source is a backup: nothing is left to read after it
    execution = described("SUCCESS", 0, 0, FilesListed={"AtSource": 0})
    state = finalize_state(from_backup_request(), world, execution=execution)
    outcome = finalize(state, world.services())
    assert outcome.status == "SOURCE_EMPTY"
    assert outcome.reason.startswith(f"backup {BACKUP_ID} of generation 1 had no files")
    assert outcome.follow_up_restore_id is None
    # a backup is never marked empty: only a generation's directory is
    assert not [call for call in world.registry.calls if "empty" in str(call)]
    assert_cleaned_up(world, RESTORE_ID)
    # a restore still records on the profile row, and tells people nothing was restored
    [write] = world.restores.profile_writes
    assert (write["generation"], write["status"]) == (2, "SOURCE_EMPTY")
    [(subject, _)] = world.notifier.published
    assert (
        subject == "studio-recovery: restore SOURCE_EMPTY for user alice in domain demo"
    )


def test_finalize_restore_from_a_backup_succeeds_like_a_restore(world: World) -> None:
    state = finalize_state(
        from_backup_request(), world, execution=described("SUCCESS", 3, 30)
    )
    outcome = finalize(state, world.services())
    assert (outcome.status, outcome.reason) == (
        "SUCCEEDED",
        "restored 3 files (30 bytes)",
    )
    # the only registry read: whether a newer generation supersedes this restore
    assert world.registry.calls == ["list_generations"]
    assert world.restores.profile_writes[0]["status"] == "SUCCEEDED"
    assert world.notifier.published == []
    # and the staged copy it read is deleted
    assert world.staging.deleted == [(BUCKET, f"staging/{RESTORE_ID}/")]


def test_finalize_of_a_backup_stages_nothing_and_deletes_nothing(world: World) -> None:
    state = finalize_state(
        backup_request(), world, execution=described("SUCCESS", 1, 1)
    )
    finalize(state, world.services())
    assert world.staging.staged == [] and world.staging.deleted == []


def test_a_staged_copy_that_cannot_be_deleted_is_named_and_notified(
    world: World,
) -> None:
    # given a restore from an older backup whose staged copy cannot be deleted
    state = finalize_state(
        from_backup_request(), world, execution=described("SUCCESS", 3, 30)
    )
    world.staging.fail_delete = RuntimeError("AccessDenied")
    # when it is finalized
    outcome = finalize(state, world.services())
    # then the restore result stands, the copy left behind is named and notified
    assert outcome.status == "SUCCEEDED"
    assert f"not deleted: s3://{BUCKET}/staging/{RESTORE_ID}/" in outcome.reason
    [(_, message)] = world.notifier.published
    assert f"staging/{RESTORE_ID}/" in message
    assert_cleaned_up(world, RESTORE_ID)


@pytest.mark.parametrize("request_of", [backup_request, from_backup_request])
def test_finalize_stopped_cleans_up_both_directions(
    world: World, request_of: Any
) -> None:
    request = request_of()
    prepare(request, SETTINGS, world.services())
    item = world.item(request.restore_id)
    outcome = finalize_stopped(EXECUTION, "ABORTED", item, world.services())
    assert outcome is not None
    assert (outcome.status, outcome.reason) == ("FAILED", "stopped by hand")
    assert world.datasync.cancelled == [item.task_arn]
    assert_cleaned_up(world, request.restore_id)
    backup = isinstance(request.target, BackupLocation)
    staged = [] if backup else [(BUCKET, f"staging/{request.restore_id}/")]
    assert world.staging.deleted == staged
    assert len(world.restores.profile_writes) == (0 if backup else 1)
    [(subject, _)] = world.notifier.published
    assert subject.startswith(
        f"studio-recovery: {'backup' if backup else 'restore'} FAILED"
    )


@pytest.mark.parametrize(
    ("error", "cause", "reason"),
    [
        (
            "States.Runtime",
            "history limit",
            "the execution failed on its own: States.Runtime: history limit",
        ),
        (None, "only a cause", "the execution failed on its own: only a cause"),
        (
            None,
            None,
            "the execution failed on its own: Step Functions gave no error or cause",
        ),
    ],
)
def test_finalize_stopped_of_a_failed_execution_records_step_functions_own_words(
    world: World, error: str | None, cause: str | None, reason: str
) -> None:
    # given a prepared backup whose execution failed outside the workflow's Catch paths
    request = backup_request()
    prepare(request, SETTINGS, world.services())
    item = world.item(request.restore_id)
    # when its FAILED status change is finalized
    outcome = finalize_stopped(
        EXECUTION, "FAILED", item, world.services(), error=error, cause=cause
    )
    # then it is cleaned up like a stopped one, with the cause, and notified once
    assert outcome is not None
    assert (outcome.status, outcome.reason) == ("FAILED", reason)
    assert world.datasync.cancelled == [item.task_arn]
    assert_cleaned_up(world, request.restore_id)
    assert world.item(request.restore_id).status == "FAILED"
    [(_, message)] = world.notifier.published
    assert reason in message


def test_finalize_stopped_of_a_failed_execution_keeps_a_long_cause_bounded(
    world: World,
) -> None:
    request = backup_request()
    prepare(request, SETTINGS, world.services())
    item = world.item(request.restore_id)
    outcome = finalize_stopped(
        EXECUTION, "FAILED", item, world.services(), error="E", cause="x" * 40_000
    )
    assert outcome is not None
    prefix = "the execution failed on its own: "
    assert outcome.reason.startswith(prefix + "E: xxx")
    assert outcome.reason.endswith("...")
    assert len(outcome.reason) == len(prefix) + MAX_CAUSE_CHARS


@pytest.mark.parametrize("status", ["FAILED", "ABORTED", "TIMED_OUT"])
def test_finalize_stopped_of_an_already_finished_transfer_deletes_leftovers_only(
    world: World, status: str
) -> None:
    # given a backup its own Finalize recorded FAILED and notified, that still names a task
    request = backup_request()
    state = finalize_state(request, world, execution=described("ERROR", 0, 0))
    first = finalize(state, world.services())
    assert first.status == "FAILED"
    world.restores.add_resource(
        request.target.key, request.restore_id, task_arn="arn:left-task"
    )
    world.datasync.tasks["arn:left-task"] = {}
    recorded = world.item(request.restore_id)
    # when the execution's status change arrives
    outcome = finalize_stopped(
        EXECUTION, status, recorded, world.services(), error="RestoreFailed"
    )
    # then only the leftover is deleted: same result, nothing recorded or sent again
    assert outcome is None
    assert world.datasync.tasks == {}
    after = world.item(request.restore_id)
    assert (after.status, after.reason) == (recorded.status, recorded.reason)
    assert world.restores.finished == [first]
    assert len(world.notifier.published) == 1
