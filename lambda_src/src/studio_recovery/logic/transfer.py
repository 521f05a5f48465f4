"""The workflow's two Lambda steps: prepare a DataSync transfer, and finalize it.

Three kinds of transfer run through them (docs/internals.md sections 4 and 7):
- a restore, EFS -> EFS: a home directory into the new home of a profile;
- a backup, EFS -> S3: a home directory into its prefix of the backup bucket (the target is
  a `BackupLocation`);
- a restore from a backup, S3 -> EFS: a backup prefix as it was at `as_of`, through a
  DataSync manifest of object versions, into the new home (the source is a
  `BackupLocation`).

prepare: refuse an unsafe transfer, take a concurrency slot, create the target access
point (restores), the locations and the task, recording each ARN on the item as soon as
it exists; on a failure half-way, delete what it created.

finalize: delete the task, locations and access points (already gone is fine), give the
slot back, record the result on the item (and, for restores, on the profile row), notify
on failure, and when a restore's source directory turned out empty, mark it so and
restore from the next earlier generation.

No boto3 here: the data-access objects are passed in (`TransferServices`).
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from studio_recovery.dal.datasync import (
    BACKUP_TASK_OPTIONS,
    TASK_OPTIONS,
    manifest_config,
    partition_of,
    s3_bucket_arn,
)
from studio_recovery.logic.restore_plan import (
    is_safe_uid,
    plan_follow_up,
    plan_incomplete_source,
)
from studio_recovery.logic.restore_start import start_restore
from studio_recovery.models.errors import (
    CleanupIncompleteError,
    MalformedEventError,
    NoUsableSubnetError,
    RestoreStoppedError,
    SlotUnavailable,
    SlotWaitTimeout,
    StudioRecoveryError,
    TransientAwsError,
    UnsafeTransferError,
)
from studio_recovery.models.registry import ProfileKey
from studio_recovery.models.restore import (
    BackupLocation,
    Endpoint,
    FinalizeInput,
    HomeLocation,
    PrepareInput,
    RestoreItem,
    RestoreOutcome,
    Transfer,
    TransferStats,
    WorkflowError,
    backup_prefix,
    is_backup_id,
)
from studio_recovery.observability import logger

if TYPE_CHECKING:
    from studio_recovery.config import PrepareSettings
    from studio_recovery.dal.datasync import DataSyncGateway
    from studio_recovery.dal.efs import AccessPoint, EfsGateway, Subnet
    from studio_recovery.dal.notify import Notifier
    from studio_recovery.dal.registry import RegistryRepository
    from studio_recovery.dal.restores import RestoreRepository
    from studio_recovery.dal.s3 import ManifestWriter
    from studio_recovery.dal.workflow import WorkflowGateway

STALE_SLOT_AGE = timedelta(hours=24)
"""A slot held this long belongs to an execution that died without finalizing."""

STOPPED_ERRORS = {"ExecutionAborted": "stopped by hand", "ExecutionTimedOut": "timed out"}


class BackupsNotConfiguredError(StudioRecoveryError):
    """A backup, or a restore from one, while the `prepare` function has no backup bucket
    (BACKUP_BUCKET_NAME) or bucket access role (BACKUP_BUCKET_ACCESS_ROLE_ARN); a
    configuration problem, never retried."""


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class TransferServices:
    """The AWS-facing objects prepare and finalize use (fakes in tests)."""

    restores: RestoreRepository
    datasync: DataSyncGateway
    efs: EfsGateway
    registry: RegistryRepository | None = None
    notifier: Notifier | None = None
    workflow: WorkflowGateway | None = None
    manifests: ManifestWriter | None = None
    clock: Callable[[], datetime] = utc_now


@dataclass
class Resources:
    """DataSync and EFS resources of one restore."""

    task_arn: str | None = None
    location_arns: list[str] = field(default_factory=list)
    access_point_ids: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.task_arn or self.location_arns or self.access_point_ids)

    def describe(self) -> str:
        names = ([self.task_arn] if self.task_arn else []) + self.location_arns
        return ", ".join(names + self.access_point_ids)


# --------------------------------------------------------------------------- prepare


def validate_transfer(source: Endpoint, target: Endpoint) -> None:
    """Refuse a transfer that could read or write the wrong files (UnsafeTransferError).

    Both uids must be positive numbers (an EFS side would otherwise be the volume's root,
    a backup side another directory's prefix); an EFS->EFS transfer needs two different
    directories; a backup writes only into its own directory's prefix; a restore from a
    backup names the moment it reads (`as_of`); S3->S3 is not a transfer this product makes.
    """
    for role, location in (("source", source), ("target", target)):
        if not is_safe_uid(location.uid):
            raise UnsafeTransferError(
                f"{role} uid {location.uid!r} is not a positive number: it would point "
                f"DataSync at the root of volume {location.efs_id}"
            )
    if isinstance(source, BackupLocation) and isinstance(target, BackupLocation):
        raise UnsafeTransferError("source and target are both backups: nothing would reach EFS")
    if isinstance(target, BackupLocation):
        _validate_backup(source, target)
    elif isinstance(source, BackupLocation):
        if source.as_of is None:
            raise UnsafeTransferError(
                f"a restore from a backup needs the time it reads (as_of): {source}"
            )
    elif source.directory == target.directory:
        raise UnsafeTransferError(
            f"source and target are the same directory {source.efs_id}:/{source.uid}"
        )


def _validate_backup(source: Endpoint, target: BackupLocation) -> None:
    """A backup's prefix must be its source directory's own: written anywhere else, a
    later restore of that other directory would hand these files to someone else."""
    own = backup_prefix(source.key, source.efs_id, source.uid)
    if target.prefix != own:
        raise UnsafeTransferError(
            f"the backup of {source} would be written to {target.prefix}, "
            f"not to its own prefix {own}"
        )


def _validate_id(request: PrepareInput) -> None:
    """A backup's id is a backup id (its item lives at `BACKUP#`), a restore's is not."""
    backup = isinstance(request.target, BackupLocation)
    if backup != is_backup_id(request.restore_id):
        what = "backup" if backup else "restore"
        raise MalformedEventError(
            f"{request.restore_id!r} is not a {what} id: backup ids end in "
            "-b<YYYYMMDDHHMMSS>-<12 hex> (make_backup_id) and only backups have them"
        )


@dataclass(frozen=True)
class BackupConfig:
    """What a transfer to or from the backup bucket needs from the settings."""

    bucket: str
    access_role_arn: str


def backup_config(request: PrepareInput, settings: PrepareSettings) -> BackupConfig | None:
    """The backup settings when the transfer has an S3 side (None for EFS->EFS).

    Raises BackupsNotConfiguredError when they are missing, and UnsafeTransferError when
    the S3 side names another bucket than the configured one (DataSync's role reaches only
    that one, and nothing may be written elsewhere)."""
    backup = next(
        (side for side in (request.target, request.source) if isinstance(side, BackupLocation)),
        None,
    )
    if backup is None:
        return None
    bucket, role = settings.manifest_bucket_name, settings.backup_bucket_access_role_arn
    if not bucket or not role:
        missing = [
            name
            for name, value in (
                ("BACKUP_BUCKET_NAME", bucket),
                ("BACKUP_BUCKET_ACCESS_ROLE_ARN", role),
            )
            if not value
        ]
        raise BackupsNotConfiguredError(
            f"{request.restore_id} needs the backup bucket, but backups are not configured "
            f"for the prepare function ({' and '.join(missing)} not set): enable backups in "
            "the module, or restore from a home directory instead"
        )
    if backup.bucket != bucket:
        raise UnsafeTransferError(
            f"{request.restore_id} names bucket {backup.bucket}, not the backup bucket "
            f"{bucket} this module writes"
        )
    return BackupConfig(bucket=bucket, access_role_arn=role)


def prepare(
    request: PrepareInput, settings: PrepareSettings, services: TransferServices
) -> Transfer:
    """Create everything the transfer needs; see the module docstring."""
    validate_transfer(request.source, request.target)
    _validate_id(request)
    backup = backup_config(request, settings)
    key = request.target.key
    _ensure_restore_item(request, services)
    _take_slot(request, settings, services)
    services.restores.mark_running(key, request.restore_id, request.execution_arn)
    _delete_leftovers_of_earlier_attempt(request, services)
    created = Resources()
    try:
        transfer = _create_resources(request, settings, services, created, backup)
    except Exception:
        logger.exception("Prepare failed half-way; deleting what it created")
        _delete_and_record(created, key, request.restore_id, services, strict=False)
        raise
    _give_up_if_stopped_meanwhile(request, created, services)
    logger.info("Transfer prepared", extra=transfer.model_dump())
    return transfer


def _give_up_if_stopped_meanwhile(
    request: PrepareInput, created: Resources, services: TransferServices
) -> None:
    """A Lambda keeps running when its execution is stopped; the stop's clean-up may have
    run already. Then delete what this attempt made and give the slot back."""
    item = services.restores.get_restore(request.target.key, request.restore_id)
    if item is None or not item.is_terminal:
        return
    _delete_and_record(created, request.target.key, request.restore_id, services, strict=False)
    services.restores.release_slot(request.execution_arn)
    raise RestoreStoppedError(f"restore {request.restore_id} ended {item.status} meanwhile")


def _ensure_restore_item(request: PrepareInput, services: TransferServices) -> None:
    """A restore started by hand with no item gets one now (RUNNING); a finished one
    (stopped while this step waited for a slot) is not prepared again."""
    item = services.restores.get_restore(request.target.key, request.restore_id)
    if item is not None and item.is_terminal:
        raise RestoreStoppedError(f"restore {request.restore_id} ended {item.status} already")
    if item is not None:
        return
    services.restores.create_restore(
        RestoreItem(
            restore_id=request.restore_id,
            trigger="manual",
            status="RUNNING",
            source=request.source,
            target=request.target,
            execution_arn=request.execution_arn,
            started_at=services.clock(),
        )
    )


def _take_slot(
    request: PrepareInput, settings: PrepareSettings, services: TransferServices
) -> None:
    now = services.clock()
    restores = services.restores
    limit = settings.max_concurrent_restores
    if restores.acquire_slot(request.execution_arn, limit, now):
        return
    if restores.release_stale_slots(now, STALE_SLOT_AGE) and restores.acquire_slot(
        request.execution_arn, limit, now
    ):
        return
    started, timeout = request.execution_started_at, request.slot_wait_timeout_seconds
    if started is not None and timeout is not None and now - started > timedelta(seconds=timeout):
        raise SlotWaitTimeout(f"no DataSync slot (of {limit}) became free within {timeout} seconds")
    raise SlotUnavailable(f"all {limit} DataSync slots are taken; the workflow retries")


def _delete_leftovers_of_earlier_attempt(request: PrepareInput, services: TransferServices) -> None:
    """A retried prepare first deletes what an earlier attempt recorded but left behind."""
    item = services.restores.get_restore(request.target.key, request.restore_id)
    if item is None:
        return
    leftovers = Resources(item.task_arn, list(item.location_arns), list(item.access_point_ids))
    if not leftovers:
        return
    logger.info(
        "Deleting resources of an earlier prepare attempt", extra={"arns": leftovers.describe()}
    )
    remaining = _delete_and_record(
        leftovers, request.target.key, request.restore_id, services, strict=True
    )
    if remaining:
        raise CleanupIncompleteError(
            f"resources of an earlier attempt could not be deleted: {remaining.describe()}"
        )


def _create_resources(
    request: PrepareInput,
    settings: PrepareSettings,
    services: TransferServices,
    created: Resources,
    backup: BackupConfig | None,
) -> Transfer:
    """The access point (restores), both locations and the task, each recorded at once."""
    creator = _Creator(request, settings, services, created)
    source, target = request.source, request.target
    if isinstance(source, HomeLocation) and isinstance(target, HomeLocation):
        return creator.restore(source, target)
    if backup is None:  # pragma: no cover - backup_config raised already
        raise BackupsNotConfiguredError(f"{request.restore_id}: backups are not configured")
    if isinstance(source, HomeLocation) and isinstance(target, BackupLocation):
        return creator.backup(source, target, backup)
    if isinstance(source, BackupLocation) and isinstance(target, HomeLocation):
        return creator.restore_from_backup(source, target, backup)
    raise UnsafeTransferError(  # pragma: no cover - validate_transfer refused it already
        f"{request.restore_id}: a transfer has a home directory on at least one side"
    )


@dataclass
class _Creator:
    """Creates one transfer's resources; every one is recorded on the item (and in
    `created`) the moment it exists, so a failure or a stop can delete it."""

    request: PrepareInput
    settings: PrepareSettings
    services: TransferServices
    created: Resources

    @property
    def tags(self) -> dict[str, str]:
        return {"restore_id": self.request.restore_id, "managed-by": "studio-recovery"}

    # -------------------------------------------------------------- the three kinds

    def restore(self, source: HomeLocation, target: HomeLocation) -> Transfer:
        """EFS -> EFS through an access point of the new uid."""
        subnets = self.services.efs.subnets(self.settings.datasync_subnet_ids)
        source_subnet = choose_subnet(source.efs_id, subnets, self.services.efs)
        target_subnet = choose_subnet(target.efs_id, subnets, self.services.efs)
        access_point = self._access_point(target)
        source_arn = self._source_efs_location(source, source_subnet)
        target_arn = self._target_efs_location(target, target_subnet, access_point.arn)
        return self._task(source_arn, target_arn, TASK_OPTIONS)

    def backup(
        self, source: HomeLocation, target: BackupLocation, backup: BackupConfig
    ) -> Transfer:
        """EFS -> S3: the home directory into its prefix, incrementally."""
        subnets = self.services.efs.subnets(self.settings.datasync_subnet_ids)
        source_subnet = choose_subnet(source.efs_id, subnets, self.services.efs)
        efs_arn = self.services.efs.file_system_arn(source.efs_id)
        source_arn = self._source_efs_location(source, source_subnet, efs_arn=efs_arn)
        target_arn = self._s3_location(target, backup, partition_of(efs_arn))
        return self._task(source_arn, target_arn, BACKUP_TASK_OPTIONS)

    def restore_from_backup(
        self, source: BackupLocation, target: HomeLocation, backup: BackupConfig
    ) -> Transfer:
        """S3 -> EFS: the manifest of the objects as they were at `as_of` first, then the
        locations and a task that transfers exactly the manifest."""
        manifests = self.services.manifests
        if manifests is None or source.as_of is None:  # pragma: no cover - wiring/validated
            raise BackupsNotConfiguredError("no manifest writer for a restore from a backup")
        manifest = manifests.write_manifest(
            source_bucket=source.bucket,
            prefix=source.prefix,
            as_of=source.as_of,
            manifest_bucket=backup.bucket,
            restore_id=self.request.restore_id,
        )
        logger.info(
            "Manifest written",
            extra={
                "manifest": f"s3://{manifest.bucket}/{manifest.key}",
                "objects": manifest.entries,
            },
        )
        subnets = self.services.efs.subnets(self.settings.datasync_subnet_ids)
        target_subnet = choose_subnet(target.efs_id, subnets, self.services.efs)
        efs_arn = self.services.efs.file_system_arn(target.efs_id)
        partition = partition_of(efs_arn)
        access_point = self._access_point(target)
        source_arn = self._s3_location(source, backup, partition)
        target_arn = self._target_efs_location(
            target, target_subnet, access_point.arn, efs_arn=efs_arn
        )
        config = manifest_config(
            bucket_arn=s3_bucket_arn(manifest.bucket, partition),
            object_path=manifest.key,
            access_role_arn=backup.access_role_arn,
            version_id=manifest.version_id,
        )
        return self._task(source_arn, target_arn, TASK_OPTIONS, manifest=config)

    # -------------------------------------------------------------------- resources

    def _access_point(self, target: HomeLocation) -> AccessPoint:
        restore_id = self.request.restore_id
        access_point = self.services.efs.create_access_point(
            efs_id=target.efs_id,
            uid=target.uid,
            gid=self.settings.home_gid,
            client_token=_client_token(restore_id),
            tags={**self.tags, "Name": f"studio-recovery-{restore_id}"},
        )
        self.created.access_point_ids.append(access_point.access_point_id)
        self.services.restores.add_resource(
            self.request.target.key, restore_id, access_point_id=access_point.access_point_id
        )
        # The new home is created through this access point: wait (bounded) until it can be
        # mounted, or fail with HomeDirectoryTimeout (finalize deletes the access point).
        self.services.efs.wait_until_available(
            access_point.access_point_id, timeout_seconds=self.settings.home_wait_timeout_seconds
        )
        return access_point

    def _source_efs_location(
        self, source: HomeLocation, subnet: Subnet, *, efs_arn: str | None = None
    ) -> str:
        """The source directory `/<uid>` (no access point: it reads as root)."""
        settings = self.settings
        tls = settings.in_transit_encryption == "TLS1_2"
        arn = self.services.datasync.create_efs_location(
            efs_arn=efs_arn or self.services.efs.file_system_arn(source.efs_id),
            subdirectory=f"/{source.uid}",
            subnet_arn=subnet.arn,
            security_group_arn=settings.datasync_security_group_arn,
            access_role_arn=settings.efs_access_role_arn if tls else None,
            in_transit_encryption=settings.in_transit_encryption,
            tags=self.tags,
        )
        return self._record_location(arn)

    def _target_efs_location(
        self,
        target: HomeLocation,
        subnet: Subnet,
        access_point_arn: str,
        *,
        efs_arn: str | None = None,
    ) -> str:
        """The new home through the access point of its uid (which requires TLS)."""
        settings = self.settings
        arn = self.services.datasync.create_efs_location(
            efs_arn=efs_arn or self.services.efs.file_system_arn(target.efs_id),
            subdirectory="/",
            subnet_arn=subnet.arn,
            security_group_arn=settings.datasync_security_group_arn,
            access_point_arn=access_point_arn,
            access_role_arn=settings.efs_access_role_arn,
            in_transit_encryption="TLS1_2",
            tags=self.tags,
        )
        return self._record_location(arn)

    def _s3_location(self, location: BackupLocation, backup: BackupConfig, partition: str) -> str:
        """The directory's prefix in the backup bucket."""
        arn = self.services.datasync.create_s3_location(
            bucket_arn=s3_bucket_arn(location.bucket, partition),
            subdirectory=f"/{location.prefix}",
            access_role_arn=backup.access_role_arn,
            tags=self.tags,
        )
        return self._record_location(arn)

    def _record_location(self, arn: str) -> str:
        self.created.location_arns.append(arn)
        self.services.restores.add_resource(
            self.request.target.key, self.request.restore_id, location_arn=arn
        )
        return arn

    def _task(
        self,
        source_arn: str,
        target_arn: str,
        options: Mapping[str, str],
        *,
        manifest: dict[str, Any] | None = None,
    ) -> Transfer:
        restore_id = self.request.restore_id
        task_arn = self.services.datasync.create_task(
            name=f"studio-recovery-{restore_id}",
            source_location_arn=source_arn,
            target_location_arn=target_arn,
            log_group_arn=self.settings.datasync_log_group_arn,
            tags=self.tags,
            options=options,
            manifest=manifest,
        )
        self.created.task_arn = task_arn
        self.services.restores.add_resource(self.request.target.key, restore_id, task_arn=task_arn)
        return Transfer(
            task_arn=task_arn,
            source_location_arn=source_arn,
            target_location_arn=target_arn,
            access_point_ids=list(self.created.access_point_ids),
        )


def choose_subnet(efs_id: str, subnets: Sequence[Subnet], efs: EfsGateway) -> Subnet:
    """The first configured subnet in the VPC and zone of one of the volume's mount targets."""
    mounts = efs.mount_targets(efs_id)
    reachable = {(m.vpc_id, m.availability_zone) for m in mounts}
    for subnet in subnets:
        if (subnet.vpc_id, subnet.availability_zone) in reachable:
            return subnet
    zones = sorted(f"{vpc}/{zone}" for vpc, zone in reachable) or ["none"]
    raise NoUsableSubnetError(
        f"no DataSync subnet reaches {efs_id}: its mount targets are in {', '.join(zones)}; "
        f"configured subnets are in "
        f"{', '.join(f'{s.vpc_id}/{s.availability_zone}' for s in subnets) or 'none found'}"
    )


def _client_token(restore_id: str) -> str:
    """Idempotency token of one create call (botocore retries resend it), <= 64 chars."""
    return f"{hashlib.sha256(restore_id.encode()).hexdigest()[:24]}-{uuid.uuid4().hex}"


# -------------------------------------------------------------------------- clean-up


def _delete_and_record(
    resources: Resources,
    key: ProfileKey,
    restore_id: str,
    services: TransferServices,
    *,
    strict: bool,
    record: bool = True,
) -> Resources:
    """`delete_resources`, then keep on the restore item whatever is left, so it is never
    forgotten (a later clean-up or an admin finds it there)."""
    remaining = delete_resources(resources, services, strict=strict)
    if record:
        services.restores.set_resources(
            key,
            restore_id,
            task_arn=remaining.task_arn,
            location_arns=remaining.location_arns,
            access_point_ids=remaining.access_point_ids,
        )
    return remaining


def delete_resources(
    resources: Resources, services: TransferServices, *, strict: bool
) -> Resources:
    """Delete the task first, then the locations, then the access points.

    Already gone counts as deleted. Returns what could not be deleted. With `strict`,
    throttling that outlived the retries propagates (TransientAwsError, so the workflow
    retries); without, every error is logged and the resource kept in the result.
    """
    remaining = Resources()
    steps: list[tuple[str, Callable[[str], bool], Callable[[str], None]]] = []
    if resources.task_arn:
        steps.append((resources.task_arn, services.datasync.delete_task, _set_task(remaining)))
    steps += [
        (arn, services.datasync.delete_location, remaining.location_arns.append)
        for arn in resources.location_arns
    ]
    steps += [
        (point, services.efs.delete_access_point, remaining.access_point_ids.append)
        for point in resources.access_point_ids
    ]
    for name, delete, keep in steps:
        try:
            existed = delete(name)
            logger.info("Deleted" if existed else "Already gone", extra={"resource": name})
        except TransientAwsError:
            if strict:
                raise
            keep(name)
        except (ClientError, LookupError) as exc:
            logger.warning("Could not delete", extra={"resource": name, "error": str(exc)})
            keep(name)
    return remaining


def _set_task(resources: Resources) -> Callable[[str], None]:
    def keep(arn: str) -> None:
        resources.task_arn = arn

    return keep


# -------------------------------------------------------------------------- finalize


def decide_outcome(state: FinalizeInput) -> RestoreOutcome:
    """The restore's status and a reason people can act on, from the workflow state."""
    execution = state.execution
    stats = TransferStats.from_describe(execution.describe if execution else None)
    if state.error is not None:
        return RestoreOutcome(status="FAILED", reason=_error_reason(state.error), stats=stats)
    status = execution.status if execution else None
    if status == "SUCCESS" and isinstance(state.target, BackupLocation):
        # An empty home is backed up too: a backup is never SOURCE_EMPTY.
        return RestoreOutcome(
            status="SUCCEEDED",
            reason=f"backed up {stats.files_transferred} files "
            f"({stats.bytes_file_transferred} bytes)",
            stats=stats,
        )
    if status == "SUCCESS":
        if stats.source_was_empty:
            return RestoreOutcome(
                status="SOURCE_EMPTY",
                reason=f"{_source_name(state.source)} had no files",
                stats=stats,
            )
        return RestoreOutcome(
            status="SUCCEEDED",
            reason=f"restored {stats.files_transferred} files "
            f"({stats.bytes_file_transferred} bytes)",
            stats=stats,
        )
    if status == "ERROR":
        result = (execution.describe or {}).get("Result") if execution else None
        result = result if isinstance(result, dict) else {}
        code = result.get("ErrorCode") or "DataSync error"
        detail = result.get("ErrorDetail") or "no detail given"
        return RestoreOutcome(status="FAILED", reason=f"{code}: {detail}", stats=stats)
    if execution is not None and execution.arn:
        return RestoreOutcome(
            status="FAILED",
            reason=f"timed out: the transfer was still {status or 'starting'} after "
            f"{execution.waited_seconds} seconds",
            stats=stats,
        )
    return RestoreOutcome(status="FAILED", reason="the workflow ended without a transfer")


def _source_name(source: Endpoint | None) -> str:
    if isinstance(source, BackupLocation):
        return f"backup {source.backup_id or '?'} of generation {source.generation}"
    return f"generation {source.generation if source else '?'}"


def _error_reason(error: WorkflowError) -> str:
    if error.error in STOPPED_ERRORS:
        return STOPPED_ERRORS[error.error]
    message = error.cause or ""
    try:
        parsed = json.loads(message)
    except (TypeError, ValueError):
        parsed = None
    if isinstance(parsed, dict) and "errorMessage" in parsed:
        message = str(parsed["errorMessage"])
    if error.error == "Timeout":
        return f"timed out: {message}"
    return f"{error.error}: {message}" if message else error.error


def finalize(state: FinalizeInput, services: TransferServices) -> RestoreOutcome:
    """Clean up, release, record, notify; see the module docstring."""
    restores, key = services.restores, state.target.key
    item = restores.get_restore(key, state.restore_id)
    execution_arn = state.execution_arn or (item.execution_arn if item else None)
    stopped = state.error is not None and state.error.error in STOPPED_ERRORS

    resources = _resources_of(state, item)
    if stopped and resources.task_arn:
        services.datasync.cancel_running_executions(resources.task_arn)
    remaining = _delete_and_record(
        resources, key, state.restore_id, services, strict=True, record=item is not None
    )
    if execution_arn:
        restores.release_slot(execution_arn)

    # Decided only once the task, locations and slot are given back, so that nothing in
    # the execution's report can keep them from being cleaned up.
    outcome = _follow_up(state, decide_outcome(state), services)
    if remaining:
        outcome = outcome.model_copy(
            update={"reason": f"{outcome.reason}; not deleted: {remaining.describe()}"}
        )
    _record(state, item, outcome, execution_arn, services)
    if needs_notification(outcome) or remaining:
        _notify(state, outcome, execution_arn, services)
    what = "Backup" if isinstance(state.target, BackupLocation) else "Restore"
    logger.info(f"{what} finalized", extra=outcome.workflow_output())
    return outcome


def _follow_up(
    state: FinalizeInput, outcome: RestoreOutcome, services: TransferServices
) -> RestoreOutcome:
    """What a restore's result starts next; a backup starts nothing.

    The follow-ups search the profile's EFS generations; a restore from a backup has none
    to search (its source's volume is gone), so it starts none and says so when empty.
    """
    if isinstance(state.target, BackupLocation):
        return outcome
    if isinstance(state.source, BackupLocation):
        if outcome.status != "SOURCE_EMPTY":
            return outcome
        return outcome.model_copy(
            update={
                "reason": f"{outcome.reason}; no earlier generation is tried after a "
                "restore from a backup"
            }
        )
    if outcome.status == "SOURCE_EMPTY":
        return _follow_up_empty_source(state, outcome, services)
    if outcome.status == "SUCCEEDED" and state.trigger == "auto":
        return _follow_up_incomplete_source(state, outcome, services)
    return outcome


def finalize_stopped(
    execution_arn: str, status: str, item: RestoreItem | None, services: TransferServices
) -> RestoreOutcome | None:
    """An execution was stopped by hand (ABORTED) or timed out: clean up and record it.

    A restore that already has a final status keeps it (only leftovers are deleted).
    None when no restore is known for the execution.
    """
    if item is None:
        logger.warning("No restore for a stopped execution", extra={"execution_arn": execution_arn})
        services.restores.release_slot(execution_arn)
        return None
    error_name = "ExecutionTimedOut" if status == "TIMED_OUT" else "ExecutionAborted"
    state = FinalizeInput(
        restore_id=item.restore_id,
        trigger=item.trigger,
        target=item.target,
        source=item.source,
        execution_arn=execution_arn,
        error=WorkflowError(Error=error_name, Cause=STOPPED_ERRORS[error_name]),
    )
    if item.is_terminal:
        resources = _resources_of(state, item)
        _delete_and_record(resources, item.target.key, item.restore_id, services, strict=True)
        services.restores.release_slot(execution_arn)
        return None
    return finalize(state, services)


def needs_notification(outcome: RestoreOutcome) -> bool:
    """Every failure; an empty source only when nothing else is restored instead."""
    if outcome.status == "FAILED":
        return True
    return outcome.status == "SOURCE_EMPTY" and outcome.follow_up_restore_id is None


def _resources_of(state: FinalizeInput, item: RestoreItem | None) -> Resources:
    """What the workflow says prepare created, plus whatever the restore item recorded."""
    resources = Resources()
    if item is not None:
        resources = Resources(item.task_arn, list(item.location_arns), list(item.access_point_ids))
    transfer = state.transfer
    if transfer is not None:
        resources.task_arn = resources.task_arn or transfer.task_arn
        for arn in (transfer.source_location_arn, transfer.target_location_arn):
            if arn not in resources.location_arns:
                resources.location_arns.append(arn)
        for point in transfer.access_point_ids:
            if point not in resources.access_point_ids:
                resources.access_point_ids.append(point)
    return resources


def _follow_up_empty_source(
    state: FinalizeInput, outcome: RestoreOutcome, services: TransferServices
) -> RestoreOutcome:
    """Mark the empty source generation; restore from the next earlier one, if any."""
    source, registry = state.source, services.registry
    if not isinstance(source, HomeLocation) or registry is None:
        return outcome
    registry.mark_generation_empty(source.key, source.generation)
    target = registry.get_generation(state.target.key, state.target.generation)
    if target is None or services.workflow is None:
        return outcome
    plan = plan_follow_up(
        trigger=state.trigger,
        target=target,
        source_generations=registry.list_generations(source.key),
        empty_generation=source.generation,
    )
    if plan is None:
        return outcome.model_copy(
            update={"reason": f"{outcome.reason}, and no earlier generation may hold data"}
        )
    started = start_restore(plan, services.restores, services.workflow, services.clock())
    return outcome.model_copy(
        update={
            "reason": f"{outcome.reason}; restoring from generation "
            f"{plan.request.source.generation} instead ({started.restore_id})",
            "follow_up_restore_id": started.restore_id,
        }
    )


def _follow_up_incomplete_source(
    state: FinalizeInput, outcome: RestoreOutcome, services: TransferServices
) -> RestoreOutcome:
    """Also restore what the source never received when its own restore had failed."""
    source, registry = state.source, services.registry
    if not isinstance(source, HomeLocation) or registry is None or services.workflow is None:
        return outcome
    target = registry.get_generation(state.target.key, state.target.generation)
    source_generation = registry.get_generation(source.key, source.generation)
    if target is None or source_generation is None:
        return outcome
    plan = plan_incomplete_source(
        target=target,
        source=source_generation,
        restores_into_source=services.restores.list_restores(source.key),
        generations=registry.list_generations(source.key),
    )
    if plan is None:
        return outcome
    started = start_restore(plan, services.restores, services.workflow, services.clock())
    return outcome.model_copy(
        update={
            "reason": f"{outcome.reason}; generation {source.generation} never received "
            f"its own restore, so generation {plan.request.source.generation} is restored "
            f"too ({started.restore_id})",
            "follow_up_restore_id": started.restore_id,
        }
    )


def _record(
    state: FinalizeInput,
    item: RestoreItem | None,
    outcome: RestoreOutcome,
    execution_arn: str | None,
    services: TransferServices,
) -> None:
    now = services.clock()
    key = state.target.key
    if item is not None:
        services.restores.finish(key, state.restore_id, outcome, now)
    if isinstance(state.target, BackupLocation):
        return  # a backup never changes the profile row's restore fields
    services.restores.set_profile_restore(
        key,
        state.target.generation,
        restore_id=state.restore_id,
        status=outcome.status,
        reason=outcome.reason,
        execution_arn=execution_arn,
        started_at=item.started_at if item else None,
        ended_at=now,
        outcome=outcome,
    )


def _notify(
    state: FinalizeInput,
    outcome: RestoreOutcome,
    execution_arn: str | None,
    services: TransferServices,
) -> None:
    if services.notifier is None:
        logger.warning("No notifier configured; failure not published")
        return
    target = state.target
    if isinstance(target, BackupLocation):
        _notify_backup(target, state, outcome, execution_arn, services.notifier)
        return
    subject = (
        f"studio-recovery: restore {outcome.status} for {target.kind} {target.name} "
        f"in domain {target.domain_name}"
    )
    lines = [
        f"The restore of {target.kind} '{target.name}' in domain '{target.domain_name}' "
        f"ended {outcome.status}.",
        f"Cause: {outcome.reason}",
        f"Domain: {target.domain_name} ({target.domain_id})",
        f"Kind: {target.kind}",
        f"Profile: {target.name}",
        f"Target: {target}",
        f"Source: {state.source if state.source else 'unknown'}",
        f"Restore id: {state.restore_id}",
        f"Execution: {execution_arn or 'unknown'}",
    ]
    services.notifier.publish(subject, "\n".join(lines))


def _notify_backup(
    target: BackupLocation,
    state: FinalizeInput,
    outcome: RestoreOutcome,
    execution_arn: str | None,
    notifier: Notifier,
) -> None:
    subject = (
        f"studio-recovery: backup {outcome.status} for {target.kind} {target.name} "
        f"in domain {target.domain_name}"
    )
    lines = [
        f"The backup of {target.kind} '{target.name}' in domain '{target.domain_name}' "
        f"ended {outcome.status}.",
        f"Cause: {outcome.reason}",
        f"Domain: {target.domain_name} ({target.domain_id})",
        f"Kind: {target.kind}",
        f"Profile: {target.name}",
        f"Home directory: {state.source if state.source else 'unknown'}",
        f"Backup: s3://{target.bucket}/{target.prefix}",
        f"Backup id: {state.restore_id}",
        f"Execution: {execution_arn or 'unknown'}",
        _backup_retry_hint(state),
    ]
    notifier.publish(subject, "\n".join(lines))


def _backup_retry_hint(state: FinalizeInput) -> str:
    if state.trigger == "deletion":
        return (
            "This was the backup taken when the profile was deleted; no later backup of "
            "this home directory runs. Its files stay on the volume until the domain is "
            "deleted with retention Delete."
        )
    return "The next scheduled backup tries again."
