"""Seeding decisions (logic.seeding) with in-memory fakes: no AWS."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime

import pytest
from studio_recovery.dal.registry import BatchRecordResult
from studio_recovery.dal.sagemaker import ProfileDescription
from studio_recovery.logic.seeding import WRITE_BATCH, seed
from studio_recovery.models.errors import TransientAwsError
from studio_recovery.models.registry import Domain, HomeDirectory, Kind, ProfileKey

from .studio_fakes import FakeSageMaker

NOW = datetime(2026, 11, 28, tzinfo=UTC)


@dataclass
class FakeSeedRegistry:
    domains: list[Domain] = field(default_factory=list)
    homes: list[HomeDirectory] = field(default_factory=list)

    def put_domain(self, domain: Domain) -> bool:
        self.domains.append(domain)
        return True

    def batch_record(self, homes: Iterable[HomeDirectory]) -> BatchRecordResult:
        homes = list(homes)
        self.homes += homes
        return BatchRecordResult(recorded=len(homes))


def _seed(
    sagemaker: FakeSageMaker, registry: FakeSeedRegistry, concurrency: int = 4
) -> dict:
    return seed(
        sagemaker, registry, concurrency=concurrency, run_id="seed:1", now=NOW
    ).as_dict()


def test_zero_domains_is_normal() -> None:
    registry = FakeSeedRegistry()
    report = _seed(FakeSageMaker(), registry)
    assert report["domains"] == 0
    assert report["recorded"] == 0
    assert registry.domains == []


def test_every_profile_and_space_of_every_domain_is_recorded() -> None:
    sagemaker = FakeSageMaker()
    sagemaker.add_domain("d-1", "demo", efs_id="fs-1")
    sagemaker.add_domain("d-2", "other", efs_id="fs-2")
    sagemaker.add_profile("d-1", "user", "alice", "200001", sso_user_value="alice@x")
    sagemaker.add_profile("d-1", "space", "alice", "200002")
    sagemaker.add_profile("d-2", "user", "bob", "200003")
    registry = FakeSeedRegistry()

    report = _seed(sagemaker, registry)

    assert (report["domains"], report["users"], report["spaces"]) == (2, 2, 1)
    assert report["recorded"] == 3
    assert report["skipped"] == 0
    recorded = {(h.key, h.efs_id, h.uid) for h in registry.homes}
    assert recorded == {
        (ProfileKey(domain_name="demo", kind="user", name="alice"), "fs-1", "200001"),
        (ProfileKey(domain_name="demo", kind="space", name="alice"), "fs-1", "200002"),
        (ProfileKey(domain_name="other", kind="user", name="bob"), "fs-2", "200003"),
    }
    assert {d.domain_id for d in registry.domains} == {"d-1", "d-2"}
    assert all(h.event_id == "seed:1" for h in registry.homes)


def test_profile_deleted_while_listing_is_skipped() -> None:
    sagemaker = FakeSageMaker()
    sagemaker.add_domain("d-1", "demo")
    sagemaker.add_profile("d-1", "user", "alice", "200001")
    sagemaker.add_profile("d-1", "user", "gone", "200002")
    sagemaker.vanish_on_describe.add(("d-1", "user", "gone"))
    registry = FakeSeedRegistry()

    report = _seed(sagemaker, registry)

    assert report["recorded"] == 1
    assert report["skipped_reasons"] == {"deleted while listing": 1}
    assert [h.key.name for h in registry.homes] == ["alice"]


def test_unusable_profiles_and_domains_are_skipped_with_reasons() -> None:
    sagemaker = FakeSageMaker()
    sagemaker.add_domain("d-1", "demo")
    sagemaker.add_domain("d-novol", "novol", efs_id=None)
    sagemaker.add_profile("d-1", "user", "nouid", None)
    sagemaker.add_profile("d-1", "user", "leaving", "200005", status="Deleting")
    sagemaker.add_profile("d-1", "space", "ok", "200006")
    registry = FakeSeedRegistry()

    report = _seed(sagemaker, registry)

    assert report["recorded"] == 1
    assert report["skipped_reasons"] == {
        "no home EFS volume": 1,
        "HomeEfsFileSystemUid None is not a uid": 1,
        "status Deleting": 1,
    }


def test_domain_without_home_efs_is_recorded_as_such_and_its_profiles_skipped() -> None:
    sagemaker = FakeSageMaker()
    sagemaker.add_domain("d-off", "off", efs_id=None, home_efs_creation="Disabled")
    sagemaker.add_profile("d-off", "user", "alice", "200001")
    registry = FakeSeedRegistry()

    report = _seed(sagemaker, registry)

    assert [(d.domain_id, d.efs_id) for d in registry.domains] == [("d-off", None)]
    assert registry.homes == []
    assert report["skipped_reasons"] == {"no home EFS volume": 1}


def test_pending_domain_without_its_volume_is_skipped_for_a_later_run() -> None:
    sagemaker = FakeSageMaker()
    sagemaker.add_domain("d-new", "fresh", pending_describes=1)
    registry = FakeSeedRegistry()

    report = _seed(sagemaker, registry)

    assert registry.domains == []
    assert report["skipped_reasons"] == {
        "status Pending, home EFS volume not known yet": 1
    }


def test_describe_calls_run_in_parallel_up_to_the_limit() -> None:
    sagemaker = FakeSageMaker()
    sagemaker.add_domain("d-1", "demo")
    for i in range(12):
        sagemaker.add_profile("d-1", "user", f"u{i}", str(200000 + i))
    running = {"now": 0, "max": 0}
    lock = threading.Lock()
    describe = sagemaker.describe_profile

    def slow_describe(domain_id: str, kind: Kind, name: str) -> ProfileDescription:
        with lock:
            running["now"] += 1
            running["max"] = max(running["max"], running["now"])
        time.sleep(0.02)
        with lock:
            running["now"] -= 1
        return describe(domain_id, kind, name)

    sagemaker.describe_profile = slow_describe  # type: ignore[method-assign]
    report = _seed(sagemaker, FakeSeedRegistry(), concurrency=3)

    assert report["recorded"] == 12
    assert 1 < running["max"] <= 3


def test_throttling_that_outlives_retries_fails_the_run() -> None:
    sagemaker = FakeSageMaker()
    sagemaker.add_domain("d-1", "demo")
    sagemaker.add_profile("d-1", "user", "alice", "200001")

    def throttled(domain_id: str, kind: Kind, name: str) -> ProfileDescription:
        raise TransientAwsError("SageMaker DescribeUserProfile: ThrottlingException")

    sagemaker.describe_profile = throttled  # type: ignore[method-assign]
    registry = FakeSeedRegistry()
    with pytest.raises(TransientAwsError):
        _seed(sagemaker, registry)
    assert registry.homes == []


@dataclass
class ThreadNotingRegistry(FakeSeedRegistry):
    """Notes the batches and the threads the registry is called from."""

    batches: list[int] = field(default_factory=list)
    threads: set[str] = field(default_factory=set)
    first_batch_written: threading.Event = field(default_factory=threading.Event)

    def put_domain(self, domain: Domain) -> bool:
        self.threads.add(threading.current_thread().name)
        return super().put_domain(domain)

    def batch_record(self, homes: Iterable[HomeDirectory]) -> BatchRecordResult:
        self.threads.add(threading.current_thread().name)
        homes = list(homes)
        self.batches.append(len(homes))
        self.first_batch_written.set()
        return super().batch_record(homes)


def test_homes_are_written_in_batches_from_one_writer_thread() -> None:
    sagemaker = FakeSageMaker()
    sagemaker.add_domain("d-1", "demo")
    sagemaker.add_domain("d-2", "other")
    for i in range(WRITE_BATCH + 30):
        sagemaker.add_profile("d-1", "user", f"u{i}", str(200000 + i))
    sagemaker.add_profile("d-2", "space", "s", "200999")
    registry = ThreadNotingRegistry()

    report = _seed(sagemaker, registry)

    assert report["recorded"] == WRITE_BATCH + 31
    assert registry.batches == [WRITE_BATCH, 30, 1]
    assert len(registry.threads) == 1
    assert registry.threads.pop().startswith("seed-write")
    assert {d.domain_id for d in registry.domains} == {"d-1", "d-2"}


def test_a_domain_is_written_while_the_next_one_is_described() -> None:
    sagemaker = FakeSageMaker()
    sagemaker.add_domain("d-1", "demo")
    sagemaker.add_domain("d-2", "other")
    sagemaker.add_profile("d-1", "user", "alice", "200001")
    sagemaker.add_profile("d-2", "user", "bob", "200002")
    registry = ThreadNotingRegistry()
    describe = sagemaker.describe_profile
    seen_written: list[bool] = []

    def describe_after_first_write(
        domain_id: str, kind: Kind, name: str
    ) -> ProfileDescription:
        if domain_id == "d-2":  # writes only after every describe: this would time out
            seen_written.append(registry.first_batch_written.wait(timeout=5))
        return describe(domain_id, kind, name)

    sagemaker.describe_profile = describe_after_first_write  # type: ignore[method-assign]
    report = _seed(sagemaker, registry)

    assert seen_written == [True]
    assert report["recorded"] == 2


def test_a_failed_write_fails_the_run() -> None:
    sagemaker = FakeSageMaker()
    sagemaker.add_domain("d-1", "demo")
    sagemaker.add_profile("d-1", "user", "alice", "200001")

    class FailingRegistry(FakeSeedRegistry):
        def batch_record(self, homes: Iterable[HomeDirectory]) -> BatchRecordResult:
            raise TransientAwsError(
                "registry transact_write_items: ThrottlingException"
            )

    with pytest.raises(TransientAwsError, match="ThrottlingException"):
        _seed(sagemaker, FailingRegistry())


def test_user_profiles_and_spaces_are_described_alternately() -> None:
    """SageMaker meters DescribeUserProfile and DescribeSpace apart: alternating them keeps
    both rates in use, where users first, then spaces, would leave one idle at a time."""
    sagemaker = FakeSageMaker()
    sagemaker.add_domain("d-1", "demo")
    for n in range(3):
        sagemaker.add_profile("d-1", "user", f"u{n}", str(200001 + n))
    sagemaker.add_profile("d-1", "space", "s0", "200010")
    registry = FakeSeedRegistry()

    report = _seed(sagemaker, registry, concurrency=1)

    described = [c.split()[1] for c in sagemaker.calls if c.startswith("Describe ")]
    assert described == ["user", "space", "user", "user"]
    assert report["recorded"] == 4
