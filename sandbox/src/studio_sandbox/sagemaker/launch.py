"""What a space's app starts with: its EBS home, execution role, identity and environment.

SageMaker's rules, as the API reference states them (botocore sagemaker/2017-07-24):

- a private space runs with its owner's `UserSettings.ExecutionRole`, else the domain's
  `DefaultUserSettings.ExecutionRole` ("SageMaker applies this setting only to private
  spaces"); a shared space with the domain's `DefaultSpaceSettings.ExecutionRole` ("The
  default settings for shared spaces");
- with the domain's `DomainSettings.ExecutionRoleIdentityConfig = USER_PROFILE_NAME`, the
  role session carries the user profile name as `sts:SourceIdentity`. For a shared space,
  which no single user runs, no source was found: the sandbox sets none (stricter: a policy
  that requires `aws:SourceIdentity` refuses a shared space's calls);
- EFS auto-mount: a private space of a domain with a home EFS mounts the owner's EFS
  directory at `~/user-default-efs`, unless `AutoMountHomeEFS` is Disabled (the profile's,
  else the domain's; "SageMaker applies this setting only to private spaces").
"""

from __future__ import annotations

import os
import sys
import uuid
from pathlib import Path
from typing import Any

from moto.sagemaker.exceptions import ValidationError

from studio_sandbox.sagemaker import apps, lifecycle
from studio_sandbox.sagemaker.models import (
    EBS_DEFAULT_SIZE_GB,
    EBS_SIZE_RANGE,
    StudioApp,
    StudioHome,
)
from studio_sandbox.server import state

SESSION_NAME = "SageMaker"
"""The role session name of Studio apps (`assumed-role/<role>/SageMaker`)."""
_SYSTEM_PATH = "/usr/local/bin:/usr/bin:/bin"


def _storage(settings: dict[str, Any] | None) -> dict[str, Any]:
    found = ((settings or {}).get("SpaceStorageSettings") or {}).get("DefaultEbsStorageSettings")
    return found if isinstance(found, dict) else {}


def ebs_size(space: StudioHome, owner: StudioHome | None, domain: Any) -> int:
    """The space's EBS volume size: its own `EbsVolumeSizeInGb`, else the default of the
    owner's or domain's settings (private) or the domain's space settings (shared), else
    5 GB; never more than the applicable `MaximumEbsVolumeSizeInGb`."""
    defaults = (
        [_storage(owner.settings if owner else None), _storage(domain.default_user_settings)]
        if space.is_private
        else [_storage(domain.default_space_settings)]
    )
    applicable = next((d for d in defaults if d), {})
    requested = (
        ((space.settings or {}).get("SpaceStorageSettings") or {}).get("EbsStorageSettings") or {}
    ).get("EbsVolumeSizeInGb")
    size = int(requested or applicable.get("DefaultEbsVolumeSizeInGb") or EBS_DEFAULT_SIZE_GB)
    low, high = EBS_SIZE_RANGE
    maximum = int(applicable.get("MaximumEbsVolumeSizeInGb") or high)
    if not low <= size <= min(high, maximum):
        raise ValidationError(
            message=f"EbsVolumeSizeInGb {size} of space {space.name} must be between {low} "
            f"and {min(high, maximum)} (MaximumEbsVolumeSizeInGb)."
        )
    return size


def execution_role(space: StudioHome, owner: StudioHome | None, domain: Any) -> str | None:
    if space.is_private:
        return (
            str(
                ((owner.settings if owner else None) or {}).get("ExecutionRole")
                or (domain.default_user_settings or {}).get("ExecutionRole")
                or ""
            )
            or None
        )
    found = (domain.default_space_settings or {}).get("ExecutionRole")
    return str(found) if found else None


def source_identity(space: StudioHome, domain: Any) -> str | None:
    config = (domain.domain_settings or {}).get("ExecutionRoleIdentityConfig")
    if config != "USER_PROFILE_NAME" or not space.is_private:
        return None
    return space.owner_name


def efs_auto_mount(space: StudioHome, owner: StudioHome | None, domain: Any) -> bool:
    if not space.is_private or owner is None or domain.home_efs_file_system_id is None:
        return False
    mine = (owner.settings or {}).get("AutoMountHomeEFS") or "DefaultAsDomain"
    if mine != "DefaultAsDomain":
        return bool(mine == "Enabled")
    domain_value = (domain.default_user_settings or {}).get("AutoMountHomeEFS", "Enabled")
    return bool(domain_value == "Enabled")


def attachment(space: StudioHome, owner: StudioHome | None, domain: Any) -> lifecycle.Attachment:
    if space.is_private:
        return lifecycle.Attachment(
            space.settings, owner.settings if owner else None, domain.default_user_settings
        )
    return lifecycle.Attachment(space.settings, None, domain.default_space_settings)


def metadata(app: StudioApp, space: StudioHome, role: str) -> dict[str, str]:
    """The keys of Studio's `/opt/ml/metadata/resource-metadata.json` that readers use."""
    return {
        "AppType": app.app_type,
        "DomainId": app.domain_id,
        "UserProfileName": space.owner_name or "",
        "SpaceName": space.name,
        "ResourceArn": app.arn,
        "ResourceName": app.app_name,
        "AppImageVersion": "",
        "ExecutionRoleArn": role,
    }


def environment(credentials: dict[str, str], home: Path) -> dict[str, str]:
    """A clean environment (nothing of the sandbox's own, no operator key)."""
    venv_bin = str(Path(sys.executable).parent)
    cfg = state.settings()
    return {
        "PATH": f"{venv_bin}:{_SYSTEM_PATH}",
        "HOME": str(home),
        "USER": "sagemaker-user",
        "SHELL": "/bin/bash",
        "LANG": os.environ.get("LANG", "C.UTF-8"),
        "AWS_ENDPOINT_URL": cfg.endpoint_url,
        "AWS_REGION": cfg.region,
        "AWS_DEFAULT_REGION": cfg.region,
        "AWS_EC2_METADATA_DISABLED": "true",
        **credentials,
    }


def new_app_id() -> str:
    return f"app-{uuid.uuid4().hex[:16]}"


def build(
    app: StudioApp,
    space: StudioHome,
    owner: StudioHome | None,
    domain: Any,
    scripts: list[lifecycle.StudioLifecycleConfig],
    efs_root: Path | None,
) -> apps.Launch:
    """The launch of `app` in `space` (raises ValidationError when it cannot start)."""
    from studio_sandbox.iam import principals

    role = execution_role(space, owner, domain)
    if not role:
        where = (
            "the owner's or the domain's ExecutionRole"
            if space.is_private
            else ("DefaultSpaceSettings.ExecutionRole of the domain")
        )
        raise ValidationError(message=f"Space {space.name} has no execution role: set {where}.")
    identity = source_identity(space, domain)
    creds = principals.credentials_for(role, SESSION_NAME, identity)
    home = state.space_volume(space.domain_id, space.name)
    app_id = new_app_id()
    target = None
    if efs_root is not None and owner is not None and efs_auto_mount(space, owner, domain):
        target = efs_root / str(owner.uid)
    return apps.Launch(
        app_id=app_id,
        home=home,
        workdir=state.studio_app_dir(app_id),
        environment=environment(
            {
                "AWS_ACCESS_KEY_ID": creds.access_key_id,
                "AWS_SECRET_ACCESS_KEY": creds.secret_access_key,
                "AWS_SESSION_TOKEN": creds.session_token,
            },
            home,
        ),
        scripts=[apps.Script(c.name, c.script) for c in scripts],
        metadata=metadata(app, space, role),
        efs_target=target,
    )
