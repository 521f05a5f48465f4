"""Clean-up: delete a transfer's DataSync task and locations, its EFS access points and the
staged copy of an older backup it read, and keep on the restore item whatever DataSync or
EFS resource could not be deleted (so it is never forgotten; a staged copy left behind is
named in the reason and expired by the bucket's `staging` lifecycle rule).

Used by prepare (a failure half-way, leftovers of an earlier attempt, a stop meanwhile)
and by finalize (every run, and stopped executions).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from studio_recovery.models.aws import Staged
from studio_recovery.models.errors import ResourceNotDeletedError, TransientAwsError
from studio_recovery.models.registry import ProfileKey
from studio_recovery.models.restore import (
    BackupLocation,
    FinalizeInput,
    RestoreItem,
    staging_prefix,
)
from studio_recovery.observability import logger

if TYPE_CHECKING:
    from studio_recovery.services import TransferServices


@dataclass
class Resources:
    """DataSync and EFS resources of one restore, and its staging prefix (S3)."""

    task_arn: str | None = None
    location_arns: list[str] = field(default_factory=list)
    access_point_ids: list[str] = field(default_factory=list)
    staging: Staged | None = None

    def __bool__(self) -> bool:
        return bool(self.task_arn or self.location_arns or self.access_point_ids or self.staging)

    def describe(self) -> str:
        names = ([self.task_arn] if self.task_arn else []) + self.location_arns
        staged = [f"s3://{self.staging.bucket}/{self.staging.prefix}"] if self.staging else []
        return ", ".join(names + self.access_point_ids + staged)


def delete_and_record(
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
        except (ResourceNotDeletedError, LookupError) as exc:
            logger.warning("Could not delete", extra={"resource": name, "error": str(exc)})
            keep(name)
    if resources.staging is not None:
        remaining.staging = _delete_staged(resources.staging, services, strict=strict)
    return remaining


def _delete_staged(staged: Staged, services: TransferServices, *, strict: bool) -> Staged | None:
    """Delete every version under a staging prefix; what is left (None: nothing)."""
    if services.staging is None:
        logger.warning("No S3 client to delete a staged backup", extra={"prefix": staged.prefix})
        return staged
    try:
        count = services.staging.delete_staged(staged.bucket, staged.prefix)
    except TransientAwsError:
        if strict:
            raise
        return staged
    except Exception as exc:  # AccessDenied, ...: named in the reason, expired by lifecycle
        logger.warning("Could not delete a staged backup", extra={"error": str(exc)})
        return staged
    logger.info("Staged backup deleted", extra={"prefix": staged.prefix, "objects": count})
    return None


def _set_task(resources: Resources) -> Callable[[str], None]:
    def keep(arn: str) -> None:
        resources.task_arn = arn

    return keep


def resources_of(state: FinalizeInput, item: RestoreItem | None) -> Resources:
    """What the workflow says prepare created, plus whatever the restore item recorded, plus
    the staging prefix of a restore from a backup (`staging/<restore_id>/`, empty when the
    backup read was the latest)."""
    resources = Resources()
    if item is not None:
        resources = Resources(item.task_arn, list(item.location_arns), list(item.access_point_ids))
    source = state.source if state.source is not None else (item.source if item else None)
    if isinstance(source, BackupLocation):
        resources.staging = Staged(bucket=source.bucket, prefix=staging_prefix(state.restore_id))
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
