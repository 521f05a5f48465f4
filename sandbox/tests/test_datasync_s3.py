"""The sandbox's DataSync between EFS and S3: backups to a versioned bucket and restores."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from sandbox.tests.helpers import SandboxClients
from studio_sandbox import posix
from studio_sandbox.datasync import models as datasync_models
from studio_sandbox.server import state

BUCKET = "studio-backups"
ACCOUNT = state.ACCOUNT_ID
REGION = state.REGION
BACKUP_OPTIONS = {
    "TransferMode": "CHANGED",
    "OverwriteMode": "ALWAYS",
    "PreserveDeletedFiles": "REMOVE",
    "PosixPermissions": "PRESERVE",
    "Uid": "INT_VALUE",
    "Gid": "INT_VALUE",
    "VerifyMode": "ONLY_FILES_TRANSFERRED",
    "LogLevel": "BASIC",
}
RESTORE_OPTIONS = {
    "OverwriteMode": "NEVER",
    "PreserveDeletedFiles": "PRESERVE",
    "TransferMode": "CHANGED",
    "VerifyMode": "ONLY_FILES_TRANSFERRED",
    "PosixPermissions": "PRESERVE",
    "Uid": "NONE",
    "Gid": "NONE",
}
MTIME = 1_700_000_000  # a fixed, whole-second modification time of the test files


def _arn(service: str, resource: str, region: str = REGION) -> str:
    return f"arn:aws:{service}:{region}:{ACCOUNT}:{resource}"


def _trust(service: str) -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Service": service},
                    "Action": "sts:AssumeRole",
                }
            ],
        }
    )


@dataclass
class Env:
    aws: SandboxClients
    fs_id: str
    subnet_id: str
    group_id: str
    role_arn: str

    @property
    def ds(self) -> Any:
        return self.aws.client("datasync")

    @property
    def s3(self) -> Any:
        return self.aws.client("s3")

    def home(self, uid: int) -> Path:
        """A home directory like Studio's: files, a private dir, a symlink, nesting."""
        home = state.efs_root(self.fs_id) / str(uid)
        home.mkdir(parents=True)
        files = {
            "notes.txt": (b"first notes", 0o644),
            "work/analysis.ipynb": (b'{"cells": []}', 0o640),
            ".ssh/id_rsa": (b"secret key", 0o600),
        }
        for rel, (data, mode) in files.items():
            _write(home / rel, data, mode, uid)
        for directory, mode in (("work", 0o755), (".ssh", 0o700), ("", 0o700)):
            posix.set_owner(home / directory, uid, 100)
            posix.set_mode(home / directory, mode)
        os.symlink("work/analysis.ipynb", home / "latest")
        posix.set_owner(home / "latest", uid, 100)
        return home

    def efs_location(self, subdirectory: str, access_point_id: str | None = None) -> str:
        params: dict[str, Any] = {
            "EfsFilesystemArn": _arn("elasticfilesystem", f"file-system/{self.fs_id}"),
            "Subdirectory": subdirectory,
            "Ec2Config": {
                "SubnetArn": _arn("ec2", f"subnet/{self.subnet_id}"),
                "SecurityGroupArns": [_arn("ec2", f"security-group/{self.group_id}")],
            },
        }
        if access_point_id:
            params["AccessPointArn"] = _arn("elasticfilesystem", f"access-point/{access_point_id}")
            params["InTransitEncryption"] = "TLS1_2"
        return str(self.ds.create_location_efs(**params)["LocationArn"])

    def s3_location(self, prefix: str, **extra: Any) -> str:
        reply = self.ds.create_location_s3(
            S3BucketArn=f"arn:aws:s3:::{BUCKET}",
            Subdirectory=prefix,
            S3StorageClass="STANDARD",
            S3Config={"BucketAccessRoleArn": self.role_arn},
            **extra,
        )
        return str(reply["LocationArn"])

    def access_point(self, uid: int) -> str:
        reply = self.aws.client("efs").create_access_point(
            FileSystemId=self.fs_id,
            PosixUser={"Uid": uid, "Gid": 100},
            RootDirectory={
                "Path": f"/{uid}",
                "CreationInfo": {
                    "OwnerUid": uid,
                    "OwnerGid": 100,
                    "Permissions": "0700",
                },
            },
        )
        return str(reply["AccessPointId"])

    def run(self, source: str, destination: str, options: dict[str, str], **extra: Any) -> Any:
        task_arn = self.ds.create_task(
            SourceLocationArn=source,
            DestinationLocationArn=destination,
            Options=options,
            **extra,
        )["TaskArn"]
        return self.run_task(task_arn)

    def run_task(self, task_arn: str) -> dict[str, Any]:
        started = self.ds.start_task_execution(TaskArn=task_arn)
        return self.wait(started["TaskExecutionArn"])

    def wait(self, execution_arn: str) -> dict[str, Any]:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            described: dict[str, Any] = self.ds.describe_task_execution(
                TaskExecutionArn=execution_arn
            )
            if described["Status"] in ("SUCCESS", "ERROR"):
                return described
            time.sleep(0.05)
        raise AssertionError(f"{execution_arn} did not finish in 30 s")

    def backup_task(self, uid: int, prefix: str) -> str:
        arn: str = self.ds.create_task(
            SourceLocationArn=self.efs_location(f"/{uid}"),
            DestinationLocationArn=self.s3_location(prefix),
            Options=BACKUP_OPTIONS,
        )["TaskArn"]
        return arn

    def versions(self, prefix: str) -> dict[str, Any]:
        reply: dict[str, Any] = self.s3.list_object_versions(Bucket=BUCKET, Prefix=prefix)
        return reply


def _write(path: Path, data: bytes, mode: int, uid: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    posix.set_mode(path, mode)
    posix.set_owner(path, uid, 100)
    os.utime(path, (MTIME, MTIME))


@pytest.fixture(scope="module")
def env(aws: SandboxClients) -> Env:
    ec2 = aws.client("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.60.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.60.1.0/24", AvailabilityZone="us-east-1a")[
        "Subnet"
    ]["SubnetId"]
    group = ec2.create_security_group(GroupName="ds", Description="ds", VpcId=vpc)["GroupId"]
    nfs = ec2.create_security_group(GroupName="nfs", Description="nfs", VpcId=vpc)["GroupId"]
    ec2.authorize_security_group_ingress(
        GroupId=nfs,
        IpPermissions=[
            {
                "IpProtocol": "tcp",
                "FromPort": 2049,
                "ToPort": 2049,
                "UserIdGroupPairs": [{"GroupId": group}],
            }
        ],
    )
    efs = aws.client("efs")
    fs_id = efs.create_file_system(CreationToken="s3-home")["FileSystemId"]
    efs.create_mount_target(FileSystemId=fs_id, SubnetId=subnet, SecurityGroups=[nfs])
    role_arn = aws.client("iam").create_role(
        RoleName="datasync-bucket-access",
        AssumeRolePolicyDocument=_trust("datasync.amazonaws.com"),
    )["Role"]["Arn"]
    s3 = aws.client("s3")
    s3.create_bucket(Bucket=BUCKET)
    s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
    return Env(aws, fs_id, subnet, group, role_arn)


@pytest.fixture(autouse=True)
def _well_behaved() -> Iterator[None]:
    datasync_models.reset_faults()
    yield
    datasync_models.reset_faults()


def _error(info: pytest.ExceptionInfo[ClientError]) -> tuple[str, str]:
    error = info.value.response["Error"]
    return error["Code"], error["Message"]


def _keys(env: Env, prefix: str) -> set[str]:
    reply = env.s3.list_objects_v2(Bucket=BUCKET, Prefix=prefix)
    return {o["Key"] for o in reply.get("Contents", [])}


# ---- locations


def test_s3_location_is_described_with_a_normalised_prefix_and_tags(env: Env) -> None:
    arn = env.s3_location("homes//d/./user/", Tags=[{"Key": "team", "Value": "ml"}])

    described = env.ds.describe_location_s3(LocationArn=arn)
    assert described["LocationUri"] == f"s3://{BUCKET}/homes/d/user/"
    assert described["S3Config"] == {"BucketAccessRoleArn": env.role_arn}
    assert described["S3StorageClass"] == "STANDARD"
    assert env.ds.list_tags_for_resource(ResourceArn=arn)["Tags"] == [
        {"Key": "team", "Value": "ml"}
    ]
    listed = {
        row["LocationArn"]: row["LocationUri"] for row in env.ds.list_locations()["Locations"]
    }
    assert listed[arn] == f"s3://{BUCKET}/homes/d/user/"

    env.ds.delete_location(LocationArn=arn)

    with pytest.raises(ClientError) as info:
        env.ds.describe_location_s3(LocationArn=arn)
    assert _error(info)[0] == "InvalidRequestException"


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"S3BucketArn": "arn:aws:s3:::no-such-bucket"}, "bucket does not exist"),
        ({"S3BucketArn": "not-an-arn"}, "Invalid S3BucketArn"),
        ({"S3Config": {}}, "BucketAccessRoleArn is required"),
        (
            {"S3Config": {"BucketAccessRoleArn": f"arn:aws:iam::{ACCOUNT}:role/missing"}},
            "does not exist",
        ),
        ({"S3Config": {"BucketAccessRoleArn": "lambda-trusting"}}, "trust policy"),
        ({"S3StorageClass": "CHEAP"}, "Invalid S3StorageClass"),
        ({"Subdirectory": "homes/../other"}, "Invalid Subdirectory"),
    ],
)
def test_s3_location_validation(env: Env, params: dict[str, Any], message: str) -> None:
    if params.get("S3Config", {}).get("BucketAccessRoleArn") == "lambda-trusting":
        role = env.aws.client("iam").create_role(
            RoleName="lambda-only",
            AssumeRolePolicyDocument=_trust("lambda.amazonaws.com"),
        )["Role"]["Arn"]
        params = {"S3Config": {"BucketAccessRoleArn": role}}
    request: dict[str, Any] = {
        "S3BucketArn": f"arn:aws:s3:::{BUCKET}",
        "Subdirectory": "/homes/",
        "S3Config": {"BucketAccessRoleArn": env.role_arn},
        **params,
    }

    unchecked = boto3.client(  # the sandbox, not botocore, must refuse what is wrong
        "datasync",
        endpoint_url=env.aws.endpoint_url,
        region_name=REGION,
        aws_access_key_id=state.ACCESS_KEY,
        aws_secret_access_key=state.SECRET_KEY,
        config=Config(parameter_validation=False),
    )

    with pytest.raises(ClientError) as info:
        unchecked.create_location_s3(**request)

    code, text = _error(info)
    assert code == "InvalidRequestException"
    assert message in text


# ---- backups (EFS -> S3)


def test_backup_writes_objects_with_posix_metadata_then_only_changes(env: Env) -> None:
    home = env.home(200101)
    prefix = "homes/d/user/a/"
    task_arn = env.backup_task(200101, prefix)

    first = env.run_task(task_arn)

    assert first["Status"] == "SUCCESS", first["Result"]
    assert _keys(env, prefix) == {
        prefix,
        f"{prefix}notes.txt",
        f"{prefix}work/",
        f"{prefix}work/analysis.ipynb",
        f"{prefix}.ssh/",
        f"{prefix}.ssh/id_rsa",
        f"{prefix}latest",
    }
    assert first["FilesTransferred"] == 7
    assert "FilesListed" not in first  # Enhanced mode only (botocore model)
    assert first["BytesWritten"] == len(b"first notes") + len(b'{"cells": []}') + 10
    head = env.s3.head_object(Bucket=BUCKET, Key=f"{prefix}.ssh/id_rsa")
    assert head["Metadata"]["file-owner"] == "200101"
    assert head["Metadata"]["file-group"] == "100"
    assert head["Metadata"]["file-permissions"] == "0100600"
    assert head["Metadata"]["file-mtime"] == f"{MTIME * 10**9}ns"
    link = env.s3.get_object(Bucket=BUCKET, Key=f"{prefix}latest")
    assert link["Body"].read() == b"work/analysis.ipynb"
    assert link["Metadata"]["file-permissions"].startswith("0120")

    # when one file changes, the next backup rewrites only that one
    _write(home / "notes.txt", b"second, longer notes", 0o644, 200101)
    second = env.run_task(task_arn)

    assert second["Status"] == "SUCCESS", second["Result"]
    assert second["FilesTransferred"] == 1
    assert second["BytesWritten"] == len(b"second, longer notes")
    assert second["FilesSkipped"] == 6
    counts: dict[str, int] = {}
    for version in env.versions(prefix)["Versions"]:
        counts[version["Key"]] = counts.get(version["Key"], 0) + 1
    assert counts[f"{prefix}notes.txt"] == 2
    assert {k: n for k, n in counts.items() if k != f"{prefix}notes.txt"} == {
        k: 1 for k in _keys(env, prefix) - {f"{prefix}notes.txt"}
    }


def test_deleted_file_becomes_a_delete_marker_and_keeps_its_versions(env: Env) -> None:
    home = env.home(200102)
    prefix = "homes/d/user/b/"
    task_arn = env.backup_task(200102, prefix)
    assert env.run_task(task_arn)["Status"] == "SUCCESS"

    (home / "notes.txt").unlink()
    posix.forget(home / "notes.txt")
    second = env.run_task(task_arn)

    assert second["Status"] == "SUCCESS", second["Result"]
    assert second["FilesDeleted"] == 1
    assert second["FilesTransferred"] == 0
    assert f"{prefix}notes.txt" not in _keys(env, prefix)
    versions = env.versions(f"{prefix}notes.txt")
    assert [m["IsLatest"] for m in versions["DeleteMarkers"]] == [True]
    assert [v["Key"] for v in versions["Versions"]] == [f"{prefix}notes.txt"]


def test_backup_fails_visibly_under_an_injected_fault(env: Env) -> None:
    env.home(200103)
    prefix = "homes/d/user/c/"
    datasync_models.faults.error = ("S3WriteFailed", "injected")

    failed = env.run_task(env.backup_task(200103, prefix))

    assert failed["Status"] == "ERROR"
    assert failed["Result"]["ErrorCode"] == "S3WriteFailed"
    assert failed["Result"]["TransferStatus"] == "ERROR"
    assert _keys(env, prefix) == set()


# ---- restores (S3 -> EFS)


def _backed_up(env: Env, uid: int, prefix: str) -> tuple[Path, str]:
    home = env.home(uid)
    task_arn = env.backup_task(uid, prefix)
    assert env.run_task(task_arn)["Status"] == "SUCCESS"
    return home, task_arn


def test_restore_to_a_new_uid_keeps_modes_and_gives_ownership_to_it(env: Env) -> None:
    prefix = "homes/d/user/r1/"
    _backed_up(env, 200111, prefix)
    access_point = env.access_point(200112)
    target = state.efs_root(env.fs_id) / "200112"

    restored = env.run(
        env.s3_location(prefix), env.efs_location("/", access_point), RESTORE_OPTIONS
    )

    assert restored["Status"] == "SUCCESS", restored["Result"]
    assert (target / ".ssh/id_rsa").read_bytes() == b"secret key"
    assert (target / "work/analysis.ipynb").read_bytes() == b'{"cells": []}'
    assert os.readlink(target / "latest") == "work/analysis.ipynb"
    modes = {rel: posix.stat_mode(target / rel) for rel in (".ssh", ".ssh/id_rsa", "work")}
    assert modes == {".ssh": 0o700, ".ssh/id_rsa": 0o600, "work": 0o755}
    owners = {posix.stat_owner(target / rel) for rel in ("notes.txt", ".ssh", "latest")}
    assert owners == {(200112, 100)}
    assert int(os.stat(target / "notes.txt").st_mtime) == MTIME


def test_restore_never_overwrites_an_existing_target_file(env: Env) -> None:
    prefix = "homes/d/user/r2/"
    _backed_up(env, 200121, prefix)
    access_point = env.access_point(200122)
    target = state.efs_root(env.fs_id) / "200122"
    env.run(  # the access point's root directory appears with the first mount
        env.s3_location("homes/d/user/empty/"),
        env.efs_location("/", access_point),
        RESTORE_OPTIONS,
    )
    _write(target / "notes.txt", b"written since", 0o644, 200122)

    restored = env.run(
        env.s3_location(prefix), env.efs_location("/", access_point), RESTORE_OPTIONS
    )

    assert restored["Status"] == "SUCCESS", restored["Result"]
    assert (target / "notes.txt").read_bytes() == b"written since"
    assert (target / ".ssh/id_rsa").read_bytes() == b"secret key"
    assert restored["FilesSkipped"] >= 1


def _manifest(env: Env, name: str, lines: list[str]) -> dict[str, Any]:
    env.s3.put_object(Bucket=BUCKET, Key=f"manifests/{name}.csv", Body="\n".join(lines) + "\n")
    return {
        "Action": "TRANSFER",
        "Format": "CSV",
        "Source": {
            "S3": {
                "ManifestObjectPath": f"manifests/{name}.csv",
                "S3BucketArn": f"arn:aws:s3:::{BUCKET}",
                "BucketAccessRoleArn": env.role_arn,
            }
        },
    }


def _latest_version(env: Env, key: str) -> str:
    versions = env.versions(key)["Versions"]
    return str(next(v["VersionId"] for v in versions if v["Key"] == key and v["IsLatest"]))


def test_manifest_restores_exactly_the_listed_older_versions(env: Env) -> None:
    prefix = "homes/d/user/m1/"
    home, task_arn = _backed_up(env, 200131, prefix)
    first_notes = _latest_version(env, f"{prefix}notes.txt")
    _write(home / "notes.txt", b"changed after the first backup", 0o644, 200131)
    assert env.run_task(task_arn)["Status"] == "SUCCESS"
    assert _latest_version(env, f"{prefix}notes.txt") != first_notes
    key_version = _latest_version(env, f"{prefix}.ssh/id_rsa")
    manifest = _manifest(env, "m1", [f"notes.txt,{first_notes}", f".ssh/id_rsa,{key_version}"])
    access_point = env.access_point(200132)
    target = state.efs_root(env.fs_id) / "200132"
    task = env.ds.create_task(
        SourceLocationArn=env.s3_location(prefix),
        DestinationLocationArn=env.efs_location("/", access_point),
        Options=RESTORE_OPTIONS,
        ManifestConfig=manifest,
    )["TaskArn"]

    assert env.ds.describe_task(TaskArn=task)["ManifestConfig"] == manifest
    restored = env.run_task(task)

    assert restored["Status"] == "SUCCESS", restored["Result"]
    assert (target / "notes.txt").read_bytes() == b"first notes"
    assert (target / ".ssh/id_rsa").read_bytes() == b"secret key"
    assert posix.stat_mode(target / ".ssh/id_rsa") == 0o600
    assert not (target / "work").exists()
    assert restored["FilesTransferred"] == 3  # the two files and their implied .ssh/


@pytest.mark.parametrize(
    ("line", "code"),
    [
        ("notes.txt,no-such-version", "ManifestEntryNotFound"),
        ("missing.txt,", "ManifestEntryNotFound"),
        ("a,b,c", "InvalidManifest"),
    ],
)
def test_bad_manifest_fails_the_execution_visibly(env: Env, line: str, code: str) -> None:
    prefix = "homes/d/user/m2/"
    if not _keys(env, prefix):
        _backed_up(env, 200141, prefix)
    uid = 200142 + len(code) + len(line)
    target = state.efs_root(env.fs_id) / str(uid)

    failed = env.run(
        env.s3_location(prefix),
        env.efs_location("/", env.access_point(uid)),
        RESTORE_OPTIONS,
        ManifestConfig=_manifest(env, f"bad-{uid}", ["notes.txt", line]),
    )

    assert failed["Status"] == "ERROR"
    assert failed["Result"]["ErrorCode"] == code
    assert failed["Result"]["PrepareStatus"] == "ERROR"
    assert not (target / "notes.txt").exists()


def test_manifest_line_naming_a_directory_is_refused(env: Env) -> None:
    # the manifest guide: "You can't specify only a directory or folder"
    prefix = "homes/d/user/m4/"
    _backed_up(env, 200161, prefix)
    directory = _latest_version(env, f"{prefix}.ssh/")
    target = state.efs_root(env.fs_id) / "200162"

    failed = env.run(
        env.s3_location(prefix),
        env.efs_location("/", env.access_point(200162)),
        RESTORE_OPTIONS,
        ManifestConfig=_manifest(env, "dir-line", ["notes.txt", f".ssh/,{directory}"]),
    )

    assert failed["Status"] == "ERROR"
    assert failed["Result"]["ErrorCode"] == "InvalidManifest"
    assert "directory" in failed["Result"]["ErrorDetail"]
    assert not (target / "notes.txt").exists()


def test_missing_manifest_object_fails_the_execution(env: Env) -> None:
    manifest = _manifest(env, "present", ["notes.txt"])
    manifest["Source"]["S3"]["ManifestObjectPath"] = "manifests/absent.csv"

    failed = env.run(
        env.s3_location("homes/d/user/m3/"),
        env.efs_location("/", env.access_point(200150)),
        RESTORE_OPTIONS,
        ManifestConfig=manifest,
    )

    assert failed["Status"] == "ERROR"
    assert failed["Result"]["ErrorCode"] == "ManifestNotFound"
    assert "manifests/absent.csv" in failed["Result"]["ErrorDetail"]


def test_manifest_with_a_role_datasync_cannot_assume_is_refused(env: Env) -> None:
    manifest = _manifest(env, "role", ["notes.txt"])
    manifest["Source"]["S3"]["BucketAccessRoleArn"] = f"arn:aws:iam::{ACCOUNT}:role/absent"

    with pytest.raises(ClientError) as info:
        env.ds.create_task(
            SourceLocationArn=env.s3_location("homes/d/user/m4/"),
            DestinationLocationArn=env.efs_location("/200160"),
            ManifestConfig=manifest,
        )

    role = f"arn:aws:iam::{ACCOUNT}:role/absent"
    assert _error(info) == (
        "InvalidRequestException",
        f"ManifestConfig.Source.S3.BucketAccessRoleArn {role} does not exist.",
    )


def test_manifest_given_when_starting_applies_to_that_execution_only(env: Env) -> None:
    prefix = "homes/d/user/m5/"
    _backed_up(env, 200171, prefix)
    manifest = _manifest(env, "m5", ["notes.txt"])
    target = state.efs_root(env.fs_id) / "200172"
    task = env.ds.create_task(
        SourceLocationArn=env.s3_location(prefix),
        DestinationLocationArn=env.efs_location("/", env.access_point(200172)),
        Options=RESTORE_OPTIONS,
    )["TaskArn"]

    execution = env.ds.start_task_execution(TaskArn=task, ManifestConfig=manifest)
    restored = env.wait(execution["TaskExecutionArn"])

    assert restored["Status"] == "SUCCESS", restored["Result"]
    assert restored["ManifestConfig"] == manifest
    assert sorted(p.name for p in target.iterdir()) == ["notes.txt"]
    assert "ManifestConfig" not in env.ds.describe_task(TaskArn=task)
    # the next execution, without one, restores the whole prefix
    assert env.run_task(task)["Status"] == "SUCCESS"
    assert (target / ".ssh/id_rsa").read_bytes() == b"secret key"
