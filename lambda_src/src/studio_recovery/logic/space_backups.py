"""Backups of Studio spaces' EBS homes (modules/space_backup): the bucket layout the space
agent writes, and how a domain's default settings gain the lifecycle configurations.

The agent (modules/space_backup/agent/space_agent.py) runs inside the spaces with only the
standard library and boto3, so it keeps its own copy of the layout; a unit test holds the
two together.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from studio_recovery.models.space_report import EbsSpace, SpaceRestoreReport

SPACES_PREFIX = "spaces/"
APP_SETTINGS = {"JupyterLab": "JupyterLabAppSettings", "CodeEditor": "CodeEditorAppSettings"}
"""The app types the lifecycle configurations serve, and their settings member."""
SPACE_DEFAULT_APP_TYPES = ("JupyterLab",)
"""DefaultSpaceSettings (shared spaces) has JupyterLabAppSettings but no CodeEditorAppSettings
(botocore model of UpdateDomain): a shared Code Editor space gets the configuration in its
own SpaceSettings."""


@dataclass(frozen=True)
class SpaceRef:
    """A space's backup location: private spaces under their owner, shared ones together."""

    domain_id: str
    space_name: str
    owner: str | None

    @property
    def prefix(self) -> str:
        if self.owner is None:
            return f"{SPACES_PREFIX}shared/{self.domain_id}/{self.space_name}/"
        return f"{SPACES_PREFIX}private/{self.owner}/{self.domain_id}/{self.space_name}/"

    @property
    def manifest_key(self) -> str:
        return self.prefix + "manifest.json"

    @property
    def restores_prefix(self) -> str:
        return self.prefix + "restores/"

    @property
    def mapping_key(self) -> str:
        return self.prefix + "restore-source.json"

    @property
    def request_key(self) -> str:
        """An admin's restore request, served by the space's agent (space_agent.REQUEST)."""
        return self.prefix + "restore-request.json"


def with_lifecycle_config(
    settings: Mapping[str, Any] | None, app_types: Mapping[str, str]
) -> tuple[dict[str, Any], list[str]]:
    """`settings` (a UserSettings or DefaultSpaceSettings) with each app type's lifecycle
    configuration allowed and, where no other is, made the default. Returns the settings to
    send (only the app settings members) and notes on what could not be made the default."""
    updated: dict[str, Any] = {}
    notes: list[str] = []
    for app_type, arn in app_types.items():
        member = APP_SETTINGS[app_type]
        current = copy.deepcopy(dict((settings or {}).get(member) or {}))
        arns = list(current.get("LifecycleConfigArns") or [])
        if arn not in arns:
            arns.append(arn)
        current["LifecycleConfigArns"] = arns
        spec = dict(current.get("DefaultResourceSpec") or {})
        default = spec.get("LifecycleConfigArn")
        if default and default != arn:
            notes.append(
                f"{app_type}: {default} stays the default lifecycle configuration (Studio runs "
                "one per app); the backup configuration is allowed, not the default"
            )
        else:
            spec["LifecycleConfigArn"] = arn
        current["DefaultResourceSpec"] = spec
        updated[member] = current
    return updated, notes


def without_lifecycle_config(
    settings: Mapping[str, Any] | None, app_types: Mapping[str, str]
) -> dict[str, Any]:
    """`settings` without the given lifecycle configurations: each leaves the allowed list
    and, where it is the default, the default (another default is left alone). Returns the
    app settings members to send."""
    updated: dict[str, Any] = {}
    for app_type, arn in app_types.items():
        member = APP_SETTINGS[app_type]
        current = copy.deepcopy(dict((settings or {}).get(member) or {}))
        if not current:
            continue
        current["LifecycleConfigArns"] = [
            other for other in current.get("LifecycleConfigArns") or [] if other != arn
        ]
        spec = dict(current.get("DefaultResourceSpec") or {})
        if spec.get("LifecycleConfigArn") == arn:
            del spec["LifecycleConfigArn"]
            current["DefaultResourceSpec"] = spec
        updated[member] = current
    return updated


def domain_update(
    domain: Mapping[str, Any], arns: Mapping[str, str], *, attach: bool
) -> tuple[dict[str, Any], list[str]]:
    """The UpdateDomain request that attaches (or detaches) the space backup lifecycle
    configurations `arns` (app type -> ARN) in the domain's default user settings (JupyterLab
    and Code Editor) and default space settings (JupyterLab: shared spaces), and notes on
    defaults that stay another configuration (attach only). Applying it twice changes
    nothing more."""
    space_arns = {t: arns[t] for t in SPACE_DEFAULT_APP_TYPES if t in arns}
    notes: list[str] = []
    if attach:
        user, notes = with_lifecycle_config(domain.get("DefaultUserSettings"), arns)
        space, space_notes = with_lifecycle_config(domain.get("DefaultSpaceSettings"), space_arns)
        notes += [f"shared spaces: {note}" for note in space_notes]
    else:
        user = without_lifecycle_config(domain.get("DefaultUserSettings"), arns)
        space = without_lifecycle_config(domain.get("DefaultSpaceSettings"), space_arns)
    request: dict[str, Any] = {"DomainId": domain["DomainId"]}
    if user:
        request["DefaultUserSettings"] = user
    if space:
        request["DefaultSpaceSettings"] = space
    return request, notes


REPORT_KEY = re.compile(
    r"^spaces/(?:private/(?P<owner>[a-zA-Z0-9](?:-*[a-zA-Z0-9]){0,62})|shared)/"
    r"(?P<domain>d-[a-z0-9]+)/(?P<space>[a-zA-Z0-9](?:-*[a-zA-Z0-9]){0,62})/"
    r"restores/(?P<stamp>[0-9TZ]+)\.json$"
)
SPACE_PK_PREFIX = "SPACE#"
SHARED_OWNER = "_shared"
"""The owner segment of a shared space's registry key (no profile name has "_")."""


def parse_report_key(key: str) -> tuple[SpaceRef, str] | None:
    """The space a restore report belongs to, and its time stamp, from its object key
    (the only part of a report the space's own credentials could not forge for another
    space), or None for any other key."""
    match = REPORT_KEY.fullmatch(key)
    if match is None:
        return None
    ref = SpaceRef(match["domain"], match["space"], match["owner"])
    return ref, match["stamp"]


def space_pk(ref: SpaceRef) -> str:
    return f"{SPACE_PK_PREFIX}{ref.domain_id}#{ref.owner or SHARED_OWNER}#{ref.space_name}"


def restore_items(
    ref: SpaceRef, stamp: str, report: SpaceRestoreReport, report_key: str
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The registry items of one EBS restore: the restore itself (sk RESTORE#<stamp>) and
    the space's row (sk SPACE): where its home lives and its last restore."""
    counters = {
        "status": report.status,
        "files": report.files,
        "bytes": report.bytes,
        "duration_seconds": Decimal(str(report.duration_seconds)),
        "kept_count": report.kept_count,
        "missing_count": report.missing_count,
    }
    restore = {
        "pk": space_pk(ref),
        "sk": f"RESTORE#{stamp}",
        "entity": "space_restore",
        "source_prefix": report.source_prefix,
        "started_at": report.started_at,
        "finished_at": report.finished_at,
        "report_key": report_key,
        **counters,
        **({"error": report.error[:1000]} if report.error else {}),
    }
    space = {
        "pk": space_pk(ref),
        "sk": "SPACE",
        "entity": "space",
        "domain_id": ref.domain_id,
        "space_name": ref.space_name,
        "owner": ref.owner or SHARED_OWNER,
        "home": {"type": "ebs", "backup_prefix": ref.prefix},
        "last_restore": {"sk": restore["sk"], "finished_at": report.finished_at, **counters},
    }
    return restore, space


def space_ref(space: EbsSpace) -> SpaceRef:
    """The backup location of a space row of the registry."""
    return SpaceRef(
        space.domain_id, space.space_name, None if space.owner == SHARED_OWNER else space.owner
    )
