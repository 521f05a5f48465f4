"""Property-based test of the `stream` Lambda handler (issue 7, "Bad input"): no AWS.

Batches of DynamoDB stream records (INSERT/MODIFY/REMOVE, unknown or missing event names;
GEN#, COPY, PROFILE, RESTORE#, DOMAIN# and SEMAPHORE keys, keys of the wrong type or not
deserializable, broken images) meet a drawn registry (profiles present or not, generations
valid or broken, pending copies valid or not), held by in-memory fakes behind
`handlers.stream.build_services`.

The handler must answer with a partial-batch response whose failures are exactly the
records that cannot be handled (a malformed key, or a registry that contradicts it), never
raise (except Powertools' BatchProcessingError when every record failed), never write or
start anything for a record it ignores or fails, and only start restores that are safe.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, Literal

import pytest
from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError
from boto3.dynamodb.types import TypeSerializer
from hypothesis import event, given, note
from hypothesis import strategies as st
from pydantic import ValidationError
from studio_recovery.dal.workflow import StartedExecution, execution_arn_of
from studio_recovery.handlers import stream as stream_module
from studio_recovery.logic.transfer import validate_transfer
from studio_recovery.models.errors import MalformedEventError
from studio_recovery.models.history import ProfileHistory
from studio_recovery.models.registry import (
    Generation,
    ProfileKey,
    generation_sk,
)
from studio_recovery.models.restore import (
    COPY_SK,
    RestoreItem,
    RestoreRequest,
    restore_sk,
)
from studio_recovery.services import StreamServices

from tests.hypothesis_profiles import fuzz_settings

STATE_MACHINE_ARN = "arn:aws:states:us-east-1:123456789012:stateMachine:restore"
T0 = datetime(2026, 11, 1, tzinfo=UTC)
KEYS = (
    ProfileKey(domain_name="demo", kind="user", name="alice"),
    ProfileKey(domain_name="demo", kind="space", name="team"),
    ProfileKey(domain_name="demo", kind="user", name="bob"),
)
UNKNOWN_KEY = ProfileKey(domain_name="demo", kind="user", name="zed")
BAD_PKS = (
    "",
    "PROFILE#demo#user",
    "PROFILE#demo#robot#alice",
    "PROFILE#demo#user#bad_name",
    "PROFILE#demo#user#alice#extra",
    "PROFILE##user#alice",
    "DOMAIN#demo",
    "profile#demo#user#alice",
)
BAD_GENERATION_SKS = ("GEN#", "GEN#abc", "GEN#1.5", "GEN#0x1", "GEN#1e3", "GEN#--1")
UNDESERIALIZABLE = ({"Q": "x"}, {}, {"N": "abc"}, {"L": [{"Z": 1}]})
_serializer = TypeSerializer()

# ------------------------------------------------------------------------ the registry


@dataclass(frozen=True)
class ProfileWorld:
    """One profile's items: its row, its generations, an extra broken one, a COPY."""

    key: ProfileKey
    row: bool
    row_generation_offset: int  # 0: the row is at the latest generation; 1: one behind
    replication: bool
    deleted: bool
    generations: tuple[dict[str, Any], ...]
    broken_generation: dict[str, Any] | None
    copy: dict[str, Any] | None
    copy_broken: bool

    @property
    def numbers(self) -> set[int]:
        return {g["generation"] for g in self.generations}

    @property
    def copy_pending(self) -> bool:
        return self.copy is not None and self.copy.get("status") == "PENDING"


# Each strategy below is one draw from a precomputed list of variants: a world of three
# profiles takes a dozen draws instead of a hundred, so 2,000 batches stay quick.
_ISO = "%Y-%m-%dT%H:%M:%SZ"
_GENERATION_VARIANTS = st.sampled_from(
    list(
        itertools.product(
            [None, None, None, False, True],  # has_data
            [None, 1, 1, 40],  # deleted this many days after creation (None: live)
            [None, None, "alice", "mallory"],  # sso_user_value
            ["fs-1", "fs-2"],
            ["200001", "200002", "200003", "300001"],
        )
    )
)
_BREAKAGES = st.sampled_from(
    [("uid", u) for u in ("0", "", "../1", "1/2", "abc", "-1")]
    + [("generation", g) for g in (0, -1, "x")]
    + [("efs_id", None), ("name", "bad_name")]
)
_COPY_VARIANTS = st.sampled_from(
    list(
        itertools.product(
            [*(k.pk for k in KEYS)] * 2 + [UNKNOWN_KEY.pk, *BAD_PKS[:3]],  # source_pk
            ["PENDING", "PENDING", "STARTED"],
            [None, None, 1, 2, 99],  # source_generation
        )
    )
)
_WORLD_SHAPES = st.sampled_from(
    list(
        itertools.product(
            [3, 2, 3, 2, 1, 0],  # generations
            [True] * 5 + [False],  # profile row present
            [0, 0, 0, 1],  # row one generation behind the latest
            [True] * 4 + [False],  # replication
            [False] * 4 + [True],  # profile deleted
            [False] * 5 + [True],  # an extra broken generation
            [False, False, True],  # a COPY item
            [False] * 5 + [True],  # the COPY item broken
        )
    )
)


def generation_item(
    key: ProfileKey, number: int, variant: tuple[Any, ...]
) -> dict[str, Any]:
    has_data, deleted_after, sso, efs_id, uid = variant
    created = T0 + timedelta(days=number)
    item: dict[str, Any] = {
        "pk": key.pk,
        "sk": generation_sk(number),
        "entity": "generation",
        "generation": number,
        "domain_id": "d-abc",
        "domain_name": key.domain_name,
        "kind": key.kind,
        "name": key.name,
        "efs_id": efs_id,
        "uid": uid,
        "created_at": created.strftime(_ISO),
    }
    if deleted_after is not None:
        item["deleted_at"] = (created + timedelta(days=deleted_after)).strftime(_ISO)
    if sso is not None:
        item["sso_user_value"] = sso
    if has_data is not None:
        item["has_data"] = has_data
    return item


@st.composite
def profile_worlds(draw: st.DrawFn, key: ProfileKey) -> ProfileWorld:
    count, row, behind, replication, deleted, broken, has_copy, copy_broken = draw(
        _WORLD_SHAPES
    )
    generations = tuple(
        generation_item(key, n, draw(_GENERATION_VARIANTS)) for n in range(1, count + 1)
    )
    broken_generation = None
    if broken:
        broken_generation = generation_item(key, 9, draw(_GENERATION_VARIANTS))
        field_name, value = draw(_BREAKAGES)
        if value is None:
            del broken_generation[field_name]
        else:
            broken_generation[field_name] = value
    copy = None
    if has_copy:
        source, status, wanted = draw(_COPY_VARIANTS)
        copy = {
            "pk": key.pk,
            "sk": COPY_SK,
            "entity": "copy",
            "status": status,
            "source_pk": source,
            "requested_at": "2026-10-01T00:00:00Z",
        }
        if wanted is not None:
            copy["source_generation"] = wanted
    return ProfileWorld(
        key=key,
        row=count > 0 and row,
        row_generation_offset=behind if count > 1 else 0,
        replication=replication,
        deleted=deleted,
        generations=generations,
        broken_generation=broken_generation,
        copy=copy,
        copy_broken=copy is not None and copy_broken,
    )


def _profile_item(world: ProfileWorld) -> dict[str, Any]:
    current = world.generations[-1 - world.row_generation_offset]
    row = {
        **current,
        "sk": "PROFILE",
        "entity": "profile",
        "generation": current["generation"],
        "replication": world.replication,
    }
    row.pop("deleted_at", None)
    row.pop("has_data", None)
    if world.deleted:
        row["deleted_at"] = "2026-12-31T00:00:00Z"
    return row


def registry_items(
    worlds: tuple[ProfileWorld, ...],
) -> dict[tuple[str, str], dict[str, Any]]:
    items: dict[tuple[str, str], dict[str, Any]] = {}
    for world in worlds:
        for generation in world.generations:
            items[(world.key.pk, generation["sk"])] = dict(generation)
        if world.broken_generation is not None:
            items[(world.key.pk, generation_sk(9))] = dict(world.broken_generation)
        if world.row:
            items[(world.key.pk, "PROFILE")] = _profile_item(world)
        if world.copy is not None:
            copy = dict(world.copy)
            if world.copy_broken:
                copy["status"] = "PENDING"
                del copy["requested_at"]
            items[(world.key.pk, COPY_SK)] = copy
    return items


# ----------------------------------------------------------------------------- fakes


@dataclass
class Recorder:
    """Which record is being handled, and what each record wrote or started."""

    current: int = -1
    writes: dict[int, list[str]] = field(default_factory=dict)
    starts: dict[int, list[RestoreRequest]] = field(default_factory=dict)

    def wrote(self, what: str) -> None:
        self.writes.setdefault(self.current, []).append(what)


@dataclass
class FakeRegistry:
    """RegistryRepository reads over raw items, parsed as the real one parses them."""

    items: dict[tuple[str, str], dict[str, Any]]

    def read_history(self, key: ProfileKey) -> ProfileHistory:
        """The partition's raw items, as one Query returns them."""
        found = [dict(item) for (pk, _), item in self.items.items() if pk == key.pk]
        return ProfileHistory.from_items(key, found)

    def list_generations(self, key: ProfileKey) -> list[Generation]:
        found = [
            Generation.from_item(item)
            for (pk, sk), item in self.items.items()
            if pk == key.pk and sk.startswith("GEN#")
        ]
        return sorted(found, key=lambda g: g.generation)


@dataclass
class FakeRestores:
    """RestoreRepository over the same raw items; every write is recorded."""

    items: dict[tuple[str, str], dict[str, Any]]
    recorder: Recorder

    def create_restore(self, item: RestoreItem) -> bool:
        if (item.pk, item.sk) in self.items:
            return False
        self.items[(item.pk, item.sk)] = item.to_item()
        self.recorder.wrote(f"restore {item.restore_id} {item.status}")
        return True

    def get_restore(self, key: ProfileKey, restore_id: str) -> RestoreItem | None:
        item = self.items.get((key.pk, restore_sk(restore_id)))
        return RestoreItem.from_item(item) if item else None

    def set_execution(
        self, key: ProfileKey, restore_id: str, execution_arn: str
    ) -> None:
        self.items[(key.pk, restore_sk(restore_id))]["execution_arn"] = execution_arn
        self.recorder.wrote(f"execution {restore_id}")

    def set_profile_restore(
        self, key: ProfileKey, generation: int, **fields: Any
    ) -> bool:
        self.recorder.wrote(f"profile {key} {generation} {fields.get('status')}")
        return True

    def mark_copy_started(self, key: ProfileKey, restore_id: str) -> bool:
        copy = self.items.get((key.pk, COPY_SK))
        if copy is None or copy.get("status") != "PENDING":
            return False
        copy["status"] = "STARTED"
        self.recorder.wrote(f"copy started {key}")
        return True


@dataclass
class FakeWorkflow:
    recorder: Recorder
    names: set[str] = field(default_factory=set)

    def start(self, request: RestoreRequest) -> StartedExecution:
        already = request.restore_id in self.names
        self.names.add(request.restore_id)
        self.recorder.starts.setdefault(self.recorder.current, []).append(request)
        arn = execution_arn_of(STATE_MACHINE_ARN, request.restore_id)
        return StartedExecution(execution_arn=arn, already_started=already)


# --------------------------------------------------------------------------- records

RecordKind = Literal["gen", "copy", "other", "bad_keys"]
EventName = str | None


@dataclass(frozen=True)
class RecordSpec:
    """One stream record, described by what matters to the handler."""

    kind: RecordKind
    event_name: EventName
    pk: Any  # a str, or a (type, value) attribute for keys of the wrong type
    sk: str
    image_status: Any = None  # COPY records: the NewImage's status (None: absent)
    image_broken: bool = False


_EVENT_NAMES = st.sampled_from(["INSERT", "MODIFY", "REMOVE", None, "UPDATE", "insert"])
_ACTIVE_EVENT_NAMES = st.sampled_from(
    ["INSERT"] * 6 + ["MODIFY", "REMOVE", None, "UPDATE"]
)
_GOOD_PKS = st.sampled_from([*(k.pk for k in KEYS)] * 3 + [UNKNOWN_KEY.pk])
_BAD_PKS = st.one_of(
    st.sampled_from(BAD_PKS),
    st.sampled_from([("N", "5"), ("B", b"x"), ("S", 7)]),
    st.text(max_size=20),
)
_PK_CHOOSER = st.integers(0, 4)
_GENERATION_SKS = st.one_of(
    st.sampled_from([generation_sk(n) for n in (1, 2, 3, 1, 2, 3, 0, 4, 9)]),
    st.sampled_from(BAD_GENERATION_SKS),
)
_OTHER_SKS = st.sampled_from(
    ["PROFILE", "RESTORE#alice-g2-0123456789ab", "DOMAIN#d-abc", "DATASYNC", ""]
)


_RECORD_KINDS = st.sampled_from(
    ["gen", "gen", "gen", "copy", "copy", "other", "bad_keys"]
)


_COPY_IMAGES = st.sampled_from(
    list(
        itertools.product(
            ["PENDING", "PENDING", "STARTED", None, 5, "pending"],  # NewImage status
            [False] * 4 + [True],  # NewImage holds an attribute that cannot be read
        )
    )
)


@st.composite
def record_specs(draw: st.DrawFn) -> RecordSpec:
    kind: RecordKind = draw(_RECORD_KINDS)
    event_name = draw(_ACTIVE_EVENT_NAMES if kind in {"gen", "copy"} else _EVENT_NAMES)
    pk = draw(_BAD_PKS if draw(_PK_CHOOSER) == 4 else _GOOD_PKS)
    if kind == "gen":
        sk = draw(_GENERATION_SKS)
        return RecordSpec(kind, event_name, pk, sk, image_broken=draw(st.booleans()))
    if kind == "copy":
        status, broken = draw(_COPY_IMAGES)
        return RecordSpec(kind, event_name, pk, COPY_SK, status, broken)
    if kind == "other":
        return RecordSpec(
            kind, event_name, pk, draw(_OTHER_SKS), image_broken=draw(st.booleans())
        )
    return RecordSpec(
        kind, event_name, pk, draw(st.sampled_from([COPY_SK, generation_sk(1)]))
    )


def _attribute(value: Any) -> dict[str, Any]:
    if isinstance(value, tuple):
        return {value[0]: value[1]}
    return {"S": value}


def build_record(
    spec: RecordSpec, sequence: str, draw_bad: dict[str, Any]
) -> dict[str, Any]:
    keys: dict[str, Any] = {"pk": _attribute(spec.pk), "sk": {"S": spec.sk}}
    if spec.kind == "bad_keys":
        keys["pk"] = draw_bad
    image: dict[str, Any] = {
        "Keys": keys,
        "SequenceNumber": sequence,
        "SizeBytes": 100,
        "StreamViewType": "NEW_AND_OLD_IMAGES",
    }
    new_image: dict[str, Any] = {**keys, "entity": {"S": "copy"}}
    if spec.image_status is not None:
        new_image["status"] = _serializer.serialize(spec.image_status)
    if spec.image_broken:
        new_image["requested_at"] = draw_bad
    if spec.event_name != "REMOVE":
        image["NewImage"] = new_image
    record: dict[str, Any] = {
        "eventID": f"event-{sequence}",
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": "us-east-1",
        "dynamodb": image,
        "eventSourceARN": "arn:aws:dynamodb:us-east-1:123456789012:table/registry/stream/x",
    }
    if spec.event_name is not None:
        record["eventName"] = spec.event_name
    return record


# ----------------------------------------------------------------------- expectations

Expectation = Literal["fail", "ignore", "handle"]


def expect_record(spec: RecordSpec, worlds: dict[str, ProfileWorld]) -> Expectation:
    """`fail`: in batchItemFailures; `ignore`: succeeds, writes and starts nothing;
    `handle`: succeeds and may record a skip or start a restore."""
    if spec.kind == "bad_keys":
        return "fail"
    if spec.event_name not in {None, "INSERT", "MODIFY", "REMOVE"}:
        return "fail"
    pk = spec.pk if isinstance(spec.pk, str) else str(_deserialized(spec.pk))
    if spec.event_name == "INSERT" and spec.sk.startswith("GEN#"):
        return _expect_generation(pk, spec.sk, worlds)
    if spec.event_name in {"INSERT", "MODIFY"} and spec.sk == COPY_SK:
        if spec.image_broken:
            return "fail"
        if spec.image_status != "PENDING":
            return "ignore"
        return _expect_copy(pk, worlds)
    return "ignore"


def _deserialized(attribute: tuple[str, Any]) -> Any:
    kind, value = attribute
    return Decimal(value) if kind == "N" else value


def _valid_pk(pk: str) -> bool:
    try:
        ProfileKey.from_pk(pk)
    except (MalformedEventError, ValidationError):
        return False
    return True


def _expect_generation(
    pk: str, sk: str, worlds: dict[str, ProfileWorld]
) -> Expectation:
    number = sk.removeprefix("GEN#")
    if not _valid_pk(pk) or not number.isascii() or not number.isdigit():
        return "fail"
    world = worlds.get(pk)
    if world is None or not world.row or world.broken_generation is not None:
        return "fail"
    if int(number) not in world.numbers:
        return "ignore"
    if _copy_fails(world, worlds):
        return "fail"
    return "handle"


def _copy_fails(world: ProfileWorld, worlds: dict[str, ProfileWorld]) -> bool:
    """Reading the pending copy into `world` fails (a broken item, source or generations)."""
    if world.copy_broken:
        return True
    if not world.copy_pending:
        return False
    assert world.copy is not None
    source_pk = world.copy["source_pk"]
    if not _valid_pk(source_pk):
        return True
    source = worlds.get(source_pk)
    return source is not None and source.broken_generation is not None


def _expect_copy(pk: str, worlds: dict[str, ProfileWorld]) -> Expectation:
    if not _valid_pk(pk):
        return "fail"
    world = worlds.get(pk)
    if world is None or world.copy is None:
        return "ignore"
    if _copy_fails(world, worlds):
        return "fail"
    if not world.copy_pending:
        return "ignore"
    if not world.row or world.deleted:
        return "ignore"  # waiting for the target to be created
    if world.broken_generation is not None:
        return "fail"
    return "handle"  # the row's generation is always recorded here


# ------------------------------------------------------------------------------ test


@dataclass(frozen=True)
class Batch:
    worlds: tuple[ProfileWorld, ...]
    specs: tuple[RecordSpec, ...]
    bad_attributes: tuple[dict[str, Any], ...]


@st.composite
def batches(draw: st.DrawFn) -> Batch:
    worlds = tuple(draw(profile_worlds(key)) for key in KEYS)
    specs = tuple(draw(st.lists(record_specs(), min_size=1, max_size=6)))
    bad = tuple(draw(st.sampled_from(UNDESERIALIZABLE)) for _ in specs)
    return Batch(worlds, specs, bad)


@dataclass
class Harness:
    recorder: Recorder
    install: Callable[[dict[tuple[str, str], dict[str, Any]]], None]


@pytest.fixture
def harness(monkeypatch: pytest.MonkeyPatch) -> Iterator[Harness]:
    """Fakes behind `build_services`, and a record handler that notes the current record."""
    state: dict[str, Any] = {}
    recorder = Recorder()
    original = stream_module.record_handler

    def install(items: dict[tuple[str, str], dict[str, Any]]) -> None:
        fresh = Recorder()
        state["recorder"] = fresh
        harness.recorder = fresh
        state["services"] = StreamServices(
            registry=FakeRegistry(items),  # type: ignore[arg-type]
            restores=FakeRestores(items, fresh),  # type: ignore[arg-type]
            workflow=FakeWorkflow(fresh),  # type: ignore[arg-type]
            reuse_window=timedelta(days=30),
            clock=lambda: T0 + timedelta(days=60),
        )

    def noting(record: Any) -> str:
        index = int(record.dynamodb.sequence_number) - 1
        state["recorder"].current = index
        return original(record)

    monkeypatch.setattr(stream_module, "build_services", lambda: state["services"])
    monkeypatch.setattr(stream_module, "record_handler", noting)
    harness = Harness(recorder, install)
    yield harness


@dataclass
class LambdaContextStub:
    function_name: str = "studio-recovery-stream"
    memory_limit_in_mb: int = 256
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:stream"
    aws_request_id: str = "req-fuzz"

    def get_remaining_time_in_millis(self) -> int:
        return 60_000


@fuzz_settings(with_fixtures=True)
@given(batch=batches())
def test_stream_fails_exactly_the_unhandleable_records_and_starts_only_safe_restores(
    harness: Harness, batch: Batch
) -> None:
    # Given the drawn registry and batch
    items = registry_items(batch.worlds)
    harness.install(items)
    worlds = {world.key.pk: world for world in batch.worlds}
    sequences = [f"{index + 1}" for index in range(len(batch.specs))]
    records = [
        build_record(spec, sequence, bad)
        for spec, sequence, bad in zip(
            batch.specs, sequences, batch.bad_attributes, strict=True
        )
    ]
    expected = [expect_record(spec, worlds) for spec in batch.specs]
    note(f"expected: {expected}")
    for spec, expectation in zip(batch.specs, expected, strict=True):
        event(f"record {spec.kind}: {expectation}")
    should_fail = {
        seq for seq, e in zip(sequences, expected, strict=True) if e == "fail"
    }
    # When the handler gets the batch (any other exception fails the test)
    try:
        response = stream_module.handler({"Records": records}, LambdaContextStub())  # type: ignore[arg-type]
    except BatchProcessingError:
        # Then: Powertools raises only when every record failed (Lambda retries the batch)
        assert should_fail == set(sequences)
        failed = set(sequences)
    else:
        failed = {
            failure["itemIdentifier"] for failure in response["batchItemFailures"]
        }
    # Then the failures are exactly the records that cannot be handled
    assert failed == should_fail
    recorder = harness.recorder
    for index, expectation in enumerate(expected):
        if expectation != "handle":
            # ... nothing is written or started for a failed or ignored record
            assert index not in recorder.writes, (index, recorder.writes[index])
            assert index not in recorder.starts, (index, recorder.starts[index])
    for index, requests in recorder.starts.items():
        for request in requests:
            # ... and every restore started is for that record's profile, and safe
            assert request.target.key.pk == _record_pk(batch.specs[index])
            validate_transfer(request.source, request.target)
            event(f"started: {request.trigger}")


def _record_pk(spec: RecordSpec) -> str:
    return spec.pk if isinstance(spec.pk, str) else str(_deserialized(spec.pk))
