"""Studio lifecycle configurations: the records, where they are attached, which one runs.

A Studio lifecycle configuration (LCC) is a named, immutable, base64-encoded shell script for
one app type (`CreateStudioLifecycleConfig`). It is attached in the app settings of a
domain (`DefaultUserSettings`, `DefaultSpaceSettings`), a user profile (`UserSettings`) or
a space (`SpaceSettings`):

- `LifecycleConfigArns`: the configurations a user may choose (domain and profile only:
  the space shapes `SpaceJupyterLabAppSettings`/`SpaceCodeEditorAppSettings` have none);
- `DefaultResourceSpec.LifecycleConfigArn`: the default LCC, "pre-selected for the user at
  the space level"; user-level defaults override domain-level ones;
- `BuiltInLifecycleConfigArn`: the built-in LCC, which "always runs when a space starts"
  and runs before the default one ("Lifecycle configurations within Amazon SageMaker
  Studio", studio-lifecycle-configurations.html).

`UserSettings` apply only to private spaces; `DefaultSpaceSettings` only to shared spaces
(botocore sagemaker/2017-07-24 UserSettings.JupyterLabAppSettings, DefaultSpaceSettings).
:func:`resolve` turns those rules into the scripts an app runs, in order.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from moto.core.utils import utcnow
from moto.sagemaker.exceptions import ResourceNotFound, ValidationError

LCC_APP_TYPES = ("JupyterServer", "KernelGateway", "CodeEditor", "JupyterLab")
"""botocore sagemaker/2017-07-24 StudioLifecycleConfigAppType."""
CONTENT_MAX = 16384
"""botocore sagemaker/2017-07-24 StudioLifecycleConfigContent (max 16384)."""
SETTINGS_KEYS = {
    "JupyterLab": "JupyterLabAppSettings",
    "CodeEditor": "CodeEditorAppSettings",
    "JupyterServer": "JupyterServerAppSettings",
    "KernelGateway": "KernelGatewayAppSettings",
}
"""Where each app type's settings live in UserSettings, DefaultSpaceSettings, SpaceSettings."""
NO_LCC = "None"
"""The ARN pattern allows the word None: no lifecycle configuration."""
_BASE64 = re.compile(r"^[A-Za-z0-9+/\s]*={0,2}\s*$")


@dataclass
class StudioLifecycleConfig:
    """One Studio lifecycle configuration (immutable once created)."""

    name: str
    arn: str
    app_type: str
    content: str
    tags: list[dict[str, str]]
    creation_time: datetime = field(default_factory=utcnow)

    @property
    def script(self) -> bytes:
        """The script itself (the content, base64-decoded)."""
        return base64.b64decode(self.content)

    def describe(self) -> dict[str, Any]:
        return {
            "StudioLifecycleConfigArn": self.arn,
            "StudioLifecycleConfigName": self.name,
            "CreationTime": self.creation_time,
            # "equivalent to CreationTime because ... Lifecycle Configurations are immutable"
            "LastModifiedTime": self.creation_time,
            "StudioLifecycleConfigContent": self.content,
            "StudioLifecycleConfigAppType": self.app_type,
        }

    def summary(self) -> dict[str, Any]:
        reply = self.describe()
        reply.pop("StudioLifecycleConfigContent")
        return reply


def validate_content(content: Any) -> str:
    """The content must be 1 to 16384 characters of base64 (AWS: "must be base64 encoded")."""
    if not isinstance(content, str) or not 1 <= len(content) <= CONTENT_MAX:
        size = len(content) if isinstance(content, str) else 0
        raise ValidationError(
            message=(
                "1 validation error detected: Value at 'studioLifecycleConfigContent' failed "
                f"to satisfy constraint: Member must have length between 1 and {CONTENT_MAX} "
                f"(length {size})"
            )
        )
    try:
        if not _BASE64.match(content):
            raise binascii.Error("not base64")
        base64.b64decode(content, validate=False)
    except (binascii.Error, ValueError):
        raise ValidationError(
            message="StudioLifecycleConfigContent must be base64 encoded."
        ) from None
    return content


def validate_app_type(app_type: Any, member: str = "studioLifecycleConfigAppType") -> str:
    if app_type not in LCC_APP_TYPES:
        raise ValidationError(
            message=f"1 validation error detected: Value '{app_type}' at '{member}' failed to "
            "satisfy constraint: Member must satisfy enum value set: "
            f"[{', '.join(LCC_APP_TYPES)}]"
        )
    return str(app_type)


def app_settings(settings: dict[str, Any] | None, app_type: str) -> dict[str, Any]:
    """The `<AppType>AppSettings` object of a settings object ({} when absent)."""
    found = (settings or {}).get(SETTINGS_KEYS.get(app_type, ""), None)
    return found if isinstance(found, dict) else {}


def _arn(value: Any) -> str | None:
    return value if isinstance(value, str) and value and value != NO_LCC else None


def default_arn(settings: dict[str, Any] | None, app_type: str) -> str | None:
    """`DefaultResourceSpec.LifecycleConfigArn` of `app_type` in a settings object."""
    spec = app_settings(settings, app_type).get("DefaultResourceSpec") or {}
    return _arn(spec.get("LifecycleConfigArn")) if isinstance(spec, dict) else None


def built_in_arn(settings: dict[str, Any] | None, app_type: str) -> str | None:
    """`BuiltInLifecycleConfigArn` of `app_type` in a settings object."""
    return _arn(app_settings(settings, app_type).get("BuiltInLifecycleConfigArn"))


def allowed_arns(settings: dict[str, Any] | None, app_type: str) -> list[str]:
    """`LifecycleConfigArns` of `app_type` in a settings object."""
    found = app_settings(settings, app_type).get("LifecycleConfigArns") or []
    return [a for a in found if isinstance(a, str)]


def referenced_arns(settings: dict[str, Any] | None) -> Iterator[str]:
    """Every lifecycle configuration ARN a settings object names."""
    for app_type in SETTINGS_KEYS:
        yield from allowed_arns(settings, app_type)
        for found in (default_arn(settings, app_type), built_in_arn(settings, app_type)):
            if found:
                yield found


def check_settings(
    settings: dict[str, Any] | None,
    member: str,
    configs: dict[str, StudioLifecycleConfig],
    *,
    has_list: bool,
) -> None:
    """Refuse settings that name an unknown configuration, one of another app type, or a
    default that is not in the same object's `LifecycleConfigArns` (`has_list`: the
    settings shape has that list, as a domain's and a profile's do)."""
    for app_type, key in SETTINGS_KEYS.items():
        listed = allowed_arns(settings, app_type)
        named = [*listed]
        default = default_arn(settings, app_type)
        built_in = built_in_arn(settings, app_type)
        named += [a for a in (default, built_in) if a]
        for arn in named:
            found = by_arn(configs, arn)
            if found.app_type != app_type:
                raise ValidationError(
                    message=f"Lifecycle configuration {arn} is for {found.app_type} apps and "
                    f"cannot be attached to {member}.{key}."
                )
        if has_list and default and default not in listed:
            raise ValidationError(
                message=f"The default lifecycle configuration {default} of {member}.{key}."
                "DefaultResourceSpec must also be in "
                f"{member}.{key}.LifecycleConfigArns."
            )


def by_arn(configs: dict[str, StudioLifecycleConfig], arn: str) -> StudioLifecycleConfig:
    name = arn.rsplit("/", 1)[-1]
    found = configs.get(name)
    if found is None or found.arn != arn:
        raise ResourceNotFound(message=f"Studio lifecycle config {arn} does not exist.")
    return found


@dataclass(frozen=True)
class Attachment:
    """The settings that apply to one space's app, as SageMaker chooses them."""

    space: dict[str, Any] | None
    """The space's SpaceSettings."""
    owner: dict[str, Any] | None
    """The owner's UserSettings (private spaces only)."""
    domain: dict[str, Any] | None
    """The domain's DefaultUserSettings (private) or DefaultSpaceSettings (shared)."""

    def levels(self) -> tuple[dict[str, Any] | None, ...]:
        return (self.space, self.owner, self.domain)


def resolve(
    attachment: Attachment,
    app_type: str,
    requested: str | None,
    configs: dict[str, StudioLifecycleConfig],
) -> list[StudioLifecycleConfig]:
    """The lifecycle configurations an app runs, in order: the built-in one (profile, else
    domain), then the default one (CreateApp's ResourceSpec, else the space's, the
    profile's, the domain's DefaultResourceSpec). A requested or space default must be in
    the LifecycleConfigArns of the profile or the domain."""
    built_in = next(
        (a for a in (built_in_arn(s, app_type) for s in attachment.levels()) if a), None
    )
    explicit = _arn(requested)
    default = explicit or next(
        (a for a in (default_arn(s, app_type) for s in attachment.levels()) if a), None
    )
    if default and (explicit or default == default_arn(attachment.space, app_type)):
        permitted = allowed_arns(attachment.owner, app_type) + allowed_arns(
            attachment.domain, app_type
        )
        if default not in permitted:
            raise ValidationError(
                message=f"Lifecycle configuration {default} is not attached to the user "
                f"profile or the domain ({SETTINGS_KEYS[app_type]}.LifecycleConfigArns)."
            )
    chosen: list[StudioLifecycleConfig] = []
    for arn in (built_in, default):
        if arn and all(c.arn != arn for c in chosen):
            found = by_arn(configs, arn)
            if found.app_type != app_type:
                raise ValidationError(
                    message=f"Lifecycle configuration {arn} is for {found.app_type} apps, "
                    f"not {app_type}."
                )
            chosen.append(found)
    return chosen
