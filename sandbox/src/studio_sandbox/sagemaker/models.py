"""SageMaker Studio in the sandbox: a profile's or space's home, and an app.

Names and limits as AWS checks them; the records the backend (:mod:`.backend`) keeps and
the API handlers (:mod:`.responses`) describe.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from moto.core.utils import utcnow
from moto.sagemaker.exceptions import (
    ValidationError,
)

LOG = logging.getLogger(__name__)

NAME_PATTERN = r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}"
_NAME = re.compile(NAME_PATTERN + "$")
FIRST_UID = 200000
HOME_GID = 100
HOME_MODE = 0o700
RETENTION_VALUES = ("Retain", "Delete")
APP_TYPES = (
    "JupyterServer",
    "KernelGateway",
    "DetailedProfiler",
    "TensorBoard",
    "CodeEditor",
    "JupyterLab",
    "RStudioServerPro",
    "RSessionGateway",
    "Canvas",
)
ACTIVE_APP_STATUSES = ("Pending", "InService", "Deleting")
LIST_DEFAULT_PAGE = 10
"""MaxResults of ListDomains, ListUserProfiles, ListSpaces, ListApps when not given."""
HOME_EFS_CREATION_VALUES = ("Enabled", "Disabled")
EBS_APP_TYPES = ("JupyterLab", "CodeEditor")
"""Space app types whose home is the space's own EBS volume."""
EBS_DEFAULT_SIZE_GB = 5
EBS_SIZE_RANGE = (5, 16384)
"""botocore sagemaker/2017-07-24 SpaceEbsVolumeSizeInGb (min 5, max 16384)."""
IDENTITY_CONFIG_VALUES = ("USER_PROFILE_NAME", "DISABLED")


@dataclass
class DomainTiming:
    """How long a new domain stays Pending (seconds; tests and the harness may change it).

    AWS keeps a domain Pending for minutes after CreateDomain; the sandbox keeps it a short
    while, long enough that an event handled at once sees it Pending."""

    pending_seconds: float = 0.3


timing = DomainTiming()


def validate_name(value: Any, member: str) -> str:
    if not isinstance(value, str) or not _NAME.match(value):
        raise ValidationError(
            message=(
                f"1 validation error detected: Value '{value}' at '{member}' failed to "
                "satisfy constraint: Member must satisfy regular expression pattern: "
                f"{NAME_PATTERN}"
            )
        )
    return value


@dataclass
class StudioHome:
    """A user profile or a space: a name in a domain with a home directory uid."""

    kind: str  # "user" | "space"
    domain_id: str
    name: str
    arn: str
    uid: int
    settings: dict[str, Any] | None
    tags: list[dict[str, str]]
    sso_identifier: str | None = None
    sso_value: str | None = None
    ownership_settings: dict[str, Any] | None = None
    sharing_settings: dict[str, Any] | None = None
    display_name: str | None = None
    status: str = "InService"
    home_created: bool = False
    ebs_size_gb: int | None = None
    """A JupyterLab/Code Editor space's EBS volume size (None: no EBS volume)."""
    creation_time: datetime = field(default_factory=utcnow)
    last_modified_time: datetime = field(default_factory=utcnow)

    @property
    def space_app_type(self) -> str | None:
        """`SpaceSettings.AppType` of a space (None for a profile or a space without one)."""
        found = (self.settings or {}).get("AppType") if self.kind == "space" else None
        return str(found) if found else None

    @property
    def is_private(self) -> bool:
        """A private space (`SpaceSharingSettings.SharingType` Private); shared otherwise."""
        return (self.sharing_settings or {}).get("SharingType") == "Private"

    @property
    def owner_name(self) -> str | None:
        """`OwnershipSettings.OwnerUserProfileName` of a space."""
        found = (self.ownership_settings or {}).get("OwnerUserProfileName")
        return str(found) if found else None

    @property
    def label(self) -> str:
        return "User profile" if self.kind == "user" else "Space"

    def describe(self) -> dict[str, Any]:
        common = {
            "DomainId": self.domain_id,
            "HomeEfsFileSystemUid": str(self.uid),
            "Status": self.status,
            "CreationTime": self.creation_time,
            "LastModifiedTime": self.last_modified_time,
        }
        if self.kind == "user":
            reply = {
                **common,
                "UserProfileArn": self.arn,
                "UserProfileName": self.name,
                "UserSettings": self.settings or {},
            }
            if self.sso_value is not None:
                reply["SingleSignOnUserIdentifier"] = self.sso_identifier
                reply["SingleSignOnUserValue"] = self.sso_value
            return reply
        reply = {
            **common,
            "SpaceArn": self.arn,
            "SpaceName": self.name,
            "SpaceSettings": self.settings or {},
        }
        for key, value in (
            ("OwnershipSettings", self.ownership_settings),
            ("SpaceSharingSettings", self.sharing_settings),
            ("SpaceDisplayName", self.display_name),
        ):
            if value is not None:
                reply[key] = value
        return reply

    def summary(self) -> dict[str, Any]:
        reply = {
            "DomainId": self.domain_id,
            "Status": self.status,
            "CreationTime": self.creation_time,
            "LastModifiedTime": self.last_modified_time,
        }
        if self.kind == "user":
            reply["UserProfileName"] = self.name
        else:
            reply["SpaceName"] = self.name
            if self.display_name is not None:
                reply["SpaceDisplayName"] = self.display_name
        return reply


@dataclass
class StudioApp:
    """An app (JupyterLab, ...) of a user profile or a space."""

    domain_id: str
    owner: StudioHome
    app_type: str
    app_name: str
    arn: str
    resource_spec: dict[str, Any] | None
    tags: list[dict[str, str]]
    status: str = "InService"
    failure_reason: str | None = None
    app_id: str | None = None
    """The id of the app's processes (`STUDIO_SANDBOX_APP_ID`) when it runs for real."""
    creation_time: datetime = field(default_factory=utcnow)

    def details(self) -> dict[str, Any]:
        reply: dict[str, Any] = {
            "DomainId": self.domain_id,
            "AppType": self.app_type,
            "AppName": self.app_name,
            "Status": self.status,
            "CreationTime": self.creation_time,
        }
        reply["UserProfileName" if self.owner.kind == "user" else "SpaceName"] = self.owner.name
        if self.resource_spec:
            reply["ResourceSpec"] = self.resource_spec
        return reply

    def describe(self) -> dict[str, Any]:
        reply = {**self.details(), "AppArn": self.arn, "LastUserActivityTimestamp": utcnow()}
        if self.failure_reason:
            reply["FailureReason"] = self.failure_reason
        return reply
