"""`backups`: every backup of a profile or space (all its home directories), oldest first;
for a space on EBS (modules/space_backup), each manifest version in the backup bucket."""

from __future__ import annotations

import argparse
from typing import Any

from studio_recovery.cli import ebs
from studio_recovery.cli.args import add_profile_options, profile_key
from studio_recovery.cli.context import Context
from studio_recovery.cli.errors import NotFound, UsageError
from studio_recovery.cli.exit_codes import ExitCode
from studio_recovery.cli.render import human_bytes
from studio_recovery.dal.space_reports import manifest_versions
from studio_recovery.logic.space_backups import space_ref
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
            "space has had, oldest first. Restore one with `restore --from-backup TIME`. "
            "A space on EBS lists its backups in the bucket (needs --backup-bucket or "
            "--tf-output); it restores the latest on its first start (see space-backups)."
        ),
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
    rows = [backup_json(b) for b in context.restores().list_backups(key)] if profile else []
    if spaces:
        bucket = context.resources.backup_bucket_name
        if not bucket:
            raise UsageError(
                f"{key} has a home on EBS: its backups are in the backup bucket; pass "
                "--backup-bucket or --tf-output"
            )
        s3 = context.aws.client("s3")
        for space in spaces:
            ref = space_ref(space)
            for version in manifest_versions(s3, bucket, ref.manifest_key):
                rows.append(ebs_backup_json(ebs.owner(space), ref.prefix, version))
    if context.out.json_mode:
        context.out.json(rows)
        return ExitCode.OK
    if not rows:
        context.out.line(f"{key}: no backups yet.")
        return ExitCode.OK
    context.out.table(f"Backups of {key}", COLUMNS, [_row(b) for b in rows])
    return ExitCode.OK


def ebs_backup_json(owner: str | None, prefix: str, version: dict[str, Any]) -> dict[str, Any]:
    """One EBS backup (a manifest version the space agent wrote) in `backup_json`'s fields."""
    when = to_iso(version["time"])
    return {
        "backup_id": version["version_id"],
        "started_at": when,
        "ended_at": when,
        "trigger": "space agent",
        "status": "SUCCEEDED",
        "generation": None,
        "efs_id": None,
        "uid": None,
        "files_transferred": None,
        "bytes_written": None,
        "reason": "latest" if version["latest"] else None,
        "execution_arn": None,
        "home": "ebs",
        "owner": owner,
        "backup_prefix": prefix,
    }


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
        "home": "efs",
        "owner": None,
        "backup_prefix": None,
    }


def _row(backup: dict[str, Any]) -> list[Any]:
    generation = backup["generation"]
    if backup["home"] == "ebs":
        generation = f"ebs ({backup['owner'] or 'shared'})"
    return [
        backup["started_at"],
        backup["backup_id"],
        backup["trigger"],
        backup["status"],
        generation,
        backup["files_transferred"],
        human_bytes(backup["bytes_written"]),
        backup["ended_at"],
        backup["reason"],
    ]
