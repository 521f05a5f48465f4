"""The service containers: which ports each Lambda's decisions get, and how they are
built from the function's settings (once per cold start; tests replace them with fakes).

The fields are typed by the ports (`studio_recovery.logic.ports`); the builders fill them
with the data-access layer's AWS implementations. `logic/` refers to these containers
for typing only and never builds them.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from studio_recovery.config import (
    BackupSettings,
    FinalizeSettings,
    PrepareSettings,
    StreamSettings,
    load_settings,
)
from studio_recovery.dal.datasync import DataSyncGateway
from studio_recovery.dal.efs import EfsGateway
from studio_recovery.dal.notify import Notifier
from studio_recovery.dal.registry import RegistryRepository, RestoreRepository
from studio_recovery.dal.reports import TaskReportReader
from studio_recovery.dal.s3 import BackupStaging
from studio_recovery.dal.workflow import WorkflowGateway
from studio_recovery.logic.ports import (
    DataSync,
    Efs,
    HomeRegistry,
    Notifications,
    RestoreStore,
    Staging,
    TaskReports,
    Workflow,
)
from studio_recovery.logic.restore_plan import reuse_window_of


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class StreamServices:
    """The stream Lambda's (registry stream -> restore and backup executions)."""

    registry: HomeRegistry
    restores: RestoreStore
    workflow: Workflow
    reuse_window: timedelta
    clock: Callable[[], datetime] = utc_now
    backup_bucket: str | None = None
    """The backup bucket; None when backups are off (then nothing here reads backups)."""


@dataclass
class TransferServices:
    """The workflow's prepare and finalize steps' (fakes in tests)."""

    restores: RestoreStore
    datasync: DataSync
    efs: Efs
    registry: HomeRegistry | None = None
    notifier: Notifications | None = None
    workflow: Workflow | None = None
    staging: Staging | None = None
    """Stages restores from an older backup (prepare) and deletes them (both)."""
    reports: TaskReports | None = None
    """Reads restores' task reports back (finalize)."""
    clock: Callable[[], datetime] = utc_now


@dataclass
class BackupServices:
    """The scheduled backup Lambda's."""

    registry: HomeRegistry
    restores: RestoreStore
    workflow: Workflow
    bucket: str
    clock: Callable[[], datetime] = utc_now


@functools.cache
def build_stream_services() -> StreamServices:
    """From StreamSettings (tests: `build_stream_services.cache_clear()`)."""
    settings = load_settings(StreamSettings)
    return StreamServices(
        registry=RegistryRepository(settings.registry_table_name),
        restores=RestoreRepository(settings.registry_table_name),
        workflow=WorkflowGateway(settings.state_machine_arn),
        reuse_window=reuse_window_of(settings.name_reuse_window_days),
        backup_bucket=settings.backup_bucket_name,
    )


@functools.cache
def build_prepare_services() -> TransferServices:
    """From PrepareSettings. The S3 client (staging of restores from a backup) only when
    backups are configured."""
    settings = load_settings(PrepareSettings)
    backups_on = bool(settings.backup_bucket_name and settings.backup_bucket_access_role_arn)
    return TransferServices(
        restores=RestoreRepository(settings.registry_table_name),
        datasync=DataSyncGateway(),
        efs=EfsGateway(),
        staging=BackupStaging() if backups_on else None,
    )


@functools.cache
def build_finalize_services() -> TransferServices:
    """From FinalizeSettings."""
    settings = load_settings(FinalizeSettings)
    return TransferServices(
        restores=RestoreRepository(settings.registry_table_name),
        datasync=DataSyncGateway(),
        efs=EfsGateway(),
        registry=RegistryRepository(settings.registry_table_name),
        notifier=Notifier(settings.notification_topic_arn),
        workflow=WorkflowGateway(settings.state_machine_arn),
        reports=TaskReportReader(),
        staging=BackupStaging() if settings.backup_bucket_name else None,
    )


@functools.cache
def build_backup_services() -> BackupServices:
    """From BackupSettings (tests: `build_backup_services.cache_clear()`)."""
    settings = load_settings(BackupSettings)
    return BackupServices(
        registry=RegistryRepository(settings.registry_table_name),
        restores=RestoreRepository(settings.registry_table_name),
        workflow=WorkflowGateway(settings.state_machine_arn),
        bucket=settings.backup_bucket_name,
    )
