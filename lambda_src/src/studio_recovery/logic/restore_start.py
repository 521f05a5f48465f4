"""Carry out a restore plan: record it in the registry and start (or not) the workflow.

Shared by the stream Lambda (new generations, pending copies) and by finalize (the next
step of a restore, a restore that waited for another); `start_backup` starts a backup (the
scheduled backup Lambda, the stream Lambda on a deletion). Every step is idempotent: the restore (or
backup) item is written only if absent, the execution is named by its id.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from studio_recovery.logic.restore_plan import SkipRestore, StartRestore, skip_restore_id
from studio_recovery.models.registry import Generation
from studio_recovery.models.restore import (
    HomeLocation,
    RestoreItem,
    RestoreOutcome,
    RestoreRequest,
    Trigger,
)
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
    *,
    waiting_for: RestoreItem | None = None,
) -> StartResult:
    """Write the PENDING restore item, start the execution, point the profile row at it.

    A restore item that exists already and is finished is left alone (no new execution);
    one that exists and is still pending is started again (ExecutionAlreadyExists is fine),
    which covers a crash between the write and the start. With `waiting_for` (a restore
    into one of its sources, still running) the item is written but nothing starts: the
    end of that restore starts it (`logic.transfer.chain`).
    """
    request = plan.request
    key = request.target.key
    reason = None
    if waiting_for is not None:
        reason = (
            f"waits for restore {waiting_for.restore_id} into generation "
            f"{waiting_for.target.generation}, one of its sources, to end"
        )
        result = _write_waiting(request, waiting_for.restore_id, reason, restores, now)
    else:
        result = _write_and_start(request, restores, workflow, now, "Restore")
    if result.finished:
        return result
    restores.set_profile_restore(
        key,
        request.target.generation,
        restore_id=request.restore_id,
        status="PENDING",
        reason=reason,
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


def supersede_unstarted(
    items: Iterable[RestoreItem], newer: int, restores: RestoreStore, now: datetime
) -> list[str]:
    """Record as SUPERSEDED every restore among `items` into a generation older than
    `newer` that was written but never started (it waited for another one): the restore
    into generation `newer` reads that home and its sources. Returns their ids."""
    done = []
    for item in items:
        home = item.target
        if item.is_terminal or item.execution_arn or item.is_backup or home.generation >= newer:
            continue
        outcome = RestoreOutcome(
            status="SUPERSEDED",
            reason=f"superseded by generation {newer} before it started; the restore into "
            f"generation {newer} reads this home and every earlier one",
        )
        restores.finish(home.key, item.restore_id, outcome, now)
        done.append(item.restore_id)
    return done


def _write_waiting(
    request: RestoreRequest, waiting_for: str, reason: str, restores: RestoreStore, now: datetime
) -> StartResult:
    """The PENDING item of a restore that waits for `waiting_for` (only if absent)."""
    item = _pending_item(request, now).model_copy(
        update={"waiting_for": waiting_for, "reason": reason}
    )
    if not restores.create_restore(item):
        existing = restores.get_restore(request.target.key, request.restore_id)
        if existing is not None and (existing.is_terminal or existing.execution_arn):
            # finished, or started meanwhile by the end of the restore it waited for
            return StartResult(request.restore_id, existing.execution_arn, False, finished=True)
    logger.info("Restore waits for another", extra={"waiting_for": waiting_for})
    return StartResult(request.restore_id, None, started=False)


def _pending_item(request: RestoreRequest, now: datetime) -> RestoreItem:
    return RestoreItem(
        restore_id=request.restore_id,
        trigger=request.trigger,
        status="PENDING",
        source=request.source,
        target=request.target,
        step=request.step,
        head=request.head,
        then=request.then,
        started_at=now,
    )


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
    item = _pending_item(request, now)
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
