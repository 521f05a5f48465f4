"""Run a migration: register one copy per pair, start them a window at a time, follow.

- A pair whose target does not exist yet gets its `COPY` item at once: the stream Lambda
  starts it when the target is created (as for `copy`).
- A pair whose target exists is registered and started when one of `--parallel` places
  is free: `COPY` item, then the library's own start (`start_restore`; the restore id is
  deterministic, so the stream Lambda, which the `COPY` item also wakes, starts the same
  execution, never a second). Each execution still waits for one of the module's transfer
  slots, like every other restore.
- Ctrl-C stops following; what was started runs on; running the command again goes on
  from the registry (pairs started before are followed, never started again).
- One pair's failure never stops the others; the summary lists every failure. Running
  the command again retries each pair whose copy FAILED or was PARTIAL, as a new attempt
  (`logic.migration`); the copy never overwrites, so it adds only what is missing.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime

from studio_recovery.cli.commands import migrate_view
from studio_recovery.cli.context import Context
from studio_recovery.cli.errors import UsageError
from studio_recovery.cli.exit_codes import ExitCode
from studio_recovery.dal.registry.migrations import MigrationRepository
from studio_recovery.logic.backups import gone_volumes
from studio_recovery.logic.migration import (
    Action,
    PairPlan,
    Volumes,
    copy_request,
    plan_pair,
    progress_line,
)
from studio_recovery.logic.migration_map import MapRow, MigrationMap
from studio_recovery.logic.restore_start import start_restore
from studio_recovery.models.history import ProfileHistory
from studio_recovery.models.migration import MigrationPair, MigrationRecord
from studio_recovery.models.registry import ProfileKey
from studio_recovery.models.restore import RestoreItem

_SHOWN_ERRORS = 10


def execute(context: Context, mapping: MigrationMap, plans: Sequence[PairPlan]) -> int:
    """Carry out `plans`; returns the exit code of `migrate_view.outcome_code`."""
    if mapping.errors:
        raise UsageError(_map_errors(mapping))
    migration_id = mapping.migration_id
    _record(context, mapping)
    state = {p.line: p for p in plans}
    try:
        _register_later(context, state, migration_id)
        _follow(context, state, migration_id)
    except KeyboardInterrupt:
        context.out.line(
            f"Interrupted: copies already started go on in AWS. Run the same command again "
            f"to go on (no pair is copied twice), or see `studio-recovery migrate --status "
            f"--migration-id {migration_id}`."
        )
        migrate_view.summary(context, migration_id, list(state.values()))
        return ExitCode.INTERRUPTED
    return migrate_view.summary(context, migration_id, sorted(state.values(), key=lambda p: p.line))


def _map_errors(mapping: MigrationMap) -> str:
    shown = "; ".join(f"line {e.line}: {e.problem}" for e in mapping.errors[:_SHOWN_ERRORS])
    more = len(mapping.errors) - _SHOWN_ERRORS
    tail = f"; and {more} more" if more > 0 else ""
    return (
        f"the map has {len(mapping.errors)} lines that are not pairs ({shown}{tail}); fix them "
        "and run again (--dry-run lists every line); nothing was started"
    )


def _record(context: Context, mapping: MigrationMap) -> None:
    """The `MIGRATION#<id>` items (once per map), so `--status` finds the pairs again."""
    repository = MigrationRepository(
        context.resources.require("registry_table_name"), context.aws.resource("dynamodb")
    )
    record = MigrationRecord(
        migration_id=mapping.migration_id,
        from_domain=mapping.from_domain,
        to_domain=mapping.to_domain,
        pairs=len(mapping.rows),
        created_at=datetime.now(UTC),
        created_by=_caller(context),
        map_name=str(context.args.map) if context.args.map else None,
    )
    pairs = [MigrationPair(line=r.line, source=r.source, target=r.target) for r in mapping.rows]
    if repository.record_migration(record, pairs):
        context.out.line(f"Migration {mapping.migration_id}: {len(pairs)} pairs recorded")
    else:
        context.out.line(f"Migration {mapping.migration_id}: going on from the registry")


def _register_later(context: Context, state: dict[int, PairPlan], migration_id: str) -> None:
    """The `COPY` item of every pair whose target is not created yet."""
    restores = context.restores()
    now = datetime.now(UTC)
    for line, plan in state.items():
        if plan.action is not Action.COPY_ON_CREATE or plan.source is None or plan.target is None:
            continue
        row = MapRow(line, plan.source, plan.target)
        if not restores.put_copy_request(
            copy_request(row, now, migration_id), replace_pending=False
        ):
            existing = restores.get_copy(plan.target)
            if existing is None or existing.source != plan.source:
                state[line] = _failed(plan, "another copy became pending on the target meanwhile")


def _follow(context: Context, state: dict[int, PairPlan], migration_id: str) -> None:
    """Start pairs while places are free, until every started one ended (or --timeout)."""
    args = context.args
    queue = [line for line, p in sorted(state.items()) if p.starts_now]
    deadline = time.monotonic() + args.timeout
    shown = ""
    with _Display(context) as show:
        while True:
            _refresh(context, state)
            running = [line for line, p in state.items() if p.action is Action.RUNNING]
            while queue and len(running) < args.parallel:
                line = queue.pop(0)
                state[line] = _start(context, state[line], migration_id)
                if state[line].action is Action.RUNNING:
                    running.append(line)
            text = progress_line(list(state.values()))
            if text != shown:
                show(text)
                shown = text
            if not running and not queue:
                return
            if time.monotonic() >= deadline:
                context.out.line(f"Stopped following after {args.timeout}s (--timeout)")
                return
            time.sleep(args.poll_seconds)


def _start(context: Context, plan: PairPlan, migration_id: str) -> PairPlan:
    """Plan the pair again, register and start it; any error fails this pair only."""
    if plan.source is None or plan.target is None:
        return _failed(plan, "nothing to start")
    restores = context.restores()
    now = datetime.now(UTC)
    row = MapRow(plan.line, plan.source, plan.target)
    try:
        current = _replan(context, row, now, migration_id)
        if not current.starts_now or current.start is None:
            return current
        request = copy_request(row, now, migration_id, current.attempt)
        if not restores.put_copy_request(request, replace_pending=False):
            existing = restores.get_copy(row.target)
            if existing is None or existing.source != row.source:
                return _failed(plan, "another copy became pending on the target meanwhile")
        result = start_restore(current.start, restores, context.workflow(), now)
        if not result.started:
            restores.mark_copy_started(row.target, result.restore_id)
    except Exception as exc:  # one pair's failure never stops the others
        return _failed(plan, f"could not start: {type(exc).__name__}: {exc}")
    return dataclasses.replace(
        current, action=Action.RUNNING, detail=result.restore_id, restore_id=result.restore_id
    )


def source_volumes(context: Context, sources: Mapping[ProfileKey, ProfileHistory]) -> Volumes:
    """Which source volumes are gone (domain deleted with retention Delete) or retained:
    one GetItem per domain id the sources' generations name (a Scan costs more)."""
    registry = context.registry()
    ids = {(g.domain_name, g.domain_id) for h in sources.values() for g in h.generations}
    domains = [registry.get_domain(name, domain_id) for name, domain_id in sorted(ids)]
    known = [d for d in domains if d is not None]
    retained = {
        d.efs_id
        for d in known
        if d.efs_id is not None and d.deleted_at is not None and d.retention != "Delete"
    }
    return Volumes(gone=gone_volumes(known), retained=frozenset(retained))


def _replan(context: Context, row: MapRow, now: datetime, migration_id: str) -> PairPlan:
    """The pair planned again from both partitions as they are now (two Queries): the
    plan may be hours old (the target recreated, or the copy started by the stream
    Lambda since)."""
    registry = context.registry()
    source = registry.read_history(row.source)
    return plan_pair(
        row,
        source=source,
        target=registry.read_history(row.target),
        volumes=source_volumes(context, {row.source: source}),
        requested_at=now,
        migration_id=migration_id,
    )


def _refresh(context: Context, state: dict[int, PairPlan]) -> None:
    """Read the restore item of every running pair; an ended one becomes done or failed.
    One that started a follow-up hands over to it: a source found empty to the next
    generation's copy, a PARTIAL step to its own automatic retry."""
    restores = context.restores()
    for line, plan in list(state.items()):
        if plan.action is not Action.RUNNING or plan.target is None or plan.restore_id is None:
            continue
        try:
            item = restores.get_restore(plan.target, plan.restore_id)
        except Exception as exc:  # read again at the next poll
            context.out.line(f"line {line}: could not read its restore ({exc}); reading again")
            continue
        if item is None or not item.is_terminal:
            continue
        if item.status != "SUCCEEDED":
            follow_up = _follow_up(context, plan, item)
            if follow_up is not None:
                state[line] = dataclasses.replace(
                    plan, detail=follow_up.restore_id, restore_id=follow_up.restore_id
                )
                continue
        state[line] = _ended(plan, item)


def _follow_up(context: Context, plan: PairPlan, item: RestoreItem) -> RestoreItem | None:
    """The copy started after `item` into the same target from the same source."""
    assert plan.target is not None
    later = [
        r
        for r in context.restores().list_restores(plan.target)
        if r.trigger == "copy"
        and r.source is not None
        and r.source.key == plan.source
        and r.started_at >= item.started_at
        and r.restore_id != item.restore_id
    ]
    return max(later, key=lambda r: r.started_at, default=None)


def _ended(plan: PairPlan, item: RestoreItem) -> PairPlan:
    if item.status == "SUCCEEDED":
        return dataclasses.replace(
            plan, action=Action.DONE, detail=f"{item.restore_id}: {item.files_transferred} files"
        )
    if item.status == "SOURCE_EMPTY":
        return dataclasses.replace(
            plan, action=Action.DONE, detail=f"{item.restore_id}: the source was empty"
        )
    reason = item.reason or "no reason recorded"
    return _failed(plan, f"{item.restore_id} {item.status}: {reason}")


def _failed(plan: PairPlan, why: str) -> PairPlan:
    return dataclasses.replace(plan, action=Action.FAILED, detail=why)


def _caller(context: Context) -> str | None:
    """Who runs the migration (the caller's ARN), for the record."""
    return str(context.aws.client("sts").get_caller_identity()["Arn"])


class _Display:
    """A rich status line on a terminal; otherwise one line per change (none in --json)."""

    def __init__(self, context: Context) -> None:
        self._context = context
        self._status: object = None

    def __enter__(self) -> _Display:
        if self._context.out.interactive:
            status = self._context.out.console.status("")
            status.__enter__()
            self._status = status
        return self

    def __exit__(self, *exc: object) -> None:
        if self._status is not None:
            self._status.__exit__(*exc)  # type: ignore[attr-defined]

    def __call__(self, text: str) -> None:
        if self._status is not None:
            self._status.update(text)  # type: ignore[attr-defined]
        else:
            self._context.out.line(text)
