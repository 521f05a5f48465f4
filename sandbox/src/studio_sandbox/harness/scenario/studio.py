"""Studio through the SageMaker API: domains, profiles and spaces, and their homes on EFS."""

from __future__ import annotations

import json
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3

from studio_sandbox.harness.scenario.base import Kind, ScenarioError
from studio_sandbox.server import state

# --------------------------------------------------------------------------- Studio


@dataclass(frozen=True)
class Home:
    """One profile's or space's home directory on the sandbox EFS."""

    domain_id: str
    kind: Kind
    name: str
    efs_id: str
    uid: int

    @property
    def path(self) -> Path:
        return state.efs_root(self.efs_id) / str(self.uid)


class Studio:
    """SageMaker Studio on the sandbox, through the real SageMaker API."""

    def __init__(self, endpoint: str, vpc_id: str, subnet_ids: list[str]) -> None:
        # Typed as Any: the stubs' literal types add nothing to a scenario driver.
        self.sagemaker: Any = boto3.client("sagemaker", endpoint_url=endpoint)
        self.endpoint = endpoint.rstrip("/")
        self.vpc_id = vpc_id
        self.subnet_ids = subnet_ids

    def create_domain(self, name: str) -> str:
        reply = self.sagemaker.create_domain(
            DomainName=name,
            AuthMode="IAM",
            DefaultUserSettings={
                "ExecutionRole": "arn:aws:iam::123456789012:role/studio-execution"
            },
            SubnetIds=self.subnet_ids,
            VpcId=self.vpc_id,
            AppNetworkAccessType="VpcOnly",
        )
        return self.wait_in_service(str(reply["DomainId"]))

    def wait_in_service(self, domain_id: str, timeout: float = 30.0) -> str:
        """Wait until a new domain leaves Pending, as an admin does before using it."""
        deadline = time.monotonic() + timeout
        while True:
            status = self.sagemaker.describe_domain(DomainId=domain_id)["Status"]
            if status == "InService":
                return domain_id
            if time.monotonic() > deadline:
                raise ScenarioError(f"domain {domain_id} still {status} after {timeout} s")
            time.sleep(0.05)

    def delete_domain(self, domain_id: str, *, retain: bool) -> None:
        policy = "Retain" if retain else "Delete"
        self.sagemaker.delete_domain(
            DomainId=domain_id, RetentionPolicy={"HomeEfsFileSystem": policy}
        )

    def domain_efs(self, domain_id: str) -> str:
        return str(self.sagemaker.describe_domain(DomainId=domain_id)["HomeEfsFileSystemId"])

    def create(self, domain_id: str, kind: Kind, name: str) -> None:
        if kind == "user":
            self.sagemaker.create_user_profile(DomainId=domain_id, UserProfileName=name)
        else:
            self.sagemaker.create_space(DomainId=domain_id, SpaceName=name)

    def describe(self, domain_id: str, kind: Kind, name: str) -> Home:
        if kind == "user":
            reply = self.sagemaker.describe_user_profile(DomainId=domain_id, UserProfileName=name)
        else:
            reply = self.sagemaker.describe_space(DomainId=domain_id, SpaceName=name)
        return Home(
            domain_id=domain_id,
            kind=kind,
            name=name,
            efs_id=self.domain_efs(domain_id),
            uid=int(reply["HomeEfsFileSystemUid"]),
        )

    def open_app(self, domain_id: str, kind: Kind, name: str) -> Home:
        """Open Studio (create the first app): SageMaker creates the home directory."""
        owner = {"UserProfileName": name} if kind == "user" else {"SpaceName": name}
        app_type = "JupyterServer" if kind == "user" else "JupyterLab"
        self.sagemaker.create_app(DomainId=domain_id, AppType=app_type, AppName="default", **owner)
        home = self.describe(domain_id, kind, name)
        deadline = time.monotonic() + 10
        while not home.path.is_dir():
            if time.monotonic() > deadline:
                raise ScenarioError(f"{kind} {name}: home {home.path} did not appear")
            time.sleep(0.1)
        return home

    # ---- spaces with EBS homes and apps that run their lifecycle scripts

    def space_home(self, domain_id: str, space_name: str) -> Path:
        """The directory standing in for the space's EBS volume (`/home/sagemaker-user`)."""
        return Path(str(self._space_volume(domain_id, space_name)["path"]))

    def app_directory(self, domain_id: str, space_name: str, app_type: str) -> Path:
        """The app's own directory: `lifecycle.log` (the LCC output) and `root/` (the
        emulated `/`, with `opt/ml/metadata/resource-metadata.json`)."""
        apps = self._space_volume(domain_id, space_name)["apps"]
        found = apps.get(f"{app_type}/default") or {}
        if not found.get("directory"):
            raise ScenarioError(f"space {space_name} has no running {app_type} app")
        return Path(str(found["directory"]))

    def _space_volume(self, domain_id: str, space_name: str) -> dict[str, Any]:
        url = f"{self.endpoint}/_sandbox/spaces/{domain_id}/{space_name}"
        with urllib.request.urlopen(url, timeout=10) as reply:  # noqa: S310 - the sandbox
            found: dict[str, Any] = json.load(reply)
        return found

    def start_app(
        self,
        domain_id: str,
        space_name: str,
        app_type: str = "JupyterLab",
        *,
        lifecycle_config_arn: str | None = None,
        wait: bool = True,
        timeout: float = 360.0,
    ) -> str:
        """CreateApp for a space (as opening it in Studio does); with `wait`, wait until it
        leaves Pending. Returns the final status (InService, or Failed)."""
        spec = {"LifecycleConfigArn": lifecycle_config_arn} if lifecycle_config_arn else None
        self.sagemaker.create_app(
            DomainId=domain_id,
            SpaceName=space_name,
            AppType=app_type,
            AppName="default",
            **({"ResourceSpec": spec} if spec else {}),
        )
        if not wait:
            return "Pending"
        return self.wait_app(domain_id, space_name, app_type, ("InService", "Failed"), timeout)

    def stop_app(
        self, domain_id: str, space_name: str, app_type: str = "JupyterLab", *, wait: bool = True
    ) -> str:
        """DeleteApp (the shutdown path: SIGTERM, grace period, SIGKILL); with `wait`, wait
        until it is Deleted."""
        self.sagemaker.delete_app(
            DomainId=domain_id, SpaceName=space_name, AppType=app_type, AppName="default"
        )
        if not wait:
            return "Deleting"
        return self.wait_app(domain_id, space_name, app_type, ("Deleted",), 120.0)

    def wait_app(
        self,
        domain_id: str,
        space_name: str,
        app_type: str,
        statuses: tuple[str, ...],
        timeout: float,
    ) -> str:
        """Poll DescribeApp until its status is one of `statuses`."""
        deadline = time.monotonic() + timeout
        while True:
            reply = self.sagemaker.describe_app(
                DomainId=domain_id, SpaceName=space_name, AppType=app_type, AppName="default"
            )
            if reply["Status"] in statuses:
                return str(reply["Status"])
            if time.monotonic() > deadline:
                raise ScenarioError(
                    f"app {app_type} of {space_name} still {reply['Status']} after {timeout} s"
                )
            time.sleep(0.1)

    def delete(self, domain_id: str, kind: Kind, name: str) -> None:
        """Delete the apps (every page of ListApps), then the profile or space, as an admin must."""
        key = "UserProfileName" if kind == "user" else "SpaceName"
        filters = {"DomainIdEquals": domain_id, f"{key}Equals": name}
        for page in self.sagemaker.get_paginator("list_apps").paginate(**filters):
            for app in page.get("Apps", []):
                if app.get(key) != name or app.get("Status") in ("Deleted", "Failed"):
                    continue
                if app.get("Status") != "Deleting":
                    self.sagemaker.delete_app(
                        DomainId=domain_id,
                        AppType=app["AppType"],
                        AppName=app["AppName"],
                        **{key: name},
                    )
                if kind == "space":  # an app that runs for real stops in the background
                    self.wait_app(domain_id, name, app["AppType"], ("Deleted", "Failed"), 120.0)
        if kind == "user":
            self.sagemaker.delete_user_profile(DomainId=domain_id, UserProfileName=name)
        else:
            self.sagemaker.delete_space(DomainId=domain_id, SpaceName=name)


def create_sso_domain(studio: Studio, name: str) -> str:
    """An IAM Identity Center (SSO) domain: its profiles carry a SingleSignOnUserValue."""
    reply = studio.sagemaker.create_domain(
        DomainName=name,
        AuthMode="SSO",
        DefaultUserSettings={"ExecutionRole": "arn:aws:iam::123456789012:role/studio-execution"},
        SubnetIds=studio.subnet_ids,
        VpcId=studio.vpc_id,
        AppNetworkAccessType="VpcOnly",
    )
    return studio.wait_in_service(str(reply["DomainId"]))


def create_sso_user(studio: Studio, domain_id: str, name: str, sso_user: str) -> None:
    """A user profile of an SSO domain, bound to the Identity Center user `sso_user`."""
    studio.sagemaker.create_user_profile(
        DomainId=domain_id,
        UserProfileName=name,
        SingleSignOnUserIdentifier="UserName",
        SingleSignOnUserValue=sso_user,
    )
