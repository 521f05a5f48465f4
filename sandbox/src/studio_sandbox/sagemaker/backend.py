"""SageMaker Studio in the sandbox: the backend of domains, user profiles, spaces and apps.

See :mod:`studio_sandbox.sagemaker` for what it adds to moto; :mod:`.responses` serves it.
"""

from __future__ import annotations

import logging
import shutil
import threading
import time
from typing import Any

from moto.core.utils import utcnow
from moto.ec2.exceptions import InvalidSubnetIdError, InvalidVPCIdError
from moto.moto_api._internal import mock_random
from moto.sagemaker import models as sm_models
from moto.sagemaker.exceptions import (
    ResourceInUseException,
    ResourceNotFound,
    ValidationError,
)
from moto.sagemaker.utils import arn_formatter

from studio_sandbox import efs, posix
from studio_sandbox.sagemaker import apps, launch, lifecycle
from studio_sandbox.sagemaker.models import (
    ACTIVE_APP_STATUSES,
    APP_TYPES,
    EBS_APP_TYPES,
    FIRST_UID,
    HOME_EFS_CREATION_VALUES,
    HOME_GID,
    HOME_MODE,
    IDENTITY_CONFIG_VALUES,
    RETENTION_VALUES,
    StudioApp,
    StudioHome,
    timing,
    validate_name,
)
from studio_sandbox.server import state

LOG = logging.getLogger(__name__)


class SandboxSageMakerBackend(sm_models.SageMakerModelBackend):
    """moto's SageMaker backend with Studio domains backed by sandbox EFS volumes."""

    @property
    def _url_module(self) -> Any:
        """moto finds a service's URLs next to its backend's module: point it at moto's."""
        from moto.sagemaker import urls

        return urls

    def __init__(self, region_name: str, account_id: str) -> None:
        super().__init__(region_name, account_id)
        self.homes: dict[tuple[str, str, str], StudioHome] = {}
        self.studio_apps: dict[tuple[str, str, str, str, str], StudioApp] = {}
        self.next_uid: dict[str, int] = {}
        self.lifecycle_configs: dict[str, lifecycle.StudioLifecycleConfig] = {}
        # moto's server serves requests on several threads: uids must never be handed twice.
        self.lock = threading.RLock()

    # ---- domains

    def create_studio_domain(self, **kwargs: Any) -> dict[str, Any]:
        """CreateDomain: moto's domain, then a random id and a real home volume."""
        with self.lock:
            return self._create_studio_domain(**kwargs)

    def _create_studio_domain(self, **kwargs: Any) -> dict[str, Any]:
        name = validate_name(kwargs.get("domain_name"), "domainName")
        if any(d.domain_name == name for d in self.domains.values()):
            raise ResourceInUseException(
                message=f"Resource Already Exists: Domain with name {name} already exists. "
                "Choose a different name."
            )
        creation = kwargs.pop("home_efs_file_system_creation", None) or "Enabled"
        if creation not in HOME_EFS_CREATION_VALUES:
            raise ValidationError(
                message=f"1 validation error detected: Value '{creation}' at "
                "'homeEfsFileSystemCreation' failed to satisfy constraint: Member must "
                f"satisfy enum value set: [{', '.join(HOME_EFS_CREATION_VALUES)}]"
            )
        self._check_domain_settings(
            kwargs.get("default_user_settings"),
            kwargs.get("default_space_settings"),
            kwargs.get("domain_settings"),
        )
        super().create_domain(**kwargs)
        domain: Any = self.domains.pop(f"d-{name}")  # moto's Domain, with sandbox fields
        domain.id = f"d-{mock_random.get_random_string(length=12, lower_case=True)}"
        domain.arn = arn_formatter("domain", domain.id, self.account_id, self.region_name)
        domain.url = f"https://{domain.id}.studio.{self.region_name}.sagemaker.aws"
        domain.tags = list(domain.tags or [])
        domain.home_efs_file_system_creation = creation
        domain.home_efs_file_system_id = (
            self._create_home_volume(domain) if creation == "Enabled" else None
        )
        domain.status = "Pending"
        domain.sandbox_in_service_at = time.monotonic() + timing.pending_seconds
        self.domains[domain.id] = domain
        self.next_uid[domain.id] = FIRST_UID
        return {"DomainArn": domain.arn, "DomainId": domain.id, "Url": domain.url}

    def _create_home_volume(self, domain: Any) -> str:
        """The domain's EFS, with NFS security groups and mount targets, like Studio's."""
        storage = efs.backend(self.account_id, self.region_name)
        kms_key = domain.home_efs_file_system_kms_key_id
        file_system = storage.create_file_system(
            creation_token=domain.id,
            performance_mode="generalPurpose",
            encrypted=True,
            kms_key_id=kms_key,
            throughput_mode="bursting",
            provisioned_throughput_in_mibps=0,
            availability_zone_name="",
            backup=False,
            tags=[{"Key": "ManagedByAmazonSageMakerResource", "Value": domain.arn}],
        )
        fs_id: str = file_system.file_system_id
        try:
            inbound = self._nfs_security_groups(domain)
        except InvalidVPCIdError:  # no such VPC in the sandbox: a volume without network access
            LOG.warning("domain %s: VPC %s not found, no mount targets", domain.id, domain.vpc_id)
            return fs_id
        zones: set[str] = set()
        for subnet_id in domain.subnet_ids or []:
            try:
                subnet = storage.ec2_backend.get_subnet(subnet_id)
            except InvalidSubnetIdError:
                LOG.warning("domain %s: subnet %s not found", domain.id, subnet_id)
                continue
            if subnet.availability_zone in zones or subnet.vpc_id != domain.vpc_id:
                continue
            zones.add(subnet.availability_zone)
            storage.create_mount_target(fs_id, subnet_id, security_groups=[inbound])
        return fs_id

    def _nfs_security_groups(self, domain: Any) -> str:
        ec2 = efs.backend(self.account_id, self.region_name).ec2_backend
        ec2.get_vpc(domain.vpc_id)
        outbound = ec2.create_security_group(
            f"security-group-for-outbound-nfs-{domain.id}",
            f"[DO NOT DELETE] Security Group that allows outbound NFS traffic for {domain.id}",
            vpc_id=domain.vpc_id,
            tags={"ManagedByAmazonSageMakerResource": domain.arn},
        )
        inbound = ec2.create_security_group(
            f"security-group-for-inbound-nfs-{domain.id}",
            f"[DO NOT DELETE] Security Group that allows inbound NFS traffic for {domain.id}",
            vpc_id=domain.vpc_id,
            tags={"ManagedByAmazonSageMakerResource": domain.arn},
        )
        ec2.authorize_security_group_ingress(
            inbound.id,
            "tcp",
            "2049",
            "2049",
            [],
            source_groups=[{"GroupId": outbound.id}],
            vpc_id=domain.vpc_id,
        )
        group_id: str = inbound.id
        return group_id

    def _domain(self, domain_id: str) -> Any:
        domain = self.domains.get(domain_id)
        if domain is None:
            raise ResourceNotFound(message=f"Cannot find Domain with id {domain_id}.")
        _settle(domain)
        return domain

    def _check_domain_settings(
        self,
        user_settings: dict[str, Any] | None,
        space_settings: dict[str, Any] | None,
        domain_settings: dict[str, Any] | None,
    ) -> None:
        lifecycle.check_settings(
            user_settings, "DefaultUserSettings", self.lifecycle_configs, has_list=True
        )
        lifecycle.check_settings(
            space_settings, "DefaultSpaceSettings", self.lifecycle_configs, has_list=True
        )
        config = (domain_settings or {}).get("ExecutionRoleIdentityConfig")
        if config is not None and config not in IDENTITY_CONFIG_VALUES:
            raise ValidationError(
                message=f"1 validation error detected: Value '{config}' at "
                "'domainSettings.executionRoleIdentityConfig' failed to satisfy constraint: "
                f"Member must satisfy enum value set: [{', '.join(IDENTITY_CONFIG_VALUES)}]"
            )

    def update_domain(self, params: dict[str, Any]) -> Any:
        """UpdateDomain: DefaultUserSettings, DefaultSpaceSettings (each member given
        replaces the one kept) and DomainSettingsForUpdate.ExecutionRoleIdentityConfig,
        which "can only be modified if there are no apps in the InService or Pending
        state"."""
        with self.lock:
            domain = self._domain(str(params.get("DomainId", "")))
            user_settings = params.get("DefaultUserSettings")
            space_settings = params.get("DefaultSpaceSettings")
            for_update = dict(params.get("DomainSettingsForUpdate") or {})
            merged_user = {**(domain.default_user_settings or {}), **(user_settings or {})}
            merged_space = {**(domain.default_space_settings or {}), **(space_settings or {})}
            merged_domain = {**(domain.domain_settings or {}), **for_update}
            self._check_domain_settings(merged_user, merged_space, merged_domain)
            old = (domain.domain_settings or {}).get("ExecutionRoleIdentityConfig", "DISABLED")
            new = merged_domain.get("ExecutionRoleIdentityConfig", "DISABLED")
            if old != new:
                busy = [
                    a
                    for a in self.studio_apps.values()
                    if a.domain_id == domain.id and a.status in ("InService", "Pending")
                ]
                if busy:
                    raise ResourceInUseException(
                        message="ExecutionRoleIdentityConfig can only be modified if there "
                        f"are no apps in the InService or Pending state ({len(busy)} found)."
                    )
            if user_settings is not None:
                domain.default_user_settings = merged_user
            if space_settings is not None:
                domain.default_space_settings = merged_space
            if for_update:
                domain.domain_settings = merged_domain
            domain.last_modified_time = utcnow()
            return domain

    def describe_domain(self, domain_id: str) -> dict[str, Any]:
        """DescribeDomain: no HomeEfsFileSystemId while Pending, nor when creation was
        Disabled; HomeEfsFileSystemCreation as given."""
        domain = self._domain(domain_id)
        description: dict[str, Any] = domain.describe()
        description["HomeEfsFileSystemCreation"] = domain.home_efs_file_system_creation
        if domain.status == "Pending" or domain.home_efs_file_system_id is None:
            description.pop("HomeEfsFileSystemId", None)
        return description

    def list_studio_domains(self) -> list[dict[str, Any]]:
        """ListDomains rows, oldest first."""
        for domain in self.domains.values():
            _settle(domain)
        rows = [d.summary() for d in self.domains.values()]
        return sorted(rows, key=lambda row: str(row.get("CreationTime", "")))

    def delete_domain(self, domain_id: str, retention_policy: dict[str, str] | None) -> None:
        with self.lock:
            self._delete_domain(domain_id, retention_policy)

    def _delete_domain(self, domain_id: str, retention_policy: dict[str, str] | None) -> None:
        domain = self._domain(domain_id)
        retention = (retention_policy or {}).get("HomeEfsFileSystem") or "Retain"
        if retention not in RETENTION_VALUES:
            raise ValidationError(
                message=f"1 validation error detected: Value '{retention}' at "
                "'retentionPolicy.homeEfsFileSystem' failed to satisfy constraint: Member "
                f"must satisfy enum value set: [{', '.join(RETENTION_VALUES)}]"
            )
        users = sum(1 for h in self.homes.values() if h.domain_id == domain_id and h.kind == "user")
        spaces = sum(
            1 for h in self.homes.values() if h.domain_id == domain_id and h.kind == "space"
        )
        if users or spaces:
            raise ResourceInUseException(
                message=f"Domain {domain_id} cannot be deleted: it still has {users} user "
                f"profile(s) and {spaces} space(s). Delete them first."
            )
        if retention == "Delete" and domain.home_efs_file_system_id:
            self._delete_home_volume(domain.home_efs_file_system_id)
        del self.domains[domain_id]

    def _delete_home_volume(self, fs_id: str) -> None:
        storage = efs.backend(self.account_id, self.region_name)
        if fs_id not in storage.file_systems_by_id:
            return
        for mount_target in list(storage.file_systems_by_id[fs_id].iter_mount_targets()):
            storage.delete_mount_target(mount_target.mount_target_id)
        storage.delete_file_system(fs_id)

    # ---- user profiles and spaces

    def _home_key(self, kind: str, domain_id: str, name: str) -> tuple[str, str, str]:
        return (domain_id, kind, name)

    def create_home(self, kind: str, domain_id: str, name: str, **fields: Any) -> StudioHome:
        """Create a user profile (`kind="user"`) or a space (`kind="space"`)."""
        with self.lock:
            return self._create_home(kind, domain_id, name, **fields)

    def _create_home(self, kind: str, domain_id: str, name: str, **fields: Any) -> StudioHome:
        member = "userProfileName" if kind == "user" else "spaceName"
        validate_name(name, member)
        domain = self._domain(domain_id)
        key = self._home_key(kind, domain_id, name)
        if key in self.homes:
            what = "UserProfile" if kind == "user" else "Space"
            raise ResourceInUseException(
                message=f"Resource Already Exists: {what} with name {name} already exists. "
                "Choose a different name."
            )
        if kind == "user":
            self._check_sso(domain, fields.get("sso_identifier"), fields.get("sso_value"))
        self._check_home_settings(kind, fields.get("settings"))
        resource = "user-profile" if kind == "user" else "space"
        arn = arn_formatter(resource, f"{domain_id}/{name}", self.account_id, self.region_name)
        home = StudioHome(
            kind=kind,
            domain_id=domain_id,
            name=name,
            arn=arn,
            uid=self._allocate_uid(domain_id),
            settings=fields.get("settings"),
            tags=list(fields.get("tags") or []),
            sso_identifier=fields.get("sso_identifier"),
            sso_value=fields.get("sso_value"),
            ownership_settings=fields.get("ownership_settings"),
            sharing_settings=fields.get("sharing_settings"),
            display_name=fields.get("display_name"),
        )
        if kind == "space":
            self._create_volume(home, domain)
        self.homes[key] = home
        return home

    def _check_home_settings(self, kind: str, settings: dict[str, Any] | None) -> None:
        member = "UserSettings" if kind == "user" else "SpaceSettings"
        # a space's app settings have no LifecycleConfigArns (SpaceJupyterLabAppSettings)
        lifecycle.check_settings(settings, member, self.lifecycle_configs, has_list=kind == "user")

    def _space_owner(self, space: StudioHome) -> StudioHome | None:
        name = space.owner_name
        return self.homes.get(self._home_key("user", space.domain_id, name)) if name else None

    def _create_volume(self, space: StudioHome, domain: Any) -> None:
        """A JupyterLab or Code Editor space gets its own EBS volume (a local directory),
        created with the space and deleted with it; a private space needs its owner."""
        if space.is_private:
            if not space.owner_name:
                raise ValidationError(
                    message="A private space needs OwnershipSettings.OwnerUserProfileName."
                )
            if self._space_owner(space) is None:
                raise ResourceNotFound(message=f"User profile {space.owner_name} does not exist.")
        if space.space_app_type not in EBS_APP_TYPES:
            return
        space.ebs_size_gb = launch.ebs_size(space, self._space_owner(space), domain)
        volume = state.space_volume(space.domain_id, space.name)
        if volume.exists():  # a leftover of an earlier space of that name: never reused
            shutil.rmtree(volume)
        volume.mkdir(parents=True)

    def space_volume(self, domain_id: str, name: str) -> dict[str, Any]:
        """Where a space's EBS volume lives, and its size (for the harness)."""
        space = self.home("space", domain_id, name)
        if space.ebs_size_gb is None:
            raise ResourceNotFound(message=f"Space {name} has no EBS volume.")
        apps_of = {
            f"{a.app_type}/{a.app_name}": {
                "status": a.status,
                "app_id": a.app_id,
                "directory": str(state.studio_app_dir(a.app_id)) if a.app_id else None,
            }
            for a in self._apps_of(space)
        }
        return {
            "path": str(state.space_volume(domain_id, name)),
            "size_gb": space.ebs_size_gb,
            "apps": apps_of,
        }

    @staticmethod
    def _check_sso(domain: Any, identifier: str | None, value: str | None) -> None:
        if domain.auth_mode == "SSO":
            if identifier != "UserName" or not value:
                raise ValidationError(
                    message="SingleSignOnUserIdentifier (UserName) and SingleSignOnUserValue "
                    "are required for a domain that uses IAM Identity Center (SSO) "
                    "authentication."
                )
        elif identifier is not None or value is not None:
            raise ValidationError(
                message="SingleSignOnUserIdentifier and SingleSignOnUserValue are only "
                "supported for a domain that uses IAM Identity Center (SSO) authentication."
            )

    def _allocate_uid(self, domain_id: str) -> int:
        uid = self.next_uid.get(domain_id, FIRST_UID)
        self.next_uid[domain_id] = uid + 1
        return uid

    def home(self, kind: str, domain_id: str, name: str) -> StudioHome:
        found = self.homes.get(self._home_key(kind, domain_id, name))
        if found is None:
            label = "User profile" if kind == "user" else "Space"
            raise ResourceNotFound(message=f"{label} {name} does not exist.")
        return found

    def update_home(self, kind: str, domain_id: str, name: str, settings: Any) -> StudioHome:
        home = self.home(kind, domain_id, name)
        if settings is not None:
            merged = {**(home.settings or {}), **settings}
            self._check_home_settings(kind, merged)
            if kind == "space" and merged.get("AppType") != (home.settings or {}).get(
                "AppType", merged.get("AppType")
            ):
                raise ValidationError(
                    message="You can't change the app type of a space (SpaceSettings.AppType)."
                )
            home.settings = merged
        home.last_modified_time = utcnow()
        return home

    def delete_home(self, kind: str, domain_id: str, name: str) -> None:
        with self.lock:
            self._delete_home(kind, domain_id, name)

    def _delete_home(self, kind: str, domain_id: str, name: str) -> None:
        home = self.home(kind, domain_id, name)
        running = [a for a in self._apps_of(home) if a.status in ACTIVE_APP_STATUSES]
        if running:
            names = ", ".join(f"{a.app_type}/{a.app_name}" for a in running)
            raise ResourceInUseException(
                message=f"{home.label} {name} cannot be deleted while it has apps that are "
                f"not deleted: {names}. Delete the apps first."
            )
        for app in self._apps_of(home):
            del self.studio_apps[self._app_key(app)]
        del self.homes[self._home_key(kind, domain_id, name)]
        if kind == "space" and home.ebs_size_gb is not None:
            # "If you delete a space, you will lose access to the data" (its EBS volume)
            shutil.rmtree(state.space_volume(domain_id, name), ignore_errors=True)

    def list_homes(self, kind: str, params: dict[str, Any]) -> list[StudioHome]:
        domain_id = params.get("DomainIdEquals")
        contains = params.get("UserProfileNameContains" if kind == "user" else "SpaceNameContains")
        found = [
            h
            for h in self.homes.values()
            if h.kind == kind
            and (not domain_id or h.domain_id == domain_id)
            and (not contains or contains in h.name)
        ]
        by_name = params.get("SortBy") in ("UserProfileName", "SpaceName")
        found.sort(
            key=lambda h: h.name if by_name else h.creation_time.isoformat(),
            reverse=params.get("SortOrder", "Descending") == "Descending",
        )
        return found

    # ---- apps

    def _app_key(self, app: StudioApp) -> tuple[str, str, str, str, str]:
        return (app.domain_id, app.owner.kind, app.owner.name, app.app_type, app.app_name)

    def _apps_of(self, home: StudioHome) -> list[StudioApp]:
        return [a for a in self.studio_apps.values() if a.owner is home]

    def _app_owner(self, params: dict[str, Any]) -> StudioHome:
        domain_id = params.get("DomainId", "")
        self._domain(domain_id)
        user, space = params.get("UserProfileName"), params.get("SpaceName")
        if bool(user) == bool(space):
            raise ValidationError(message="Specify exactly one of UserProfileName and SpaceName.")
        if user:
            return self.home("user", domain_id, str(user))
        return self.home("space", domain_id, str(space))

    def create_app(self, params: dict[str, Any]) -> StudioApp:
        with self.lock:
            return self._create_app(params)

    def _create_app(self, params: dict[str, Any]) -> StudioApp:
        owner = self._app_owner(params)
        app_type = params.get("AppType")
        if app_type not in APP_TYPES:
            raise ValidationError(
                message=f"1 validation error detected: Value '{app_type}' at 'appType' "
                "failed to satisfy constraint: Member must satisfy enum value set: "
                f"[{', '.join(APP_TYPES)}]"
            )
        app_name = params.get("AppName") or "default"
        app = StudioApp(
            domain_id=owner.domain_id,
            owner=owner,
            app_type=app_type,
            app_name=app_name,
            arn=arn_formatter(
                "app",
                f"{owner.domain_id}/{owner.name}/{app_type.lower()}/{app_name}",
                self.account_id,
                self.region_name,
            ),
            resource_spec=params.get("ResourceSpec"),
            tags=list(params.get("Tags") or []),
        )
        existing = self.studio_apps.get(self._app_key(app))
        if existing is not None and existing.status in ACTIVE_APP_STATUSES:
            raise ResourceInUseException(
                message=f"App {app.arn} already exists with status {existing.status}."
            )
        if owner.kind == "space" and owner.space_app_type not in (None, app_type):
            raise ValidationError(
                message=f"Space {owner.name} is a {owner.space_app_type} space: it cannot run "
                f"a {app_type} app."
            )
        if owner.kind == "space" and owner.ebs_size_gb is not None:
            self._launch(app, owner, params)
        else:
            self._ensure_home_directory(owner)
        self.studio_apps[self._app_key(app)] = app
        return app

    def _launch(self, app: StudioApp, space: StudioHome, params: dict[str, Any]) -> None:
        """Start an app of an EBS space for real: Pending, its lifecycle scripts, then
        InService or Failed (:mod:`.apps`)."""
        domain = self._domain(space.domain_id)
        owner = self._space_owner(space)
        requested = (params.get("ResourceSpec") or {}).get("LifecycleConfigArn")
        scripts = lifecycle.resolve(
            launch.attachment(space, owner, domain),
            app.app_type,
            requested,
            self.lifecycle_configs,
        )
        efs_root = None
        if owner is not None and launch.efs_auto_mount(space, owner, domain):
            self._ensure_home_directory(owner)
            efs_root = efs.file_system_path(domain.home_efs_file_system_id)
        started = launch.build(app, space, owner, domain, scripts, efs_root)
        app.app_id = started.app_id
        app.status = "Pending"
        refused = self._untrusted_role(started, space, domain)
        if refused:
            app.status, app.failure_reason = "Failed", refused
            return
        apps.runtime.start(started, self._status_setter(app))

    @staticmethod
    def _untrusted_role(started: apps.Launch, space: StudioHome, domain: Any) -> str | None:
        """With IAM enforced, SageMaker must be trusted to assume the execution role (and to
        set the source identity when the domain propagates it)."""
        from studio_sandbox import iam
        from studio_sandbox.iam import principals

        if not iam.enforcing():
            return None
        role = started.metadata["ExecutionRoleArn"]
        actions: tuple[str, ...] = ("sts:AssumeRole",)
        if launch.source_identity(space, domain):
            actions += ("sts:SetSourceIdentity",)
        if principals.trusts(role, "sagemaker.amazonaws.com", actions):
            return None
        return (
            f"SageMaker is not authorized to perform {' and '.join(actions)} on the execution "
            f"role {role}: its trust policy must allow the service sagemaker.amazonaws.com."
        )

    def _status_setter(self, app: StudioApp) -> apps.StatusCallback:
        def set_status(status: str, reason: str | None) -> None:
            with self.lock:
                if app.status in ("Deleting", "Deleted") and status != "Deleted":
                    return  # a start that ends after DeleteApp: the deletion wins
                app.status = status
                app.failure_reason = reason
                LOG.info("app %s is %s%s", app.arn, status, f": {reason}" if reason else "")

        return set_status

    def _ensure_home_directory(self, owner: StudioHome) -> None:
        """On the first app, create `/<uid>` on the domain's EFS, as Studio does."""
        if owner.home_created:
            return
        domain = self._domain(owner.domain_id)
        if domain.home_efs_file_system_id is None:  # HomeEfsFileSystemCreation Disabled
            return
        root = efs.file_system_path(domain.home_efs_file_system_id)
        if not root.is_dir():
            LOG.warning("domain %s has no EFS directory; no home for %s", domain.id, owner.name)
            return
        home = root / str(owner.uid)
        if not home.exists():
            home.mkdir()
            posix.forget(home)
            posix.set_owner(home, owner.uid, HOME_GID)
            posix.set_mode(home, HOME_MODE)
        owner.home_created = True

    def app(self, params: dict[str, Any]) -> StudioApp:
        owner = self._app_owner(params)
        key = (
            owner.domain_id,
            owner.kind,
            owner.name,
            params.get("AppType", ""),
            params.get("AppName", ""),
        )
        found = self.studio_apps.get(key)
        if found is None:
            raise ResourceNotFound(
                message=f"App with name {params.get('AppName')} and type "
                f"{params.get('AppType')} does not exist for {owner.label.lower()} "
                f"{owner.name}."
            )
        return found

    def delete_app(self, params: dict[str, Any]) -> None:
        with self.lock:
            found = self.app(params)
            if found.app_id is not None and found.status == "Deleting":
                raise ResourceInUseException(message=f"App {found.arn} is already Deleting.")
            if found.status not in ACTIVE_APP_STATUSES:
                raise ResourceNotFound(
                    message=f"App {found.arn} does not exist or is already {found.status}."
                )
            if found.app_id is None:
                found.status = "Deleted"
                return
            # the shutdown path: Deleting, SIGTERM to every process, SIGKILL, Deleted
            found.status = "Deleting"
            apps.runtime.stop(found.app_id, self._status_setter(found))

    def list_studio_apps(self, params: dict[str, Any]) -> list[StudioApp]:
        domain_id = params.get("DomainIdEquals")
        user = params.get("UserProfileNameEquals")
        space = params.get("SpaceNameEquals")
        found = [
            a
            for a in self.studio_apps.values()
            if (not domain_id or a.domain_id == domain_id)
            and (not user or (a.owner.kind == "user" and a.owner.name == user))
            and (not space or (a.owner.kind == "space" and a.owner.name == space))
        ]
        found.sort(
            key=lambda a: a.creation_time.isoformat(),
            reverse=params.get("SortOrder", "Descending") == "Descending",
        )
        return found

    # ---- Studio lifecycle configurations

    def create_lifecycle_config(self, params: dict[str, Any]) -> lifecycle.StudioLifecycleConfig:
        with self.lock:
            name = validate_name(
                params.get("StudioLifecycleConfigName"), "studioLifecycleConfigName"
            )
            content = lifecycle.validate_content(params.get("StudioLifecycleConfigContent"))
            app_type = lifecycle.validate_app_type(params.get("StudioLifecycleConfigAppType"))
            if name in self.lifecycle_configs:
                raise ResourceInUseException(
                    message=f"Studio lifecycle config {name} already exists."
                )
            config = lifecycle.StudioLifecycleConfig(
                name=name,
                arn=arn_formatter(
                    "studio-lifecycle-config", name, self.account_id, self.region_name
                ),
                app_type=app_type,
                content=content,
                tags=list(params.get("Tags") or []),
            )
            self.lifecycle_configs[name] = config
            return config

    def lifecycle_config(self, name: str) -> lifecycle.StudioLifecycleConfig:
        found = self.lifecycle_configs.get(name)
        if found is None:
            raise ResourceNotFound(message=f"Studio lifecycle config {name} does not exist.")
        return found

    def list_lifecycle_configs(
        self, params: dict[str, Any]
    ) -> list[lifecycle.StudioLifecycleConfig]:
        contains = params.get("NameContains")
        app_type = params.get("AppTypeEquals")
        found = [
            c
            for c in self.lifecycle_configs.values()
            if (not contains or contains in c.name) and (not app_type or c.app_type == app_type)
        ]
        by_name = params.get("SortBy") == "Name"
        found.sort(
            key=lambda c: c.name if by_name else c.creation_time.isoformat(),
            reverse=params.get("SortOrder", "Descending") == "Descending",
        )
        return found

    def delete_lifecycle_config(self, name: str) -> None:
        """Refused while attached to a domain, profile or space, or used by a running app
        ("there must be no running apps using the Lifecycle Configuration. You must also
        remove the Lifecycle Configuration from UserSettings in all Domains and
        UserProfiles", DeleteStudioLifecycleConfig)."""
        with self.lock:
            config = self.lifecycle_config(name)
            users = [
                f"domain {d.id}"
                for d in self.domains.values()
                if config.arn
                in {
                    *lifecycle.referenced_arns(d.default_user_settings),
                    *lifecycle.referenced_arns(d.default_space_settings),
                }
            ]
            users += [
                f"{h.label.lower()} {h.name}"
                for h in self.homes.values()
                if config.arn in set(lifecycle.referenced_arns(h.settings))
            ]
            users += [
                f"app {a.arn}"
                for a in self.studio_apps.values()
                if a.status in ACTIVE_APP_STATUSES
                and config.arn == (a.resource_spec or {}).get("LifecycleConfigArn")
            ]
            if users:
                raise ResourceInUseException(
                    message=f"Studio lifecycle config {name} is in use by "
                    f"{', '.join(users)}. Detach it first."
                )
            del self.lifecycle_configs[name]

    # ---- tags on the new resources

    def _get_resource_from_arn(self, arn: str) -> Any:
        resource = arn.split(":", 5)[-1]
        kind, _, rest = resource.partition("/")
        if kind in ("user-profile", "space"):
            domain_id, _, name = rest.partition("/")
            return self.home("user" if kind == "user-profile" else "space", domain_id, name)
        if kind == "app":
            for app in self.studio_apps.values():
                if app.arn == arn:
                    return app
            raise ResourceNotFound(message=f"App {arn} does not exist.")
        if kind == "studio-lifecycle-config":
            return self.lifecycle_config(rest)
        if kind == "domain":
            domain = self._domain(rest)
            domain.tags = list(domain.tags or [])
            return domain
        return super()._get_resource_from_arn(arn)


def _settle(domain: Any) -> None:
    """A Pending domain becomes InService once its Pending time is over."""
    ready_at = getattr(domain, "sandbox_in_service_at", None)
    if domain.status == "Pending" and ready_at is not None and time.monotonic() >= ready_at:
        domain.status = "InService"
