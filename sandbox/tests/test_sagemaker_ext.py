"""The sandbox's SageMaker Studio extension behaves as the SageMaker API reference says."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from studio_sandbox import efs, posix
from studio_sandbox.datasync import responses as datasync_responses
from studio_sandbox.eventbridge import cloudtrail
from studio_sandbox.sagemaker import models as sagemaker_models
from studio_sandbox.sagemaker import responses as sagemaker_responses
from studio_sandbox.server import state

REGION = "us-east-1"
ROLE = "arn:aws:iam::123456789012:role/StudioExecution"
# One botocore session for the module: it caches the (large) service models.
SESSION = boto3.Session(
    aws_access_key_id="testing", aws_secret_access_key="testing", region_name=REGION
)


@dataclass
class Studio:
    sm: Any
    efs: Any
    ec2: Any
    vpc_id: str
    subnet_ids: list[str]
    events: list[tuple[str, dict[str, Any], dict[str, Any] | None]] = field(default_factory=list)

    def domain(self, name: str = "demo", auth: str = "IAM") -> tuple[str, str]:
        """Create a domain; returns (domain id, home EFS id)."""
        reply = self.sm.create_domain(
            DomainName=name,
            AuthMode=auth,
            DefaultUserSettings={"ExecutionRole": ROLE},
            SubnetIds=self.subnet_ids,
            VpcId=self.vpc_id,
        )
        fs_id = self.sm.describe_domain(DomainId=reply["DomainId"])["HomeEfsFileSystemId"]
        return reply["DomainId"], fs_id

    def open_app(
        self, domain_id: str, *, user: str | None = None, space: str | None = None
    ) -> None:
        owner = {"UserProfileName": user} if user else {"SpaceName": space}
        app_type = "JupyterServer" if user else "JupyterLab"
        self.sm.create_app(DomainId=domain_id, AppType=app_type, AppName="default", **owner)

    def event(self, name: str) -> tuple[dict[str, Any], dict[str, Any] | None]:
        found = [(req, resp) for event, req, resp in self.events if event == name]
        assert len(found) == 1, f"expected one {name} event, got {len(found)}"
        return found[0]


@pytest.fixture
def studio(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Studio]:
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(key, "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("MOTO_EC2_LOAD_DEFAULT_AMIS", "false")
    previous = state.settings().data_dir
    state.configure(data_dir=tmp_path / "data")
    sagemaker_responses.patch()
    datasync_responses.patch()
    events: list[tuple[str, dict[str, Any], dict[str, Any] | None]] = []

    def collect(
        name: str,
        request: dict[str, Any],
        response: dict[str, Any] | None,
        *,
        region: str,
        account_id: str,
    ) -> None:
        assert region == REGION
        assert account_id == "123456789012"
        events.append((name, request, response))

    monkeypatch.setattr(cloudtrail, "emit_api_call", collect)
    # domains are InService at once here; the Pending tests set a time
    monkeypatch.setattr(sagemaker_models.timing, "pending_seconds", 0.0)
    try:
        with mock_aws():
            ec2 = SESSION.client("ec2")
            vpc_id = ec2.create_vpc(CidrBlock="10.20.0.0/16")["Vpc"]["VpcId"]
            subnets = [
                ec2.create_subnet(VpcId=vpc_id, CidrBlock=cidr, AvailabilityZone=az)["Subnet"][
                    "SubnetId"
                ]
                for cidr, az in (
                    ("10.20.1.0/24", "us-east-1a"),
                    ("10.20.2.0/24", "us-east-1b"),
                )
            ]
            yield Studio(
                sm=SESSION.client("sagemaker"),
                efs=SESSION.client("efs"),
                ec2=ec2,
                vpc_id=vpc_id,
                subnet_ids=subnets,
                events=events,
            )
    finally:
        sagemaker_responses.unpatch()
        datasync_responses.unpatch()
        state.configure(data_dir=previous)


def _error(info: pytest.ExceptionInfo[ClientError]) -> tuple[str, str]:
    error = info.value.response["Error"]
    return error["Code"], error["Message"]


# ---- domains


def test_create_domain_gives_a_real_efs_with_mount_targets(studio: Studio) -> None:
    reply = studio.sm.create_domain(
        DomainName="demo",
        AuthMode="IAM",
        DefaultUserSettings={"ExecutionRole": ROLE},
        SubnetIds=studio.subnet_ids,
        VpcId=studio.vpc_id,
    )

    domain = studio.sm.describe_domain(DomainId=reply["DomainId"])
    assert reply["DomainId"] == domain["DomainId"]
    assert reply["DomainId"].startswith("d-") and reply["DomainId"] != "d-demo"
    fs_id = domain["HomeEfsFileSystemId"]
    file_systems = studio.efs.describe_file_systems(FileSystemId=fs_id)["FileSystems"]
    assert [fs["FileSystemId"] for fs in file_systems] == [fs_id]
    assert state.efs_root(fs_id).is_dir()
    mount_targets = studio.efs.describe_mount_targets(FileSystemId=fs_id)["MountTargets"]
    assert sorted(mt["SubnetId"] for mt in mount_targets) == sorted(studio.subnet_ids)
    group_ids = studio.efs.describe_mount_target_security_groups(
        MountTargetId=mount_targets[0]["MountTargetId"]
    )["SecurityGroups"]
    group = studio.ec2.describe_security_groups(GroupIds=group_ids)["SecurityGroups"][0]
    assert group["VpcId"] == studio.vpc_id
    assert group["GroupName"] == f"security-group-for-inbound-nfs-{reply['DomainId']}"
    assert any(p.get("FromPort") == 2049 for p in group["IpPermissions"])


def test_new_domain_is_pending_for_a_while_without_a_home_efs_id(
    studio: Studio, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given a domain that stays Pending for 0.3 s
    monkeypatch.setattr(sagemaker_models.timing, "pending_seconds", 0.3)
    domain_id = studio.sm.create_domain(
        DomainName="slow",
        AuthMode="IAM",
        DefaultUserSettings={"ExecutionRole": ROLE},
        SubnetIds=studio.subnet_ids,
        VpcId=studio.vpc_id,
    )["DomainId"]

    # then it is Pending at first, with no volume yet, in DescribeDomain and ListDomains
    pending = studio.sm.describe_domain(DomainId=domain_id)
    assert pending["Status"] == "Pending"
    assert "HomeEfsFileSystemId" not in pending
    assert [d["Status"] for d in studio.sm.list_domains()["Domains"]] == ["Pending"]

    # and InService with its volume afterwards
    time.sleep(0.35)
    ready = studio.sm.describe_domain(DomainId=domain_id)
    assert ready["Status"] == "InService"
    assert ready["HomeEfsFileSystemId"].startswith("fs-")
    assert [d["Status"] for d in studio.sm.list_domains()["Domains"]] == ["InService"]


def test_pending_time_defaults_to_a_short_nonzero_delay() -> None:
    assert 0 < sagemaker_models.DomainTiming().pending_seconds <= 1


def test_domain_without_home_efs_has_no_volume_and_no_home_directories(studio: Studio) -> None:
    # given
    file_systems_before = studio.efs.describe_file_systems()["FileSystems"]

    # when
    domain_id = studio.sm.create_domain(
        DomainName="no-efs",
        AuthMode="IAM",
        DefaultUserSettings={"ExecutionRole": ROLE},
        SubnetIds=studio.subnet_ids,
        VpcId=studio.vpc_id,
        HomeEfsFileSystemCreation="Disabled",
    )["DomainId"]
    studio.sm.create_user_profile(DomainId=domain_id, UserProfileName="user1")
    studio.open_app(domain_id, user="user1")

    # then
    described = studio.sm.describe_domain(DomainId=domain_id)
    assert described["Status"] == "InService"
    assert "HomeEfsFileSystemId" not in described
    assert described["HomeEfsFileSystemCreation"] == "Disabled"
    assert studio.efs.describe_file_systems()["FileSystems"] == file_systems_before
    request, _ = studio.event("CreateDomain")
    assert request["homeEfsFileSystemCreation"] == "Disabled"
    studio.sm.delete_app(
        DomainId=domain_id, UserProfileName="user1", AppType="JupyterServer", AppName="default"
    )
    studio.sm.delete_user_profile(DomainId=domain_id, UserProfileName="user1")
    studio.sm.delete_domain(DomainId=domain_id, RetentionPolicy={"HomeEfsFileSystem": "Delete"})


def test_home_efs_creation_must_be_enabled_or_disabled(studio: Studio) -> None:
    with pytest.raises(ClientError) as caught:
        studio.sm.create_domain(
            DomainName="bad",
            AuthMode="IAM",
            DefaultUserSettings={"ExecutionRole": ROLE},
            SubnetIds=studio.subnet_ids,
            VpcId=studio.vpc_id,
            HomeEfsFileSystemCreation="Maybe",
        )
    assert _error(caught)[0] == "ValidationException"


def test_enabled_domain_reports_its_home_efs_creation(studio: Studio) -> None:
    domain_id, _ = studio.domain()
    assert studio.sm.describe_domain(DomainId=domain_id)["HomeEfsFileSystemCreation"] == "Enabled"


def test_recreated_domain_gets_a_new_id_and_a_new_volume(studio: Studio) -> None:
    first_id, first_fs = studio.domain("demo")
    studio.sm.delete_domain(DomainId=first_id, RetentionPolicy={"HomeEfsFileSystem": "Retain"})

    second_id, second_fs = studio.domain("demo")

    assert second_id != first_id
    assert second_fs != first_fs


def test_duplicate_domain_name_is_refused(studio: Studio) -> None:
    studio.domain("demo")
    with pytest.raises(ClientError) as info:
        studio.domain("demo")
    assert _error(info)[0] == "ResourceInUse"


def test_unknown_domain_is_resource_not_found(studio: Studio) -> None:
    with pytest.raises(ClientError) as info:
        studio.sm.describe_domain(DomainId="d-doesnotexist")
    assert _error(info)[0] == "ResourceNotFound"


def test_domain_tags_can_be_listed_when_none_were_given(studio: Studio) -> None:
    domain_id, _ = studio.domain()
    arn = studio.sm.describe_domain(DomainId=domain_id)["DomainArn"]
    assert studio.sm.list_tags(ResourceArn=arn)["Tags"] == []
    studio.sm.add_tags(ResourceArn=arn, Tags=[{"Key": "team", "Value": "ml"}])
    assert studio.sm.list_tags(ResourceArn=arn)["Tags"] == [{"Key": "team", "Value": "ml"}]


# ---- uids and home directories


def test_uids_are_allocated_per_domain_from_200000_and_never_reused(
    studio: Studio,
) -> None:
    domain_id, _ = studio.domain("demo")
    other_id, _ = studio.domain("other")

    studio.sm.create_user_profile(DomainId=domain_id, UserProfileName="user1")
    studio.sm.create_space(DomainId=domain_id, SpaceName="space1")
    studio.sm.delete_user_profile(DomainId=domain_id, UserProfileName="user1")
    studio.sm.create_user_profile(DomainId=domain_id, UserProfileName="user1")
    studio.sm.create_user_profile(DomainId=other_id, UserProfileName="user1")

    def uid(domain: str, **name: str) -> str:
        if "UserProfileName" in name:
            described = studio.sm.describe_user_profile(DomainId=domain, **name)
        else:
            described = studio.sm.describe_space(DomainId=domain, **name)
        value: str = described["HomeEfsFileSystemUid"]
        return value

    assert uid(domain_id, SpaceName="space1") == "200001"
    assert uid(domain_id, UserProfileName="user1") == "200002"
    assert uid(other_id, UserProfileName="user1") == "200000"


def test_home_directory_appears_with_the_first_app_only(studio: Studio) -> None:
    domain_id, fs_id = studio.domain()
    studio.sm.create_user_profile(DomainId=domain_id, UserProfileName="user1")
    uid = int(
        studio.sm.describe_user_profile(DomainId=domain_id, UserProfileName="user1")[
            "HomeEfsFileSystemUid"
        ]
    )
    home = state.efs_root(fs_id) / str(uid)
    assert not home.exists()

    studio.open_app(domain_id, user="user1")

    assert home.is_dir()
    assert posix.stat_owner(home) == (uid, 100)
    assert posix.stat_mode(home) == 0o700
    (home / "notes.txt").write_text("kept")
    studio.sm.create_app(
        DomainId=domain_id,
        UserProfileName="user1",
        AppType="KernelGateway",
        AppName="k1",
    )
    assert (home / "notes.txt").read_text() == "kept"


def test_space_home_directory_appears_with_its_first_app(studio: Studio) -> None:
    domain_id, fs_id = studio.domain()
    studio.sm.create_space(DomainId=domain_id, SpaceName="space1")
    uid = studio.sm.describe_space(DomainId=domain_id, SpaceName="space1")["HomeEfsFileSystemUid"]

    studio.open_app(domain_id, space="space1")

    home = state.efs_root(fs_id) / uid
    assert posix.stat_owner(home) == (int(uid), 100)


def test_user_and_space_with_the_same_name_are_distinct(studio: Studio) -> None:
    domain_id, _ = studio.domain()
    studio.sm.create_user_profile(DomainId=domain_id, UserProfileName="shared")
    studio.sm.create_space(DomainId=domain_id, SpaceName="shared")
    user = studio.sm.describe_user_profile(DomainId=domain_id, UserProfileName="shared")
    space = studio.sm.describe_space(DomainId=domain_id, SpaceName="shared")
    assert user["HomeEfsFileSystemUid"] != space["HomeEfsFileSystemUid"]
    assert space["SpaceArn"].endswith(f":space/{domain_id}/shared")
    assert user["UserProfileArn"].endswith(f":user-profile/{domain_id}/shared")


# ---- user profiles and spaces: fields and errors


def test_describe_user_profile_fields(studio: Studio) -> None:
    domain_id, _ = studio.domain()
    arn = studio.sm.create_user_profile(
        DomainId=domain_id,
        UserProfileName="user1",
        UserSettings={"ExecutionRole": ROLE},
    )["UserProfileArn"]

    profile = studio.sm.describe_user_profile(DomainId=domain_id, UserProfileName="user1")

    assert profile["UserProfileArn"] == arn
    assert arn == f"arn:aws:sagemaker:{REGION}:123456789012:user-profile/{domain_id}/user1"
    assert profile["DomainId"] == domain_id
    assert profile["Status"] == "InService"
    assert profile["UserSettings"] == {"ExecutionRole": ROLE}
    assert profile["HomeEfsFileSystemUid"].isdigit()
    assert "CreationTime" in profile
    assert "SingleSignOnUserValue" not in profile


def test_update_user_profile_changes_settings(studio: Studio) -> None:
    domain_id, _ = studio.domain()
    studio.sm.create_user_profile(DomainId=domain_id, UserProfileName="user1")
    other = "arn:aws:iam::123456789012:role/Other"

    studio.sm.update_user_profile(
        DomainId=domain_id,
        UserProfileName="user1",
        UserSettings={"ExecutionRole": other},
    )

    profile = studio.sm.describe_user_profile(DomainId=domain_id, UserProfileName="user1")
    assert profile["UserSettings"]["ExecutionRole"] == other


def test_missing_user_profile_is_resource_not_found(studio: Studio) -> None:
    domain_id, _ = studio.domain()
    with pytest.raises(ClientError) as info:
        studio.sm.describe_user_profile(DomainId=domain_id, UserProfileName="ghost")
    code, message = _error(info)
    assert code == "ResourceNotFound"
    assert "User profile ghost does not exist" in message
    with pytest.raises(ClientError) as info:
        studio.sm.delete_space(DomainId=domain_id, SpaceName="ghost")
    assert _error(info)[0] == "ResourceNotFound"


def test_profile_in_unknown_domain_is_resource_not_found(studio: Studio) -> None:
    with pytest.raises(ClientError) as info:
        studio.sm.create_user_profile(DomainId="d-missing00000", UserProfileName="user1")
    assert _error(info)[0] == "ResourceNotFound"


def test_duplicate_profile_is_resource_in_use(studio: Studio) -> None:
    domain_id, _ = studio.domain()
    studio.sm.create_user_profile(DomainId=domain_id, UserProfileName="user1")
    with pytest.raises(ClientError) as info:
        studio.sm.create_user_profile(DomainId=domain_id, UserProfileName="user1")
    assert _error(info)[0] == "ResourceInUse"


@pytest.mark.parametrize("name", ["bad_name", "-start", "end-", "x" * 64, ""])
def test_bad_names_are_validation_errors(studio: Studio, name: str) -> None:
    domain_id, _ = studio.domain()
    with pytest.raises(ClientError) as info:
        studio.sm.create_user_profile(DomainId=domain_id, UserProfileName=name)
    code, message = _error(info)
    assert code == "ValidationException"
    assert "userProfileName" in message
    assert "^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}" in message


def test_sso_domain_requires_and_returns_the_sso_user(studio: Studio) -> None:
    domain_id, _ = studio.domain("sso", auth="SSO")
    with pytest.raises(ClientError) as info:
        studio.sm.create_user_profile(DomainId=domain_id, UserProfileName="user1")
    assert _error(info)[0] == "ValidationException"

    studio.sm.create_user_profile(
        DomainId=domain_id,
        UserProfileName="user1",
        SingleSignOnUserIdentifier="UserName",
        SingleSignOnUserValue="jane@example.com",
    )

    profile = studio.sm.describe_user_profile(DomainId=domain_id, UserProfileName="user1")
    assert profile["SingleSignOnUserIdentifier"] == "UserName"
    assert profile["SingleSignOnUserValue"] == "jane@example.com"


def test_iam_domain_refuses_sso_fields(studio: Studio) -> None:
    domain_id, _ = studio.domain()
    with pytest.raises(ClientError) as info:
        studio.sm.create_user_profile(
            DomainId=domain_id,
            UserProfileName="user1",
            SingleSignOnUserIdentifier="UserName",
            SingleSignOnUserValue="jane",
        )
    assert _error(info)[0] == "ValidationException"


def test_lists_filter_by_domain_and_name(studio: Studio) -> None:
    domain_id, _ = studio.domain("demo")
    other_id, _ = studio.domain("other")
    for name in ("alice", "bob"):
        studio.sm.create_user_profile(DomainId=domain_id, UserProfileName=name)
    studio.sm.create_user_profile(DomainId=other_id, UserProfileName="carol")
    studio.sm.create_space(DomainId=domain_id, SpaceName="team")

    profiles = studio.sm.list_user_profiles(DomainIdEquals=domain_id)["UserProfiles"]
    assert sorted(p["UserProfileName"] for p in profiles) == ["alice", "bob"]
    named = studio.sm.list_user_profiles(UserProfileNameContains="aro")["UserProfiles"]
    assert [(p["UserProfileName"], p["DomainId"]) for p in named] == [("carol", other_id)]
    spaces = studio.sm.list_spaces(DomainIdEquals=domain_id)["Spaces"]
    assert [s["SpaceName"] for s in spaces] == ["team"]
    paged = studio.sm.list_user_profiles(MaxResults=2)
    rest = studio.sm.list_user_profiles(MaxResults=2, NextToken=paged["NextToken"])
    assert len(paged["UserProfiles"]) + len(rest["UserProfiles"]) == 3
    assert "NextToken" not in rest


@pytest.mark.parametrize(
    ("operation", "key"),
    [
        ("list_user_profiles", "UserProfiles"),
        ("list_spaces", "Spaces"),
        ("list_apps", "Apps"),
        ("list_domains", "Domains"),
    ],
)
def test_lists_default_to_pages_of_10(studio: Studio, operation: str, key: str) -> None:
    # given 12 of each: domains, then profiles, spaces and apps in the first domain
    domains = [studio.domain(f"d{i}")[0] for i in range(12)]
    for i in range(12):
        studio.sm.create_user_profile(DomainId=domains[0], UserProfileName=f"user{i}")
        studio.sm.create_space(DomainId=domains[0], SpaceName=f"space{i}")
        studio.open_app(domains[0], user=f"user{i}")

    # when listing without MaxResults
    first = getattr(studio.sm, operation)()
    second = getattr(studio.sm, operation)(NextToken=first["NextToken"])

    # then
    assert len(first[key]) == 10
    assert len(second[key]) == 2
    assert "NextToken" not in second


# ---- apps


def test_apps_lifecycle(studio: Studio) -> None:
    domain_id, _ = studio.domain()
    studio.sm.create_user_profile(DomainId=domain_id, UserProfileName="user1")
    arn = studio.sm.create_app(
        DomainId=domain_id,
        UserProfileName="user1",
        AppType="JupyterServer",
        AppName="default",
    )["AppArn"]
    assert arn.endswith(f":app/{domain_id}/user1/jupyterserver/default")

    apps = studio.sm.list_apps(DomainIdEquals=domain_id, UserProfileNameEquals="user1")["Apps"]
    assert [(a["AppName"], a["Status"]) for a in apps] == [("default", "InService")]
    with pytest.raises(ClientError) as info:
        studio.sm.create_app(
            DomainId=domain_id,
            UserProfileName="user1",
            AppType="JupyterServer",
            AppName="default",
        )
    assert _error(info)[0] == "ResourceInUse"

    studio.sm.delete_app(
        DomainId=domain_id,
        UserProfileName="user1",
        AppType="JupyterServer",
        AppName="default",
    )

    described = studio.sm.describe_app(
        DomainId=domain_id,
        UserProfileName="user1",
        AppType="JupyterServer",
        AppName="default",
    )
    assert described["Status"] == "Deleted"
    assert described["AppArn"] == arn


def test_app_for_missing_profile_is_resource_not_found(studio: Studio) -> None:
    domain_id, _ = studio.domain()
    with pytest.raises(ClientError) as info:
        studio.open_app(domain_id, user="ghost")
    assert _error(info)[0] == "ResourceNotFound"


def test_profile_with_running_app_cannot_be_deleted(studio: Studio) -> None:
    domain_id, _ = studio.domain()
    studio.sm.create_user_profile(DomainId=domain_id, UserProfileName="user1")
    studio.open_app(domain_id, user="user1")

    with pytest.raises(ClientError) as info:
        studio.sm.delete_user_profile(DomainId=domain_id, UserProfileName="user1")
    assert _error(info)[0] == "ResourceInUse"

    studio.sm.delete_app(
        DomainId=domain_id,
        UserProfileName="user1",
        AppType="JupyterServer",
        AppName="default",
    )
    studio.sm.delete_user_profile(DomainId=domain_id, UserProfileName="user1")
    assert studio.sm.list_user_profiles(DomainIdEquals=domain_id)["UserProfiles"] == []


def test_deleted_profile_keeps_its_home_and_recreation_gets_a_new_one(
    studio: Studio,
) -> None:
    domain_id, fs_id = studio.domain()
    studio.sm.create_user_profile(DomainId=domain_id, UserProfileName="user1")
    studio.open_app(domain_id, user="user1")
    studio.sm.delete_app(
        DomainId=domain_id,
        UserProfileName="user1",
        AppType="JupyterServer",
        AppName="default",
    )
    studio.sm.delete_user_profile(DomainId=domain_id, UserProfileName="user1")

    studio.sm.create_user_profile(DomainId=domain_id, UserProfileName="user1")
    studio.open_app(domain_id, user="user1")

    homes = sorted(p.name for p in state.efs_root(fs_id).iterdir() if not posix.is_sidecar(p))
    assert homes == ["200000", "200001"]


# ---- DeleteDomain


def _domain_with_files(studio: Studio) -> tuple[str, str, Path]:
    domain_id, fs_id = studio.domain()
    studio.sm.create_user_profile(DomainId=domain_id, UserProfileName="user1")
    studio.open_app(domain_id, user="user1")
    home = state.efs_root(fs_id) / "200000"
    (home / "work.ipynb").write_text("{}")
    studio.sm.delete_app(
        DomainId=domain_id,
        UserProfileName="user1",
        AppType="JupyterServer",
        AppName="default",
    )
    return domain_id, fs_id, home


def test_delete_domain_refuses_while_profiles_or_spaces_exist(studio: Studio) -> None:
    domain_id, _, _ = _domain_with_files(studio)
    with pytest.raises(ClientError) as info:
        studio.sm.delete_domain(DomainId=domain_id)
    assert _error(info)[0] == "ResourceInUse"

    studio.sm.delete_user_profile(DomainId=domain_id, UserProfileName="user1")
    studio.sm.create_space(DomainId=domain_id, SpaceName="space1")
    with pytest.raises(ClientError) as info:
        studio.sm.delete_domain(DomainId=domain_id)
    assert _error(info)[0] == "ResourceInUse"


def test_delete_domain_with_retain_keeps_the_efs_and_files(studio: Studio) -> None:
    domain_id, fs_id, home = _domain_with_files(studio)
    studio.sm.delete_user_profile(DomainId=domain_id, UserProfileName="user1")

    studio.sm.delete_domain(DomainId=domain_id, RetentionPolicy={"HomeEfsFileSystem": "Retain"})

    assert studio.efs.describe_file_systems(FileSystemId=fs_id)["FileSystems"]
    assert (home / "work.ipynb").read_text() == "{}"
    with pytest.raises(ClientError) as info:
        studio.sm.describe_domain(DomainId=domain_id)
    assert _error(info)[0] == "ResourceNotFound"


def test_delete_domain_defaults_to_retain(studio: Studio) -> None:
    domain_id, fs_id, home = _domain_with_files(studio)
    studio.sm.delete_user_profile(DomainId=domain_id, UserProfileName="user1")

    studio.sm.delete_domain(DomainId=domain_id)

    assert (home / "work.ipynb").exists()
    assert studio.efs.describe_file_systems(FileSystemId=fs_id)["FileSystems"]


def test_delete_domain_with_delete_removes_the_efs_and_files(studio: Studio) -> None:
    domain_id, fs_id, home = _domain_with_files(studio)
    studio.sm.delete_user_profile(DomainId=domain_id, UserProfileName="user1")

    studio.sm.delete_domain(DomainId=domain_id, RetentionPolicy={"HomeEfsFileSystem": "Delete"})

    assert not home.exists()
    assert not state.efs_root(fs_id).exists()
    with pytest.raises(ClientError) as info:
        studio.efs.describe_file_systems(FileSystemId=fs_id)
    assert _error(info)[0] == "FileSystemNotFound"


def test_delete_domain_rejects_an_unknown_retention(studio: Studio) -> None:
    domain_id, _ = studio.domain()
    with pytest.raises(ClientError) as info:
        studio.sm.delete_domain(DomainId=domain_id, RetentionPolicy={"HomeEfsFileSystem": "Keep"})
    assert _error(info)[0] == "ValidationException"


# ---- CloudTrail events


def test_create_and_delete_user_profile_emit_cloudtrail_events(studio: Studio) -> None:
    domain_id, _ = studio.domain()
    arn = studio.sm.create_user_profile(DomainId=domain_id, UserProfileName="user1")[
        "UserProfileArn"
    ]
    studio.sm.delete_user_profile(DomainId=domain_id, UserProfileName="user1")

    request, response = studio.event("CreateUserProfile")
    assert request == {"domainId": domain_id, "userProfileName": "user1"}
    assert response == {"userProfileArn": arn}
    request, response = studio.event("DeleteUserProfile")
    assert request == {"domainId": domain_id, "userProfileName": "user1"}
    assert response is None


def test_user_settings_and_sso_appear_in_the_event_only_when_given(
    studio: Studio,
) -> None:
    domain_id, _ = studio.domain("sso", auth="SSO")
    studio.sm.create_user_profile(
        DomainId=domain_id,
        UserProfileName="user1",
        SingleSignOnUserIdentifier="UserName",
        SingleSignOnUserValue="jane",
        UserSettings={"ExecutionRole": ROLE},
    )

    request, _ = studio.event("CreateUserProfile")
    assert request["userSettings"] == {"executionRole": ROLE}
    assert request["singleSignOnUserValue"] == "jane"
    assert request["singleSignOnUserIdentifier"] == "UserName"


def test_space_and_domain_calls_emit_cloudtrail_events(studio: Studio) -> None:
    domain_id, _ = studio.domain()
    space_arn = studio.sm.create_space(DomainId=domain_id, SpaceName="space1")["SpaceArn"]
    studio.sm.delete_space(DomainId=domain_id, SpaceName="space1")
    studio.sm.delete_domain(DomainId=domain_id, RetentionPolicy={"HomeEfsFileSystem": "Retain"})

    request, response = studio.event("CreateDomain")
    assert request["domainName"] == "demo"
    assert request["vpcId"] == studio.vpc_id
    domain_arn = f"arn:aws:sagemaker:{REGION}:123456789012:domain/{domain_id}"
    assert response is not None
    assert response["domainArn"] == domain_arn
    assert set(response) == {"domainArn", "url"}
    assert studio.event("CreateSpace") == (
        {"domainId": domain_id, "spaceName": "space1"},
        {"spaceArn": space_arn},
    )
    assert studio.event("DeleteSpace") == (
        {"domainId": domain_id, "spaceName": "space1"},
        None,
    )
    assert studio.event("DeleteDomain") == (
        {"domainId": domain_id, "retentionPolicy": {"homeEfsFileSystem": "Retain"}},
        None,
    )


def test_failed_calls_emit_nothing(studio: Studio) -> None:
    domain_id, _ = studio.domain()
    studio.events.clear()
    with pytest.raises(ClientError):
        studio.sm.delete_user_profile(DomainId=domain_id, UserProfileName="ghost")
    with pytest.raises(ClientError):
        studio.sm.create_user_profile(DomainId=domain_id, UserProfileName="bad_name")
    assert studio.events == []


def test_an_emitter_failure_never_fails_the_call(
    studio: Studio, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*_: Any, **__: Any) -> None:
        raise RuntimeError("event bus down")

    monkeypatch.setattr(cloudtrail, "emit_api_call", broken)
    domain_id, _ = studio.domain()
    reply = studio.sm.create_user_profile(DomainId=domain_id, UserProfileName="user1")
    assert reply["UserProfileArn"].endswith("/user1")


def test_patch_is_idempotent(studio: Studio) -> None:
    domain_id, fs_id = studio.domain()
    sagemaker_responses.patch()
    efs.patch()
    assert studio.sm.describe_domain(DomainId=domain_id)["HomeEfsFileSystemId"] == fs_id
    assert os.path.isdir(state.efs_root(fs_id))


def test_unpatch_gives_sagemaker_back_to_moto(studio: Studio) -> None:
    sagemaker_responses.unpatch()
    try:
        reply = studio.sm.create_domain(
            DomainName="plain",
            AuthMode="IAM",
            DefaultUserSettings={"ExecutionRole": ROLE},
            SubnetIds=studio.subnet_ids,
            VpcId=studio.vpc_id,
        )
        assert reply["DomainArn"].endswith(":domain/d-plain")
        with pytest.raises(NotImplementedError):  # vanilla moto has no user profiles
            studio.sm.create_user_profile(DomainId="d-plain", UserProfileName="user1")
    finally:
        sagemaker_responses.patch()
