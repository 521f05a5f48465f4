"""`history`: every home directory a profile or space has had, and every restore into it.

A restore read from several earlier homes shows one row per step (`step` "2 of 3": the
second source of three), each into the same generation (`into`); a restore that waited for
another one, or was superseded by a newer generation, says so in its reason.
"""

from __future__ import annotations

import argparse
from typing import Any

from studio_recovery.cli.args import add_profile_options, profile_key
from studio_recovery.cli.context import Context
from studio_recovery.cli.errors import NotFound
from studio_recovery.cli.exit_codes import ExitCode
from studio_recovery.cli.render import human_bytes, human_duration
from studio_recovery.models.registry import Generation, to_iso
from studio_recovery.models.restore import CopyRequest, RestoreItem

GENERATION_COLUMNS = ("generation", "domain id", "efs", "uid", "created", "deleted", "has data")
RESTORE_COLUMNS = (
    "started",
    "restore id",
    "trigger",
    "into",
    "from",
    "step",
    "status",
    "bytes",
    "files",
    "duration",
    "reason",
)


def register(subparsers: Any, parents: list[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "history",
        parents=parents,
        help="every home directory and every restore of a profile or space, oldest first",
        description="Every generation (home directory) and every restore, oldest first.",
    )
    add_profile_options(parser)
    parser.set_defaults(run=run)


def run(context: Context) -> int:
    key = profile_key(context.args)
    profile = context.registry().get_profile(key)
    if profile is None:
        raise NotFound(f"{key.kind} {key.name} of domain {key.domain_name} is not in the registry")
    generations = context.registry().list_generations(key)
    restores = context.restores().list_restores(key)
    copy = context.restores().get_copy(key)
    if context.out.json_mode:
        context.out.json(
            {
                "profile": {**profile.model_dump(mode="json"), "key": str(key)},
                "generations": [g.model_dump(mode="json") for g in generations],
                "restores": [r.model_dump(mode="json") for r in restores],
                "copy_request": _copy_json(copy),
            }
        )
        return ExitCode.OK
    flag = "on" if profile.replication else "off (opted out)"
    context.out.line(f"{key}: generation {profile.generation}, replication {flag}")
    context.out.table(
        "Home directories", GENERATION_COLUMNS, [_generation_row(g) for g in generations]
    )
    if restores:
        context.out.table("Restores", RESTORE_COLUMNS, [_restore_row(r) for r in restores])
        for restore in restores:
            for line in _report_lines(restore):
                context.out.line(line)
    else:
        context.out.line("No restores yet.")
    if copy is not None:
        context.out.line(
            f"Copy request: {copy.status} from {copy.source}"
            + (f" generation {copy.source_generation}" if copy.source_generation else "")
            + f", requested {to_iso(copy.requested_at)}"
            + (f" by {copy.requested_by}" if copy.requested_by else "")
        )
    return ExitCode.OK


def _report_lines(restore: RestoreItem) -> list[str]:
    """What a restore's task report found: each missing path, each conflict (bounded)."""
    lines = []
    if restore.missing_count:
        lines.append(
            f"Restore {restore.restore_id}: {restore.missing_count} entries missing "
            "from the new home (rerun the restore; see README, Conflicts and missing files):"
        )
        lines.extend(f"  missing  {path}" for path in restore.missing_paths)
        if restore.missing_count > len(restore.missing_paths):
            lines.append(f"  ... and {restore.missing_count - len(restore.missing_paths)} more")
    if restore.conflict_count:
        lines.append(
            f"Restore {restore.restore_id}: {restore.conflict_count} conflicts, the user's "
            "version kept (see README, Conflicts and missing files):"
        )
        lines.extend(f"  conflict {conflict.describe()}" for conflict in restore.conflicts)
        if restore.conflict_count > len(restore.conflicts):
            lines.append(f"  ... and {restore.conflict_count - len(restore.conflicts)} more")
    return lines


def _copy_json(copy: CopyRequest | None) -> dict[str, Any] | None:
    if copy is None:
        return None
    return {**copy.model_dump(mode="json", exclude={"target"}), "source": str(copy.source)}


def _generation_row(generation: Generation) -> list[Any]:
    return [
        generation.generation,
        generation.domain_id,
        generation.efs_id,
        generation.uid,
        to_iso(generation.created_at),
        to_iso(generation.deleted_at) if generation.deleted_at else None,
        {None: "unknown", True: "yes", False: "no (empty)"}[generation.has_data],
    ]


def _restore_row(restore: RestoreItem) -> list[Any]:
    source = restore.source
    origin = None
    if source is not None:
        origin = (
            f"g{source.generation}"
            if source.key == restore.target.key
            else f"{source.key} g{source.generation}"
        )
    return [
        to_iso(restore.started_at),
        restore.restore_id,
        restore.trigger,
        f"g{restore.target.generation}",
        origin,
        f"{restore.step} of {restore.step + len(restore.then)}" if source is not None else None,
        restore.status,
        human_bytes(restore.bytes_written),
        restore.files_transferred,
        human_duration(restore.total_duration_ms),
        restore.reason,
    ]
