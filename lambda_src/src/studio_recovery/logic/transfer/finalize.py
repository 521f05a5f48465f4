"""finalize: clean up, give the slot back, record the result, notify, go on.

Delete the task, locations and access points (already gone is fine), give the slot back,
record the result on the item (and, for restores, on the profile row), notify on failure,
and start what comes next: the restore's next source, or the newer generation's restore
that waited for this one (`logic.transfer.chain`). `finalize_stopped` does the same for an
execution that ended without reaching Finalize: stopped by hand, timed out, or failed on its
own (a Step Functions limit, an unhandled error; the EventBridge status-change rule).
"""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from studio_recovery.logic.transfer.chain import StepResult, after_step
from studio_recovery.logic.transfer.cleanup import delete_and_record, resources_of
from studio_recovery.logic.transfer.report import outcome_from_report, transferred_paths
from studio_recovery.models.datasync import report_subdirectory
from studio_recovery.models.restore import (
    BackupLocation,
    Endpoint,
    FinalizeInput,
    RestoreItem,
    RestoreOutcome,
    TransferStats,
    WorkflowError,
)
from studio_recovery.observability import logger

if TYPE_CHECKING:
    from studio_recovery.logic.ports import Notifications
    from studio_recovery.services import TransferServices

STOPPED_ERRORS = {
    "ExecutionAborted": "stopped by hand",
    "ExecutionTimedOut": "timed out",
    "ExecutionFailed": "the execution failed on its own",
}
"""Error names `finalize_stopped` gives an execution that ended without reaching Finalize."""
STOPPED_STATUS_ERRORS = {
    "ABORTED": "ExecutionAborted",
    "TIMED_OUT": "ExecutionTimedOut",
    "FAILED": "ExecutionFailed",
}
"""The execution status of a status-change event -> the error name recorded for it."""
MAX_CAUSE_CHARS = 1000
"""Longest part of Step Functions' own error and cause kept in a reason (cause: 32 KB)."""


def decide_outcome(
    state: FinalizeInput,
    documents: Sequence[Mapping[str, Any]] | None = None,
    restored_before: Collection[str] = frozenset(),
) -> RestoreOutcome:
    """The restore's status and a reason people can act on, from the workflow state and,
    for a restore whose task has a report (`state.transfer.report`), the report's
    `documents` (None: no report was found). `restored_before`: what earlier steps of the
    same restore transferred (`restored_by_earlier_steps`)."""
    execution = state.execution
    stats = TransferStats.from_describe(execution.describe if execution else None)
    if state.error is not None:
        return RestoreOutcome(status="FAILED", reason=_error_reason(state.error), stats=stats)
    status = execution.status if execution else None
    reported = state.transfer is not None and state.transfer.report is not None
    if reported and execution is not None and status in ("SUCCESS", "ERROR"):
        return outcome_from_report(
            _source_name(state.source), execution.describe or {}, documents, stats, restored_before
        )
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
    if error.error == "ExecutionFailed" and error.cause:
        return f"{STOPPED_ERRORS[error.error]}: {error.cause}"
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

    resources = resources_of(state, item)
    if stopped and resources.task_arn:
        services.datasync.cancel_running_executions(resources.task_arn)
    remaining = delete_and_record(
        resources, key, state.restore_id, services, strict=True, record=item is not None
    )
    if execution_arn:
        restores.release_slot(execution_arn)

    # Decided only once the task, locations and slot are given back, so that nothing in
    # the execution's report can keep them from being cleaned up.
    documents = _read_report(state, services)
    before = restored_by_earlier_steps(state, item, services) if documents else frozenset()
    result = after_step(state, item, decide_outcome(state, documents, before), services)
    if remaining:
        left = f"; not deleted: {remaining.describe()}"
        result = StepResult(
            result.step.model_copy(update={"reason": result.step.reason + left}),
            result.restore.model_copy(update={"reason": result.restore.reason + left}),
            result.continues,
        )
    _record(state, item, result, execution_arn, services)
    outcome = result.restore
    if needs_notification(outcome) or remaining:
        _notify(state, outcome, execution_arn, services)
    what = "Backup" if isinstance(state.target, BackupLocation) else "Restore"
    logger.info(f"{what} finalized", extra=outcome.workflow_output())
    return outcome


def restored_by_earlier_steps(
    state: FinalizeInput, item: RestoreItem | None, services: TransferServices
) -> frozenset[str]:
    """The paths the earlier steps of this restore transferred, from their task reports.

    A later step reads an older home; what it skips because an earlier step already put a
    newer version there is that newer version kept, not a conflict with the user's own
    files. Empty for a first step (and without reports)."""
    report = state.transfer.report if state.transfer else None
    if state.step == 1 or report is None or services.reports is None:
        return frozenset()
    chain_id = (item.chain_id if item is not None else state.head) or state.restore_id
    found: set[str] = set()
    for earlier in services.restores.list_restores(state.target.key) or ():
        if earlier.chain_id != chain_id or earlier.step >= state.step:
            continue
        prefix = report_subdirectory(earlier.restore_id)
        found |= transferred_paths(services.reports.read(report.bucket, prefix, None) or ())
    return frozenset(found)


def _read_report(state: FinalizeInput, services: TransferServices) -> list[dict[str, Any]] | None:
    """The task report's documents of a restore's execution; None when there is none."""
    report = state.transfer.report if state.transfer else None
    execution_arn = state.execution.arn if state.execution else None
    if report is None or execution_arn is None or services.reports is None:
        return None
    return services.reports.read(report.bucket, report.prefix, execution_arn)


def finalize_stopped(
    execution_arn: str,
    status: str,
    item: RestoreItem | None,
    services: TransferServices,
    error: str | None = None,
    cause: str | None = None,
) -> RestoreOutcome | None:
    """An execution ended without reaching Finalize: clean up and record it.

    `status` is the execution's: ABORTED (stopped by hand), TIMED_OUT, or FAILED on its own
    (`error` and `cause` are then Step Functions' own, when the event carries them). A
    restore that already has a final status keeps it and only leftovers are deleted: that is
    also every execution whose Finalize ran and recorded the result before a Fail state
    ended it FAILED, so such a restore is neither recorded nor notified a second time.
    None when no restore is known for the execution, or when it already had a final status.
    """
    if item is None:
        logger.warning("No restore for a stopped execution", extra={"execution_arn": execution_arn})
        services.restores.release_slot(execution_arn)
        return None
    error_name = STOPPED_STATUS_ERRORS[status]
    state = FinalizeInput(
        restore_id=item.restore_id,
        trigger=item.trigger,
        target=item.target,
        source=item.source,
        step=item.step,
        head=item.head,
        then=item.then,
        execution_arn=execution_arn,
        error=WorkflowError(Error=error_name, Cause=_stopped_cause(error_name, error, cause)),
    )
    if item.is_terminal:
        resources = resources_of(state, item)
        delete_and_record(resources, item.target.key, item.restore_id, services, strict=True)
        services.restores.release_slot(execution_arn)
        return None
    return finalize(state, services)


def _stopped_cause(error_name: str, error: str | None, cause: str | None) -> str:
    """The cause recorded for a stopped execution; for FAILED, Step Functions' own words."""
    if error_name != "ExecutionFailed":
        return STOPPED_ERRORS[error_name]
    said = ": ".join(part.strip() for part in (error, cause) if part and part.strip())
    if not said:
        return "Step Functions gave no error or cause"
    if len(said) > MAX_CAUSE_CHARS:
        said = said[: MAX_CAUSE_CHARS - 3] + "..."
    return said


def needs_notification(outcome: RestoreOutcome) -> bool:
    """Every failure, every partial copy that is not run again and every conflict; an
    empty source only when nothing else is restored instead."""
    if outcome.status == "PARTIAL" and outcome.follow_up_restore_id is not None:
        return False  # it runs again; the retry's own outcome tells
    if outcome.status in ("FAILED", "PARTIAL") or outcome.conflicts:
        return True
    return outcome.status == "SOURCE_EMPTY" and outcome.follow_up_restore_id is None


def _record(
    state: FinalizeInput,
    item: RestoreItem | None,
    result: StepResult,
    execution_arn: str | None,
    services: TransferServices,
) -> None:
    """The step's outcome on its item; the whole restore's on the profile row, unless the
    next step started (the row points at it already)."""
    now = services.clock()
    key = state.target.key
    if item is not None:
        services.restores.finish(key, state.restore_id, result.step, now)
    if isinstance(state.target, BackupLocation) or result.continues:
        return  # a backup never changes the profile row's restore fields
    outcome = result.restore
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
        *_report_lines(outcome),
    ]
    services.notifier.publish(subject, "\n".join(lines))


def _report_lines(outcome: RestoreOutcome) -> list[str]:
    """Each missing path and each conflict the task report found (bounded, with counts)."""
    check = outcome.check
    if check is None:
        return []
    lines: list[str] = []
    if check.missing_count:
        lines.append(f"Missing from the new home ({check.missing_count}):")
        lines.extend(f"  {path}" for path in check.missing)
        if check.missing_count > len(check.missing):
            lines.append(f"  ... and {check.missing_count - len(check.missing)} more")
    if check.conflict_count:
        lines.append(
            f"Conflicts, the user's version kept ({check.conflict_count}; see the README, "
            "Conflicts and missing files):"
        )
        lines.extend(f"  {conflict.describe()}" for conflict in check.conflicts)
        if check.conflict_count > len(check.conflicts):
            lines.append(f"  ... and {check.conflict_count - len(check.conflicts)} more")
    return lines


def _notify_backup(
    target: BackupLocation,
    state: FinalizeInput,
    outcome: RestoreOutcome,
    execution_arn: str | None,
    notifier: Notifications,
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
