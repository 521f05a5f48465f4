"""Backups of Studio spaces' EBS homes (modules/space_backup): the bucket layout the space
agent writes, and how a domain's default settings gain the lifecycle configurations.

The agent (modules/space_backup/agent/space_agent.py) runs inside the spaces with only the
standard library and boto3, so it keeps its own copy of the layout; a unit test holds the
two together.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

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
