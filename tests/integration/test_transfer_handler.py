"""The workflow's `prepare` and `finalize` Lambdas end to end: moto DynamoDB, EFS, EC2, SNS
and Step Functions; a fake DataSync client (moto 5.2.1 has no EFS locations)."""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import boto3
import pytest
from botocore.exceptions import ClientError
from studio_recovery.dal.datasync import DataSyncGateway
from studio_recovery.dal.efs import EfsGateway
from studio_recovery.dal.notify import Notifier
from studio_recovery.dal.registry import RegistryRepository, RestoreRepository
from studio_recovery.dal.workflow import WorkflowGateway
from studio_recovery.handlers import transfer as transfer_module
from studio_recovery.logic.restore_plan import StartRestore, plan_restore
from studio_recovery.logic.restore_start import start_restore
from studio_recovery.models.errors import (
    NoUsableSubnetError,
    RestoreStoppedError,
    SlotUnavailable,
    SlotWaitTimeout,
    UnsafeTransferError,
)
from studio_recovery.models.registry import ProfileKey, generation_sk
from studio_recovery.models.restore import (
    HomeLocation,
    RestoreItem,
    RestoreRequest,
    restore_sk,
)
from studio_recovery.services import TransferServices

from tests.integration.restore_fixtures import (
    REGION,
    FakeDataSyncClient,
    LambdaContextStub,
    Network,
    access_points,
    executions,
    get_item,
    published,
    space,
    user,
)

if TYPE_CHECKING:
    from tests.integration.restore_fixtures import Recorder

pytest_plugins = ("tests.integration.restore_fixtures",)

ALICE = user("alice")
SG_ARN = "arn:aws:ec2:us-east-1:123456789012:security-group/sg-0datasync"
ROLE_ARN = "arn:aws:iam::123456789012:role/datasync-efs"
LOG_GROUP_ARN = (
    "arn:aws:logs:us-east-1:123456789012:log-group:/studio-recovery/datasync"
)


@dataclass
class World:
    """Everything a test needs to drive prepare and finalize."""

    table: Any
    network: Network
    datasync: FakeDataSyncClient
    registry: RegistryRepository
    restores: RestoreRepository
    recorder: Recorder
    state_machine: str
    topic: dict[str, str]

    def started_restore(
        self, key: ProfileKey = ALICE, generations: int = 2
    ) -> RestoreRequest:
        """`key` created `generations` times (first on the old volume), and its restore started."""
        self.recorder.create(
            key, "200001", domain_id="d-old", efs_id=self.network.efs_old
        )
        self.recorder.delete(key, domain_id="d-old")
        for number in range(2, generations + 1):
            self.recorder.create(
                key, f"20000{number}", domain_id="d-new", efs_id=self.network.efs_new
            )
            if number < generations:
                self.recorder.delete(key, domain_id="d-new")
        profile = self.registry.get_profile(key)
        assert profile is not None
        gens = self.registry.list_generations(key)
        plan = plan_restore(
            profile=profile,
            target=gens[-1],
            generations=gens,
            reuse_window=timedelta(days=30),
        )
        assert isinstance(plan, StartRestore), plan
        workflow = WorkflowGateway(self.state_machine)
        start_restore(plan, self.restores, workflow, datetime.now(UTC))
        return plan.request

    def execution_arn(self, request: RestoreRequest) -> str:
        item = self.restores.get_restore(request.target.key, request.restore_id)
        assert item is not None and item.execution_arn
        return item.execution_arn

    def restore_item(self, request: RestoreRequest) -> dict[str, Any]:
        return get_item(
            self.table, request.target.key.pk, restore_sk(request.restore_id)
        )

    def profile_row(self, key: ProfileKey) -> dict[str, Any]:
        return get_item(self.table, key.pk, "PROFILE")

    def slot_count(self) -> int:
        item = self.table.get_item(Key={"pk": "SEMAPHORE", "sk": "DATASYNC"}).get(
            "Item"
        )
        return int(item["count"]) if item else 0


@pytest.fixture
def world(
    registry_table: Any,
    restore_network: Network,
    datasync: FakeDataSyncClient,
    registry: RegistryRepository,
    recorder: Recorder,
    restore_state_machine: str,
    topic: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[World]:
    env = {
        "DATASYNC_SUBNET_IDS": f"{restore_network.subnet_b},{restore_network.subnet_a}",
        "DATASYNC_SECURITY_GROUP_ARN": SG_ARN,
        "EFS_ACCESS_ROLE_ARN": ROLE_ARN,
        "IN_TRANSIT_ENCRYPTION": "TLS1_2",
        "HOME_GID": "100",
        "DATASYNC_LOG_GROUP_ARN": LOG_GROUP_ARN,
        "MAX_CONCURRENT_RESTORES": "2",
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    transfer_module.load_settings.cache_clear()
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
        workflow=WorkflowGateway(restore_state_machine),
    )
    monkeypatch.setattr(transfer_module, "build_prepare_services", lambda: services)
    monkeypatch.setattr(transfer_module, "build_finalize_services", lambda: services)
    yield World(
        registry_table,
        restore_network,
        datasync,
        registry,
        restores,
        recorder,
        restore_state_machine,
        topic,
    )
    transfer_module.load_settings.cache_clear()


def prepare_event(
    world: World, request: RestoreRequest, **overrides: Any
) -> dict[str, Any]:
    event = {
        **request.execution_input(),
        "execution_arn": world.execution_arn(request),
        "execution_started_at": datetime.now(UTC).isoformat(),
        "slot_wait_timeout_seconds": 3600,
    }
    event.pop("trigger")
    event.update(overrides)
    return event


def run_prepare(event: dict[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = transfer_module.prepare_handler(event, LambdaContextStub())  # type: ignore[arg-type]
    return result


def run_finalize(event: dict[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = transfer_module.finalize_handler(
        event, LambdaContextStub()
    )  # type: ignore[arg-type]
    return result


def finalize_event(
    world: World,
    request: RestoreRequest,
    transfer: dict[str, Any] | None = None,
    describe: dict[str, Any] | None = None,
    error: dict[str, str] | None = None,
) -> dict[str, Any]:
    """What the workflow's Finalize state sends: `{"execution_arn", "state"}`."""
    state: dict[str, Any] = request.execution_input()
    if transfer is not None:
        state["transfer"] = transfer
    if describe is not None:
        state["execution"] = {
            "arn": "arn:exec",
            "waited_seconds": 60,
            "describe": describe,
        }
    if error is not None:
        state["error"] = error
    return {"execution_arn": world.execution_arn(request), "state": state}


SUCCESS = {
    "Status": "SUCCESS",
    "BytesWritten": 4096,
    "BytesTransferred": 4000,
    "FilesTransferred": 3,
    "Result": {"TotalDuration": 4200, "TransferStatus": "SUCCESS"},
}


# ------------------------------------------------------------------- prepare


def test_prepare_creates_access_point_locations_and_task_with_safe_options(
    world: World,
) -> None:
    # given alice recreated in a new domain (new volume), her restore started
    request = world.started_restore()
    # when prepare runs
    transfer = run_prepare(prepare_event(world, request))
    # then the target access point acts as the new uid, rooted at its home
    [point] = access_points(world.network.efs_new)
    assert point["AccessPointId"] == transfer["access_point_ids"][0]
    assert point["PosixUser"] == {"Uid": 200002, "Gid": 100}
    assert point["RootDirectory"]["Path"] == "/200002"
    assert point["RootDirectory"]["CreationInfo"] == {
        "OwnerUid": 200002,
        "OwnerGid": 100,
        "Permissions": "0700",
    }
    # and the source location reads the old uid's directory on the old volume
    source = world.datasync.locations[transfer["source_location_arn"]]
    assert source["Subdirectory"] == "/200001"
    assert world.network.efs_old in source["EfsFilesystemArn"]
    # and the target writes through the access point with TLS and the role
    target = world.datasync.locations[transfer["target_location_arn"]]
    assert target["AccessPointArn"] == point["AccessPointArn"]
    assert target["FileSystemAccessRoleArn"] == ROLE_ARN
    assert target["InTransitEncryption"] == "TLS1_2"
    # and DataSync runs from the configured subnet in the mount targets' zone
    for location in (source, target):
        assert location["Ec2Config"]["SubnetArn"].endswith(world.network.subnet_a)
        assert location["Ec2Config"]["SecurityGroupArns"] == [SG_ARN]
    # and the task never overwrites, never deletes, leaves ownership to the access point
    task = world.datasync.tasks[transfer["task_arn"]]
    assert task["Options"] == {
        "VerifyMode": "ONLY_FILES_TRANSFERRED",
        "OverwriteMode": "NEVER",
        "PreserveDeletedFiles": "PRESERVE",
        "TransferMode": "CHANGED",
        "PosixPermissions": "PRESERVE",
        "Uid": "NONE",
        "Gid": "NONE",
        "LogLevel": "BASIC",
    }
    assert task["CloudWatchLogGroupArn"] == LOG_GROUP_ARN
    assert {"Key": "restore_id", "Value": request.restore_id} in task["Tags"]
    # and every resource is on the restore item, which is RUNNING, with a slot held
    item = world.restore_item(request)
    assert item["status"] == "RUNNING"
    assert item["task_arn"] == transfer["task_arn"]
    assert item["location_arns"] == [
        transfer["source_location_arn"],
        transfer["target_location_arn"],
    ]
    assert item["access_point_ids"] == transfer["access_point_ids"]
    assert world.slot_count() == 1


def test_prepare_retried_takes_one_slot_and_replaces_the_earlier_attempts_resources(
    world: World,
) -> None:
    request = world.started_restore()
    first = run_prepare(prepare_event(world, request))
    second = run_prepare(prepare_event(world, request))
    assert world.slot_count() == 1
    assert first["task_arn"] not in world.datasync.tasks
    assert list(world.datasync.tasks) == [second["task_arn"]]
    assert len(world.datasync.locations) == 2
    assert len(access_points(world.network.efs_new)) == 1


@pytest.mark.parametrize(
    ("changes", "words"),
    [
        ({"source": {"efs_id": "TARGET", "uid": "TARGET"}}, "same directory"),
        ({"source": {"uid": "0"}}, "not a positive number"),
        ({"target": {"uid": "0"}}, "not a positive number"),
        ({"source": {"uid": "abc"}}, "not a positive number"),
        ({"source": {"uid": ""}}, "not a positive number"),
        ({"target": {"uid": "../200001"}}, "not a positive number"),
    ],
    ids=["same-dir", "source-root", "target-root", "letters", "empty", "path"],
)
def test_prepare_refuses_unsafe_transfers_and_creates_nothing(
    world: World, changes: dict[str, dict[str, str]], words: str
) -> None:
    request = world.started_restore()
    event = prepare_event(world, request)
    for side, fields in changes.items():
        for name, value in fields.items():
            event[side][name] = event["target"][name] if value == "TARGET" else value

    with pytest.raises(UnsafeTransferError, match=words):
        run_prepare(event)

    assert world.datasync.calls == []
    assert access_points(world.network.efs_new) == []
    assert world.slot_count() == 0


def test_prepare_deletes_what_it_created_when_a_later_step_fails(world: World) -> None:
    # given DataSync refuses to create the task
    request = world.started_restore()
    world.datasync.fail["CreateTask"] = ClientError(
        {"Error": {"Code": "InvalidRequestException", "Message": "quota reached"}},
        "CreateTask",
    )
    # when prepare runs
    with pytest.raises(ClientError, match="quota reached"):
        run_prepare(prepare_event(world, request))
    # then the access point and both locations are gone, and nothing is left recorded
    assert access_points(world.network.efs_new) == []
    assert world.datasync.locations == {}
    item = world.restore_item(request)
    assert item["location_arns"] == []
    assert item["access_point_ids"] == []
    assert "task_arn" not in item


def test_prepare_stopped_meanwhile_deletes_what_it_made_and_gives_the_slot_back(
    world: World,
) -> None:
    # given the execution is stopped (and its restore finalized) while prepare runs
    request = world.started_restore()
    create_task = world.datasync.create_task

    def stop_then_create(**kwargs: Any) -> dict[str, Any]:
        world.table.update_item(
            Key={"pk": request.target.key.pk, "sk": restore_sk(request.restore_id)},
            UpdateExpression="SET #s = :failed",
            ExpressionAttributeNames={"#s": "status"},
            ExpressionAttributeValues={":failed": "FAILED"},
        )
        return create_task(**kwargs)

    world.datasync.create_task = stop_then_create  # type: ignore[method-assign]
    # when prepare finishes its work
    with pytest.raises(RestoreStoppedError):
        run_prepare(prepare_event(world, request))
    # then nothing it created is left, and its slot is free
    assert world.datasync.tasks == {}
    assert world.datasync.locations == {}
    assert access_points(world.network.efs_new) == []
    assert world.slot_count() == 0
    # and a retried prepare does not start over
    with pytest.raises(RestoreStoppedError):
        run_prepare(prepare_event(world, request))
    assert world.slot_count() == 0


def test_prepare_waits_for_a_slot_then_gives_up_after_the_slot_wait(
    world: World,
) -> None:
    # given both slots held by other executions
    now = datetime.now(UTC)
    world.restores.acquire_slot("arn:other-1", 2, now)
    world.restores.acquire_slot("arn:other-2", 2, now)
    request = world.started_restore()
    # then prepare asks to be retried while the wait lasts
    with pytest.raises(SlotUnavailable):
        run_prepare(prepare_event(world, request))
    # and gives up once the execution has waited longer than the slot wait
    started_long_ago = (now - timedelta(hours=2)).isoformat()
    with pytest.raises(SlotWaitTimeout):
        run_prepare(
            prepare_event(world, request, execution_started_at=started_long_ago)
        )
    assert world.datasync.calls == []
    assert world.slot_count() == 2


def test_prepare_refuses_when_no_configured_subnet_reaches_the_volume(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATASYNC_SUBNET_IDS", world.network.subnet_b)
    transfer_module.load_settings.cache_clear()
    request = world.started_restore()
    with pytest.raises(NoUsableSubnetError, match="us-east-1a"):
        run_prepare(prepare_event(world, request))
    assert world.datasync.calls == []


# ------------------------------------------------------------------ finalize


@pytest.mark.parametrize("key", [ALICE, space("team")], ids=["user", "space"])
def test_finalize_after_success_deletes_everything_and_records_the_result(
    world: World, key: ProfileKey
) -> None:
    # given a prepared and successful transfer into a user or a space
    request = world.started_restore(key)
    transfer = run_prepare(prepare_event(world, request))
    # when finalize runs
    result = run_finalize(finalize_event(world, request, transfer, SUCCESS))
    # then the workflow is told SUCCEEDED and nothing is left in DataSync or EFS
    assert result["status"] == "SUCCEEDED"
    assert result["follow_up_restore_id"] is None
    assert world.datasync.tasks == {}
    assert world.datasync.locations == {}
    assert access_points(world.network.efs_new) == []
    assert world.slot_count() == 0
    # and the restore item and the profile row (user or space alike) carry the counters
    item = world.restore_item(request)
    assert item["status"] == "SUCCEEDED"
    assert item["location_arns"] == []
    profile = world.profile_row(key)
    expected = {
        "replication_status": "SUCCEEDED",
        "bytes_written": 4096,
        "bytes_file_transferred": 4000,
        "files_transferred": 3,
        "total_duration_ms": 4200,
        "execution_arn": world.execution_arn(request),
        "restore_id": request.restore_id,
    }
    assert {name: profile[name] for name in expected} == expected
    assert profile["restore_started_at"] <= profile["restore_ended_at"]
    assert published(world.topic["queue_url"]) == []


def test_finalize_succeeds_when_everything_is_already_gone(world: World) -> None:
    request = world.started_restore()
    transfer = run_prepare(prepare_event(world, request))
    event = finalize_event(world, request, transfer, SUCCESS)
    assert run_finalize(event)["status"] == "SUCCEEDED"
    # a retried finalize finds nothing to delete, and no slot to give back
    assert run_finalize(event)["status"] == "SUCCEEDED"
    assert world.slot_count() == 0
    assert world.datasync.calls.count("DeleteTask") == 2


def test_finalize_after_a_failed_step_records_failed_and_notifies(world: World) -> None:
    # given prepare failed with a Lambda error the workflow caught
    request = world.started_restore()
    cause = json.dumps(
        {"errorMessage": "Location not reachable", "errorType": "ClientError"}
    )
    event = finalize_event(
        world, request, error={"Error": "ClientError", "Cause": cause}
    )
    # when finalize runs
    result = run_finalize(event)
    # then the restore is FAILED with the cause, and the operators hear of it
    assert result["status"] == "FAILED"
    assert result["reason"] == "ClientError: Location not reachable"
    assert world.restore_item(request)["status"] == "FAILED"
    assert world.profile_row(ALICE)["replication_status"] == "FAILED"
    [note] = published(world.topic["queue_url"])
    assert "user alice in domain demo" in note["subject"]
    for words in (
        "Domain: demo",
        "Kind: user",
        "Profile: alice",
        "Location not reachable",
    ):
        assert words in note["message"]


def test_finalize_after_a_datasync_error_names_the_datasync_error(world: World) -> None:
    request = world.started_restore()
    transfer = run_prepare(prepare_event(world, request))
    describe = {
        "Status": "ERROR",
        "Result": {
            "ErrorCode": "PermissionDenied",
            "ErrorDetail": "cannot read /200001",
        },
    }
    result = run_finalize(finalize_event(world, request, transfer, describe))
    assert result == {
        "status": "FAILED",
        "reason": "PermissionDenied: cannot read /200001",
        "follow_up_restore_id": None,
    }
    assert world.datasync.tasks == {}
    assert len(published(world.topic["queue_url"])) == 1


def test_finalize_of_an_empty_source_restores_from_the_generation_before(
    world: World,
) -> None:
    # given alice's third home restored from her second, which turns out empty
    request = world.started_restore(generations=3)
    assert request.source.generation == 2
    transfer = run_prepare(prepare_event(world, request))
    empty = {**SUCCESS, "FilesTransferred": 1, "BytesWritten": 0, "BytesTransferred": 0}
    empty["FilesListed"] = {
        "AtSource": 1,
        "AtDestinationForDelete": 0,
    }  # the directory only
    # when finalize runs
    result = run_finalize(finalize_event(world, request, transfer, empty))
    # then generation 2 is marked empty and a restore from generation 1 starts
    assert result["status"] == "SOURCE_EMPTY"
    assert result["follow_up_restore_id"]
    gen2 = get_item(world.table, ALICE.pk, generation_sk(2))
    assert gen2["has_data"] is False
    follow_up = [
        e
        for e in executions(world.state_machine)
        if e["name"] == result["follow_up_restore_id"]
    ]
    assert follow_up[0]["input"]["source"]["generation"] == 1
    assert published(world.topic["queue_url"]) == []


def test_finalize_also_restores_what_a_failed_earlier_restore_never_delivered(
    world: World,
) -> None:
    # given alice's third home restored from her second, whose own restore from the
    # first had failed (so the second holds only part of the first's files): the plan
    # reads every earlier home, so the first is the restore's next step
    request = world.started_restore(generations=3)
    gens = world.registry.list_generations(ALICE)
    world.restores.create_restore(
        RestoreItem(
            restore_id="alice-g2-failed",
            trigger="auto",
            status="FAILED",
            reason="DataSync error",
            source=HomeLocation.of(gens[0]),
            target=HomeLocation.of(gens[1]),
            started_at=gens[1].created_at,
        )
    )
    transfer = run_prepare(prepare_event(world, request))
    # when the restore from the second generation succeeds
    result = run_finalize(finalize_event(world, request, transfer, SUCCESS))
    # then the first generation is restored into the third as well
    assert result["status"] == "SUCCEEDED"
    assert result["follow_up_restore_id"]
    follow_up = [
        e
        for e in executions(world.state_machine)
        if e["name"] == result["follow_up_restore_id"]
    ]
    assert follow_up[0]["input"]["source"]["generation"] == 1
    assert follow_up[0]["input"]["target"]["generation"] == 3


def test_stopped_execution_is_cleaned_up_and_recorded_as_stopped_by_hand(
    world: World,
) -> None:
    # given a prepared restore whose execution an operator stops
    request = world.started_restore()
    transfer = run_prepare(prepare_event(world, request))
    world.datasync.executions[f"{transfer['task_arn']}/execution/exec-1"] = (
        "TRANSFERRING"
    )
    event = {
        "source": "aws.states",
        "detail-type": "Step Functions Execution Status Change",
        "detail": {
            "executionArn": world.execution_arn(request),
            "stateMachineArn": world.state_machine,
            "status": "ABORTED",
            "input": json.dumps(request.execution_input()),
        },
    }
    # when the status change reaches finalize
    result = run_finalize(event)
    # then the running transfer is cancelled, everything deleted, the restore FAILED
    assert result["status"] == "FAILED"
    assert result["reason"] == "stopped by hand"
    assert "CancelTaskExecution" in world.datasync.calls
    assert world.datasync.tasks == {}
    assert access_points(world.network.efs_new) == []
    assert world.slot_count() == 0
    assert world.restore_item(request)["reason"] == "stopped by hand"
    assert "stopped by hand" in published(world.topic["queue_url"])[0]["message"]


def test_timed_out_execution_without_readable_input_is_found_by_its_arn(
    world: World,
) -> None:
    request = world.started_restore()
    run_prepare(prepare_event(world, request))
    event = {
        "detail-type": "Step Functions Execution Status Change",
        "detail": {"executionArn": world.execution_arn(request), "status": "TIMED_OUT"},
    }
    result = run_finalize(event)
    assert (result["status"], result["reason"]) == ("FAILED", "timed out")
    assert world.datasync.tasks == {}


def status_change(
    world: World,
    request: RestoreRequest,
    status: str,
    error: str | None = None,
    cause: str | None = None,
) -> dict[str, Any]:
    """The "Step Functions Execution Status Change" event the execution-ended rule sends."""
    return {
        "source": "aws.states",
        "detail-type": "Step Functions Execution Status Change",
        "detail": {
            "executionArn": world.execution_arn(request),
            "stateMachineArn": world.state_machine,
            "status": status,
            "input": json.dumps(request.execution_input()),
            "error": error,
            "cause": cause,
        },
    }


def test_execution_failed_on_its_own_is_cleaned_up_recorded_and_notified_once(
    world: World,
) -> None:
    # given a prepared restore whose execution fails outside the workflow's own Catch
    # paths (here: the history limit, while the transfer still runs)
    request = world.started_restore()
    transfer = run_prepare(prepare_event(world, request))
    world.datasync.executions[f"{transfer['task_arn']}/execution/exec-1"] = (
        "TRANSFERRING"
    )
    assert world.slot_count() == 1
    cause = "The execution reached the maximum number of history events (25000)."
    event = status_change(world, request, "FAILED", "States.Runtime", cause)
    # when the status change reaches finalize
    result = run_finalize(event)
    # then the transfer is cancelled; task, locations, access point and slot are given back
    reason = f"the execution failed on its own: States.Runtime: {cause}"
    assert result == {
        "status": "FAILED",
        "reason": reason,
        "follow_up_restore_id": None,
    }
    assert "CancelTaskExecution" in world.datasync.calls
    assert world.datasync.tasks == {}
    assert world.datasync.locations == {}
    assert access_points(world.network.efs_new) == []
    assert world.slot_count() == 0
    # and the result is recorded on the restore and the profile row
    item = world.restore_item(request)
    assert (item["status"], item["reason"]) == ("FAILED", reason)
    assert item["location_arns"] == []
    profile = world.profile_row(ALICE)
    assert (profile["replication_status"], profile["restore_id"]) == (
        "FAILED",
        request.restore_id,
    )
    # and the event delivered again (EventBridge retries) changes nothing
    assert run_finalize(event)["status"] == "IGNORED"
    [note] = published(world.topic["queue_url"])
    assert "restore FAILED for user alice in domain demo" in note["subject"]
    assert "failed on its own: States.Runtime" in note["message"]


def test_execution_failed_without_error_or_cause_still_says_it_failed_on_its_own(
    world: World,
) -> None:
    request = world.started_restore()
    run_prepare(prepare_event(world, request))
    result = run_finalize(status_change(world, request, "FAILED"))
    assert (result["status"], result["reason"]) == (
        "FAILED",
        "the execution failed on its own: Step Functions gave no error or cause",
    )
    assert world.datasync.tasks == {}
    assert len(published(world.topic["queue_url"])) == 1


def test_failed_restore_ended_by_the_fail_state_is_not_recorded_or_notified_twice(
    world: World,
) -> None:
    # given a restore whose DataSync transfer failed: the workflow's Finalize recorded it
    # FAILED and notified, then the RestoreFailed Fail state ended the execution FAILED
    request = world.started_restore()
    transfer = run_prepare(prepare_event(world, request))
    describe = {
        "Status": "ERROR",
        "Result": {"ErrorCode": "PermissionDenied", "ErrorDetail": "cannot read"},
    }
    finalized = run_finalize(finalize_event(world, request, transfer, describe))
    assert finalized["status"] == "FAILED"
    recorded = world.restore_item(request)
    # and something was left behind meanwhile (an access point the first pass missed)
    efs = boto3.client("efs", region_name=REGION)
    leftover = efs.create_access_point(
        FileSystemId=world.network.efs_new, Tags=[{"Key": "Name", "Value": "left"}]
    )["AccessPointId"]
    world.restores.add_resource(
        request.target.key, request.restore_id, access_point_id=leftover
    )
    # when the execution's FAILED status change reaches finalize
    event = status_change(
        world, request, "FAILED", "RestoreFailed", finalized["reason"]
    )
    result = run_finalize(event)
    # then only the leftover is deleted: the result stays, one notification in all
    assert result["status"] == "IGNORED"
    assert access_points(world.network.efs_new) == []
    after = world.restore_item(request)
    assert (after["status"], after["reason"], after["ended_at"]) == (
        recorded["status"],
        recorded["reason"],
        recorded["ended_at"],
    )
    assert world.profile_row(ALICE)["replication_status"] == "FAILED"
    assert world.slot_count() == 0
    [note] = published(world.topic["queue_url"])
    assert "PermissionDenied: cannot read" in note["message"]


def test_finalize_that_failed_is_completed_by_the_failed_status_change(
    world: World,
) -> None:
    # given a restore whose Finalize step failed after its retries: nothing recorded, the
    # workflow gave the slot back and ended FAILED (FinalizeFailed)
    request = world.started_restore()
    run_prepare(prepare_event(world, request))
    world.restores.release_slot(world.execution_arn(request))
    cause = "the finalize step failed after its retries: ..."
    # when the FAILED status change reaches finalize
    result = run_finalize(
        status_change(world, request, "FAILED", "FinalizeFailed", cause)
    )
    # then the cleanup is done now, recorded and notified once
    assert result["status"] == "FAILED"
    assert result["reason"].startswith(
        "the execution failed on its own: FinalizeFailed"
    )
    assert world.datasync.tasks == {}
    assert access_points(world.network.efs_new) == []
    assert world.restore_item(request)["status"] == "FAILED"
    assert len(published(world.topic["queue_url"])) == 1


def test_status_changes_other_than_stopped_are_ignored(world: World) -> None:
    request = world.started_restore()
    event = {
        "detail-type": "Step Functions Execution Status Change",
        "detail": {"executionArn": world.execution_arn(request), "status": "SUCCEEDED"},
    }
    assert run_finalize(event)["status"] == "IGNORED"
    assert world.restore_item(request)["status"] == "PENDING"


# ----------------------------------------------------------------- semaphore


def test_slot_semaphore_never_exceeds_its_limit(registry_table: Any) -> None:
    # given a limit of 3 and a random sequence of acquires and releases, some repeated
    restores = RestoreRepository(registry_table.name)
    limit, now = 3, datetime.now(UTC)
    rng = random.Random(7)  # reproducible test data
    held: set[str] = set()
    for _ in range(60):
        arn = f"arn:execution:{rng.randrange(6)}"
        if rng.random() < 0.6:
            got = restores.acquire_slot(arn, limit, now)
            # then an acquire succeeds exactly when the execution holds one or one is free
            assert got == (arn in held or len(held) < limit)
            if got:
                held.add(arn)
        else:
            assert restores.release_slot(arn) == (arn in held)
            held.discard(arn)
        holders = restores.slot_holders()
        assert set(holders) == held
        item = registry_table.get_item(Key={"pk": "SEMAPHORE", "sk": "DATASYNC"}).get(
            "Item"
        )
        count = int(item["count"]) if item else 0  # no item before the first acquire
        assert count == len(held) <= limit


def test_stale_slots_are_released(registry_table: Any) -> None:
    restores = RestoreRepository(registry_table.name)
    now = datetime.now(UTC)
    restores.acquire_slot("arn:dead", 1, now - timedelta(hours=30))
    assert restores.acquire_slot("arn:new", 1, now) is False
    assert restores.release_stale_slots(now, timedelta(hours=24)) == ["arn:dead"]
    assert restores.acquire_slot("arn:new", 1, now) is True
