"""Carry out a restore plan: record it in the registry and start (or not) the workflow.

Shared by the stream Lambda (new generations, pending copies) and by finalize (follow-up
restores after an empty source); `start_backup` starts a backup (the scheduled backup
Lambda, the stream Lambda on a deletion). Every step is idempotent: the restore (or
backup) item is written only if absent, the execution is named by its id.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from studio_recovery.logic.restore_plan import SkipRestore, StartRestore, skip_restore_id
from studio_recovery.models.registry import Generation
from studio_recovery.models.restore import HomeLocation, RestoreItem, RestoreRequest, Trigger
from studio_recovery.observability import logger

if TYPE_CHECKING:
    from studio_recovery.logic.ports import RestoreStore, Workflow


@dataclass(frozen=True)
class StartResult:
    """What `start_restore` or `start_backup` did."""

    restore_id: str
    execution_arn: str | None
    started: bool
    """False when the restore had been started (or finished) already."""
    finished: bool = False
    """True when it had finished already (nothing was started or recorded)."""


def record_skip(
    plan: SkipRestore,
    target: Generation,
    restores: RestoreStore,
    now: datetime,
    trigger: Trigger = "auto",
) -> str:
    """Write the SKIPPED restore item and the profile row's status; returns its id."""
    restore_id = skip_restore_id(target, trigger)
    item = RestoreItem(
        restore_id=restore_id,
        trigger=trigger,
        status="SKIPPED",
        reason=f"{plan.reason.value}: {plan.detail}",
        target=HomeLocation.of(target),
        started_at=now,
        ended_at=now,
    )
    if restores.create_restore(item):
        restores.set_profile_restore(
            target.key,
            target.generation,
            restore_id=restore_id,
            status="SKIPPED",
            reason=item.reason,
            started_at=now,
            ended_at=now,
        )
    logger.info("Restore skipped", extra={"reason": plan.reason.value, "detail": plan.detail})
    return restore_id


def start_restore(
    plan: StartRestore,
    restores: RestoreStore,
    workflow: Workflow,
    now: datetime,
) -> StartResult:
    """Write the PENDING restore item, start the execution, point the profile row at it.

    A restore item that exists already and is finished is left alone (no new execution);
    one that exists and is still pending is started again (ExecutionAlreadyExists is fine),
    which covers a crash between the write and the start.
    """
    request = plan.request
    key = request.target.key
    result = _write_and_start(request, restores, workflow, now, "Restore")
    if result.finished:
        return result
    restores.set_profile_restore(
        key,
        request.target.generation,
        restore_id=request.restore_id,
        status="PENDING",
        reason=None,
        execution_arn=result.execution_arn,
        started_at=now,
    )
    if request.trigger == "copy":
        restores.mark_copy_started(key, request.restore_id)
    return result


def start_backup(
    request: RestoreRequest,
    restores: RestoreStore,
    workflow: Workflow,
    now: datetime,
) -> StartResult:
    """Write the PENDING backup item (if absent), start the execution named by the backup
    id, record its ARN on the item. Never touches the profile row.

    A backup that exists already and is finished is left alone; one still pending is
    started again (ExecutionAlreadyExists is fine), which covers a crash in between.
    """
    if not request.is_backup:
        raise ValueError(f"{request.restore_id} is not a backup (its target is not S3)")
    return _write_and_start(request, restores, workflow, now, "Backup")


def _write_and_start(
    request: RestoreRequest,
    restores: RestoreStore,
    workflow: Workflow,
    now: datetime,
    noun: str,
) -> StartResult:
    """The PENDING item (only if absent), then the execution (unless the item is finished
    already), then its ARN on the item."""
    key = request.target.key
    item = RestoreItem(
        restore_id=request.restore_id,
        trigger=request.trigger,
        status="PENDING",
        source=request.source,
        target=request.target,
        started_at=now,
    )
    existing = None
    if not restores.create_restore(item):
        existing = restores.get_restore(key, request.restore_id)
        if existing is not None and existing.is_terminal:
            logger.info(f"{noun} already finished; not started again")
            return StartResult(
                request.restore_id, existing.execution_arn, started=False, finished=True
            )
    execution = workflow.start(request)
    restores.set_execution(key, request.restore_id, execution.execution_arn)
    # Step Functions answers a repeated start of a running execution with success, so an
    # item that already had its execution counts as started before.
    started_before = existing is not None and existing.execution_arn is not None
    started = not execution.already_started and not started_before
    logger.info(
        f"{noun} started" if started else f"{noun} was started already",
        extra={
            "restore_id": request.restore_id,
            "execution_arn": execution.execution_arn,
            "source": str(request.source),
        },
    )
    return StartResult(request.restore_id, execution.execution_arn, started=started)
