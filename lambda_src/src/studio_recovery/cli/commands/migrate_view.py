"""`migrate`'s output: the plan table, the proposed map, the status and the summary."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from studio_recovery.cli.context import Context
from studio_recovery.cli.exit_codes import ExitCode
from studio_recovery.logic.migration import PairPlan, Progress, progress_line, tally
from studio_recovery.logic.migration_map import WORD_OF, MigrationMap, ProposedMap
from studio_recovery.models.migration import MigrationRecord
from studio_recovery.models.registry import ProfileKey, to_iso

PLAN_COLUMNS = (
    "line",
    "source",
    "generation",
    "data at",
    "target",
    "target state",
    "action",
    "detail",
)


def who(key: ProfileKey | None) -> str:
    """`profile alice` / `space lab` (the map's words), `-` for none."""
    return f"{WORD_OF[key.kind]} {key.name}" if key is not None else "-"


def plan_row(plan: PairPlan) -> dict[str, Any]:
    return {
        "line": plan.line,
        "source": who(plan.source),
        "generation": plan.source_generation,
        "data at": plan.data_at,
        "target": who(plan.target),
        "target state": plan.target_state,
        "action": plan.action.value,
        "detail": plan.detail,
    }


def plan_table(context: Context, mapping: MigrationMap, plans: Sequence[PairPlan]) -> None:
    """The dry run: every pair, where its data is, its target, what will happen."""
    rows = [plan_row(p) for p in plans]
    if context.out.json_mode:
        context.out.json(
            {"migration_id": mapping.migration_id, "summary": _counts(plans), "pairs": rows}
        )
        return
    title = (
        f"Migration {mapping.migration_id}: {mapping.from_domain} -> {mapping.to_domain} "
        "(dry run: nothing changed)"
    )
    context.out.table(title, PLAN_COLUMNS, ([row[c] for c in PLAN_COLUMNS] for row in rows))
    context.out.line(progress_line(plans))


def proposal_table(context: Context, proposed: ProposedMap) -> None:
    """`--match`: the proposed pairs and the sources left unmatched."""
    if context.out.json_mode and not context.args.dry_run:
        context.out.json(
            {
                "pairs": [
                    {"source": who(p.row.source), "target": who(p.row.target), "how": p.how}
                    for p in proposed.proposals
                ],
                "unmatched": [{"source": who(k), "why": why} for k, why in proposed.unmatched],
            }
        )
        return
    context.out.table(
        "Proposed map (review it; --write-map FILE writes it as CSV)",
        ("source", "target", "matched by"),
        ((who(p.row.source), who(p.row.target), p.how) for p in proposed.proposals),
    )
    if proposed.unmatched:
        context.out.table(
            "Not matched (add them to the map by hand)",
            ("source", "why"),
            ((who(key), why) for key, why in proposed.unmatched),
        )


def migration_list(context: Context, migrations: Sequence[MigrationRecord]) -> int:
    """`migrate --status` without an id: every migration on record."""
    rows = [
        {
            "migration_id": m.migration_id,
            "from": m.from_domain,
            "to": m.to_domain,
            "pairs": m.pairs,
            "created_at": to_iso(m.created_at),
            "created_by": m.created_by,
            "map": m.map_name,
        }
        for m in migrations
    ]
    if context.out.json_mode:
        context.out.json(rows)
    else:
        columns = ("migration_id", "from", "to", "pairs", "created_at", "created_by", "map")
        context.out.table("Migrations", columns, ([r[c] for c in columns] for r in rows))
    return ExitCode.OK


RETRY_HINT = (
    "Run the same command again to retry the pairs whose copy failed (a new attempt each; "
    "the copy never overwrites, so it adds only what is missing). A refused pair needs its "
    "cause fixed first (see its reason)."
)


def status_report(context: Context, migration_id: str, plans: Sequence[PairPlan]) -> int:
    """`migrate --status`: the table of every pair, the counts, the exit code."""
    rows = [plan_row(p) for p in plans]
    if context.out.json_mode:
        context.out.json({"migration_id": migration_id, "summary": _counts(plans), "pairs": rows})
    else:
        context.out.table(
            f"Migration {migration_id}",
            PLAN_COLUMNS,
            ([row[c] for c in PLAN_COLUMNS] for row in rows),
        )
        context.out.line(progress_line(plans))
        if any(p.progress is Progress.FAILED for p in plans):
            context.out.line(RETRY_HINT)
    return outcome_code(plans)


def summary(context: Context, migration_id: str, plans: Sequence[PairPlan]) -> int:
    """The end of a run: the counts, every failure with its reason, the exit code."""
    failures = [p for p in plans if p.progress is Progress.FAILED]
    waiting = [p for p in plans if p.progress in (Progress.WAITING, Progress.RUNNING)]
    if context.out.json_mode:
        context.out.json(
            {
                "migration_id": migration_id,
                "summary": _counts(plans),
                "failures": [plan_row(p) for p in failures],
                "pairs": [plan_row(p) for p in plans],
            }
        )
        return outcome_code(plans)
    context.out.line(f"Migration {migration_id}: {progress_line(plans)}")
    if failures:
        context.out.table(
            f"{len(failures)} pairs failed",
            ("line", "source", "target", "reason"),
            ((p.line, who(p.source), who(p.target), p.detail) for p in failures),
        )
        context.out.line(RETRY_HINT)
    if waiting:
        later = sum(1 for p in waiting if p.target_state.startswith(("not created", "deleted")))
        context.out.line(
            f"{len(waiting)} pairs are not finished ({later} wait for their target to be "
            "created: they are copied then). Run the same command again to go on, or "
            f"`studio-recovery migrate --status --migration-id {migration_id}`."
        )
    return outcome_code(plans)


def outcome_code(plans: Sequence[PairPlan]) -> int:
    """0 all done; 7 at least one pair failed or was refused; 9 none failed but some are
    not finished (running, or waiting for their target)."""
    counts = tally(plans)
    if counts[Progress.FAILED]:
        return ExitCode.RESTORE_FAILED
    if counts[Progress.WAITING] or counts[Progress.RUNNING]:
        return ExitCode.INCOMPLETE
    return ExitCode.OK


def _counts(plans: Sequence[PairPlan]) -> dict[str, int]:
    counts = tally(plans)
    return {"pairs": len(plans), **{p.value: counts[p] for p in Progress}}
