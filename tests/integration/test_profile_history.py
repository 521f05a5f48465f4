"""A profile's history is read once: `RegistryRepository.read_history` returns its whole
partition from one Query (paginated), and the stream path reads the partition of the
profile it decides for exactly once (a pending copy adds one Query on its source's)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import boto3
import pytest
from studio_recovery.dal.registry import RegistryRepository, RestoreRepository
from studio_recovery.dal.workflow import WorkflowGateway
from studio_recovery.handlers import stream as stream_module
from studio_recovery.models.registry import ProfileKey, generation_sk
from studio_recovery.models.restore import (
    BackupLocation,
    HomeLocation,
    RestoreItem,
    make_backup_id,
)
from studio_recovery.services import StreamServices

from tests.integration.restore_fixtures import (
    REGION,
    T0,
    LambdaContextStub,
    executions,
    get_item,
    stream_event,
    stream_record,
    user,
)

if TYPE_CHECKING:
    from tests.integration.restore_fixtures import Recorder

pytest_plugins = ("tests.integration.restore_fixtures",)

ALICE = user("alice")
BOB = user("bob")
READS = frozenset({"GetItem", "Query", "Scan", "BatchGetItem"})


def _plain(value: Any) -> str:
    """A key value as the resource API or the wire shape holds it."""
    return str(value.get("S")) if isinstance(value, dict) else str(value)


class ReadLog:
    """Every DynamoDB read a client makes, as (operation, partition key read)."""

    def __init__(self) -> None:
        self.reads: list[tuple[str, str]] = []

    def note(self, params: dict[str, Any], model: Any, **_: Any) -> None:
        if model.name not in READS:
            return
        if model.name == "GetItem":
            pk = _plain(params["Key"]["pk"])
        elif model.name == "Query":
            pk = _plain(params["ExpressionAttributeValues"][":pk"])
        else:
            pk = "*"
        self.reads.append((model.name, pk))

    def of(self, key: ProfileKey) -> Counter[str]:
        return Counter(operation for operation, pk in self.reads if pk == key.pk)


@pytest.fixture
def read_log(
    registry_table: Any, restore_state_machine: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[ReadLog]:
    """The stream Lambda's services on one DynamoDB resource whose reads are logged."""
    log = ReadLog()
    resource = boto3.resource("dynamodb", region_name=REGION)
    resource.meta.client.meta.events.register(
        "provide-client-params.dynamodb", log.note
    )
    services = StreamServices(
        registry=RegistryRepository(registry_table.name, resource),
        restores=RestoreRepository(registry_table.name, resource),
        workflow=WorkflowGateway(restore_state_machine),
        reuse_window=timedelta(days=30),
    )
    monkeypatch.setattr(stream_module, "build_services", lambda: services)
    yield log


def invoke(record: dict[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = stream_module.handler(  # type: ignore[assignment]
        stream_event(record),
        LambdaContextStub(),  # type: ignore[arg-type]
    )
    return result


def test_read_history_returns_the_whole_partition(
    registry_table: Any, recorder: Recorder, registry: RegistryRepository
) -> None:
    # given a profile with two homes, a copy request, a restore and a backup
    recorder.create(ALICE, "200001")
    recorder.delete(ALICE)
    second = recorder.create(ALICE, "200002")
    recorder.create(BOB, "200009")
    restores = RestoreRepository(registry_table.name)
    home = HomeLocation.of(second)
    restores.create_restore(
        RestoreItem(
            restore_id="alice-restore",
            trigger="auto",
            status="SUCCEEDED",
            source=HomeLocation.of(registry.list_generations(ALICE)[0]),
            target=home,
            started_at=T0,
        )
    )
    backup_id = make_backup_id(home, T0, "scheduled")
    restores.create_restore(
        RestoreItem(
            restore_id=backup_id,
            trigger="scheduled",
            status="SUCCEEDED",
            source=home,
            target=BackupLocation.of(home, "backups"),
            started_at=T0,
        )
    )
    registry_table.put_item(
        Item={
            "pk": ALICE.pk,
            "sk": "COPY",
            "entity": "copy",
            "status": "PENDING",
            "source_pk": BOB.pk,
            "requested_at": "2026-11-01T08:00:00Z",
        }
    )
    # when its history is read
    history = registry.read_history(ALICE)
    # then every part is there, parsed as the item-by-item reads parse it
    assert history.profile == registry.get_profile(ALICE)
    assert list(history.generations) == registry.list_generations(ALICE)
    assert history.generation(2) == registry.get_generation(ALICE, 2)
    assert history.generation(3) is None
    assert history.copy == restores.get_copy(ALICE) == history.pending_copy
    assert list(history.restores) == restores.list_restores(ALICE)
    assert [r.restore_id for r in history.restores] == ["alice-restore"]
    assert list(history.backups) == restores.list_backups(ALICE)
    assert [b.restore_id for b in history.backups] == [backup_id]
    # and nothing of another profile
    assert {g.name for g in history.generations} == {"alice"}


def test_read_history_follows_every_page(
    registry_table: Any, recorder: Recorder, registry: RegistryRepository
) -> None:
    for uid in ("200001", "200002", "200003"):
        recorder.create(ALICE, uid)
        recorder.delete(ALICE)
    pages: list[int] = []
    table = registry._table
    real_query = table.query

    class OneItemPages:
        def query(self, **kwargs: Any) -> dict[str, Any]:
            reply: dict[str, Any] = real_query(**kwargs, Limit=1)
            pages.append(len(reply.get("Items", [])))
            return reply

    registry._table = OneItemPages()
    history = registry.read_history(ALICE)
    assert [g.generation for g in history.generations] == [1, 2, 3]
    assert history.profile is not None and history.profile.generation == 3
    assert len(pages) >= 4  # 3 generations + the profile row, one item per page


def test_a_new_generation_reads_its_profiles_partition_once(
    registry_table: Any,
    recorder: Recorder,
    read_log: ReadLog,
    restore_state_machine: str,
) -> None:
    recorder.create(ALICE, "200001")
    recorder.delete(ALICE)
    recorder.create(ALICE, "200005")
    record = stream_record(get_item(registry_table, ALICE.pk, generation_sk(2)))

    assert invoke(record) == {"batchItemFailures": []}

    assert len(executions(restore_state_machine)) == 1
    assert read_log.of(ALICE) == Counter({"Query": 1})
    assert [op for op, pk in read_log.reads if pk == "*"] == []


def test_a_pending_copy_reads_the_target_once_and_the_source_once(
    registry_table: Any,
    recorder: Recorder,
    read_log: ReadLog,
    restore_state_machine: str,
) -> None:
    recorder.create(BOB, "200009")
    recorder.create(ALICE, "200001")
    copy = {
        "pk": ALICE.pk,
        "sk": "COPY",
        "entity": "copy",
        "status": "PENDING",
        "source_pk": BOB.pk,
        "requested_at": "2026-11-01T08:00:00Z",
    }
    registry_table.put_item(Item=copy)

    assert invoke(stream_record(copy, event_name="INSERT")) == {"batchItemFailures": []}

    [execution] = executions(restore_state_machine)
    assert execution["input"]["trigger"] == "copy"
    assert read_log.of(ALICE) == Counter({"Query": 1})
    assert read_log.of(BOB) == Counter({"Query": 1})
