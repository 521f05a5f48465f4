"""The sandbox's EFS extension: file systems are directories, access points enforce POSIX users."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from studio_sandbox import efs, posix
from studio_sandbox.server import state

REGION = "us-east-1"
ACCOUNT = "123456789012"
SESSION = boto3.Session(
    aws_access_key_id="testing", aws_secret_access_key="testing", region_name=REGION
)


@dataclass
class Volume:
    client: Any
    ec2: Any
    fs_id: str
    subnet_id: str
    vpc_id: str

    @property
    def root(self) -> Path:
        return state.efs_root(self.fs_id)

    def access_point(self, uid: int, path: str, *, creation: bool = True) -> str:
        root: dict[str, Any] = {"Path": path}
        if creation:
            root["CreationInfo"] = {
                "OwnerUid": uid,
                "OwnerGid": 100,
                "Permissions": "0700",
            }
        reply = self.client.create_access_point(
            FileSystemId=self.fs_id,
            PosixUser={"Uid": uid, "Gid": 100},
            RootDirectory=root,
        )
        access_point_id: str = reply["AccessPointId"]
        return access_point_id


@pytest.fixture
def volume(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Volume]:
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(key, "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("MOTO_EC2_LOAD_DEFAULT_AMIS", "false")
    previous = state.settings().data_dir
    state.configure(data_dir=tmp_path / "data")
    efs.patch()
    try:
        with mock_aws():
            ec2 = SESSION.client("ec2")
            vpc_id = ec2.create_vpc(CidrBlock="10.30.0.0/16")["Vpc"]["VpcId"]
            subnet_id = ec2.create_subnet(
                VpcId=vpc_id, CidrBlock="10.30.1.0/24", AvailabilityZone="us-east-1a"
            )["Subnet"]["SubnetId"]
            client = SESSION.client("efs")
            fs_id = client.create_file_system(CreationToken="home")["FileSystemId"]
            yield Volume(client, ec2, fs_id, subnet_id, vpc_id)
    finally:
        efs.unpatch()
        state.configure(data_dir=previous)


@pytest.fixture
def sidecar_mode(monkeypatch: pytest.MonkeyPatch) -> None:
    """Record ownership in the sidecar, as when the sandbox does not run as root."""
    monkeypatch.setattr(posix, "use_real_ownership", False)


def _code(info: pytest.ExceptionInfo[ClientError]) -> str:
    code: str = info.value.response["Error"]["Code"]
    return code


# ---- file systems


def test_file_system_is_a_directory_for_its_lifetime(volume: Volume) -> None:
    assert volume.root.is_dir()
    assert volume.root == state.settings().data_dir / "efs" / volume.fs_id
    (volume.root / "data.txt").write_text("x")

    volume.client.delete_file_system(FileSystemId=volume.fs_id)

    assert not volume.root.exists()


def test_file_system_with_a_mount_target_cannot_be_deleted(volume: Volume) -> None:
    volume.client.create_mount_target(FileSystemId=volume.fs_id, SubnetId=volume.subnet_id)
    (volume.root / "data.txt").write_text("x")

    with pytest.raises(ClientError) as info:
        volume.client.delete_file_system(FileSystemId=volume.fs_id)

    assert _code(info) == "FileSystemInUse"
    assert (volume.root / "data.txt").read_text() == "x"


def test_mount_targets_live_in_sandbox_subnets(volume: Volume) -> None:
    group = volume.ec2.create_security_group(
        GroupName="nfs", Description="nfs", VpcId=volume.vpc_id
    )["GroupId"]

    created = volume.client.create_mount_target(
        FileSystemId=volume.fs_id, SubnetId=volume.subnet_id, SecurityGroups=[group]
    )

    described = volume.client.describe_mount_targets(FileSystemId=volume.fs_id)["MountTargets"]
    assert [mt["MountTargetId"] for mt in described] == [created["MountTargetId"]]
    assert described[0]["VpcId"] == volume.vpc_id
    assert described[0]["AvailabilityZoneName"] == "us-east-1a"
    groups = volume.client.describe_mount_target_security_groups(
        MountTargetId=created["MountTargetId"]
    )["SecurityGroups"]
    assert groups == [group]


def test_mount_target_in_unknown_subnet_is_refused(volume: Volume) -> None:
    with pytest.raises(ClientError) as info:
        volume.client.create_mount_target(
            FileSystemId=volume.fs_id, SubnetId="subnet-0123456789abcdef0"
        )
    assert _code(info) == "SubnetNotFound"


# ---- access points


def test_access_point_keeps_posix_user_and_creation_info(volume: Volume) -> None:
    access_point_id = volume.access_point(200005, "/200005")

    described = volume.client.describe_access_points(AccessPointId=access_point_id)
    access_point = described["AccessPoints"][0]

    assert access_point["FileSystemId"] == volume.fs_id
    assert access_point["PosixUser"] == {"Uid": 200005, "Gid": 100}
    assert access_point["RootDirectory"] == {
        "Path": "/200005",
        "CreationInfo": {"OwnerUid": 200005, "OwnerGid": 100, "Permissions": "0700"},
    }
    by_fs = volume.client.describe_access_points(FileSystemId=volume.fs_id)["AccessPoints"]
    assert [ap["AccessPointId"] for ap in by_fs] == [access_point_id]


def test_access_point_on_unknown_file_system_is_refused(volume: Volume) -> None:
    with pytest.raises(ClientError) as info:
        volume.client.create_access_point(FileSystemId="fs-missing", PosixUser={"Uid": 1, "Gid": 1})
    assert _code(info) == "FileSystemNotFound"


@pytest.mark.parametrize(
    ("posix_user", "root"),
    [
        ({"Uid": 1, "Gid": 100}, {"Path": "/a/../b"}),
        ({"Uid": 1, "Gid": 100}, {"Path": "relative"}),
        (
            {"Uid": 1, "Gid": 100},
            {
                "Path": "/x",
                "CreationInfo": {"OwnerUid": 1, "OwnerGid": 1, "Permissions": "999"},
            },
        ),
    ],
)
def test_bad_access_point_settings_are_bad_requests(
    volume: Volume, posix_user: dict[str, int], root: dict[str, Any]
) -> None:
    with pytest.raises(ClientError) as info:
        volume.client.create_access_point(
            FileSystemId=volume.fs_id, PosixUser=posix_user, RootDirectory=root
        )
    assert _code(info) == "BadRequest"


def test_deleting_an_unknown_access_point_is_not_found(volume: Volume) -> None:
    access_point_id = volume.access_point(200005, "/200005")
    volume.client.delete_access_point(AccessPointId=access_point_id)

    with pytest.raises(ClientError) as info:
        volume.client.delete_access_point(AccessPointId=access_point_id)

    assert _code(info) == "AccessPointNotFound"


def test_writing_through_an_access_point_applies_its_identity(volume: Volume) -> None:
    access_point_id = volume.access_point(200005, "/200005")

    written = efs.write_through_access_point(
        access_point_id,
        "notes/today.txt",
        b"hello",
        0o600,
        account_id=ACCOUNT,
        region=REGION,
    )

    home = volume.root / "200005"
    assert written == home / "notes" / "today.txt"
    assert written.read_bytes() == b"hello"
    assert posix.stat_owner(home) == (200005, 100)
    assert posix.stat_mode(home) == 0o700
    assert posix.stat_owner(home / "notes") == (200005, 100)
    assert posix.stat_owner(written) == (200005, 100)
    assert posix.stat_mode(written) == 0o600


def test_existing_root_is_not_changed_by_creation_info(volume: Volume) -> None:
    home = volume.root / "200005"
    home.mkdir()
    posix.set_owner(home, 200005, 100)
    posix.set_mode(home, 0o750)
    access_point_id = volume.access_point(200005, "/200005")

    efs.write_through_access_point(
        access_point_id, "a.txt", b"a", account_id=ACCOUNT, region=REGION
    )

    assert posix.stat_mode(home) == 0o750


def test_missing_root_without_creation_info_fails_the_mount(volume: Volume) -> None:
    access_point_id = volume.access_point(200005, "/200005", creation=False)

    with pytest.raises(efs.AccessPointMountError, match="does not exist"):
        efs.mount_access_point(access_point_id, account_id=ACCOUNT, region=REGION)


def test_access_point_user_cannot_write_into_someone_elses_home(volume: Volume) -> None:
    other = volume.root / "200001"
    other.mkdir()
    posix.set_owner(other, 200001, 100)
    posix.set_mode(other, 0o700)
    access_point_id = volume.access_point(200005, "/", creation=False)

    with pytest.raises(PermissionError):
        efs.write_through_access_point(
            access_point_id,
            "200001/stolen.txt",
            b"x",
            account_id=ACCOUNT,
            region=REGION,
        )
    assert not (other / "stolen.txt").exists()


def test_paths_cannot_escape_the_access_point_root(volume: Volume) -> None:
    access_point_id = volume.access_point(200005, "/200005")
    with pytest.raises(ValueError, match="escapes"):
        efs.write_through_access_point(
            access_point_id, "../200001/x", b"x", account_id=ACCOUNT, region=REGION
        )


def test_deleting_the_file_system_removes_its_access_points(volume: Volume) -> None:
    volume.access_point(200005, "/200005")
    volume.client.delete_file_system(FileSystemId=volume.fs_id)
    assert volume.client.describe_access_points()["AccessPoints"] == []


# ---- ownership without root: the sidecar store


@pytest.mark.usefixtures("sidecar_mode")
def test_sidecar_records_owner_and_mode_when_not_root(volume: Volume) -> None:
    access_point_id = volume.access_point(200005, "/200005")

    written = efs.write_through_access_point(
        access_point_id, "secret.txt", b"s", 0o400, account_id=ACCOUNT, region=REGION
    )

    assert posix.stat_owner(written) == (200005, 100)
    assert posix.stat_mode(written) == 0o400
    assert os.access(written, os.R_OK)  # still readable by the sandbox itself
    sidecar = volume.root / posix.SIDECAR
    assert '"/200005/secret.txt"' in sidecar.read_text()
    assert posix.is_sidecar(sidecar)


@pytest.mark.usefixtures("sidecar_mode")
def test_sidecar_forgets_deleted_trees(volume: Volume) -> None:
    tree = volume.root / "tree"
    (tree / "sub").mkdir(parents=True)
    (tree / "sub" / "f").write_text("f")
    posix.set_owner(tree / "sub" / "f", 42, 43)
    assert posix.stat_owner(tree / "sub" / "f") == (42, 43)

    posix.forget(tree)

    info = os.lstat(tree / "sub" / "f")
    assert posix.stat_owner(tree / "sub" / "f") == (info.st_uid, info.st_gid)


@pytest.mark.usefixtures("sidecar_mode")
def test_sidecar_batch_writes_once_at_the_end(volume: Volume) -> None:
    files = [volume.root / f"f{i}" for i in range(3)]
    sidecar = volume.root / posix.SIDECAR
    with posix.batch():
        for i, path in enumerate(files):
            path.write_text("x")
            posix.set_owner(path, 1000 + i, 100)
        assert "/f0" not in sidecar.read_text()
    assert [posix.stat_owner(p) for p in files] == [
        (1000, 100),
        (1001, 100),
        (1002, 100),
    ]
    assert '"/f2"' in sidecar.read_text()


def _life_cycle(volume: Volume, access_point_id: str) -> str:
    reply = volume.client.describe_access_points(AccessPointId=access_point_id)
    return str(reply["AccessPoints"][0]["LifeCycleState"])


def test_access_point_is_available_at_once_by_default(volume: Volume) -> None:
    access_point_id = volume.access_point(200010, "/200010")
    assert _life_cycle(volume, access_point_id) == "available"


def test_access_point_that_stays_creating_cannot_be_mounted(volume: Volume) -> None:
    efs.faults.access_point_creating_seconds = float("inf")
    try:
        access_point_id = volume.access_point(200011, "/200011")
    finally:
        efs.reset_faults()
    assert _life_cycle(volume, access_point_id) == "creating"
    with pytest.raises(efs.AccessPointMountError, match="creating"):
        efs.write_through_access_point(
            access_point_id, "a.txt", b"x", account_id=ACCOUNT, region=REGION
        )
    assert not (volume.root / "200011").exists()


def test_access_point_becomes_available_after_its_delay(volume: Volume) -> None:
    efs.faults.access_point_creating_seconds = 0.3
    try:
        access_point_id = volume.access_point(200012, "/200012")
    finally:
        efs.reset_faults()
    assert _life_cycle(volume, access_point_id) == "creating"
    deadline = time.monotonic() + 5
    while _life_cycle(volume, access_point_id) != "available":
        assert time.monotonic() < deadline, "access point never became available"
        time.sleep(0.05)
    efs.write_through_access_point(
        access_point_id, "a.txt", b"x", account_id=ACCOUNT, region=REGION
    )
    assert (volume.root / "200012" / "a.txt").read_bytes() == b"x"
