"""Seeding: record every existing domain, user profile and space (no boto3 here).

Run on install (and safe to run again) so that a later recreation finds its earlier home
directory. Zero domains, domains without an execution role, and profiles deleted while we
list them are normal; each profile that cannot be recorded is skipped with a reason.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import zip_longest
from typing import Any

from pydantic import ValidationError

from studio_recovery.logic.ports import SeedRegistry, SeedResult, SeedSource
from studio_recovery.models.errors import ResourceGoneError, UnresolvableProfileError
from studio_recovery.models.registry import Domain, HomeDirectory, ProfileKey, is_valid_uid
from studio_recovery.models.sagemaker import DomainDescription, ProfileSummary
from studio_recovery.observability import logger

GONE_STATUSES = frozenset({"Deleting", "Delete_Failed", "Failed"})
"""Domain/profile statuses that have no home directory worth recording."""

WRITE_BATCH = 100
"""Homes per `batch_record` call: one BatchGetItem and two 50-profile transactions."""


@dataclass
class SeedReport:
    """Counts of one seeding run, and what was skipped and why."""

    domains: int = 0
    users: int = 0
    spaces: int = 0
    recorded: int = 0
    skipped: list[tuple[str, str]] = field(default_factory=list)

    def skip(self, what: str, reason: str) -> None:
        self.skipped.append((what, reason))

    def as_dict(self) -> dict[str, object]:
        """JSON-ready summary: counts, skip reasons counted, and the first skipped items."""
        return {
            "domains": self.domains,
            "users": self.users,
            "spaces": self.spaces,
            "recorded": self.recorded,
            "skipped": len(self.skipped),
            "skipped_reasons": dict(Counter(reason for _, reason in self.skipped)),
            "skipped_examples": [f"{what}: {reason}" for what, reason in self.skipped[:20]],
        }


def seed(
    sagemaker: SeedSource,
    registry: SeedRegistry,
    *,
    concurrency: int,
    run_id: str,
    now: datetime | None = None,
) -> SeedReport:
    """Record every domain of the region and every user profile and space in them.

    Describe calls run `concurrency` at a time; writes are batched by the registry, which
    never overwrites an opt-out flag nor lowers a generation, so a rerun is safe. Homes are
    written WRITE_BATCH at a time, in order, on one writer thread, while the next ones are
    described: the registry's round trips overlap the SageMaker ones. A failed write stops
    the run (the writes not started are dropped; a rerun records them).
    """
    now = now or datetime.now(UTC)
    report = SeedReport()
    domains = list(sagemaker.list_domains())
    report.domains = len(domains)
    with (
        ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="seed-describe") as pool,
        _Writer(registry) as writer,
    ):
        for summary in domains:
            writer.raise_failure()
            domain = _record_domain(summary, sagemaker, writer, report, run_id, now)
            if domain is not None:
                _record_homes(domain, sagemaker, report, pool, writer, run_id, now)
        for result in writer.results():
            report.recorded += result.recorded
            report.skipped += [(str(key), reason) for key, reason in result.skipped]
    logger.info("Seeding finished", extra=report.as_dict())
    return report


class _Writer:
    """The registry writes of one run, in order, on one thread of their own: the registry
    (a boto3 resource, not thread-safe) is only ever used from that thread."""

    def __init__(self, registry: SeedRegistry) -> None:
        self._registry = registry
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="seed-write")
        self._writes: list[Future[SeedResult]] = []
        self._domains: list[Future[bool]] = []

    def __enter__(self) -> _Writer:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, *_: object) -> None:
        # On failure, writes not started yet are dropped: a rerun records them.
        self._thread.shutdown(wait=True, cancel_futures=exc_type is not None)

    def put_domain(self, domain: Domain) -> None:
        self._domains.append(self._thread.submit(self._registry.put_domain, domain))

    def record(self, homes: list[HomeDirectory]) -> None:
        if homes:
            self._writes.append(self._thread.submit(self._registry.batch_record, homes))

    def raise_failure(self) -> None:
        """Raise the error of a write that failed already, if any."""
        futures: list[Future[Any]] = [*self._domains, *self._writes]
        for future in futures:
            if future.done() and future.exception() is not None:
                future.result()

    def results(self) -> Iterator[SeedResult]:
        """Each batch's result, once every write is done (raises a write's error)."""
        for done in self._domains:
            done.result()
        for future in self._writes:
            yield future.result()


def _record_domain(
    summary: DomainDescription,
    sagemaker: SeedSource,
    writer: _Writer,
    report: SeedReport,
    run_id: str,
    now: datetime,
) -> Domain | None:
    """DescribeDomain and record it; None (with a skip reason) when it cannot be used."""
    what = f"domain {summary.domain_id}"
    if summary.status in GONE_STATUSES:
        report.skip(what, f"status {summary.status}")
        return None
    try:
        described = sagemaker.describe_domain(summary.domain_id)
    except ResourceGoneError:
        report.skip(what, "deleted while listing")
        return None
    except UnresolvableProfileError as exc:
        report.skip(what, str(exc))
        return None
    if not described.efs_id and not described.without_home_efs:
        report.skip(what, f"status {described.status}, home EFS volume not known yet")
        return None
    try:
        domain = Domain(
            domain_id=described.domain_id,
            domain_name=described.domain_name,
            efs_id=described.efs_id or None,
            created_at=described.created_at or summary.created_at or now,
            event_id=run_id,
        )
    except ValidationError:
        report.skip(what, f"invalid domain name {described.domain_name!r}")
        return None
    writer.put_domain(domain)
    if domain.efs_id is None:  # recorded as such; its profiles have nothing to restore
        report.skip(what, "no home EFS volume")
        return None
    return domain


def _record_homes(
    domain: Domain,
    sagemaker: SeedSource,
    report: SeedReport,
    pool: ThreadPoolExecutor,
    writer: _Writer,
    run_id: str,
    now: datetime,
) -> None:
    """Describe every profile and space of a domain in parallel; hand them to the writer
    WRITE_BATCH at a time, as they come. User profiles and spaces alternate: SageMaker
    meters DescribeUserProfile and DescribeSpace apart, so both rates are used at once."""
    try:
        users = list(sagemaker.list_profiles(domain.domain_id, "user"))
        spaces = list(sagemaker.list_profiles(domain.domain_id, "space"))
    except ResourceGoneError:
        report.skip(f"domain {domain.domain_id}", "deleted while listing")
        return
    summaries = [s for pair in zip_longest(users, spaces) for s in pair if s is not None]
    report.users += sum(1 for s in summaries if s.kind == "user")
    report.spaces += sum(1 for s in summaries if s.kind == "space")

    def describe(summary: ProfileSummary) -> HomeDirectory | str:
        return _describe_home(domain, summary, sagemaker, run_id, now)

    batch: list[HomeDirectory] = []
    for summary, outcome in zip(summaries, pool.map(describe, summaries), strict=True):
        if isinstance(outcome, str):
            report.skip(f"{domain.domain_name}/{summary.kind}/{summary.name}", outcome)
            continue
        batch.append(outcome)
        if len(batch) == WRITE_BATCH:
            writer.raise_failure()
            writer.record(batch)
            batch = []
    writer.record(batch)


def _describe_home(
    domain: Domain, summary: ProfileSummary, sagemaker: SeedSource, run_id: str, now: datetime
) -> HomeDirectory | str:
    """The profile's home directory, or the reason it is skipped."""
    if summary.status in GONE_STATUSES:
        return f"status {summary.status}"
    try:
        profile = sagemaker.describe_profile(domain.domain_id, summary.kind, summary.name)
    except ResourceGoneError:
        return "deleted while listing"
    except UnresolvableProfileError as exc:
        return str(exc)
    if not is_valid_uid(profile.uid):
        return f"HomeEfsFileSystemUid {profile.uid!r} is not a uid"
    try:
        key = ProfileKey(domain_name=domain.domain_name, kind=summary.kind, name=summary.name)
        return HomeDirectory(
            key=key,
            domain_id=domain.domain_id,
            efs_id=domain.efs_id,
            uid=profile.uid,
            created_at=profile.created_at or now,
            sso_user_value=profile.sso_user_value,
            event_id=run_id,
        )
    except ValidationError:
        return f"invalid name {summary.name!r}"
