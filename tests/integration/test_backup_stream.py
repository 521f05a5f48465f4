"""The `stream` Lambda and backups (moto DynamoDB and Step Functions): a deleted home is
backed up, and a home on a volume that is gone is restored from its latest backup."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import pytest
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import (
    DynamoDBRecord,
)
from studio_recovery.config import load_settings
from studio_recovery.dal.registry import RegistryRepository, RestoreRepository
from studio_recovery.handlers import stream as stream_module
from studio_recovery.models.registry import Domain, ProfileKey, generation_sk
from studio_recovery.models.restore import (
    BackupLocation,
    CopyRequest,
    HomeLocation,
    RestoreItem,
    RestoreStatus,
    make_backup_id,
)

from tests.integration.restore_fixtures import (
    T0,
    LambdaContextStub,
    executions,
    get_item,
    restore_items,
    stream_event,
    stream_record,
    user,
)

if TYPE_CHECKING:
    from tests.integration.restore_fixtures import Recorder

pytest_plugins = ("tests.integration.restore_fixtures",)


ALICE = user("alice")
BOB = user("bob")
BUCKET = "studio-recovery-backups-123456789012-us-east-1"


@pytest.fixture(autouse=True)
def stream_env(
    registry_table: Any, restore_state_machine: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[None]:
    monkeypatch.setenv("NAME_REUSE_WINDOW_DAYS", "30")
    monkeypatch.setenv("BACKUP_BUCKET_NAME", BUCKET)
    stream_module.build_services.cache_clear()
    yield
    stream_module.build_services.cache_clear()


@pytest.fixture
def restores(registry_table: Any) -> RestoreRepository:
    return RestoreRepository(registry_table.name)


def backups_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("BACKUP_BUCKET_NAME")
    load_settings.cache_clear()
    stream_module.build_services.cache_clear()


def invoke(*records: dict[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = stream_module.handler(
        stream_event(*records), LambdaContextStub()
    )
    return result


def deletion_record(
    table: Any, recorder: Recorder, key: ProfileKey, number: int = 1, seq: str = "200"
) -> dict[str, Any]:
    """Delete the live generation of `key` and return the MODIFY record it causes."""
    old = get_item(table, key.pk, generation_sk(number))
    recorder.delete(key, domain_id=str(old["domain_id"]))
    new = get_item(table, key.pk, generation_sk(number))
    assert "deleted_at" in new and "deleted_at" not in old
    return stream_record(new, "MODIFY", sequence=seq, old_item=old)


def backup_items(table: Any, key: ProfileKey) -> list[dict[str, Any]]:
    reply = table.query(
        KeyConditionExpression="pk = :pk AND begins_with(sk, :b)",
        ExpressionAttributeValues={":pk": key.pk, ":b": "BACKUP#"},
        ConsistentRead=True,
    )
    return list(reply["Items"])


# ------------------------------------------------------------------ deletion backups


def test_deleted_home_is_backed_up_once_and_the_profile_row_is_untouched(
    registry_table: Any, restore_state_machine: str, recorder: Recorder
) -> None:
    # given alice's home, deleted
    recorder.create(ALICE, "200001")
    record = deletion_record(registry_table, recorder, ALICE)
    profile_before = get_item(registry_table, ALICE.pk, "PROFILE")
    # when the stream delivers the deletion, twice (a retry)
    first = invoke(record)
    second = invoke(record)
    # then one backup of generation 1 runs, into its prefix in the bucket
    assert first == second == {"batchItemFailures": []}
    [execution] = executions(restore_state_machine)
    source, target = execution["input"]["source"], execution["input"]["target"]
    assert execution["input"]["trigger"] == "deletion"
    assert (source["uid"], source["generation"], "bucket" in source) == (
        "200001",
        1,
        False,
    )
    assert (target["bucket"], target["uid"], target["generation"]) == (
        BUCKET,
        "200001",
        1,
    )
    [item] = backup_items(registry_table, ALICE)
    assert item["entity"] == "backup"
    assert item["sk"] == f"BACKUP#{execution['name']}"
    assert (item["status"], item["trigger"]) == ("PENDING", "deletion")
    assert item["execution_arn"] == execution["executionArn"]
    # ... and the profile row's restore fields are not touched, nor any restore written
    assert get_item(registry_table, ALICE.pk, "PROFILE") == profile_before
    assert "replication_status" not in profile_before
    assert restore_items(registry_table, ALICE) == []


def test_deletion_handler_results(
    registry_table: Any,
    restore_state_machine: str,
    recorder: Recorder,
    registry: RegistryRepository,
) -> None:
    recorder.create(ALICE, "200001")
    record = deletion_record(registry_table, recorder, ALICE)
    first = stream_module.record_handler(_as_record(record))
    again = stream_module.record_handler(_as_record(record))
    assert first.startswith("backup started: alice-b")
    assert again.startswith("backup already started: alice-b")
    # an opted-out profile's deleted home is not backed up
    recorder.create(BOB, "200002")
    registry.set_replication(BOB, False)
    assert (
        stream_module.record_handler(
            _as_record(deletion_record(registry_table, recorder, BOB))
        )
        == "ignored: opted_out"
    )
    assert len(executions(restore_state_machine)) == 1


def _as_record(raw: dict[str, Any]) -> DynamoDBRecord:
    return DynamoDBRecord(raw)


def test_other_generation_changes_are_ignored(
    registry_table: Any,
    restore_state_machine: str,
    recorder: Recorder,
    registry: RegistryRepository,
) -> None:
    # given a deleted generation later found empty (has_data set: deleted_at in both images)
    recorder.create(ALICE, "200001")
    deletion_record(registry_table, recorder, ALICE)
    old = get_item(registry_table, ALICE.pk, generation_sk(1))
    registry.mark_generation_empty(ALICE, 1)
    new = get_item(registry_table, ALICE.pk, generation_sk(1))
    # and a live generation modified without a deletion
    recorder.create(BOB, "200002")
    bob = get_item(registry_table, BOB.pk, generation_sk(1))
    records = [
        stream_record(new, "MODIFY", sequence="1", old_item=old),
        stream_record({**bob, "has_data": True}, "MODIFY", sequence="2", old_item=bob),
    ]
    assert [stream_module.record_handler(_as_record(r)) for r in records] == [
        "ignored: not a deletion",
        "ignored: not a deletion",
    ]
    assert executions(restore_state_machine) == []
    assert (
        backup_items(registry_table, ALICE) == backup_items(registry_table, BOB) == []
    )


def test_backups_off_ignores_deletions(
    registry_table: Any,
    restore_state_machine: str,
    recorder: Recorder,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    backups_off(monkeypatch)
    recorder.create(ALICE, "200001")
    record = deletion_record(registry_table, recorder, ALICE)
    assert stream_module.record_handler(_as_record(record)) == "ignored: backups off"
    assert invoke(record) == {"batchItemFailures": []}
    assert executions(restore_state_machine) == []
    assert backup_items(registry_table, ALICE) == []


def test_deleted_home_on_a_gone_volume_is_not_backed_up(
    registry_table: Any,
    restore_state_machine: str,
    recorder: Recorder,
    registry: RegistryRepository,
) -> None:
    recorder.create(ALICE, "200001")
    _gone_domain(registry, "d-abc", "fs-0123")
    record = deletion_record(registry_table, recorder, ALICE)
    assert stream_module.record_handler(_as_record(record)) == "ignored: volume_gone"
    assert executions(restore_state_machine) == []


def test_a_poison_deletion_fails_alone(
    registry_table: Any, restore_state_machine: str, recorder: Recorder
) -> None:
    # given a good deletion and one of a generation whose profile row is missing
    recorder.create(ALICE, "200001")
    good = deletion_record(registry_table, recorder, ALICE, seq="1")
    recorder.create(BOB, "200002")
    poison = deletion_record(registry_table, recorder, BOB, seq="2")
    registry_table.delete_item(Key={"pk": BOB.pk, "sk": "PROFILE"})
    # when both arrive in one batch
    result = invoke(good, poison)
    # then only the poison record is reported, and the good one was backed up
    assert result == {"batchItemFailures": [{"itemIdentifier": "2"}]}
    assert [
        e["input"]["source"]["name"] for e in executions(restore_state_machine)
    ] == ["alice"]


# ------------------------------------------------------------ restore from a backup


def _gone_domain(registry: RegistryRepository, domain_id: str, efs_id: str) -> None:
    registry.put_domain(
        Domain(domain_id=domain_id, domain_name="demo", efs_id=efs_id, created_at=T0)
    )
    registry.mark_domain_deleted("demo", domain_id, T0 + timedelta(days=5), "Delete")


def _backup(
    restores: RestoreRepository,
    registry: RegistryRepository,
    key: ProfileKey,
    number: int,
    days: int,
    status: RestoreStatus = "SUCCEEDED",
) -> RestoreItem:
    generation = registry.get_generation(key, number)
    assert generation is not None
    home = HomeLocation.of(generation)
    started = T0 + timedelta(days=days)
    item = RestoreItem(
        restore_id=make_backup_id(home, started, "scheduled"),
        trigger="scheduled",
        status=status,
        source=home,
        target=BackupLocation.of(home, BUCKET),
        started_at=started,
        ended_at=started + timedelta(minutes=3),
        files_transferred=12,
    )
    assert restores.create_restore(item)
    return item


def _recreate_after_domain_loss(recorder: Recorder) -> None:
    """alice on fs-old (domain d-old); the domain is deleted; alice on fs-new (d-new)."""
    recorder.create(ALICE, "200001", domain_id="d-old", efs_id="fs-old")
    recorder.delete(ALICE, domain_id="d-old")
    recorder.create(ALICE, "200009", domain_id="d-new", efs_id="fs-new")


def test_home_on_a_gone_volume_is_restored_from_its_latest_successful_backup(
    registry_table: Any,
    restore_state_machine: str,
    recorder: Recorder,
    registry: RegistryRepository,
    restores: RestoreRepository,
) -> None:
    # given alice's first home, backed up (an older success, the latest one failed)
    recorder.create(ALICE, "200001", domain_id="d-old", efs_id="fs-old")
    older = _backup(restores, registry, ALICE, 1, days=1)
    latest = _backup(restores, registry, ALICE, 1, days=2)
    _backup(restores, registry, ALICE, 1, days=3, status="FAILED")
    # and its domain deleted with its volume, then alice created in a new domain
    recorder.delete(ALICE, domain_id="d-old")
    _gone_domain(registry, "d-old", "fs-old")
    recorder.create(ALICE, "200009", domain_id="d-new", efs_id="fs-new")
    # when the stream delivers the new generation
    result = invoke(
        stream_record(
            get_item(registry_table, ALICE.pk, generation_sk(2)), sequence="7"
        )
    )
    # then the latest successful backup is restored, as it was when it ended
    assert result == {"batchItemFailures": []}
    [execution] = executions(restore_state_machine)
    source = execution["input"]["source"]
    assert source["bucket"] == BUCKET
    assert source["backup_id"] == latest.restore_id != older.restore_id
    assert source["as_of"] == "2026-11-03T09:03:00Z"
    assert execution["input"]["target"]["efs_id"] == "fs-new"
    [restore] = restore_items(registry_table, ALICE)
    assert (restore["trigger"], restore["status"]) == ("auto", "PENDING")
    assert restore["source"]["backup_id"] == latest.restore_id


def test_home_on_a_gone_volume_without_backup_is_skipped_with_the_reason(
    registry_table: Any,
    restore_state_machine: str,
    recorder: Recorder,
    registry: RegistryRepository,
) -> None:
    _recreate_after_domain_loss(recorder)
    _gone_domain(registry, "d-old", "fs-old")
    result = invoke(
        stream_record(
            get_item(registry_table, ALICE.pk, generation_sk(2)), sequence="8"
        )
    )
    assert result == {"batchItemFailures": []}
    assert executions(restore_state_machine) == []
    [skip] = restore_items(registry_table, ALICE)
    assert skip["status"] == "SKIPPED"
    assert skip["reason"].startswith("volume_deleted_no_backup: generation 1")
    profile = get_item(registry_table, ALICE.pk, "PROFILE")
    assert profile["replication_status"] == "SKIPPED"


def test_with_backups_off_a_gone_volume_is_not_looked_up(
    registry_table: Any,
    restore_state_machine: str,
    recorder: Recorder,
    registry: RegistryRepository,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # today's behaviour: the directory on the old volume is the source
    backups_off(monkeypatch)
    _recreate_after_domain_loss(recorder)
    _gone_domain(registry, "d-old", "fs-old")
    invoke(
        stream_record(
            get_item(registry_table, ALICE.pk, generation_sk(2)), sequence="9"
        )
    )
    [execution] = executions(restore_state_machine)
    assert "bucket" not in execution["input"]["source"]
    assert execution["input"]["source"]["efs_id"] == "fs-old"


def test_a_stopped_backup_is_found_by_its_execution(
    registry_table: Any,
    restore_state_machine: str,
    recorder: Recorder,
    restores: RestoreRepository,
) -> None:
    # (finalize looks a stopped execution up by ARN when its input is unreadable)
    recorder.create(ALICE, "200001")
    invoke(deletion_record(registry_table, recorder, ALICE))
    [execution] = executions(restore_state_machine)
    found = restores.find_by_execution(execution["executionArn"])
    assert found is not None and found.is_backup
    assert found.restore_id == execution["name"]
    assert restores.find_by_execution(execution["executionArn"] + "-other") is None
    assert [b.restore_id for b in restores.list_backups(ALICE)] == [execution["name"]]
    assert restores.list_restores(ALICE) == []


def test_a_copy_from_a_home_on_a_gone_volume_reads_its_latest_backup(
    registry_table: Any,
    restore_state_machine: str,
    recorder: Recorder,
    registry: RegistryRepository,
    restores: RestoreRepository,
) -> None:
    # given alice's home, backed up, whose domain was deleted with its volume
    recorder.create(ALICE, "200001", domain_id="d-old", efs_id="fs-old")
    latest = _backup(restores, registry, ALICE, 1, days=2)
    recorder.delete(ALICE, domain_id="d-old")
    _gone_domain(registry, "d-old", "fs-old")
    # and an admin's copy (`copy`, `migrate`) from alice into bob, who exists
    recorder.create(BOB, "200009", domain_id="d-new", efs_id="fs-new")
    request = CopyRequest(
        target=BOB,
        status="PENDING",
        source_pk=ALICE.pk,
        requested_at=T0 + timedelta(days=9),
    )
    assert restores.put_copy_request(request, replace_pending=False)

    # when the stream delivers the copy request
    result = invoke(
        stream_record(get_item(registry_table, BOB.pk, "COPY"), sequence="9")
    )

    # then bob gets alice's latest backup (her directory is gone with its volume)
    assert result == {"batchItemFailures": []}
    [execution] = executions(restore_state_machine)
    assert execution["input"]["trigger"] == "copy"
    assert execution["input"]["source"]["backup_id"] == latest.restore_id
    assert execution["input"]["target"]["efs_id"] == "fs-new"
