"""`history`: every home directory a profile or space has had, and every restore into it.

A restore read from several earlier homes shows one row per step (`step` "2 of 3": the
second source of three), each into the same generation (`into`); a restore that waited for
another one, or was superseded by a newer generation, says so in its reason.

A space whose home is on EBS (modules/space_backup) shows its backup prefix and the restores
its first starts reported, in the same restore table.
"""

from __future__ import annotations

import argparse
from typing import Any

from studio_recovery.cli import ebs
from studio_recovery.cli.args import add_profile_options, profile_key
from studio_recovery.cli.context import Context
from studio_recovery.cli.errors import NotFound
from studio_recovery.cli.exit_codes import ExitCode
from studio_recovery.cli.render import human_bytes, human_duration
from studio_recovery.models.registry import Generation, to_iso
from studio_recovery.models.restore import CopyRequest, RestoreItem
from studio_recovery.models.space_report import EbsSpace, SpaceRestoreRecord

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
    registry = context.registry()
    profile = registry.get_profile(key)
    spaces = ebs.spaces_of(registry, key)
    if profile is None and not spaces:
        raise NotFound(f"{key.kind} {key.name} of domain {key.domain_name} is not in the registry")
    on_ebs = [(space, registry.list_ebs_restores(space)) for space in spaces]
    if profile is None:
        generations, restores, copy = [], [], None
    else:
        generations = registry.list_generations(key)
        restores = context.restores().list_restores(key)
        copy = context.restores().get_copy(key)
    if context.out.json_mode:
        context.out.json(
            {
                "profile": (
                    None
                    if profile is None
                    else {**profile.model_dump(mode="json"), "key": str(key)}
                ),
                "generations": [g.model_dump(mode="json") for g in generations],
                "restores": [r.model_dump(mode="json") for r in restores],
                "copy_request": _copy_json(copy),
                "ebs_spaces": [_ebs_json(space, found) for space, found in on_ebs],
            }
        )
        return ExitCode.OK
    if profile is not None:
        _show_efs(context, profile.generation, profile.replication, generations, restores)
    if copy is not None:
        context.out.line(
            f"Copy request: {copy.status} from {copy.source}"
            + (f" generation {copy.source_generation}" if copy.source_generation else "")
            + f", requested {to_iso(copy.requested_at)}"
            + (f" by {copy.requested_by}" if copy.requested_by else "")
        )
    for space, found in on_ebs:
        context.out.line(
            f"{key.domain_name} space {ebs.describe(space)}: home on EBS, domain "
            f"{space.domain_id}, backups under {space.backup_prefix}"
        )
        if found:
            context.out.table(
                "Restores (EBS)", RESTORE_COLUMNS, [_ebs_restore_row(r) for r in found]
            )
        else:
            context.out.line("No restores yet.")
    return ExitCode.OK


def _show_efs(
    context: Context,
    generation: int,
    replication: bool,
    generations: list[Generation],
    restores: list[RestoreItem],
) -> None:
    key = profile_key(context.args)
    flag = "on" if replication else "off (opted out)"
    context.out.line(f"{key}: generation {generation}, replication {flag}")
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


def _ebs_json(space: EbsSpace, restores: list[SpaceRestoreRecord]) -> dict[str, Any]:
    return {
        "domain_id": space.domain_id,
        "space_name": space.space_name,
        "owner": ebs.owner(space),
        "home": "ebs",
        "backup_prefix": space.backup_prefix,
        "restores": [ebs.restore_json(r) for r in restores],
    }


def _ebs_restore_row(restore: SpaceRestoreRecord) -> list[Any]:
    """An EBS restore in the restore table's columns (one step: the space restores itself)."""
    return [
        ebs.iso(restore.started_at),
        restore.sk.removeprefix("RESTORE#"),
        "first start",
        "ebs",
        restore.source_prefix,
        None,
        restore.status,
        human_bytes(restore.bytes),
        restore.files,
        human_duration(round(restore.duration_seconds * 1000)),
        ebs.restore_reason(restore),
    ]


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
