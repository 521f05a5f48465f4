"""SageMaker Studio in the sandbox: the backend of domains, user profiles, spaces and apps.

See :mod:`studio_sandbox.sagemaker` for what it adds to moto; :mod:`.responses` serves it.
"""

from __future__ import annotations

import logging
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
from studio_sandbox.sagemaker.models import (
    ACTIVE_APP_STATUSES,
    APP_TYPES,
    FIRST_UID,
    HOME_EFS_CREATION_VALUES,
    HOME_GID,
    HOME_MODE,
    RETENTION_VALUES,
    StudioApp,
    StudioHome,
    timing,
    validate_name,
)

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
        self.homes[key] = home
        return home

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
            home.settings = {**(home.settings or {}), **settings}
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
        self._ensure_home_directory(owner)
        self.studio_apps[self._app_key(app)] = app
        return app

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
        found = self.app(params)
        if found.status not in ACTIVE_APP_STATUSES:
            raise ResourceNotFound(
                message=f"App {found.arn} does not exist or is already {found.status}."
            )
        found.status = "Deleted"

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
