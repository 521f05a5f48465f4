"""What a finished restore step means for the whole restore, and what it starts next.

A restore reads its sources newest first, one execution (a *step*) per source
(`logic.restore_plan.build_chain`). When a step ends, finalize asks `after_step`:

- the source turned out empty, or its directory never appeared (DataSync could not find
  it): the generation is marked `has_data=false`, so no later plan reads it again, and the
  restore goes on;
- a newer generation of the profile exists (it was recreated again while this step ran):
  this restore is SUPERSEDED; its next steps are not started, and the newer generation's
  restore, which waited for this step to end (`waiting_for`), starts now. It reads this
  home and every earlier one, so nothing is lost; no file in this home is half-copied
  when it does;
- the step missed files (PARTIAL): it runs again once by itself (`PARTIAL_RETRIES`);
- a next source is left (`then`) and the step did not fail: the next step starts;
- otherwise the restore is over: its outcome sums up every step (SUCCEEDED when one
  restored files and none failed, SOURCE_EMPTY when every source was empty, FAILED or
  PARTIAL when a step failed or missed files: the sources after it are not copied, because
  an older version copied in place of a missing newer one would stay there for good).

Backups are single transfers and pass through unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from studio_recovery.logic.restore_plan import StartRestore, make_restore_id
from studio_recovery.logic.restore_start import start_restore, supersede_unstarted
from studio_recovery.models.report import MAX_LISTED, CopyCheck
from studio_recovery.models.restore import (
    BackupLocation,
    Endpoint,
    FinalizeInput,
    HomeLocation,
    RestoreItem,
    RestoreOutcome,
    RestoreRequest,
    RestoreStatus,
    TransferStats,
)
from studio_recovery.observability import logger

if TYPE_CHECKING:
    from studio_recovery.services import TransferServices

PARTIAL_RETRIES = 1
"""How often a step that missed files runs again by itself. Safe: the task never
overwrites, so a new run adds only what is missing; a cause that is not transient (a file
the source cannot give) stays PARTIAL with its list after that."""
MISSING_DIRECTORY = "no such file or directory"
"""How DataSync's mount of a source location whose subdirectory does not exist fails (the
NFS error ENOENT in its error detail): that home directory never appeared."""


@dataclass(frozen=True)
class StepResult:
    """A step's own outcome (its item) and the whole restore's so far (the profile row,
    the notification, the workflow's output)."""

    step: RestoreOutcome
    restore: RestoreOutcome
    continues: bool = False
    """True when the next step (or the newer generation's restore) started: the profile
    row already points at it."""


def after_step(
    state: FinalizeInput,
    item: RestoreItem | None,
    outcome: RestoreOutcome,
    services: TransferServices,
) -> StepResult:
    """See the module docstring."""
    if isinstance(state.target, BackupLocation):
        return StepResult(outcome, outcome)
    step = _never_appeared(state, outcome)
    source, registry = state.source, services.registry
    if step.status == "SOURCE_EMPTY" and isinstance(source, HomeLocation) and registry:
        if _surely_empty(state, step):
            registry.mark_generation_empty(source.key, source.generation)
        else:
            step = step.model_copy(
                update={
                    "reason": f"no file copied from {_describe(source)}: it is empty, or "
                    "every path was in the new home already (an earlier step copied it)"
                }
            )
    newer = _newer_generation(state, services)
    if newer is not None:
        return _superseded(state, step, newer, services)
    if step.status == "PARTIAL" and services.workflow:
        attempt = _attempt_of(state, item, services)
        if attempt <= PARTIAL_RETRIES:
            retry = _retry(state, item, attempt)
            started = start_restore(
                StartRestore(retry), services.restores, services.workflow, services.clock()
            )
            step = step.model_copy(
                update={
                    "reason": f"{step.reason}; step {retry.step} runs again "
                    f"({started.restore_id}): the copy never overwrites, so it adds only what "
                    "is missing",
                    "follow_up_restore_id": started.restore_id,
                }
            )
            return StepResult(step, step, continues=True)
    then = item.then if item is not None else state.then
    if step.status in ("SUCCEEDED", "SOURCE_EMPTY") and then and services.workflow:
        next_step = _next_step(state, item, then)
        started = start_restore(
            StartRestore(next_step), services.restores, services.workflow, services.clock()
        )
        step = step.model_copy(
            update={
                "reason": f"{step.reason}; step {next_step.step} reads "
                f"{_describe(next_step.source)} ({started.restore_id})",
                "follow_up_restore_id": started.restore_id,
            }
        )
        return StepResult(step, step, continues=True)
    return StepResult(step, _whole_restore(state, item, step, then, services))


def _never_appeared(state: FinalizeInput, outcome: RestoreOutcome) -> RestoreOutcome:
    """A DataSync error saying the source directory does not exist: the home was never
    created (the profile was deleted before anyone opened Studio), so it is empty."""
    execution = state.execution
    describe = execution.describe if execution is not None else None
    if outcome.status != "FAILED" or not describe or describe.get("Status") != "ERROR":
        return outcome
    if not isinstance(state.source, HomeLocation):
        return outcome
    result = describe.get("Result")
    detail = str(result.get("ErrorDetail", "")) if isinstance(result, dict) else ""
    if MISSING_DIRECTORY not in detail.lower():
        return outcome
    return outcome.model_copy(
        update={
            "status": "SOURCE_EMPTY",
            "reason": f"{_describe(state.source)}'s home directory never appeared "
            f"(DataSync: {detail})",
        }
    )


def _surely_empty(state: FinalizeInput, step: RestoreOutcome) -> bool:
    """Whether a SOURCE_EMPTY step proves the source holds nothing. After an earlier step,
    the new home has files already, so "nothing transferred" (the only counter without
    `FilesListed`) can also mean "everything was there": then the generation is not
    marked empty, which would hide its data from every later restore."""
    listed = step.stats.files_at_source is not None or step.check is not None
    return state.step == 1 or listed or "never appeared" in step.reason


def _newer_generation(state: FinalizeInput, services: TransferServices) -> int | None:
    if services.registry is None:
        return None
    generations = services.registry.list_generations(state.target.key) or ()
    numbers = [g.generation for g in generations]
    newest = max(numbers, default=state.target.generation)
    return newest if newest > state.target.generation else None


def _superseded(
    state: FinalizeInput, step: RestoreOutcome, newer: int, services: TransferServices
) -> StepResult:
    """Record the step as SUPERSEDED and start the restores that waited for it."""
    started = _wake_waiting(state.restore_id, state, services)
    follow = f" ({', '.join(started)} started)" if started else ""
    outcome = step.model_copy(
        update={
            "status": "SUPERSEDED",
            "reason": f"superseded by generation {newer}{follow}, whose restore reads this "
            f"home and every earlier one; this step ended {step.status}: {step.reason}",
            "follow_up_restore_id": started[0] if started else None,
        }
    )
    logger.info("Restore superseded", extra={"newer_generation": newer, "started": started})
    return StepResult(outcome, outcome, continues=bool(started))


def _wake_waiting(restore_id: str, state: FinalizeInput, services: TransferServices) -> list[str]:
    """Start the restore into the newest generation that waited for `restore_id`; one into
    an older generation that waited too is superseded before it starts. Idempotent: the
    stream may start it too when it saw this step end."""
    if services.workflow is None:
        return []
    items = services.restores.list_restores(state.target.key) or ()
    waiting = [r for r in items if r.waiting_for == restore_id and not r.is_terminal and r.source]
    if not waiting:
        return []
    newest = max(waiting, key=lambda r: r.target.generation)
    supersede_unstarted(waiting, newest.target.generation, services.restores, services.clock())
    result = start_restore(
        StartRestore(newest.request()), services.restores, services.workflow, services.clock()
    )
    return [result.restore_id]


def _attempt_of(state: FinalizeInput, item: RestoreItem | None, services: TransferServices) -> int:
    """Which run of its step this one is: 1 for the first, 2 for its first retry, ..."""
    chain_id = _chain_id(state, item)
    runs = [
        r
        for r in services.restores.list_restores(state.target.key) or ()
        if r.chain_id == chain_id and r.step == state.step and r.restore_id != state.restore_id
    ]
    return len(runs) + 1


def _retry(state: FinalizeInput, item: RestoreItem | None, attempt: int) -> RestoreRequest:
    """The same step again (same source, same sources after it), under its own id."""
    target, source = state.target, state.source
    if not isinstance(target, HomeLocation) or source is None:  # pragma: no cover
        raise TypeError("a restore step has a home directory target and a source")
    return RestoreRequest(
        restore_id=make_restore_id(state.trigger, target, source, nonce=f"retry-{attempt}"),
        trigger=state.trigger,
        target=target,
        source=source,
        step=state.step,
        head=_chain_id(state, item),
        then=list(item.then if item is not None else state.then),
    )


def _chain_id(state: FinalizeInput, item: RestoreItem | None) -> str:
    return (item.chain_id if item is not None else state.head) or state.restore_id


def _next_step(
    state: FinalizeInput, item: RestoreItem | None, then: list[Endpoint]
) -> RestoreRequest:
    step = (item.step if item is not None else state.step) + 1
    head = (item.chain_id if item is not None else state.head) or state.restore_id
    target = state.target
    if not isinstance(target, HomeLocation):  # pragma: no cover - restores only
        raise TypeError("a restore step's target is a home directory")
    return RestoreRequest(
        restore_id=make_restore_id(state.trigger, target, then[0]),
        trigger=state.trigger,
        target=target,
        source=then[0],
        step=step,
        head=head,
        then=then[1:],
    )


def _whole_restore(
    state: FinalizeInput,
    item: RestoreItem | None,
    last: RestoreOutcome,
    not_copied: list[Endpoint],
    services: TransferServices,
) -> RestoreOutcome:
    """The outcome of every step together, once the last one ended."""
    chain_id = (item.chain_id if item is not None else state.head) or state.restore_id
    runs = [
        r
        for r in services.restores.list_restores(state.target.key) or ()
        if r.chain_id == chain_id and r.restore_id != state.restore_id and r.source is not None
    ]
    # One run per earlier step: its last (a retried step's earlier runs are replaced by it);
    # the runs of this step before this one are replaced by this one.
    latest: dict[int, RestoreItem] = {}
    for run in sorted(runs, key=lambda r: r.started_at):
        if run.step != state.step:
            latest[run.step] = run
    earlier = list(latest.values())
    if not runs:
        return last
    steps = [(r.source, r.status, _stats_of(r)) for r in sorted(earlier, key=lambda r: r.step)]
    steps.append((state.source, last.status, last.stats))
    # What was copied counts every run, retried ones too.
    copied = [_stats_of(r) for r in runs] + [last.stats]
    stats = TransferStats(
        bytes_written=sum(s.bytes_written for s in copied),
        bytes_file_transferred=sum(s.bytes_file_transferred for s in copied),
        files_transferred=sum(s.files_transferred for s in copied),
        total_duration_ms=sum(s.total_duration_ms for s in copied),
    )
    restored = [_describe(s) for s, status, _ in steps if status == "SUCCEEDED"]
    empty = [_describe(s) for s, status, _ in steps if status == "SOURCE_EMPTY"]
    summary = (
        f"{len(steps)} step{'s' if len(steps) != 1 else ''}: "
        f"restored from {_join(restored) or 'nothing'}"
        + (f" ({_join(empty)} empty or never created)" if empty else "")
    )
    if last.status in ("FAILED", "PARTIAL"):
        ended = "failed" if last.status == "FAILED" else "missed files"
        reason = f"step {len(steps)} ({_describe(state.source)}) {ended}: {last.reason}; {summary}"
        if not_copied:
            reason += f"; not copied: {_join([_describe(s) for s in not_copied])}"
        check = _combined_check(earlier, last)
        return last.model_copy(update={"reason": reason, "stats": stats, "check": check})
    status: RestoreStatus = "SUCCEEDED" if restored else "SOURCE_EMPTY"
    reason = (
        f"restored {stats.files_transferred} files ({stats.bytes_file_transferred} bytes) in "
        f"{summary}"
        if restored
        else f"every source had no files: {_join(empty)}"
    )
    check = _combined_check(earlier, last)
    if check is not None and check.conflicts:
        reason += f"; kept the user's version of {check.conflict_count} paths: "
        reason += check.describe_conflicts()
    return RestoreOutcome(status=status, reason=reason, stats=stats, check=check)


def _combined_check(earlier: list[RestoreItem], last: RestoreOutcome) -> CopyCheck | None:
    """The conflicts and missing entries of every step (lists bounded, counts exact); None
    when no step had a task report."""
    checks = [
        CopyCheck(
            missing=item.missing_paths,
            missing_count=item.missing_count,
            conflicts=item.conflicts,
            conflict_count=item.conflict_count,
        )
        for item in sorted(earlier, key=lambda r: r.step)
    ]
    if last.check is None and not any(c.missing_count or c.conflict_count for c in checks):
        return None
    if last.check is not None:
        checks.append(last.check)
    return CopyCheck(
        source_entries=sum(c.source_entries for c in checks),
        restored=sum(c.restored for c in checks),
        missing=[p for c in checks for p in c.missing][:MAX_LISTED],
        missing_count=sum(c.missing_count for c in checks),
        conflicts=[x for c in checks for x in c.conflicts][:MAX_LISTED],
        conflict_count=sum(c.conflict_count for c in checks),
    )


def _stats_of(item: RestoreItem) -> TransferStats:
    return TransferStats(
        bytes_written=item.bytes_written,
        bytes_file_transferred=item.bytes_file_transferred,
        files_transferred=item.files_transferred,
        total_duration_ms=item.total_duration_ms,
    )


def _describe(source: Endpoint | None) -> str:
    if isinstance(source, BackupLocation):
        return f"backup {source.backup_id or '?'} of generation {source.generation}"
    return f"generation {source.generation if source else '?'}"


def _join(names: list[str]) -> str:
    return ", ".join(names)
