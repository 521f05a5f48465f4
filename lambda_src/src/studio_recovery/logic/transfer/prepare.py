"""prepare: create what a transfer needs, recording each resource the moment it exists.

Refuse an unsafe transfer (`safety`), take a DataSync concurrency slot, delete what an
earlier attempt left, create the target access point (restores), the locations and the
task; on a failure half-way, delete what it created (`cleanup`). Three kinds of transfer
(docs/internals.md sections 4 and 7): a restore EFS -> EFS, a backup EFS -> S3, and a
restore from a backup S3 -> EFS (an older backup's versions staged first, `dal.s3`).
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

from studio_recovery.logic.ports import Efs
from studio_recovery.logic.transfer.cleanup import Resources, delete_and_record
from studio_recovery.logic.transfer.safety import (
    BackupConfig,
    backup_config,
    validate_id,
    validate_transfer,
)
from studio_recovery.models.aws import AccessPoint, Staged, Subnet, partition_of, s3_bucket_arn
from studio_recovery.models.datasync import (
    BACKUP_TASK_OPTIONS,
    RESTORE_TASK_OPTIONS,
    TaskOptions,
    TaskReport,
    report_subdirectory,
)
from studio_recovery.models.errors import (
    BackupsNotConfiguredError,
    CleanupIncompleteError,
    NoUsableSubnetError,
    RestoreStoppedError,
    SlotUnavailable,
    SlotWaitTimeout,
    UnsafeTransferError,
)
from studio_recovery.models.restore import (
    BackupLocation,
    HomeLocation,
    PrepareInput,
    ReportLocation,
    RestoreItem,
    Transfer,
    staging_prefix,
)
from studio_recovery.observability import logger

if TYPE_CHECKING:
    from studio_recovery.config import PrepareSettings
    from studio_recovery.services import TransferServices

STALE_SLOT_AGE = timedelta(hours=24)
"""A slot held this long belongs to an execution that died without finalizing."""


def prepare(
    request: PrepareInput, settings: PrepareSettings, services: TransferServices
) -> Transfer:
    """Create everything the transfer needs; see the module docstring."""
    validate_transfer(request.source, request.target)
    validate_id(request)
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
        delete_and_record(created, key, request.restore_id, services, strict=False)
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
    delete_and_record(created, request.target.key, request.restore_id, services, strict=False)
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
    remaining = delete_and_record(
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
        return self._task(source_arn, target_arn, RESTORE_TASK_OPTIONS)

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
        """S3 -> EFS. The objects as they were at `as_of`: the prefix itself when that is
        its current state (the latest backup), else a copy of those versions, folder
        objects and their metadata included, staged under `staging/<restore_id>/` first
        (recorded in `created` before the first copy, so a failure deletes it). Then the
        locations and a task without a manifest: DataSync restores files and directories
        with the POSIX metadata kept on the objects."""
        staging = self.services.staging
        if staging is None or source.as_of is None:  # pragma: no cover - wiring/validated
            raise BackupsNotConfiguredError("no staging for a restore from a backup")
        self.created.staging = Staged(
            bucket=source.bucket, prefix=staging_prefix(self.request.restore_id)
        )
        staged = staging.stage(
            bucket=source.bucket,
            prefix=source.prefix,
            as_of=source.as_of,
            staging_prefix=self.created.staging.prefix,
        )
        if staged is None:
            logger.info("The backup is the prefix's current state: it is read as it is")
        else:
            logger.info(
                "Backup staged",
                extra={
                    "staged": f"s3://{staged.bucket}/{staged.prefix}",
                    "objects": staged.objects,
                    "bytes": staged.bytes,
                },
            )
        subnets = self.services.efs.subnets(self.settings.datasync_subnet_ids)
        target_subnet = choose_subnet(target.efs_id, subnets, self.services.efs)
        efs_arn = self.services.efs.file_system_arn(target.efs_id)
        partition = partition_of(efs_arn)
        access_point = self._access_point(target)
        read = staged.prefix if staged is not None else source.prefix
        source_arn = self._s3_location(source, backup, partition, prefix=read)
        target_arn = self._target_efs_location(
            target, target_subnet, access_point.arn, efs_arn=efs_arn
        )
        return self._task(source_arn, target_arn, RESTORE_TASK_OPTIONS)

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

    def _s3_location(
        self,
        location: BackupLocation,
        backup: BackupConfig,
        partition: str,
        *,
        prefix: str | None = None,
    ) -> str:
        """The directory's prefix in the backup bucket (or the `prefix` staged from it)."""
        arn = self.services.datasync.create_s3_location(
            bucket_arn=s3_bucket_arn(location.bucket, partition),
            subdirectory=f"/{prefix or location.prefix}",
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
        options: TaskOptions,
    ) -> Transfer:
        restore_id = self.request.restore_id
        report = self._report()
        task_arn = self.services.datasync.create_task(
            name=f"studio-recovery-{restore_id}",
            source_location_arn=source_arn,
            target_location_arn=target_arn,
            log_group_arn=self.settings.datasync_log_group_arn,
            tags=self.tags,
            options=options,
            report=report,
        )
        self.created.task_arn = task_arn
        self.services.restores.add_resource(self.request.target.key, restore_id, task_arn=task_arn)
        return Transfer(
            task_arn=task_arn,
            source_location_arn=source_arn,
            target_location_arn=target_arn,
            access_point_ids=list(self.created.access_point_ids),
            report=(
                ReportLocation(
                    bucket=self.settings.report_bucket_name or "", prefix=report.subdirectory
                )
                if report is not None
                else None
            ),
        )

    def _report(self) -> TaskReport | None:
        """A restore's task report (finalize decides from it); a backup has none."""
        settings = self.settings
        bucket, role = settings.report_bucket_name, settings.report_access_role_arn
        if not isinstance(self.request.target, HomeLocation) or not bucket or not role:
            return None
        return TaskReport(
            bucket_arn=s3_bucket_arn(bucket, partition_of(role)),
            subdirectory=report_subdirectory(self.request.restore_id),
            access_role_arn=role,
        )


def choose_subnet(efs_id: str, subnets: Sequence[Subnet], efs: Efs) -> Subnet:
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
