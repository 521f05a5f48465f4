"""The `stream` Lambda end to end: registry stream records -> restore items and executions
(moto DynamoDB and Step Functions)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import pytest
from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError
from studio_recovery.dal.registry import RegistryRepository
from studio_recovery.handlers import stream as stream_module
from studio_recovery.models.registry import ProfileKey, generation_sk, to_iso

from tests.integration.restore_fixtures import (
    LambdaContextStub,
    executions,
    get_item,
    restore_items,
    space,
    stream_event,
    stream_record,
    user,
)

if TYPE_CHECKING:
    from tests.integration.restore_fixtures import Recorder

pytest_plugins = ("tests.integration.restore_fixtures",)

ALICE = user("alice")
BOB = user("bob")


@pytest.fixture(autouse=True)
def stream_env(
    registry_table: Any, restore_state_machine: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[None]:
    monkeypatch.setenv("NAME_REUSE_WINDOW_DAYS", "30")
    stream_module.build_services.cache_clear()
    yield
    stream_module.build_services.cache_clear()


def invoke(*records: dict[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = stream_module.handler(  # type: ignore[assignment]
        stream_event(*records),
        LambdaContextStub(),  # type: ignore[arg-type]
    )
    return result


def generation_record(
    table: Any, key: ProfileKey, number: int, seq: str = "100"
) -> dict[str, Any]:
    return stream_record(get_item(table, key.pk, generation_sk(number)), sequence=seq)


def put_copy(
    table: Any, target: ProfileKey, source: ProfileKey, **extra: Any
) -> dict[str, Any]:
    item = {
        "pk": target.pk,
        "sk": "COPY",
        "entity": "copy",
        "status": "PENDING",
        "source_pk": source.pk,
        "requested_at": "2026-11-01T08:00:00Z",
        **extra,
    }
    table.put_item(Item=item)
    return item


def the_restore(table: Any, key: ProfileKey) -> dict[str, Any]:
    items = restore_items(table, key)
    assert len(items) == 1, items
    return items[0]


# ------------------------------------------------------------------ restores


@pytest.mark.parametrize("key", [ALICE, space("team")], ids=["user", "space"])
def test_recreated_profile_starts_a_restore_from_its_previous_home(
    registry_table: Any,
    restore_state_machine: str,
    recorder: Recorder,
    key: ProfileKey,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # given a profile (or space) deleted and created again with a new uid
    recorder.create(key, "200001")
    recorder.delete(key)
    recorder.create(key, "200005")
    # when the stream delivers the new generation
    capsys.readouterr()
    result = invoke(generation_record(registry_table, key, 2))
    # then one execution restores generation 1 into generation 2
    assert result == {"batchItemFailures": []}
    started = [
        m for m in emf_metrics(capsys.readouterr().out) if "RestoresStarted" in m
    ]
    assert [m["RestoresStarted"] for m in started] == [[1.0]]  # one document, one value
    [execution] = executions(restore_state_machine)
    assert execution["input"]["source"]["uid"] == "200001"
    assert execution["input"]["target"]["uid"] == "200005"
    assert execution["input"]["target"]["kind"] == key.kind
    # and the restore item and the profile row say so
    restore = the_restore(registry_table, key)
    assert restore["status"] == "PENDING"
    assert restore["execution_arn"] == execution["executionArn"]
    assert restore["restore_id"] == execution["name"]
    profile = get_item(registry_table, key.pk, "PROFILE")
    assert profile["replication_status"] == "PENDING"
    assert profile["restore_id"] == execution["name"]


def emf_metrics(stdout: str) -> list[dict[str, Any]]:
    """The CloudWatch embedded-metric documents Powertools printed."""
    return [
        json.loads(line)
        for line in stdout.splitlines()
        if line.startswith("{") and '"_aws"' in line
    ]


def test_recreated_three_times_restores_the_latest_earlier_home_with_data(
    registry_table: Any,
    restore_state_machine: str,
    recorder: Recorder,
    registry: RegistryRepository,
) -> None:
    for uid in ("200001", "200002", "200003"):
        recorder.create(ALICE, uid)
        recorder.delete(ALICE)
    registry.mark_generation_empty(ALICE, 3)
    recorder.create(ALICE, "200004")

    invoke(generation_record(registry_table, ALICE, 4))

    # one execution: generation 2 first; generation 1 is the next step (3 is empty)
    [execution] = executions(restore_state_machine)
    assert execution["input"]["source"]["generation"] == 2
    assert [s["generation"] for s in execution["input"]["then"]] == [1]
    assert (execution["input"]["step"], execution["input"]["head"]) == (1, None)
    [item] = restore_items(registry_table, ALICE)
    assert [s["generation"] for s in item["then"]] == [1]


def test_retried_record_carries_the_recorded_restore_on_even_if_the_plan_changed(
    registry_table: Any,
    restore_state_machine: str,
    recorder: Recorder,
    registry: RegistryRepository,
) -> None:
    # given a restore of generation 3 from 2 (then 1), started once
    for uid in ("200001", "200002"):
        recorder.create(ALICE, uid)
        recorder.delete(ALICE)
    recorder.create(ALICE, "200003")
    record = generation_record(registry_table, ALICE, 3)
    invoke(record)
    # when generation 2 is found empty meanwhile and the record comes again
    registry.mark_generation_empty(ALICE, 2)
    invoke(record)
    # then no second restore starts (a plan made now would read generation 1 first)
    assert len(executions(restore_state_machine)) == 1
    assert len(restore_items(registry_table, ALICE)) == 1


def test_recreated_while_a_restore_into_its_source_runs_waits_for_it(
    registry_table: Any,
    restore_state_machine: str,
    recorder: Recorder,
) -> None:
    # given generation 2 being restored from generation 1
    recorder.create(ALICE, "200001")
    recorder.delete(ALICE)
    recorder.create(ALICE, "200002")
    invoke(generation_record(registry_table, ALICE, 2))
    [running] = restore_items(registry_table, ALICE)
    # when the profile is recreated again before that restore ends
    recorder.delete(ALICE)
    recorder.create(ALICE, "200003")
    result = invoke(generation_record(registry_table, ALICE, 3))
    # then the restore into generation 3 is recorded, waiting, and nothing else starts
    assert result == {"batchItemFailures": []}
    assert len(executions(restore_state_machine)) == 1
    waiting = [
        i
        for i in restore_items(registry_table, ALICE)
        if i["target"]["generation"] == 3
    ]
    assert len(waiting) == 1, waiting
    assert waiting[0]["waiting_for"] == running["restore_id"]
    assert waiting[0]["status"] == "PENDING" and "execution_arn" not in waiting[0]
    assert [waiting[0]["source"]["generation"]] + [
        s["generation"] for s in waiting[0]["then"]
    ] == [2, 1]
    profile = get_item(registry_table, ALICE.pk, "PROFILE")
    assert profile["replication_status"] == "PENDING"
    assert running["restore_id"] in profile["replication_reason"]


def test_retried_stream_record_does_not_start_a_second_execution(
    registry_table: Any, restore_state_machine: str, recorder: Recorder
) -> None:
    recorder.create(ALICE, "200001")
    recorder.delete(ALICE)
    recorder.create(ALICE, "200005")
    record = generation_record(registry_table, ALICE, 2)

    first = invoke(record)
    second = invoke(record)

    assert first == second == {"batchItemFailures": []}
    assert len(executions(restore_state_machine)) == 1
    assert len(restore_items(registry_table, ALICE)) == 1


def test_restore_item_written_but_never_started_is_started_on_retry(
    registry_table: Any,
    restore_state_machine: str,
    recorder: Recorder,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # given a first attempt that wrote the restore item and then failed to start
    recorder.create(ALICE, "200001")
    recorder.delete(ALICE)
    recorder.create(ALICE, "200005")
    record = generation_record(registry_table, ALICE, 2)
    services = stream_module.build_services()

    def broken_start(request: Any) -> Any:
        raise RuntimeError("restore_network down")

    monkeypatch.setattr(services.workflow, "start", broken_start)
    with pytest.raises(BatchProcessingError):  # every record of the batch failed
        invoke(record)
    assert executions(restore_state_machine) == []
    stream_module.build_services.cache_clear()  # a new container: working clients
    # when the record is retried
    invoke(record)
    # then the execution starts
    assert len(executions(restore_state_machine)) == 1
    assert the_restore(registry_table, ALICE)["execution_arn"]


# -------------------------------------------------------------------- skips


def test_opted_out_profile_is_skipped_with_its_reason(
    registry_table: Any,
    restore_state_machine: str,
    recorder: Recorder,
    registry: RegistryRepository,
    capsys: pytest.CaptureFixture[str],
) -> None:
    recorder.create(ALICE, "200001")
    registry.set_replication(ALICE, False)
    recorder.delete(ALICE)
    recorder.create(ALICE, "200005")
    capsys.readouterr()

    invoke(generation_record(registry_table, ALICE, 2))

    skipped_metrics = [
        m for m in emf_metrics(capsys.readouterr().out) if "RestoresSkipped" in m
    ]
    assert [m["reason"] for m in skipped_metrics] == ["opted_out"]

    assert executions(restore_state_machine) == []
    restore = the_restore(registry_table, ALICE)
    assert restore["status"] == "SKIPPED"
    assert restore["reason"].startswith("opted_out")
    profile = get_item(registry_table, ALICE.pk, "PROFILE")
    assert profile["replication_status"] == "SKIPPED"
    assert profile["replication_reason"].startswith("opted_out")


def test_name_reused_by_a_different_identity_is_skipped(
    registry_table: Any, restore_state_machine: str, recorder: Recorder
) -> None:
    recorder.create(ALICE, "200001", sso_user_value="alice@example.com")
    recorder.delete(ALICE)
    recorder.create(ALICE, "200005", sso_user_value="someone-else@example.com")

    invoke(generation_record(registry_table, ALICE, 2))

    assert executions(restore_state_machine) == []
    assert the_restore(registry_table, ALICE)["reason"].startswith("identity_changed")


def test_name_reused_outside_the_window_is_skipped(
    registry_table: Any, restore_state_machine: str, recorder: Recorder
) -> None:
    recorder.create(ALICE, "200001")
    recorder.delete(ALICE)
    recorder.clock += timedelta(days=31)
    recorder.create(ALICE, "200005")

    invoke(generation_record(registry_table, ALICE, 2))

    assert executions(restore_state_machine) == []
    assert the_restore(registry_table, ALICE)["reason"].startswith(
        "outside_reuse_window"
    )


def test_brand_new_profile_starts_nothing_and_writes_no_restore_item(
    registry_table: Any, restore_state_machine: str, recorder: Recorder
) -> None:
    # given a profile seen for the first time (seeding, or a new user)
    recorder.create(ALICE, "200001")
    # when its first generation reaches the stream
    result = invoke(generation_record(registry_table, ALICE, 1))
    # then nothing starts, and no SKIPPED restore item clutters its history
    assert result == {"batchItemFailures": []}
    assert executions(restore_state_machine) == []
    items = registry_table.scan()["Items"]
    assert not [i for i in items if str(i["sk"]).startswith("RESTORE#")]
    assert "replication_status" not in RegistryRepository(
        registry_table.name
    ).get_profile(ALICE).model_dump(exclude_none=True)


# ------------------------------------------------------------------- copies


def test_pending_copy_starts_at_once_when_the_target_exists(
    registry_table: Any, restore_state_machine: str, recorder: Recorder
) -> None:
    # given alice and bob exist, and an admin asks to copy bob's files to alice
    recorder.create(BOB, "300001")
    recorder.create(ALICE, "200001")
    copy = put_copy(registry_table, ALICE, BOB)
    # when the COPY item reaches the stream
    result = invoke(stream_record(copy))
    # then bob's home is copied into alice's at once, and the copy is marked started
    assert result == {"batchItemFailures": []}
    [execution] = executions(restore_state_machine)
    assert execution["input"]["trigger"] == "copy"
    assert execution["input"]["source"]["name"] == "bob"
    assert execution["input"]["target"]["uid"] == "200001"
    assert get_item(registry_table, ALICE.pk, "COPY")["status"] == "STARTED"


def test_pending_copy_waits_for_its_target_then_wins_over_the_auto_restore(
    registry_table: Any, restore_state_machine: str, recorder: Recorder
) -> None:
    # given alice deleted, and a copy from bob requested meanwhile
    recorder.create(BOB, "300001")
    recorder.create(ALICE, "200001")
    recorder.delete(ALICE)
    copy = put_copy(registry_table, ALICE, BOB)
    invoke(stream_record(copy))
    assert executions(restore_state_machine) == []
    # when alice is created again
    recorder.create(ALICE, "200005")
    invoke(generation_record(registry_table, ALICE, 2))
    # then bob's files, not alice's old ones, are copied
    [execution] = executions(restore_state_machine)
    assert execution["input"]["source"]["name"] == "bob"
    assert execution["input"]["trigger"] == "copy"


def test_copy_marked_started_is_ignored(
    registry_table: Any, restore_state_machine: str, recorder: Recorder
) -> None:
    recorder.create(BOB, "300001")
    recorder.create(ALICE, "200001")
    copy = put_copy(registry_table, ALICE, BOB, status="STARTED")

    invoke(stream_record(copy, event_name="MODIFY"))

    assert executions(restore_state_machine) == []


# ------------------------------------------------------------- other records


def test_other_records_are_ignored(
    registry_table: Any, restore_state_machine: str, recorder: Recorder
) -> None:
    recorder.create(ALICE, "200001")
    recorder.delete(ALICE)
    recorder.create(ALICE, "200005")
    profile = get_item(registry_table, ALICE.pk, "PROFILE")
    generation = get_item(registry_table, ALICE.pk, generation_sk(2))

    result = invoke(
        stream_record(profile, event_name="MODIFY", sequence="1"),
        stream_record(generation, event_name="MODIFY", sequence="2"),
        stream_record(generation, event_name="REMOVE", sequence="3"),
        stream_record({"pk": "SEMAPHORE", "sk": "DATASYNC", "count": 1}, sequence="4"),
    )

    assert result == {"batchItemFailures": []}
    assert executions(restore_state_machine) == []
    assert restore_items(registry_table, ALICE) == []


def test_poison_record_fails_alone(
    registry_table: Any, restore_state_machine: str, recorder: Recorder
) -> None:
    recorder.create(ALICE, "200001")
    recorder.delete(ALICE)
    recorder.create(ALICE, "200005")
    good = generation_record(registry_table, ALICE, 2, seq="200")
    poison = stream_record(
        {
            "pk": "PROFILE#not-a-key",
            "sk": "GEN#000002",
            "created_at": to_iso(recorder.clock),
        },
        sequence="201",
    )

    result = invoke(poison, good)

    assert result == {"batchItemFailures": [{"itemIdentifier": "201"}]}
    assert len(executions(restore_state_machine)) == 1
