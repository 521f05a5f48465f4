"""EBS spaces (modules/space_backup) beside EFS homes in `status`, `history`, `backups` and
`restore`: which registry space rows a `--domain NAME --space NAME` names.

The space-report function keys a space by domain id, owner and name (every space's first
start writes a report, so every space that ran the agent has a row); the EFS commands name
a domain by its name. `--domain` matches either the domain's name (through the domains and
home directories the registry knows) or its id.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from studio_recovery.dal.registry import RegistryRepository
from studio_recovery.logic.space_backups import SHARED_OWNER
from studio_recovery.models.registry import ProfileKey, parse_iso, to_iso
from studio_recovery.models.space_report import EbsSpace, SpaceRestoreRecord


def domain_names(registry: RegistryRepository) -> dict[str, str]:
    """Domain id -> name, from the domains and the home directories the registry knows."""
    names = {
        g.domain_id: g.domain_name
        for generations in registry.generations_by_profile().values()
        for g in generations
    }
    names.update({d.domain_id: d.domain_name for d in registry.list_domains()})
    return names


def spaces_of(registry: RegistryRepository, key: ProfileKey) -> list[EbsSpace]:
    """The EBS space rows named by a space key (every owner), none for a user key."""
    if key.kind != "space":
        return []
    names = domain_names(registry)
    return [
        space
        for space in registry.list_ebs_spaces()
        if space.space_name == key.name
        and key.domain_name in (space.domain_id, names.get(space.domain_id))
    ]


def describe(space: EbsSpace) -> str:
    """`nb (alice)` or `nb (shared)`."""
    owner = "shared" if space.owner == SHARED_OWNER else space.owner
    return f"{space.space_name} ({owner})"


def owner(space: EbsSpace) -> str | None:
    return None if space.owner == SHARED_OWNER else space.owner


def restore_reason(restore: SpaceRestoreRecord) -> str:
    """The reason cell of an EBS restore: its error, or what it kept and missed."""
    counts = f"kept {restore.kept_count}, missing {restore.missing_count}"
    return f"{restore.error} ({counts})" if restore.error else counts


def restore_json(restore: SpaceRestoreRecord) -> dict[str, Any]:
    return restore.model_dump(mode="json")


def iso(value: str | None) -> str | None:
    """A report's time as every other time the CLI shows (`2026-12-07T10:00:00Z`)."""
    moment = parse_iso(value) if value else None
    return to_iso(moment) if isinstance(moment, datetime) else value
