"""The sandbox's DataSync extension: EFS locations, tasks, and executions that really copy."""

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
from studio_sandbox.datasync import backend as datasync_backend
from studio_sandbox.datasync import models as datasync_models
from studio_sandbox.datasync import responses as datasync_responses
from studio_sandbox.server import state

REGION = "us-east-1"
ACCOUNT = "123456789012"
SESSION = boto3.Session(
    aws_access_key_id="testing", aws_secret_access_key="testing", region_name=REGION
)
RESTORE_OPTIONS = {
    "OverwriteMode": "NEVER",
    "PreserveDeletedFiles": "PRESERVE",
    "TransferMode": "CHANGED",
    "VerifyMode": "ONLY_FILES_TRANSFERRED",
    "PosixPermissions": "PRESERVE",
    "Uid": "NONE",
    "Gid": "NONE",
}
TEN_MB = 10 * 1024 * 1024


def _arn(service: str, resource: str) -> str:
    return f"arn:aws:{service}:{REGION}:{ACCOUNT}:{resource}"


@dataclass
class DataSyncEnv:
    ds: Any
    efs: Any
    fs_id: str
    other_fs_id: str
    subnet_a: str
    subnet_b: str
    foreign_subnet: str
    group_id: str

    def root(self, fs_id: str | None = None) -> Path:
        return state.efs_root(fs_id or self.fs_id)

    def ec2_config(self, subnet_id: str | None = None) -> dict[str, Any]:
        return {
            "SubnetArn": _arn("ec2", f"subnet/{subnet_id or self.subnet_a}"),
            "SecurityGroupArns": [_arn("ec2", f"security-group/{self.group_id}")],
        }

    def location(
        self,
        subdirectory: str,
        *,
        fs_id: str | None = None,
        access_point_id: str | None = None,
        subnet_id: str | None = None,
    ) -> str:
        params: dict[str, Any] = {
            "EfsFilesystemArn": _arn("elasticfilesystem", f"file-system/{fs_id or self.fs_id}"),
            "Subdirectory": subdirectory,
            "Ec2Config": self.ec2_config(subnet_id),
        }
        if access_point_id:
            params["AccessPointArn"] = _arn("elasticfilesystem", f"access-point/{access_point_id}")
            params["InTransitEncryption"] = "TLS1_2"
            params["FileSystemAccessRoleArn"] = _arn("iam", "role/datasync-efs").replace(
                f":{REGION}:", "::"
            )
        arn: str = self.ds.create_location_efs(**params)["LocationArn"]
        return arn

    def access_point(self, uid: int, gid: int = 100) -> str:
        reply = self.efs.create_access_point(
            FileSystemId=self.fs_id,
            PosixUser={"Uid": uid, "Gid": gid},
            RootDirectory={
                "Path": f"/{uid}",
                "CreationInfo": {
                    "OwnerUid": uid,
                    "OwnerGid": gid,
                    "Permissions": "0700",
                },
            },
        )
        access_point_id: str = reply["AccessPointId"]
        return access_point_id

    def task(self, source: str, destination: str, **options: str) -> str:
        arn: str = self.ds.create_task(
            SourceLocationArn=source,
            DestinationLocationArn=destination,
            Options=options,
        )["TaskArn"]
        return arn

    def run(self, task_arn: str, timeout: float = 30) -> dict[str, Any]:
        execution_arn = self.ds.start_task_execution(TaskArn=task_arn)["TaskExecutionArn"]
        return self.wait(execution_arn, timeout)

    def wait(self, execution_arn: str, timeout: float = 30) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            described: dict[str, Any] = self.ds.describe_task_execution(
                TaskExecutionArn=execution_arn
            )
            if described["Status"] in ("SUCCESS", "ERROR"):
                return described
            time.sleep(0.02)
        raise AssertionError(f"execution {execution_arn} did not finish in {timeout} s")

    def copy(self, source_subdir: str, target_subdir: str, **options: str) -> dict[str, Any]:
        task_arn = self.task(self.location(source_subdir), self.location(target_subdir), **options)
        return self.run(task_arn)


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[DataSyncEnv]:
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(key, "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("MOTO_EC2_LOAD_DEFAULT_AMIS", "false")
    previous = state.settings().data_dir
    state.configure(data_dir=tmp_path / "data")
    datasync_responses.patch()
    datasync_models.reset_faults()
    try:
        with mock_aws():
            ec2 = SESSION.client("ec2")
            vpc = ec2.create_vpc(CidrBlock="10.40.0.0/16")["Vpc"]["VpcId"]
            other_vpc = ec2.create_vpc(CidrBlock="10.50.0.0/16")["Vpc"]["VpcId"]

            def subnet(vpc_id: str, cidr: str, az: str) -> str:
                reply = ec2.create_subnet(VpcId=vpc_id, CidrBlock=cidr, AvailabilityZone=az)
                subnet_id: str = reply["Subnet"]["SubnetId"]
                return subnet_id

            subnet_a = subnet(vpc, "10.40.1.0/24", "us-east-1a")
            subnet_b = subnet(vpc, "10.40.2.0/24", "us-east-1b")
            foreign = subnet(other_vpc, "10.50.1.0/24", "us-east-1a")
            group = ec2.create_security_group(GroupName="ds", Description="ds", VpcId=vpc)
            nfs = ec2.create_security_group(GroupName="nfs", Description="nfs", VpcId=vpc)
            ec2.authorize_security_group_ingress(
                GroupId=nfs["GroupId"],
                IpPermissions=[
                    {
                        "IpProtocol": "tcp",
                        "FromPort": 2049,
                        "ToPort": 2049,
                        "UserIdGroupPairs": [{"GroupId": group["GroupId"]}],
                    }
                ],
            )
            client = SESSION.client("efs")
            file_systems = []
            for token in ("home", "retained"):
                fs_id = client.create_file_system(CreationToken=token)["FileSystemId"]
                client.create_mount_target(
                    FileSystemId=fs_id,
                    SubnetId=subnet_a,
                    SecurityGroups=[nfs["GroupId"]],
                )
                file_systems.append(fs_id)
            yield DataSyncEnv(
                ds=SESSION.client("datasync"),
                efs=client,
                fs_id=file_systems[0],
                other_fs_id=file_systems[1],
                subnet_a=subnet_a,
                subnet_b=subnet_b,
                foreign_subnet=foreign,
                group_id=group["GroupId"],
            )
    finally:
        datasync_models.reset_faults()
        datasync_responses.unpatch()
        state.configure(data_dir=previous)


def _error(info: pytest.ExceptionInfo[ClientError]) -> tuple[str, str]:
    error = info.value.response["Error"]
    return error["Code"], error["Message"]


def _write(
    path: Path, data: bytes, mode: int = 0o644, owner: tuple[int, int] = (200000, 100)
) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    posix.set_mode(path, mode)
    posix.set_owner(path, *owner)


def _home(env: DataSyncEnv, uid: int, fs_id: str | None = None) -> Path:
    home = env.root(fs_id) / str(uid)
    home.mkdir(parents=True, exist_ok=True)
    posix.set_owner(home, uid, 100)
    posix.set_mode(home, 0o700)
    return home


def _studio_tree(home: Path) -> dict[str, bytes]:
    """A home like the demo's: nested dirs, a symlink, an empty file, 10 MB, a 0600 file."""
    files = {
        "notebooks/analysis.ipynb": b'{"cells": []}',
        "notebooks/deep/er/still/data.csv": b"a,b\n1,2\n",
        "empty.txt": b"",
        "big.bin": os.urandom(TEN_MB),
        ".ssh/id_rsa": b"secret key",
    }
    for rel, data in files.items():
        _write(home / rel, data, 0o600 if rel == ".ssh/id_rsa" else 0o644)
    (home / "empty-dir").mkdir()
    posix.set_mode(home / ".ssh", 0o700)
    os.symlink("notebooks/analysis.ipynb", home / "latest")
    return files


# ---- locations


def test_create_and_describe_an_efs_location(env: DataSyncEnv) -> None:
    access_point_id = env.access_point(200005)

    arn = env.location("/", access_point_id=access_point_id)

    described = env.ds.describe_location_efs(LocationArn=arn)
    assert arn.startswith(f"arn:aws:datasync:{REGION}:{ACCOUNT}:location/loc-")
    assert described["LocationUri"] == f"efs://{REGION}.{env.fs_id}/"
    assert described["AccessPointArn"].endswith(f"access-point/{access_point_id}")
    assert described["InTransitEncryption"] == "TLS1_2"
    assert described["Ec2Config"] == env.ec2_config()
    assert described["FileSystemAccessRoleArn"].endswith(":role/datasync-efs")
    plain = env.ds.describe_location_efs(LocationArn=env.location("/200001"))
    assert plain["LocationUri"] == f"efs://{REGION}.{env.fs_id}/200001/"
    assert plain["InTransitEncryption"] == "NONE"


def test_subnet_outside_the_efs_vpc_is_refused(env: DataSyncEnv) -> None:
    with pytest.raises(ClientError) as info:
        env.location("/", subnet_id=env.foreign_subnet)
    code, message = _error(info)
    assert code == "InvalidRequestException"
    # The security group is checked against the subnet's VPC first, as a pair.
    assert "VPC" in message


def test_subnet_in_an_az_without_mount_target_is_refused(env: DataSyncEnv) -> None:
    with pytest.raises(ClientError) as info:
        env.location("/", subnet_id=env.subnet_b)
    code, message = _error(info)
    assert code == "InvalidRequestException"
    assert "no mount target in Availability Zone us-east-1b" in message


def test_mount_target_closed_to_the_location_fails_the_access_test(
    env: DataSyncEnv,
) -> None:
    fs_id = env.efs.create_file_system(CreationToken="closed")["FileSystemId"]
    env.efs.create_mount_target(FileSystemId=fs_id, SubnetId=env.subnet_a)

    with pytest.raises(ClientError) as info:
        env.location("/", fs_id=fs_id)

    code, message = _error(info)
    assert code == "InvalidRequestException"
    assert message.startswith("DataSync location access test failed")
    assert "TCP 2049" in message


def test_access_test_can_be_switched_off(env: DataSyncEnv, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(datasync_backend, "enforce_nfs_rules", False)
    fs_id = env.efs.create_file_system(CreationToken="closed")["FileSystemId"]
    env.efs.create_mount_target(FileSystemId=fs_id, SubnetId=env.subnet_a)

    assert env.location("/", fs_id=fs_id).startswith(f"arn:aws:datasync:{REGION}:")


def test_access_point_requires_tls(env: DataSyncEnv) -> None:
    access_point_id = env.access_point(200005)
    with pytest.raises(ClientError) as info:
        env.ds.create_location_efs(
            EfsFilesystemArn=_arn("elasticfilesystem", f"file-system/{env.fs_id}"),
            Ec2Config=env.ec2_config(),
            AccessPointArn=_arn("elasticfilesystem", f"access-point/{access_point_id}"),
            InTransitEncryption="NONE",
        )
    code, message = _error(info)
    assert code == "InvalidRequestException"
    assert "TLS1_2" in message


def test_unknown_file_system_and_foreign_access_point_are_refused(
    env: DataSyncEnv,
) -> None:
    with pytest.raises(ClientError) as info:
        env.location("/", fs_id="fs-00000000")
    assert "Unable to find EFS file system fs-00000000" in _error(info)[1]
    access_point_id = env.access_point(200005)
    with pytest.raises(ClientError) as info:
        env.location("/", fs_id=env.other_fs_id, access_point_id=access_point_id)
    assert "belongs to file system" in _error(info)[1]


def test_list_and_delete_locations(env: DataSyncEnv) -> None:
    first = env.location("/a")
    second = env.location("/b")

    listed = env.ds.list_locations()["Locations"]
    assert {(loc["LocationArn"], loc["LocationUri"]) for loc in listed} == {
        (first, f"efs://{REGION}.{env.fs_id}/a/"),
        (second, f"efs://{REGION}.{env.fs_id}/b/"),
    }
    env.ds.delete_location(LocationArn=first)
    assert [loc["LocationArn"] for loc in env.ds.list_locations()["Locations"]] == [second]
    with pytest.raises(ClientError) as info:
        env.ds.delete_location(LocationArn=first)
    assert _error(info)[0] == "InvalidRequestException"
    with pytest.raises(ClientError):
        env.ds.describe_location_efs(LocationArn=first)


# ---- tasks


def test_task_between_aws_locations_is_available_at_once_and_starts(env: DataSyncEnv) -> None:
    # AWS: "The task transitions to the AVAILABLE status without waiting for the AWS
    # location to mount"; CREATING is for agent (NFS, SMB) locations only.
    _write(_home(env, 200000) / "a.txt", b"a")
    task_arn = env.task(env.location("/200000"), env.location("/200001"))

    assert env.ds.describe_task(TaskArn=task_arn)["Status"] == "AVAILABLE"
    listed = env.ds.list_tasks()["Tasks"]
    assert [t["Status"] for t in listed if t["TaskArn"] == task_arn] == ["AVAILABLE"]
    execution_arn = env.ds.start_task_execution(TaskArn=task_arn)["TaskExecutionArn"]
    assert execution_arn.startswith(task_arn + "/execution/")


def test_task_options_default_like_aws_and_keep_what_was_set(env: DataSyncEnv) -> None:
    task_arn = env.task(env.location("/a"), env.location("/b"), **RESTORE_OPTIONS)

    described = env.ds.describe_task(TaskArn=task_arn)

    assert described["Status"] == "AVAILABLE"
    options = described["Options"]
    for key, value in RESTORE_OPTIONS.items():
        assert options[key] == value
    assert options["Mtime"] == "PRESERVE"
    assert options["LogLevel"] == "OFF"
    assert [t["TaskArn"] for t in env.ds.list_tasks()["Tasks"]] == [task_arn]


@pytest.mark.parametrize(
    "options",
    [
        {"OverwriteMode": "SOMETIMES"},
        {"PreserveDeletedFiles": "REMOVE", "TransferMode": "ALL"},
    ],
)
def test_invalid_task_options_are_refused(env: DataSyncEnv, options: dict[str, str]) -> None:
    with pytest.raises(ClientError) as info:
        env.task(env.location("/a"), env.location("/b"), **options)
    assert _error(info)[0] == "InvalidRequestException"


def test_task_with_unknown_location_is_refused(env: DataSyncEnv) -> None:
    missing = _arn("datasync", "location/loc-00000000000000000")
    with pytest.raises(ClientError) as info:
        env.task(env.location("/a"), missing)
    assert _error(info)[0] == "InvalidRequestException"


def test_the_101st_task_hits_the_quota(env: DataSyncEnv) -> None:
    source, destination = env.location("/a"), env.location("/b")
    tasks = [env.task(source, destination) for _ in range(datasync_models.TASK_QUOTA)]

    with pytest.raises(ClientError) as info:
        env.task(source, destination)
    code, message = _error(info)
    assert code == "InvalidRequestException"
    assert "maximum number of tasks (100)" in message

    env.ds.delete_task(TaskArn=tasks[0])
    assert env.task(source, destination).startswith(f"arn:aws:datasync:{REGION}:{ACCOUNT}:task/")


def test_update_and_delete_task(env: DataSyncEnv) -> None:
    task_arn = env.task(env.location("/a"), env.location("/b"))
    env.ds.update_task(TaskArn=task_arn, Name="restore", Options={"OverwriteMode": "NEVER"})
    described = env.ds.describe_task(TaskArn=task_arn)
    assert described["Name"] == "restore"
    assert described["Options"]["OverwriteMode"] == "NEVER"

    env.ds.delete_task(TaskArn=task_arn)

    with pytest.raises(ClientError) as info:
        env.ds.describe_task(TaskArn=task_arn)
    assert _error(info)[0] == "InvalidRequestException"


# ---- executions: a full restore


def test_restore_copies_a_studio_home_byte_for_byte(env: DataSyncEnv) -> None:
    files = _studio_tree(_home(env, 200000))
    target = env.root() / "200001"

    result = env.copy("/200000", "/200001", **RESTORE_OPTIONS)

    assert result["Status"] == "SUCCESS", result["Result"]
    for rel, data in files.items():
        assert (target / rel).read_bytes() == data
    assert posix.stat_mode(target / ".ssh/id_rsa") == 0o600
    assert posix.stat_mode(target / ".ssh") == 0o700
    assert posix.stat_mode(target / "notebooks/analysis.ipynb") == 0o644
    assert (target / "latest").is_symlink()
    assert os.readlink(target / "latest") == "notebooks/analysis.ipynb"
    assert (target / "empty-dir").is_dir()
    assert (target / "empty.txt").stat().st_size == 0
    assert not (target / posix.SIDECAR).exists()


def test_execution_counters(env: DataSyncEnv) -> None:
    files = _studio_tree(_home(env, 200000))
    # entries: 5 files + symlink + dirs notebooks, deep, er, still, .ssh, empty-dir
    entries = len(files) + 1 + 6
    total_bytes = sum(len(data) for data in files.values())

    result = env.copy("/200000", "/200001", **RESTORE_OPTIONS)

    assert result["FilesTransferred"] == entries
    assert result["EstimatedFilesToTransfer"] == entries
    assert result["BytesWritten"] == total_bytes
    assert result["BytesTransferred"] == total_bytes
    assert result["EstimatedBytesToTransfer"] == total_bytes
    assert result["FilesVerified"] == entries
    assert result["Result"]["TransferStatus"] == "SUCCESS"
    assert result["Result"]["VerifyStatus"] == "SUCCESS"
    assert result["Result"]["PrepareStatus"] == "SUCCESS"
    assert isinstance(result["Result"]["TotalDuration"], int)
    assert "ErrorCode" not in result["Result"]


def test_status_goes_through_every_phase(env: DataSyncEnv) -> None:
    _write(_home(env, 200000) / "a.txt", b"a")
    datasync_models.faults.phase_delay = 0.15
    task_arn = env.task(env.location("/200000"), env.location("/200001"))
    execution_arn = env.ds.start_task_execution(TaskArn=task_arn)["TaskExecutionArn"]
    seen: list[str] = []
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and (not seen or seen[-1] not in ("SUCCESS", "ERROR")):
        status = env.ds.describe_task_execution(TaskExecutionArn=execution_arn)["Status"]
        if not seen or seen[-1] != status:
            seen.append(status)
        if status == "TRANSFERRING":
            assert env.ds.describe_task(TaskArn=task_arn)["Status"] == "RUNNING"
        time.sleep(0.02)

    expected = ["LAUNCHING", "PREPARING", "TRANSFERRING", "VERIFYING", "SUCCESS"]
    assert [s for s in seen if s != "QUEUED"] == expected
    described = env.ds.describe_task(TaskArn=task_arn)
    assert described["Status"] == "AVAILABLE"
    assert described["CurrentTaskExecutionArn"] == execution_arn


def test_phase_durations_are_spent_in_each_status_and_reported(env: DataSyncEnv) -> None:
    _write(_home(env, 200000) / "a.txt", b"a")
    datasync_models.set_phase_durations(PREPARING=0.4, TRANSFERRING=0.3, VERIFYING=0.2)
    try:
        started = time.monotonic()
        result = env.copy("/200000", "/200001")
        elapsed = time.monotonic() - started
    finally:
        datasync_models.set_phase_durations()

    assert result["Status"] == "SUCCESS", result["Result"]
    assert elapsed >= 0.9
    assert result["Result"]["PrepareDuration"] >= 400
    assert result["Result"]["TransferDuration"] >= 300
    assert result["Result"]["VerifyDuration"] >= 200
    assert result["Result"]["TotalDuration"] >= 900
    assert datasync_models.phase_durations.seconds == {}


def test_cancelling_ends_a_phase_duration_at_once(env: DataSyncEnv) -> None:
    _write(_home(env, 200000) / "a.txt", b"a")
    datasync_models.set_phase_durations(LAUNCHING=60)
    try:
        task_arn = env.task(env.location("/200000"), env.location("/200001"))
        running = env.ds.start_task_execution(TaskArn=task_arn)["TaskExecutionArn"]
        started = time.monotonic()
        env.ds.cancel_task_execution(TaskExecutionArn=running)
        cancelled = env.wait(running)
    finally:
        datasync_models.set_phase_durations()

    assert time.monotonic() - started < 10
    assert cancelled["Status"] == "ERROR"
    assert cancelled["Result"]["ErrorCode"] == "OpCancelled"
    assert not (env.root() / "200001/a.txt").exists()


@pytest.mark.parametrize(
    "seconds", [{"QUEUED": 1.0}, {"PREPARING": -1.0}, {"TRANSFERRING": 3601.0}]
)
def test_bad_phase_durations_are_refused(seconds: dict[str, float]) -> None:
    with pytest.raises(ValueError, match="phase"):
        datasync_models.set_phase_durations(**seconds)
    assert datasync_models.phase_durations.seconds == {}


def test_restore_through_an_access_point_gives_files_to_the_new_uid(
    env: DataSyncEnv,
) -> None:
    home = _home(env, 200000)
    _write(home / "dir/file.txt", b"mine", 0o640, owner=(200000, 100))
    access_point_id = env.access_point(200007)
    task_arn = env.task(
        env.location("/200000"),
        env.location("/", access_point_id=access_point_id),
        **RESTORE_OPTIONS,
    )

    result = env.run(task_arn)

    assert result["Status"] == "SUCCESS", result["Result"]
    target = env.root() / "200007"
    for path in (target, target / "dir", target / "dir/file.txt"):
        assert posix.stat_owner(path) == (200007, 100), path
    assert posix.stat_mode(target) == 0o700
    assert posix.stat_mode(target / "dir/file.txt") == 0o640
    assert (target / "dir/file.txt").read_bytes() == b"mine"


def test_ownership_without_access_point_follows_uid_gid_options(
    env: DataSyncEnv,
) -> None:
    home = _home(env, 200000)
    _write(home / "f.txt", b"f", owner=(200000, 100))

    kept = env.copy("/200000", "/kept", Uid="INT_VALUE", Gid="INT_VALUE")
    dropped = env.copy("/200000", "/dropped", Uid="NONE", Gid="NONE")

    assert kept["Status"] == dropped["Status"] == "SUCCESS"
    assert posix.stat_owner(env.root() / "kept/f.txt") == (200000, 100)
    assert posix.stat_owner(env.root() / "dropped/f.txt") == (0, 0)


def test_posix_permissions_none_uses_default_modes(env: DataSyncEnv) -> None:
    _write(_home(env, 200000) / "f.txt", b"f", 0o600)
    previous = os.umask(0o022)
    try:
        result = env.copy("/200000", "/200001", PosixPermissions="NONE")
    finally:
        os.umask(previous)
    assert result["Status"] == "SUCCESS"
    assert posix.stat_mode(env.root() / "200001/f.txt") == 0o644


def test_overwrite_never_keeps_a_file_the_new_user_changed(env: DataSyncEnv) -> None:
    source = _home(env, 200000)
    _write(source / "notes.txt", b"old copy")
    _write(source / "other.txt", b"only in the old home")
    target = _home(env, 200001)
    _write(target / "notes.txt", b"written by the new user first", owner=(200001, 100))

    result = env.copy("/200000", "/200001", **RESTORE_OPTIONS)

    assert result["Status"] == "SUCCESS"
    assert (target / "notes.txt").read_bytes() == b"written by the new user first"
    assert (target / "other.txt").read_bytes() == b"only in the old home"
    assert result["FilesTransferred"] == 1
    assert result["FilesSkipped"] >= 1


def test_overwrite_always_replaces_a_changed_file(env: DataSyncEnv) -> None:
    _write(_home(env, 200000) / "notes.txt", b"old copy")
    target = _home(env, 200001)
    _write(target / "notes.txt", b"newer and longer content")

    result = env.copy("/200000", "/200001", OverwriteMode="ALWAYS")

    assert result["Status"] == "SUCCESS"
    assert (target / "notes.txt").read_bytes() == b"old copy"


def test_preserve_deleted_files_keeps_or_removes_extra_destination_files(
    env: DataSyncEnv,
) -> None:
    _write(_home(env, 200000) / "a.txt", b"a")
    for subdir in ("preserve", "remove"):
        _write(env.root() / subdir / "extra/gone.txt", b"not at the source")

    preserved = env.copy("/200000", "/preserve", PreserveDeletedFiles="PRESERVE")
    removed = env.copy("/200000", "/remove", PreserveDeletedFiles="REMOVE")

    assert preserved["Status"] == removed["Status"] == "SUCCESS"
    assert (env.root() / "preserve/extra/gone.txt").exists()
    assert not (env.root() / "remove/extra").exists()
    assert (env.root() / "remove/a.txt").read_bytes() == b"a"
    assert removed["FilesDeleted"] == 2
    assert preserved["FilesDeleted"] == 0


def test_transfer_mode_changed_skips_unchanged_files(env: DataSyncEnv) -> None:
    source = _home(env, 200000)
    _write(source / "same.txt", b"same")
    _write(source / "edit.txt", b"before")
    task_arn = env.task(env.location("/200000"), env.location("/200001"), TransferMode="CHANGED")
    first = env.run(task_arn)
    assert first["FilesTransferred"] == 3  # two files and the new root's metadata

    second = env.run(task_arn)
    _write(source / "edit.txt", b"after, longer")
    third = env.run(task_arn)

    assert second["FilesTransferred"] == 0
    assert second["BytesWritten"] == 0
    assert third["FilesTransferred"] == 1
    assert third["BytesWritten"] == len(b"after, longer")
    assert (env.root() / "200001/edit.txt").read_bytes() == b"after, longer"


def test_transfer_mode_all_copies_everything_again(env: DataSyncEnv) -> None:
    _write(_home(env, 200000) / "same.txt", b"same")
    task_arn = env.task(env.location("/200000"), env.location("/200001"), TransferMode="ALL")
    env.run(task_arn)

    again = env.run(task_arn)

    assert again["Status"] == "SUCCESS"
    assert again["BytesWritten"] == len(b"same")


def test_copy_between_file_systems(env: DataSyncEnv) -> None:
    _write(_home(env, 200000, env.other_fs_id) / "kept.txt", b"retained volume")
    source = env.location("/200000", fs_id=env.other_fs_id)

    result = env.run(env.task(source, env.location("/200000"), **RESTORE_OPTIONS))

    assert result["Status"] == "SUCCESS"
    assert (env.root() / "200000/kept.txt").read_bytes() == b"retained volume"


def test_the_sandbox_sidecar_is_never_copied(
    env: DataSyncEnv, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(posix, "use_real_ownership", False)
    _write(_home(env, 200000, env.other_fs_id) / "a.txt", b"a")
    assert (env.root(env.other_fs_id) / posix.SIDECAR).exists()
    source = env.location("/", fs_id=env.other_fs_id)

    result = env.run(env.task(source, env.location("/copy")))

    assert result["Status"] == "SUCCESS", result["Result"]
    assert (env.root() / "copy/200000/a.txt").read_bytes() == b"a"
    assert not (env.root() / "copy" / posix.SIDECAR).exists()


def test_list_locations_filters_by_uri(env: DataSyncEnv) -> None:
    wanted = env.location("/200001")
    env.location("/200002")

    listed = env.ds.list_locations(
        Filters=[
            {
                "Name": "LocationUri",
                "Values": [f"efs://{REGION}.{env.fs_id}/200001"],
                "Operator": "BeginsWith",
            }
        ]
    )["Locations"]

    assert [loc["LocationArn"] for loc in listed] == [wanted]


def test_sidecar_ownership_mode_copies_too(
    env: DataSyncEnv, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(posix, "use_real_ownership", False)
    _write(_home(env, 200000) / "locked.txt", b"ro", 0o400)
    access_point_id = env.access_point(200009)
    task_arn = env.task(
        env.location("/200000"),
        env.location("/", access_point_id=access_point_id),
        **RESTORE_OPTIONS,
    )

    result = env.run(task_arn)

    assert result["Status"] == "SUCCESS", result["Result"]
    copied = env.root() / "200009/locked.txt"
    assert posix.stat_owner(copied) == (200009, 100)
    assert posix.stat_mode(copied) == 0o400
    assert copied.read_bytes() == b"ro"


# ---- executions: failures and rules


def test_missing_source_directory_ends_in_error(env: DataSyncEnv) -> None:
    task_arn = env.task(env.location("/200404"), env.location("/200001"))

    result = env.run(task_arn)

    assert result["Status"] == "ERROR"
    assert result["Result"]["ErrorCode"] == "SourceNotFound"
    assert "No such file or directory" in result["Result"]["ErrorDetail"]
    assert "/200404/" in result["Result"]["ErrorDetail"]
    assert result["FilesTransferred"] == 0
    assert env.ds.describe_task(TaskArn=task_arn)["Status"] == "AVAILABLE"


def test_only_one_execution_per_task_at_a_time(env: DataSyncEnv) -> None:
    _write(_home(env, 200000) / "a.txt", b"a")
    datasync_models.faults.hang = True
    task_arn = env.task(env.location("/200000"), env.location("/200001"))
    running = env.ds.start_task_execution(TaskArn=task_arn)["TaskExecutionArn"]

    with pytest.raises(ClientError) as info:
        env.ds.start_task_execution(TaskArn=task_arn)
    assert _error(info)[0] == "InvalidRequestException"

    env.ds.cancel_task_execution(TaskExecutionArn=running)
    cancelled = env.wait(running)
    assert cancelled["Status"] == "ERROR"
    assert cancelled["Result"]["ErrorCode"] == "OpCancelled"
    datasync_models.faults.hang = False
    assert env.run(task_arn)["Status"] == "SUCCESS"
    listed = env.ds.list_task_executions(TaskArn=task_arn)["TaskExecutions"]
    assert [e["Status"] for e in listed] == ["ERROR", "SUCCESS"]


def test_cancelling_a_finished_execution_is_refused(env: DataSyncEnv) -> None:
    _write(_home(env, 200000) / "a.txt", b"a")
    task_arn = env.task(env.location("/200000"), env.location("/200001"))
    done = env.run(task_arn)
    with pytest.raises(ClientError) as info:
        env.ds.cancel_task_execution(TaskExecutionArn=done["TaskExecutionArn"])
    assert _error(info)[0] == "InvalidRequestException"


def test_fault_hook_makes_executions_fail(env: DataSyncEnv) -> None:
    _write(_home(env, 200000) / "a.txt", b"a")
    datasync_models.faults.error = ("InternalError", "injected by the test")

    result = env.copy("/200000", "/200001")

    assert result["Status"] == "ERROR"
    assert result["Result"]["ErrorCode"] == "InternalError"
    assert result["Result"]["ErrorDetail"] == "injected by the test"
    assert result["Result"]["TransferStatus"] == "ERROR"
    assert not (env.root() / "200001/a.txt").exists()


def test_deleting_a_running_task_cancels_its_execution(env: DataSyncEnv) -> None:
    _write(_home(env, 200000) / "a.txt", b"a")
    datasync_models.faults.hang = True
    task_arn = env.task(env.location("/200000"), env.location("/200001"))
    running = env.ds.start_task_execution(TaskArn=task_arn)["TaskExecutionArn"]

    env.ds.delete_task(TaskArn=task_arn)

    assert env.wait(running)["Status"] == "ERROR"


def test_access_point_without_permission_fails_the_execution(env: DataSyncEnv) -> None:
    _write(_home(env, 200000) / "a.txt", b"a")
    other_home = _home(env, 200001)
    reply = env.efs.create_access_point(
        FileSystemId=env.fs_id, PosixUser={"Uid": 200005, "Gid": 100}
    )
    task_arn = env.task(
        env.location("/200000"),
        env.location("/200001", access_point_id=reply["AccessPointId"]),
    )

    result = env.run(task_arn)

    assert result["Status"] == "ERROR"
    assert result["Result"]["ErrorCode"] == "PermissionDenied"
    assert not (other_home / "a.txt").exists()


def test_efs_helpers_and_datasync_share_the_same_view(env: DataSyncEnv) -> None:
    access_point_id = env.access_point(200011)
    efs.write_through_access_point(
        access_point_id, "from-helper.txt", b"h", account_id=ACCOUNT, region=REGION
    )
    result = env.copy("/200011", "/copy", Uid="INT_VALUE", Gid="INT_VALUE")
    assert result["Status"] == "SUCCESS"
    assert posix.stat_owner(env.root() / "copy/from-helper.txt") == (200011, 100)


# ---- over HTTP, as the server serves it, with a Studio domain


@pytest.fixture
def http_sandbox(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    from moto.server import ThreadedMotoServer

    from studio_sandbox.eventbridge import cloudtrail
    from studio_sandbox.sagemaker import responses as sagemaker_responses

    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(key, "testing")
    monkeypatch.setenv("MOTO_EC2_LOAD_DEFAULT_AMIS", "false")
    monkeypatch.setattr(cloudtrail, "emit_api_call", lambda *_, **__: None)
    previous = state.settings().data_dir
    state.configure(data_dir=tmp_path / "data")
    server = ThreadedMotoServer(port=0, verbose=False)
    server.start()
    sagemaker_responses.patch()
    datasync_responses.patch()
    host, port = server.get_host_and_port()
    try:
        yield lambda service: SESSION.client(service, endpoint_url=f"http://{host}:{port}")
    finally:
        server.stop()
        sagemaker_responses.unpatch()
        datasync_responses.unpatch()
        state.configure(data_dir=previous)


def test_restore_over_http_into_a_recreated_profile(http_sandbox: Any) -> None:
    ec2, sm, efs_client, ds = (http_sandbox(s) for s in ("ec2", "sagemaker", "efs", "datasync"))
    vpc = ec2.create_vpc(CidrBlock="10.60.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.60.1.0/24", AvailabilityZone="us-east-1a")
    subnet_id = subnet["Subnet"]["SubnetId"]
    domain_id = sm.create_domain(
        DomainName="http",
        AuthMode="IAM",
        DefaultUserSettings={"ExecutionRole": _arn("iam", "role/x").replace(f":{REGION}:", "::")},
        SubnetIds=[subnet_id],
        VpcId=vpc,
    )["DomainId"]
    while (described := sm.describe_domain(DomainId=domain_id))["Status"] == "Pending":
        time.sleep(0.05)
    fs_id = described["HomeEfsFileSystemId"]
    app = {"AppType": "JupyterServer", "AppName": "default"}
    sm.create_user_profile(DomainId=domain_id, UserProfileName="user1")
    sm.create_app(DomainId=domain_id, UserProfileName="user1", **app)
    _write(state.efs_root(fs_id) / "200000/work/model.py", b"print('hi')\n", 0o640)
    sm.delete_app(DomainId=domain_id, UserProfileName="user1", **app)
    sm.delete_user_profile(DomainId=domain_id, UserProfileName="user1")
    sm.create_user_profile(DomainId=domain_id, UserProfileName="user1")
    new_uid = int(
        sm.describe_user_profile(DomainId=domain_id, UserProfileName="user1")[
            "HomeEfsFileSystemUid"
        ]
    )
    inbound = ec2.describe_security_groups(
        Filters=[
            {
                "Name": "group-name",
                "Values": [f"security-group-for-inbound-nfs-{domain_id}"],
            }
        ]
    )["SecurityGroups"][0]["GroupId"]
    group = ec2.create_security_group(GroupName="ds", Description="ds", VpcId=vpc)["GroupId"]
    ec2.authorize_security_group_ingress(
        GroupId=inbound,
        IpPermissions=[
            {
                "IpProtocol": "tcp",
                "FromPort": 2049,
                "ToPort": 2049,
                "UserIdGroupPairs": [{"GroupId": group}],
            }
        ],
    )
    access_point = efs_client.create_access_point(
        FileSystemId=fs_id,
        PosixUser={"Uid": new_uid, "Gid": 100},
        RootDirectory={
            "Path": f"/{new_uid}",
            "CreationInfo": {
                "OwnerUid": new_uid,
                "OwnerGid": 100,
                "Permissions": "0700",
            },
        },
    )
    ec2_config = {
        "SubnetArn": _arn("ec2", f"subnet/{subnet_id}"),
        "SecurityGroupArns": [_arn("ec2", f"security-group/{group}")],
    }
    fs_arn = _arn("elasticfilesystem", f"file-system/{fs_id}")
    source = ds.create_location_efs(
        EfsFilesystemArn=fs_arn, Subdirectory="/200000", Ec2Config=ec2_config
    )["LocationArn"]
    target = ds.create_location_efs(
        EfsFilesystemArn=fs_arn,
        Ec2Config=ec2_config,
        AccessPointArn=access_point["AccessPointArn"],
        InTransitEncryption="TLS1_2",
    )["LocationArn"]
    task_arn = ds.create_task(
        SourceLocationArn=source, DestinationLocationArn=target, Options=RESTORE_OPTIONS
    )["TaskArn"]
    execution_arn = ds.start_task_execution(TaskArn=task_arn)["TaskExecutionArn"]
    deadline = time.monotonic() + 30
    described = ds.describe_task_execution(TaskExecutionArn=execution_arn)
    while described["Status"] not in ("SUCCESS", "ERROR") and time.monotonic() < deadline:
        time.sleep(0.05)
        described = ds.describe_task_execution(TaskExecutionArn=execution_arn)

    assert described["Status"] == "SUCCESS", described["Result"]
    restored = state.efs_root(fs_id) / str(new_uid) / "work/model.py"
    assert restored.read_bytes() == b"print('hi')\n"
    assert posix.stat_owner(restored) == (new_uid, 100)
    assert posix.stat_mode(restored) == 0o640
    assert described["BytesWritten"] == len(b"print('hi')\n")
