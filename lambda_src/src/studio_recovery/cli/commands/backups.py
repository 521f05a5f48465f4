"""`backups`: every backup of a profile or space (all its home directories), oldest first."""

from __future__ import annotations

import argparse
from typing import Any

from studio_recovery.cli.args import add_profile_options, profile_key
from studio_recovery.cli.context import Context
from studio_recovery.cli.errors import NotFound
from studio_recovery.cli.exit_codes import ExitCode
from studio_recovery.cli.render import human_bytes
from studio_recovery.models.registry import to_iso
from studio_recovery.models.restore import RestoreItem

COLUMNS = (
    "started",
    "backup id",
    "trigger",
    "status",
    "generation",
    "files",
    "bytes",
    "ended",
    "reason",
)


def register(subparsers: Any, parents: list[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "backups",
        parents=parents,
        help="every backup of a profile or space, oldest first",
        description=(
            "Every backup (scheduled or on deletion) of every home directory the profile or "
            "space has had, oldest first. Restore one with `restore --from-backup TIME`."
        ),
    )
    add_profile_options(parser)
    parser.set_defaults(run=run)


def run(context: Context) -> int:
    key = profile_key(context.args)
    if context.registry().get_profile(key) is None:
        raise NotFound(f"{key.kind} {key.name} of domain {key.domain_name} is not in the registry")
    backups = context.restores().list_backups(key)
    if context.out.json_mode:
        context.out.json([backup_json(b) for b in backups])
        return ExitCode.OK
    if not backups:
        context.out.line(f"{key}: no backups yet.")
        return ExitCode.OK
    context.out.table(f"Backups of {key}", COLUMNS, [_row(b) for b in backups])
    return ExitCode.OK


def backup_json(backup: RestoreItem) -> dict[str, Any]:
    """One backup for scripts: its id, when, why, outcome, which directory, counters."""
    target = backup.target
    return {
        "backup_id": backup.restore_id,
        "started_at": to_iso(backup.started_at),
        "ended_at": to_iso(backup.ended_at) if backup.ended_at else None,
        "trigger": backup.trigger,
        "status": backup.status,
        "generation": target.generation,
        "efs_id": target.efs_id,
        "uid": target.uid,
        "files_transferred": backup.files_transferred,
        "bytes_written": backup.bytes_written,
        "reason": backup.reason,
        "execution_arn": backup.execution_arn,
    }


def _row(backup: RestoreItem) -> list[Any]:
    return [
        to_iso(backup.started_at),
        backup.restore_id,
        backup.trigger,
        backup.status,
        backup.target.generation,
        backup.files_transferred,
        human_bytes(backup.bytes_written),
        to_iso(backup.ended_at) if backup.ended_at else None,
        backup.reason,
    ]
