"""What the decisions need from the outside world, as Protocols: the ports.

`logic/` calls AWS only through these. The data-access layer (`studio_recovery.dal`)
implements them against AWS; the tests against fakes. The service containers that hand
them to the decisions, and their builders from settings, are in `studio_recovery.services`.

| port | implemented by |
|---|---|
| `HomeRegistry`, `EventRegistry`, `SeedRegistry` | `dal.registry.RegistryRepository` |
| `RestoreStore` | `dal.registry.RestoreRepository` |
| `Workflow` | `dal.workflow.WorkflowGateway` (Step Functions) |
| `DataSync` | `dal.datasync.DataSyncGateway` |
| `Efs` | `dal.efs.EfsGateway` (EFS and the EC2 subnets) |
| `Staging` | `dal.s3.BackupStaging` (S3) |
| `SageMakerReader`, `SeedSource` | `dal.sagemaker.SageMakerGateway` |
| `Notifications` | `dal.notify.Notifier` (SNS) |
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, Protocol

from studio_recovery.models.aws import AccessPoint, MountTarget, Staged, StartedExecution, Subnet
from studio_recovery.models.datasync import TaskOptions, TaskReport
from studio_recovery.models.history import ProfileHistory
from studio_recovery.models.registry import (
    Domain,
    Generation,
    HomeDirectory,
    Kind,
    Profile,
    ProfileKey,
    Retention,
)
from studio_recovery.models.restore import (
    RestoreItem,
    RestoreOutcome,
    RestoreRequest,
    RestoreStatus,
)
from studio_recovery.models.sagemaker import DomainDescription, ProfileDescription, ProfileSummary

# ---------------------------------------------------------------------------- registry


class HomeRegistry(Protocol):
    """Registry reads (and the one write) of the stream, finalize and backup decisions."""

    def read_history(self, key: ProfileKey) -> ProfileHistory: ...

    def list_generations(self, key: ProfileKey) -> list[Generation]: ...

    def get_generation(self, key: ProfileKey, generation: int) -> Generation | None: ...

    def get_domain(self, domain_name: str, domain_id: str) -> Domain | None: ...

    def list_profiles(self, domain_name: str | None = None) -> list[Profile]: ...

    def mark_generation_empty(self, key: ProfileKey, generation: int) -> None: ...


class EventRegistry(Protocol):
    """The registry writes the event logic needs."""

    def record_generation(
        self,
        key: ProfileKey,
        *,
        domain_id: str,
        efs_id: str,
        uid: str,
        created_at: datetime,
        sso_user_value: str | None = None,
        event_id: str | None = None,
    ) -> Generation: ...

    def mark_deleted(
        self, key: ProfileKey, domain_id: str, deleted_at: datetime
    ) -> Generation | None: ...

    def put_domain(self, domain: Domain) -> bool: ...

    def mark_domain_deleted(
        self,
        domain_name: str,
        domain_id: str,
        deleted_at: datetime,
        retention: Retention,
        event_id: str | None = None,
    ) -> bool: ...

    def get_domain_by_id(self, domain_id: str) -> Domain | None: ...


class SeedResult(Protocol):
    recorded: int
    skipped: list[tuple[ProfileKey, str]]


class SeedRegistry(Protocol):
    """The registry writes seeding needs."""

    def put_domain(self, domain: Domain) -> bool: ...

    def batch_record(self, homes: Iterable[HomeDirectory]) -> SeedResult: ...


class RestoreStore(Protocol):
    """Restore and backup items, copy requests, the profile row's last-restore fields and
    the DataSync slots."""

    def create_restore(self, item: RestoreItem) -> bool: ...

    def get_restore(self, key: ProfileKey, restore_id: str) -> RestoreItem | None: ...

    def find_by_execution(self, execution_arn: str) -> RestoreItem | None: ...

    def list_restores(self, key: ProfileKey) -> list[RestoreItem]: ...

    def set_execution(self, key: ProfileKey, restore_id: str, execution_arn: str) -> None: ...

    def mark_running(self, key: ProfileKey, restore_id: str, execution_arn: str) -> None: ...

    def add_resource(
        self,
        key: ProfileKey,
        restore_id: str,
        *,
        task_arn: str | None = None,
        location_arn: str | None = None,
        access_point_id: str | None = None,
    ) -> None: ...

    def set_resources(
        self,
        key: ProfileKey,
        restore_id: str,
        *,
        task_arn: str | None,
        location_arns: Sequence[str],
        access_point_ids: Sequence[str],
    ) -> None: ...

    def finish(
        self, key: ProfileKey, restore_id: str, outcome: RestoreOutcome, ended_at: datetime
    ) -> None: ...

    def set_profile_restore(
        self,
        key: ProfileKey,
        generation: int,
        *,
        restore_id: str,
        status: RestoreStatus,
        reason: str | None,
        execution_arn: str | None = None,
        started_at: datetime | None = None,
        ended_at: datetime | None = None,
        outcome: RestoreOutcome | None = None,
    ) -> bool: ...

    def mark_copy_started(self, key: ProfileKey, restore_id: str) -> bool: ...

    def acquire_slot(self, execution_arn: str, limit: int, now: datetime) -> bool: ...

    def release_slot(self, execution_arn: str) -> bool: ...

    def release_stale_slots(self, now: datetime, max_age: timedelta) -> list[str]: ...


# ---------------------------------------------------------------------- other services


class Workflow(Protocol):
    """Starts the restore workflow (Step Functions), one execution per restore id."""

    def start(self, request: RestoreRequest) -> StartedExecution: ...


class DataSync(Protocol):
    """DataSync locations and tasks (deleting one already gone answers False)."""

    def create_efs_location(
        self,
        *,
        efs_arn: str,
        subdirectory: str,
        subnet_arn: str,
        security_group_arn: str,
        tags: Mapping[str, str],
        access_point_arn: str | None = None,
        access_role_arn: str | None = None,
        in_transit_encryption: str = "TLS1_2",
    ) -> str: ...

    def create_s3_location(
        self,
        *,
        bucket_arn: str,
        subdirectory: str,
        access_role_arn: str,
        tags: Mapping[str, str],
    ) -> str: ...

    def create_task(
        self,
        *,
        name: str,
        source_location_arn: str,
        target_location_arn: str,
        log_group_arn: str | None,
        tags: Mapping[str, str],
        options: TaskOptions,
        report: TaskReport | None = None,
    ) -> str: ...

    def cancel_running_executions(self, task_arn: str) -> int: ...

    def delete_task(self, task_arn: str) -> bool: ...

    def delete_location(self, location_arn: str) -> bool: ...


class Efs(Protocol):
    """EFS volumes, their mount targets and access points, and the DataSync subnets."""

    def file_system_arn(self, efs_id: str) -> str: ...

    def mount_targets(self, efs_id: str) -> list[MountTarget]: ...

    def subnets(self, subnet_ids: Sequence[str]) -> list[Subnet]: ...

    def create_access_point(
        self,
        *,
        efs_id: str,
        uid: str,
        gid: int,
        client_token: str,
        tags: Mapping[str, str],
    ) -> AccessPoint: ...

    def wait_until_available(self, access_point_id: str, *, timeout_seconds: float) -> None: ...

    def delete_access_point(self, access_point_id: str) -> bool: ...


class Staging(Protocol):
    """Stages the versions a restore from an older backup reads (S3): None when the backup
    is the prefix's current state and the prefix itself is read; deletes them again."""

    def stage(
        self, *, bucket: str, prefix: str, as_of: datetime, staging_prefix: str
    ) -> Staged | None: ...

    def delete_staged(self, bucket: str, staging_prefix: str) -> int: ...


class TaskReports(Protocol):
    """Reads back a task execution's DataSync task report (S3)."""

    def read(
        self, bucket: str, prefix: str, execution_arn: str | None
    ) -> list[dict[str, Any]] | None:
        """Every JSON document of the execution's report (of every execution under
        `prefix` when `execution_arn` is None); None when there is none."""
        ...


class Notifications(Protocol):
    """Publishes a failure notification (SNS)."""

    def publish(self, subject: str, message: str) -> str: ...


class SageMakerReader(Protocol):
    """The SageMaker calls the event logic needs."""

    def describe_domain(self, domain_id: str) -> DomainDescription: ...

    def describe_profile(self, domain_id: str, kind: Kind, name: str) -> ProfileDescription: ...


class SeedSource(SageMakerReader, Protocol):
    """The SageMaker calls seeding needs."""

    def list_domains(self) -> Iterator[DomainDescription]: ...

    def list_profiles(self, domain_id: str, kind: Kind) -> Iterator[ProfileSummary]: ...
