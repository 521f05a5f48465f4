"""SageMaker Studio in the sandbox: the API handlers, each write call's CloudTrail event,
and `patch()` that installs them."""

from __future__ import annotations

import logging
from typing import Any

from moto.core.responses import ActionResult, EmptyResult
from moto.sagemaker import models as sm_models
from moto.sagemaker import responses as sm_responses
from moto.sagemaker.exceptions import (
    ValidationError,
)

from studio_sandbox import efs
from studio_sandbox.eventbridge import cloudtrail
from studio_sandbox.moto_ext import ServiceExtension
from studio_sandbox.sagemaker import throttle
from studio_sandbox.sagemaker.backend import SandboxSageMakerBackend
from studio_sandbox.sagemaker.models import LIST_DEFAULT_PAGE

LOG = logging.getLogger(__name__)


# --------------------------------------------------------------------------- API handlers


def _lower_camel(value: Any) -> Any:
    """CloudTrail's spelling of request/response members: `DomainId` -> `domainId`."""
    if isinstance(value, dict):
        return {k[:1].lower() + k[1:]: _lower_camel(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_lower_camel(v) for v in value]
    return value


def _emit(response: Any, event_name: str, reply: dict[str, Any] | None) -> None:
    """Publish the CloudTrail event of a call that succeeded; never fail the call."""
    try:
        cloudtrail.emit_api_call(
            event_name,
            _lower_camel(_params(response)),
            _lower_camel(reply) if reply else None,
            region=response.region,
            account_id=response.current_account,
        )
    except Exception:
        LOG.exception("could not emit the CloudTrail event of %s", event_name)


def _backend(response: Any) -> SandboxSageMakerBackend:
    backend = sm_models.sagemaker_backends[response.current_account][response.region]
    assert isinstance(backend, SandboxSageMakerBackend), "sagemaker.patch() was not called"
    return backend


def _params(response: Any) -> dict[str, Any]:
    """The request's members under their API names (`DomainId`, ...)."""
    params = response.params
    plain = params.original_dict() if hasattr(params, "original_dict") else params
    return dict(plain or {})


def _paged(items: list[Any], params: dict[str, Any]) -> tuple[list[Any], str | None]:
    try:
        start = int(params.get("NextToken") or 0)
    except ValueError:
        raise ValidationError(message="Invalid pagination token.") from None
    size = int(params.get("MaxResults") or LIST_DEFAULT_PAGE)
    token = str(start + size) if start + size < len(items) else None
    return items[start : start + size], token


def _listing(key: str, rows: list[dict[str, Any]], params: dict[str, Any]) -> ActionResult:
    page, token = _paged(rows, params)
    reply: dict[str, Any] = {key: page}
    if token:
        reply["NextToken"] = token
    return ActionResult(reply)


def create_domain(self: Any) -> ActionResult:
    p = _params(self)
    reply = _backend(self).create_studio_domain(
        domain_name=p.get("DomainName"),
        auth_mode=p.get("AuthMode"),
        default_user_settings=p.get("DefaultUserSettings"),
        domain_settings=p.get("DomainSettings"),
        subnet_ids=p.get("SubnetIds"),
        vpc_id=p.get("VpcId"),
        tags=p.get("Tags"),
        app_network_access_type=p.get("AppNetworkAccessType"),
        home_efs_file_system_kms_key_id=p.get("HomeEfsFileSystemKmsKeyId"),
        kms_key_id=p.get("KmsKeyId"),
        app_security_group_management=p.get("AppSecurityGroupManagement"),
        default_space_settings=p.get("DefaultSpaceSettings"),
        home_efs_file_system_creation=p.get("HomeEfsFileSystemCreation"),
    )
    # CloudTrail records CreateDomain's response as domainArn and url.
    _emit(self, "CreateDomain", {"DomainArn": reply["DomainArn"], "Url": reply["Url"]})
    return ActionResult(reply)


def describe_domain(self: Any) -> ActionResult:
    return ActionResult(_backend(self).describe_domain(_params(self).get("DomainId", "")))


def list_domains(self: Any) -> ActionResult:
    return _listing("Domains", _backend(self).list_studio_domains(), _params(self))


def update_domain(self: Any) -> ActionResult:
    domain = _backend(self).update_domain(_params(self))
    reply = {"DomainArn": domain.arn}
    _emit(self, "UpdateDomain", reply)
    return ActionResult(reply)


def delete_domain(self: Any) -> EmptyResult:
    p = _params(self)
    _backend(self).delete_domain(p.get("DomainId", ""), p.get("RetentionPolicy"))
    _emit(self, "DeleteDomain", None)
    return EmptyResult()


def create_user_profile(self: Any) -> ActionResult:
    p = _params(self)
    home = _backend(self).create_home(
        "user",
        p.get("DomainId", ""),
        p.get("UserProfileName", ""),
        settings=p.get("UserSettings"),
        tags=p.get("Tags"),
        sso_identifier=p.get("SingleSignOnUserIdentifier"),
        sso_value=p.get("SingleSignOnUserValue"),
    )
    reply = {"UserProfileArn": home.arn}
    _emit(self, "CreateUserProfile", reply)
    return ActionResult(reply)


def describe_user_profile(self: Any) -> ActionResult:
    p = _params(self)
    home = _backend(self).home("user", p.get("DomainId", ""), p.get("UserProfileName", ""))
    return ActionResult(home.describe())


def update_user_profile(self: Any) -> ActionResult:
    p = _params(self)
    home = _backend(self).update_home(
        "user", p.get("DomainId", ""), p.get("UserProfileName", ""), p.get("UserSettings")
    )
    reply = {"UserProfileArn": home.arn}
    _emit(self, "UpdateUserProfile", reply)
    return ActionResult(reply)


def delete_user_profile(self: Any) -> EmptyResult:
    p = _params(self)
    _backend(self).delete_home("user", p.get("DomainId", ""), p.get("UserProfileName", ""))
    _emit(self, "DeleteUserProfile", None)
    return EmptyResult()


def list_user_profiles(self: Any) -> ActionResult:
    p = _params(self)
    rows = [h.summary() for h in _backend(self).list_homes("user", p)]
    return _listing("UserProfiles", rows, p)


def create_space(self: Any) -> ActionResult:
    p = _params(self)
    home = _backend(self).create_home(
        "space",
        p.get("DomainId", ""),
        p.get("SpaceName", ""),
        settings=p.get("SpaceSettings"),
        tags=p.get("Tags"),
        ownership_settings=p.get("OwnershipSettings"),
        sharing_settings=p.get("SpaceSharingSettings"),
        display_name=p.get("SpaceDisplayName"),
    )
    reply = {"SpaceArn": home.arn}
    _emit(self, "CreateSpace", reply)
    return ActionResult(reply)


def describe_space(self: Any) -> ActionResult:
    p = _params(self)
    home = _backend(self).home("space", p.get("DomainId", ""), p.get("SpaceName", ""))
    return ActionResult(home.describe())


def update_space(self: Any) -> ActionResult:
    p = _params(self)
    backend = _backend(self)
    home = backend.update_home(
        "space", p.get("DomainId", ""), p.get("SpaceName", ""), p.get("SpaceSettings")
    )
    if p.get("SpaceDisplayName") is not None:
        home.display_name = p["SpaceDisplayName"]
    reply = {"SpaceArn": home.arn}
    _emit(self, "UpdateSpace", reply)
    return ActionResult(reply)


def delete_space(self: Any) -> EmptyResult:
    p = _params(self)
    _backend(self).delete_home("space", p.get("DomainId", ""), p.get("SpaceName", ""))
    _emit(self, "DeleteSpace", None)
    return EmptyResult()


def list_spaces(self: Any) -> ActionResult:
    p = _params(self)
    rows = [h.summary() for h in _backend(self).list_homes("space", p)]
    return _listing("Spaces", rows, p)


def create_app(self: Any) -> ActionResult:
    app = _backend(self).create_app(_params(self))
    reply = {"AppArn": app.arn}
    _emit(self, "CreateApp", reply)
    return ActionResult(reply)


def describe_app(self: Any) -> ActionResult:
    return ActionResult(_backend(self).app(_params(self)).describe())


def delete_app(self: Any) -> EmptyResult:
    _backend(self).delete_app(_params(self))
    _emit(self, "DeleteApp", None)
    return EmptyResult()


def list_apps(self: Any) -> ActionResult:
    p = _params(self)
    rows = [a.details() for a in _backend(self).list_studio_apps(p)]
    return _listing("Apps", rows, p)


def create_studio_lifecycle_config(self: Any) -> ActionResult:
    config = _backend(self).create_lifecycle_config(_params(self))
    reply = {"StudioLifecycleConfigArn": config.arn}
    _emit(self, "CreateStudioLifecycleConfig", reply)
    return ActionResult(reply)


def describe_studio_lifecycle_config(self: Any) -> ActionResult:
    name = str(_params(self).get("StudioLifecycleConfigName", ""))
    return ActionResult(_backend(self).lifecycle_config(name).describe())


def list_studio_lifecycle_configs(self: Any) -> ActionResult:
    p = _params(self)
    rows = [c.summary() for c in _backend(self).list_lifecycle_configs(p)]
    return _listing("StudioLifecycleConfigs", rows, p)


def delete_studio_lifecycle_config(self: Any) -> EmptyResult:
    name = str(_params(self).get("StudioLifecycleConfigName", ""))
    _backend(self).delete_lifecycle_config(name)
    _emit(self, "DeleteStudioLifecycleConfig", None)
    return EmptyResult()


_HANDLERS = (
    create_domain,
    describe_domain,
    list_domains,
    update_domain,
    delete_domain,
    create_user_profile,
    describe_user_profile,
    update_user_profile,
    delete_user_profile,
    list_user_profiles,
    create_space,
    describe_space,
    update_space,
    delete_space,
    list_spaces,
    create_app,
    describe_app,
    delete_app,
    list_apps,
    create_studio_lifecycle_config,
    describe_studio_lifecycle_config,
    list_studio_lifecycle_configs,
    delete_studio_lifecycle_config,
)


_EXTENSION = ServiceExtension(
    backends=sm_models.sagemaker_backends,
    backend=SandboxSageMakerBackend,
    moto_backend=sm_models.SageMakerModelBackend,
    response_class=sm_responses.SageMakerResponse,
    handlers=_HANDLERS,
)


def patch() -> None:
    """Serve Studio resources with :class:`SandboxSageMakerBackend` (idempotent)."""
    efs.patch()
    _EXTENSION.install()
    throttle.install()


def unpatch() -> None:
    """Give SageMaker back to moto (and forget every sandbox domain, profile and space)."""
    throttle.uninstall()
    _EXTENSION.uninstall()
    efs.unpatch()
