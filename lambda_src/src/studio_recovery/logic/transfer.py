"""The workflow's two Lambda steps: prepare a DataSync transfer, and finalize it.

prepare: refuse an unsafe transfer, take a concurrency slot, create the target access
point, both EFS locations and the task, recording each ARN on the restore item as soon as
it exists; on a failure half-way, delete what it created.

finalize: delete the task, locations and access points (already gone is fine), give the
slot back, record the result on the restore item and on the profile row, notify on
failure, and when the source turned out empty, mark it so and restore from the next
earlier generation.

No boto3 here: the data-access objects are passed in (`TransferServices`).
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from botocore.exceptions import ClientError

from studio_recovery.logic.restore_plan import (
    is_safe_uid,
    plan_follow_up,
    plan_incomplete_source,
)
from studio_recovery.logic.restore_start import start_restore
from studio_recovery.models.errors import (
    CleanupIncompleteError,
    NoUsableSubnetError,
    RestoreStoppedError,
    SlotUnavailable,
    SlotWaitTimeout,
    TransientAwsError,
    UnsafeTransferError,
)
from studio_recovery.models.registry import ProfileKey
from studio_recovery.models.restore import (
    FinalizeInput,
    HomeLocation,
    PrepareInput,
    RestoreItem,
    RestoreOutcome,
    Transfer,
    TransferStats,
    WorkflowError,
)
from studio_recovery.observability import logger

if TYPE_CHECKING:
    from studio_recovery.config import PrepareSettings
    from studio_recovery.dal.datasync import DataSyncGateway
    from studio_recovery.dal.efs import EfsGateway, Subnet
    from studio_recovery.dal.notify import Notifier
    from studio_recovery.dal.registry import RegistryRepository
    from studio_recovery.dal.restores import RestoreRepository
    from studio_recovery.dal.workflow import WorkflowGateway

STALE_SLOT_AGE = timedelta(hours=24)
"""A slot held this long belongs to an execution that died without finalizing."""

STOPPED_ERRORS = {"ExecutionAborted": "stopped by hand", "ExecutionTimedOut": "timed out"}


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


def validate_transfer(source: HomeLocation, target: HomeLocation) -> None:
    """Refuse a transfer that could read or write the wrong files (UnsafeTransferError)."""
    for role, location in (("source", source), ("target", target)):
        if not is_safe_uid(location.uid):
            raise UnsafeTransferError(
                f"{role} uid {location.uid!r} is not a positive number: it would point "
                f"DataSync at the root of volume {location.efs_id}"
            )
    if source.directory == target.directory:
        raise UnsafeTransferError(
            f"source and target are the same directory {source.efs_id}:/{source.uid}"
        )


def prepare(
    request: PrepareInput, settings: PrepareSettings, services: TransferServices
) -> Transfer:
    """Create everything the transfer needs; see the module docstring."""
    validate_transfer(request.source, request.target)
    key = request.target.key
    _ensure_restore_item(request, services)
    _take_slot(request, settings, services)
    services.restores.mark_running(key, request.restore_id, request.execution_arn)
    _delete_leftovers_of_earlier_attempt(request, services)
    created = Resources()
    try:
        transfer = _create_resources(request, settings, services, created)
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
) -> Transfer:
    key, restore_id = request.target.key, request.restore_id
    restores, efs, datasync = services.restores, services.efs, services.datasync
    tags = {"restore_id": restore_id, "managed-by": "studio-recovery"}
    subnets = efs.subnets(settings.datasync_subnet_ids)
    source_subnet = choose_subnet(request.source.efs_id, subnets, services.efs)
    target_subnet = choose_subnet(request.target.efs_id, subnets, services.efs)

    access_point = efs.create_access_point(
        efs_id=request.target.efs_id,
        uid=request.target.uid,
        gid=settings.home_gid,
        client_token=_client_token(restore_id),
        tags={**tags, "Name": f"studio-recovery-{restore_id}"},
    )
    created.access_point_ids.append(access_point.access_point_id)
    restores.add_resource(key, restore_id, access_point_id=access_point.access_point_id)

    tls = settings.in_transit_encryption == "TLS1_2"
    source_arn = datasync.create_efs_location(
        efs_arn=efs.file_system_arn(request.source.efs_id),
        subdirectory=f"/{request.source.uid}",
        subnet_arn=source_subnet.arn,
        security_group_arn=settings.datasync_security_group_arn,
        access_role_arn=settings.efs_access_role_arn if tls else None,
        in_transit_encryption=settings.in_transit_encryption,
        tags=tags,
    )
    created.location_arns.append(source_arn)
    restores.add_resource(key, restore_id, location_arn=source_arn)

    # An access point requires TLS: the target always uses it.
    target_arn = datasync.create_efs_location(
        efs_arn=efs.file_system_arn(request.target.efs_id),
        subdirectory="/",
        subnet_arn=target_subnet.arn,
        security_group_arn=settings.datasync_security_group_arn,
        access_point_arn=access_point.arn,
        access_role_arn=settings.efs_access_role_arn,
        in_transit_encryption="TLS1_2",
        tags=tags,
    )
    created.location_arns.append(target_arn)
    restores.add_resource(key, restore_id, location_arn=target_arn)

    task_arn = datasync.create_task(
        name=f"studio-recovery-{restore_id}",
        source_location_arn=source_arn,
        target_location_arn=target_arn,
        log_group_arn=settings.datasync_log_group_arn,
        tags=tags,
    )
    created.task_arn = task_arn
    restores.add_resource(key, restore_id, task_arn=task_arn)
    return Transfer(
        task_arn=task_arn,
        source_location_arn=source_arn,
        target_location_arn=target_arn,
        access_point_ids=list(created.access_point_ids),
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
    if status == "SUCCESS":
        if stats.source_was_empty:
            return RestoreOutcome(
                status="SOURCE_EMPTY",
                reason=f"generation {state.source.generation if state.source else '?'} "
                "had no files",
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
    outcome = decide_outcome(state)
    if outcome.status == "SOURCE_EMPTY":
        outcome = _follow_up_empty_source(state, outcome, services)
    elif outcome.status == "SUCCEEDED" and state.trigger == "auto":
        outcome = _follow_up_incomplete_source(state, outcome, services)
    if remaining:
        outcome = outcome.model_copy(
            update={"reason": f"{outcome.reason}; not deleted: {remaining.describe()}"}
        )
    _record(state, item, outcome, execution_arn, services)
    if needs_notification(outcome) or remaining:
        _notify(state, outcome, execution_arn, services)
    logger.info("Restore finalized", extra=outcome.workflow_output())
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
    if source is None or registry is None:
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
    if source is None or registry is None or services.workflow is None:
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
