"""Backups and restores from a backup against moto (in-process `mock_aws`):

- `dal/s3.py` on a versioned bucket: the staged copy holds each object as it was at
  `as_of`, with its user metadata (changed, deleted and re-created files; folder objects;
  several pages; a copy in parts), and is deleted with every version;
- `dal/datasync.py` against moto's DataSync: S3 locations and a task;
- the `prepare` and `finalize` handlers end to end for a backup and for a restore from a
  backup (moto DynamoDB, EFS, EC2, SNS, S3; a fake DataSync client for EFS locations,
  which moto 5.2.1 lacks).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from studio_recovery.config import load_settings
from studio_recovery.dal.datasync import DataSyncGateway
from studio_recovery.dal.efs import EfsGateway
from studio_recovery.dal.notify import Notifier
from studio_recovery.dal.registry import RegistryRepository, RestoreRepository
from studio_recovery.dal.s3 import BackupStaging
from studio_recovery.handlers import transfer as transfer_module
from studio_recovery.models.aws import s3_bucket_arn
from studio_recovery.models.datasync import RESTORE_TASK_OPTIONS
from studio_recovery.models.errors import TransientAwsError
from studio_recovery.models.restore import (
    BackupLocation,
    HomeLocation,
    RestoreItem,
    make_backup_id,
    restore_sk,
)
from studio_recovery.services import TransferServices

from tests.integration.restore_fixtures import (
    REGION,
    FakeDataSyncClient,
    LambdaContextStub,
    Network,
    get_item,
    published,
)

pytest_plugins = ("tests.integration.restore_fixtures",)

BUCKET = "studio-recovery-backups-123456789012-us-east-1"
PREFIX = "homes/demo/user/alice/fs-1-200001/"
ROLE_ARN = "arn:aws:iam::123456789012:role/datasync-backup-bucket"


@pytest.fixture
def bucket(aws_env: dict[str, str]) -> Any:
    s3 = boto3.client("s3", region_name=REGION)
    s3.create_bucket(Bucket=BUCKET)
    s3.put_bucket_versioning(
        Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"}
    )
    return s3


def put(s3: Any, relative: str, body: bytes = b"x") -> str:
    return str(
        s3.put_object(Bucket=BUCKET, Key=PREFIX + relative, Body=body)["VersionId"]
    )


def delete(s3: Any, relative: str) -> None:
    s3.delete_object(Bucket=BUCKET, Key=PREFIX + relative)


def next_second() -> datetime:
    """Wait until the clock is in a later whole second than now; return the earlier one
    (moto keeps LastModified to the second)."""
    before = datetime.now(UTC).replace(microsecond=0)
    while datetime.now(UTC).replace(microsecond=0) <= before:
        time.sleep(0.05)
    return before


def put_with_mode(s3: Any, relative: str, mode: str, body: bytes = b"x") -> str:
    """An object as DataSync writes it: its POSIX mode in the user metadata."""
    reply = s3.put_object(
        Bucket=BUCKET,
        Key=PREFIX + relative,
        Body=body,
        Metadata={"file-permissions": mode, "user-agent": "aws-datasync"},
    )
    return str(reply["VersionId"])


def staged(s3: Any, prefix: str) -> dict[str, tuple[bytes, dict[str, str]]]:
    """The current objects under `prefix`: relative path -> (body, user metadata)."""
    found: dict[str, tuple[bytes, dict[str, str]]] = {}
    for page in s3.get_paginator("list_objects_v2").paginate(
        Bucket=BUCKET, Prefix=prefix
    ):
        for entry in page.get("Contents", []):
            reply = s3.get_object(Bucket=BUCKET, Key=entry["Key"])
            found[entry["Key"][len(prefix) :]] = (
                reply["Body"].read(),
                reply["Metadata"],
            )
    return found


def versions_under(s3: Any, prefix: str) -> int:
    listed = s3.list_object_versions(Bucket=BUCKET, Prefix=prefix)
    return len(listed.get("Versions", [])) + len(listed.get("DeleteMarkers", []))


# ------------------------------------------------------------------------- dal/s3.py

STAGING = "staging/alice-g2-0123456789ab/"


@pytest.mark.parametrize("page_size", [None, 2])
def test_staging_copies_a_versioned_prefix_as_of_a_backup(
    bucket: Any, page_size: int | None
) -> None:
    s3 = bucket
    # Given a first backup's objects (the root and a folder with their modes, a deleted
    # file, an odd name)
    put_with_mode(s3, "", "0040700", b"")
    put_with_mode(s3, ".ssh/", "0040700", b"")
    put_with_mode(s3, ".ssh/id", "0100600", b"key")
    put_with_mode(s3, "notes.txt", "0100644", b"v1")
    put_with_mode(s3, 'odd, "name".txt', "0100644", b"odd")
    put_with_mode(s3, "removed-later.txt", "0100644", b"r")
    put(s3, "removed-before.txt")
    delete(s3, "removed-before.txt")
    s3.put_object(
        Bucket=BUCKET, Key="homes/demo/user/alice/fs-1-2000010/other", Body=b"o"
    )
    as_of = next_second()
    next_second()
    # ... and a later backup that changed, removed and added files
    put_with_mode(s3, "notes.txt", "0100600", b"v2")
    delete(s3, "removed-later.txt")
    put(s3, "added.txt")
    staging = BackupStaging(boto3.client("s3", region_name=REGION), page_size=page_size)

    # When the state as of the first backup is staged
    result = staging.stage(
        bucket=BUCKET, prefix=PREFIX, as_of=as_of, staging_prefix=STAGING
    )

    # Then the staging prefix holds exactly the first backup's objects, folders included,
    # at their versions then, with their user metadata (the modes DataSync restores), and
    # not the home's own root (it belongs to the new home's access point)
    assert result is not None
    assert (result.bucket, result.prefix, result.objects) == (BUCKET, STAGING, 5)
    copies = staged(s3, STAGING)
    assert {path: body for path, (body, _) in copies.items()} == {
        ".ssh/": b"",
        ".ssh/id": b"key",
        "notes.txt": b"v1",
        'odd, "name".txt': b"odd",
        "removed-later.txt": b"r",
    }
    assert copies[".ssh/"][1]["file-permissions"] == "0040700"
    assert copies["notes.txt"][1] == {
        "file-permissions": "0100644",
        "user-agent": "aws-datasync",
    }
    # ... and as of now, the current state: nothing is staged
    later = "staging/alice-g3-0123456789ab/"
    assert (
        staging.stage(
            bucket=BUCKET, prefix=PREFIX, as_of=datetime.now(UTC), staging_prefix=later
        )
        is None
    )
    assert versions_under(s3, later) == 0


def test_staging_again_replaces_what_an_earlier_attempt_left(bucket: Any) -> None:
    put(bucket, "a.txt", b"a1")
    as_of = next_second()
    next_second()
    put(bucket, "a.txt", b"a2")
    bucket.put_object(Bucket=BUCKET, Key=f"{STAGING}stray.txt", Body=b"s")
    staging = BackupStaging(boto3.client("s3", region_name=REGION))

    staging.stage(bucket=BUCKET, prefix=PREFIX, as_of=as_of, staging_prefix=STAGING)

    assert {path: body for path, (body, _) in staged(bucket, STAGING).items()} == {
        "a.txt": b"a1"
    }


def test_deleting_a_staged_copy_removes_every_version_and_nothing_else(
    bucket: Any,
) -> None:
    # given a staged copy made twice (two versions of each key) beside the backup
    put(bucket, "a.txt", b"a1")
    put(bucket, "b/", b"")
    as_of = next_second()
    next_second()
    put(bucket, "a.txt", b"a2")
    staging = BackupStaging(boto3.client("s3", region_name=REGION))
    staging.stage(bucket=BUCKET, prefix=PREFIX, as_of=as_of, staging_prefix=STAGING)
    bucket.put_object(Bucket=BUCKET, Key=f"{STAGING}a.txt", Body=b"again")
    bucket.delete_object(Bucket=BUCKET, Key=f"{STAGING}b/")
    before = versions_under(bucket, PREFIX)

    # when it is deleted
    deleted = staging.delete_staged(BUCKET, STAGING)

    # then no version or delete marker is left under it, and the backup is untouched
    assert deleted >= 4
    assert versions_under(bucket, STAGING) == 0
    assert versions_under(bucket, PREFIX) == before


def test_an_object_over_the_copy_limit_is_copied_in_parts(bucket: Any) -> None:
    body = bytes(range(256)) * (6 * 1024 * 16)  # 6 MiB: two parts of 5 MiB and 1 MiB
    put_with_mode(bucket, "model.bin", "0100640", body)
    as_of = next_second()
    next_second()
    put(bucket, "model.bin", b"later")
    staging = BackupStaging(
        boto3.client("s3", region_name=REGION),
        copy_limit=5 * 1024 * 1024,
        part_size=5 * 1024 * 1024,
    )

    staging.stage(bucket=BUCKET, prefix=PREFIX, as_of=as_of, staging_prefix=STAGING)

    [(path, (copied, metadata))] = staged(bucket, STAGING).items()
    assert path == "model.bin" and copied == body
    assert metadata["file-permissions"] == "0100640"


@pytest.mark.parametrize("prefix", [PREFIX, "staging/", "homes/x/"])
def test_only_a_staging_prefix_is_ever_deleted(bucket: Any, prefix: str) -> None:
    put(bucket, "a.txt")
    with pytest.raises(ValueError, match="not a staging prefix"):
        BackupStaging(boto3.client("s3", region_name=REGION)).delete_staged(
            BUCKET, prefix
        )
    assert versions_under(bucket, PREFIX) == 1


class SlowDownClient:
    """S3 answering 503 SlowDown to every listing (after botocore's retries)."""

    def list_object_versions(self, **_: Any) -> dict[str, Any]:
        reply: Any = {
            "Error": {
                "Code": "SlowDown",
                "Message": "Please reduce your request rate.",
            },
            "ResponseMetadata": {"HTTPStatusCode": 503},
        }
        raise ClientError(reply, "ListObjectVersions")


def test_s3_throttling_becomes_transient_error() -> None:
    staging = BackupStaging(SlowDownClient())
    with pytest.raises(TransientAwsError, match="list_object_versions: SlowDown"):
        staging.stage(
            bucket=BUCKET,
            prefix=PREFIX,
            as_of=datetime.now(UTC),
            staging_prefix=STAGING,
        )


def test_missing_bucket_is_not_transient(aws_env: dict[str, str]) -> None:
    staging = BackupStaging(boto3.client("s3", region_name=REGION))
    with pytest.raises(ClientError) as raised:
        list(staging.list_versions("no-such-bucket", PREFIX))
    assert not isinstance(raised.value, TransientAwsError)


# ------------------------------------------------------------------ dal/datasync.py


def test_s3_location_and_task_in_moto_datasync(bucket: Any) -> None:
    client = boto3.client("datasync", region_name=REGION)
    gateway = DataSyncGateway(client)
    location = gateway.create_s3_location(
        bucket_arn=s3_bucket_arn(BUCKET),
        subdirectory=f"/{PREFIX}",
        access_role_arn=ROLE_ARN,
        tags={"restore_id": "x"},
    )
    described = client.describe_location_s3(LocationArn=location)
    assert described["LocationUri"].startswith(f"s3://{BUCKET}/")
    assert described["LocationUri"].endswith(PREFIX)
    assert described["S3Config"] == {"BucketAccessRoleArn": ROLE_ARN}
    other = client.create_location_smb(
        ServerHostname="host",
        Subdirectory="/share",
        User="u",
        Password="p",
        AgentArns=["arn:aws:datasync:us-east-1:123456789012:agent/agent-1"],
    )["LocationArn"]
    task = gateway.create_task(
        name="studio-recovery-x",
        source_location_arn=location,
        target_location_arn=other,
        log_group_arn=None,
        tags={"restore_id": "x"},
    )
    assert (
        client.describe_task(TaskArn=task)["Options"]
        == RESTORE_TASK_OPTIONS.as_request()
    )
    assert gateway.delete_task(task) is True
    assert gateway.delete_location(location) is True
    remaining = [entry["LocationArn"] for entry in client.list_locations()["Locations"]]
    assert remaining == [other]


# ------------------------------------------------------------------ the two handlers


class FakeDataSyncWithS3(FakeDataSyncClient):
    """The fake EFS-capable DataSync client, plus S3 locations."""

    def create_location_s3(self, **kwargs: Any) -> dict[str, Any]:
        self._call("CreateLocationS3")
        arn = self._arn("location")
        self.locations[arn] = kwargs
        return {"LocationArn": arn}


@dataclass
class World:
    table: Any
    network: Network
    datasync: FakeDataSyncWithS3
    restores: RestoreRepository
    registry: RegistryRepository
    topic: dict[str, str]
    s3: Any

    def home(self, uid: str, generation: int, efs_id: str) -> HomeLocation:
        return HomeLocation(
            domain_id="d-abc",
            domain_name="demo",
            kind="user",
            name="alice",
            efs_id=efs_id,
            uid=uid,
            generation=generation,
        )

    def item(self, key_pk: str, restore_id: str) -> dict[str, Any]:
        return get_item(self.table, key_pk, restore_sk(restore_id))


@pytest.fixture
def world(
    registry_table: Any,
    restore_network: Network,
    registry: RegistryRepository,
    restore_state_machine: str,
    topic: dict[str, str],
    bucket: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[World]:
    env = {
        "DATASYNC_SUBNET_IDS": restore_network.subnet_a,
        "DATASYNC_SECURITY_GROUP_ARN": "arn:aws:ec2:us-east-1:123456789012:security-group/sg-1",
        "EFS_ACCESS_ROLE_ARN": "arn:aws:iam::123456789012:role/datasync-efs",
        "DATASYNC_LOG_GROUP_ARN": "arn:aws:logs:us-east-1:123456789012:log-group:ds",
        "MAX_CONCURRENT_RESTORES": "2",
        "BACKUP_BUCKET_NAME": BUCKET,
        "BACKUP_BUCKET_ACCESS_ROLE_ARN": ROLE_ARN,
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    load_settings.cache_clear()
    datasync = FakeDataSyncWithS3()
    restores = RestoreRepository(registry_table.name)
    services = TransferServices(
        restores=restores,
        datasync=DataSyncGateway(datasync),
        efs=EfsGateway(
            boto3.client("efs", region_name=REGION),
            boto3.client("ec2", region_name=REGION),
        ),
        registry=registry,
        notifier=Notifier(topic["topic_arn"], boto3.client("sns", region_name=REGION)),
        staging=BackupStaging(boto3.client("s3", region_name=REGION)),
    )
    monkeypatch.setattr(transfer_module, "build_prepare_services", lambda: services)
    monkeypatch.setattr(transfer_module, "build_finalize_services", lambda: services)
    yield World(
        registry_table, restore_network, datasync, restores, registry, topic, bucket
    )
    load_settings.cache_clear()


def run(handler: Any, event: dict[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = handler(event, LambdaContextStub())
    return result


def failed_state(
    request: dict[str, Any], trigger: str, transfer: dict[str, Any]
) -> dict[str, Any]:
    """The workflow state after `transfer`'s DataSync execution ended in ERROR."""
    return {
        **request,
        "trigger": trigger,
        "transfer": transfer,
        "execution": {
            "arn": f"{transfer['task_arn']}/execution/exec-1",
            "describe": {"Status": "ERROR", "Result": {"ErrorCode": "S3AccessDenied"}},
        },
    }


def test_backup_prepared_and_failed_end_to_end(world: World) -> None:
    # Given a pending backup of alice's home (as the backup starter records it)
    home = world.home("200001", 1, world.network.efs_old)
    target = BackupLocation.of(home, BUCKET)
    backup_id = make_backup_id(
        home, datetime(2026, 11, 28, 17, tzinfo=UTC), "scheduled"
    )
    execution_arn = (
        f"arn:aws:states:us-east-1:123456789012:execution:restore:{backup_id}"
    )
    world.restores.create_restore(
        RestoreItem(
            restore_id=backup_id,
            trigger="scheduled",
            status="PENDING",
            source=home,
            target=target,
            execution_arn=execution_arn,
            started_at=datetime.now(UTC),
        )
    )
    request = {
        "restore_id": backup_id,
        "source": home.model_dump(mode="json"),
        "target": target.model_dump(mode="json"),
        "execution_arn": execution_arn,
    }
    # When prepare runs
    transfer = run(transfer_module.prepare_handler, request)
    # Then an EFS source, an S3 target and a task exist and are on the BACKUP# item
    item = world.item(home.key.pk, backup_id)
    assert item["entity"] == "backup" and item["status"] == "RUNNING"
    assert item["location_arns"] == [
        transfer["source_location_arn"],
        transfer["target_location_arn"],
    ]
    s3_location = world.datasync.locations[transfer["target_location_arn"]]
    assert s3_location["Subdirectory"] == f"/{target.prefix}"
    assert (
        world.datasync.tasks[transfer["task_arn"]]["Options"]["OverwriteMode"]
        == "ALWAYS"
    )

    # When the transfer fails and finalize runs
    state = failed_state(request, "scheduled", transfer)
    result = run(
        transfer_module.finalize_handler,
        {"execution_arn": execution_arn, "state": state},
    )
    # Then it is FAILED, cleaned up, published, and the profile row is untouched
    assert result["status"] == "FAILED"
    assert world.datasync.locations == {} and world.datasync.tasks == {}
    item = world.item(home.key.pk, backup_id)
    assert item["status"] == "FAILED" and item["location_arns"] == []
    assert (
        world.table.get_item(Key={"pk": home.key.pk, "sk": "PROFILE"}).get("Item")
        is None
    )
    [message] = published(world.topic["queue_url"])
    assert (
        message["subject"]
        == "studio-recovery: backup FAILED for user alice in domain demo"
    )
    assert backup_id in message["message"]


def test_restore_from_an_older_backup_reads_a_staged_copy_deleted_at_the_end(
    world: World,
) -> None:
    # Given a backup in the bucket, and alice's new home on the other volume
    old = world.home("200001", 1, world.network.efs_old)
    source = BackupLocation.of(old, BUCKET)
    world.s3.put_object(Bucket=BUCKET, Key=f"{source.prefix}.ssh/", Body=b"")
    world.s3.put_object(Bucket=BUCKET, Key=f"{source.prefix}a.txt", Body=b"a")
    as_of = next_second()
    next_second()  # a later backup changed a.txt: the one chosen is not the current state
    world.s3.put_object(Bucket=BUCKET, Key=f"{source.prefix}a.txt", Body=b"a2")
    source = source.model_copy(
        update={"backup_id": "alice-b20261128170000-0123456789ab", "as_of": as_of}
    )
    target = world.home("200002", 2, world.network.efs_new)
    restore_id = "alice-g2-0123456789ab"
    event = {
        "restore_id": restore_id,
        "source": source.model_dump(mode="json"),
        "target": target.model_dump(mode="json"),
        "execution_arn": f"arn:aws:states:us-east-1:123456789012:execution:restore:{restore_id}",
    }
    # When prepare runs (no item yet: a restore started by hand)
    transfer = run(transfer_module.prepare_handler, event)
    # Then the backup's objects as of then, the folder included, are staged, and the task
    # reads the staged copy without a manifest
    staging = f"staging/{restore_id}/"
    copies = staged(world.s3, staging)
    assert {path: body for path, (body, _) in copies.items()} == {
        ".ssh/": b"",
        "a.txt": b"a",
    }
    s3_location = world.datasync.locations[transfer["source_location_arn"]]
    assert s3_location["Subdirectory"] == f"/{staging}"
    task = world.datasync.tasks[transfer["task_arn"]]
    assert "ManifestConfig" not in task
    assert task["Options"]["OverwriteMode"] == "NEVER"
    assert len(transfer["access_point_ids"]) == 1
    item = world.item(target.key.pk, restore_id)
    assert item["entity"] == "restore" and len(item["location_arns"]) == 2

    # When the transfer ends and finalize runs
    state = failed_state(event, "manual", transfer)
    run(
        transfer_module.finalize_handler,
        {"execution_arn": event["execution_arn"], "state": state},
    )
    # Then the staged copy is gone, every version of it, and the backup is untouched
    assert versions_under(world.s3, staging) == 0
    assert versions_under(world.s3, source.prefix) == 3


def test_restore_from_the_latest_backup_is_prepared_without_a_manifest(
    world: World,
) -> None:
    # Given the latest backup of alice's home: nothing written after it
    old = world.home("200001", 1, world.network.efs_old)
    source = BackupLocation.of(old, BUCKET)
    world.s3.put_object(Bucket=BUCKET, Key=f"{source.prefix}.ssh/", Body=b"")
    world.s3.put_object(Bucket=BUCKET, Key=f"{source.prefix}.ssh/id", Body=b"k")
    as_of = next_second()
    source = source.model_copy(
        update={"backup_id": "alice-b20261128170000-0123456789ab", "as_of": as_of}
    )
    target = world.home("200002", 2, world.network.efs_new)
    restore_id = "alice-g2-00000000000a"
    event = {
        "restore_id": restore_id,
        "source": source.model_dump(mode="json"),
        "target": target.model_dump(mode="json"),
        "execution_arn": f"arn:aws:states:us-east-1:123456789012:execution:restore:{restore_id}",
    }

    # When prepare runs
    transfer = run(transfer_module.prepare_handler, event)

    # Then nothing is staged and the task transfers the prefix as it is
    assert versions_under(world.s3, "staging/") == 0
    assert world.datasync.locations[transfer["source_location_arn"]][
        "Subdirectory"
    ] == (f"/{source.prefix}")
    task = world.datasync.tasks[transfer["task_arn"]]
    assert "ManifestConfig" not in task
    assert task["Options"]["OverwriteMode"] == "NEVER"
