"""`status`: one row per profile and space, with its flag and its last restore; EBS spaces
(modules/space_backup) beside EFS homes, with their last restore as their space reported it."""

from __future__ import annotations

import argparse
from typing import Any

from studio_recovery.cli import ebs
from studio_recovery.cli.args import studio_name
from studio_recovery.cli.context import Context
from studio_recovery.cli.exit_codes import ExitCode
from studio_recovery.cli.render import human_bytes, human_duration
from studio_recovery.models.registry import Generation, Profile, to_iso
from studio_recovery.models.space_report import EbsSpace

COLUMNS = (
    "domain",
    "kind",
    "name",
    "home",
    "uid",
    "previous uid",
    "replication",
    "last restore",
    "bytes",
    "files",
    "duration",
    "when",
)


def register(subparsers: Any, parents: list[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "status",
        parents=parents,
        help="table of profiles and spaces with their last restore",
        description=(
            "Every recorded user profile and space, its flag and its last restore; EBS spaces "
            "(home ebs) once their first start reported."
        ),
    )
    parser.add_argument(
        "--domain", type=studio_name, metavar="NAME", help="only this domain (name, or id)"
    )
    parser.set_defaults(run=run)


def run(context: Context) -> int:
    domain: str | None = context.args.domain
    registry = context.registry()
    profiles = registry.list_profiles(domain)
    generations = registry.generations_by_profile(domain)
    rows = [status_row(profile, generations.get(profile.pk, [])) for profile in profiles]
    names = ebs.domain_names(registry)
    rows += [
        ebs_status_row(space, names.get(space.domain_id, space.domain_id))
        for space in registry.list_ebs_spaces()
        if domain is None or domain in (space.domain_id, names.get(space.domain_id))
    ]
    rows.sort(key=lambda row: (row["domain"], row["kind"], row["name"], row["home"]))
    if context.out.json_mode:
        context.out.json(rows)
        return ExitCode.OK
    if not rows:
        where = f" in domain {domain}" if domain else ""
        context.out.line(f"No profiles or spaces recorded{where}. Run `studio-recovery seed`?")
        return ExitCode.OK
    context.out.table(None, COLUMNS, [_cells(row) for row in rows])
    return ExitCode.OK


def previous_uid(profile: Profile, generations: list[Generation]) -> str | None:
    """The uid of the generation before the profile's current one."""
    earlier = [g for g in generations if g.generation < profile.generation]
    return earlier[-1].uid if earlier else None


def status_row(profile: Profile, generations: list[Generation]) -> dict[str, Any]:
    """One profile's status as plain values (the JSON output; the table shows the same)."""
    when = profile.restore_ended_at or profile.restore_started_at
    # Counters belong to the last *finished* restore; while one runs they would be stale.
    finished = profile.replication_status not in {None, "PENDING", "RUNNING"}
    return {
        "domain": profile.domain_name,
        "kind": profile.kind,
        "name": profile.name,
        "home": "efs",
        "owner": None,
        "backup_prefix": None,
        "deleted": profile.is_deleted,
        "uid": profile.uid,
        "generation": profile.generation,
        "previous_uid": previous_uid(profile, generations),
        "replication": profile.replication,
        "last_restore_status": profile.replication_status,
        "last_restore_reason": profile.replication_reason,
        "bytes_written": profile.bytes_written if finished else None,
        "files_transferred": profile.files_transferred if finished else None,
        "total_duration_ms": profile.total_duration_ms if finished else None,
        "restore_id": profile.restore_id,
        "when": to_iso(when) if when else None,
    }


def ebs_status_row(space: EbsSpace, domain: str) -> dict[str, Any]:
    """An EBS space's status, the same fields as a profile's (no uid, generation or flag:
    its home is the space's own volume, backed up while the lifecycle configuration runs)."""
    restore = space.last_restore
    return {
        "domain": domain,
        "kind": "space",
        "name": space.space_name,
        "home": "ebs",
        "owner": ebs.owner(space),
        "backup_prefix": space.backup_prefix,
        "deleted": False,
        "uid": None,
        "generation": None,
        "previous_uid": None,
        "replication": None,
        "last_restore_status": restore.status if restore else None,
        "last_restore_reason": ebs.restore_reason(restore) if restore else None,
        "bytes_written": restore.bytes if restore else None,
        "files_transferred": restore.files if restore else None,
        "total_duration_ms": round(restore.duration_seconds * 1000) if restore else None,
        "restore_id": restore.sk.removeprefix("RESTORE#") if restore else None,
        "when": ebs.iso(restore.finished_at) if restore else None,
    }


def _cells(row: dict[str, Any]) -> list[Any]:
    name = f"{row['name']} (deleted)" if row["deleted"] else row["name"]
    if row["home"] == "ebs":
        name = f"{row['name']} ({row['owner'] or 'shared'})"
    return [
        row["domain"],
        row["kind"],
        name,
        row["home"],
        row["uid"],
        row["previous_uid"],
        row["replication"],
        row["last_restore_status"],
        human_bytes(row["bytes_written"]),
        row["files_transferred"],
        human_duration(row["total_duration_ms"]),
        row["when"],
    ]
