"""Property-based test of the real `event` Lambda handler on moto (issue 7, "Bad input").

The same scenarios as tests/unit/test_fuzz_event.py, fewer of them (moto is slow), through
`handlers.event.handler` itself: parsing, Powertools idempotency on the moto idempotency
table, and `RegistryRepository` on the moto registry table. SageMaker is the in-memory fake
(moto 5.2.1 has no user profiles or spaces). A rejected event must leave the registry table
exactly as it was; an accepted one must change it exactly when it records something new.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from hypothesis import event, given, note
from studio_recovery.dal.registry import RegistryRepository
from studio_recovery.handlers import event as event_module
from studio_recovery.models.errors import StudioRecoveryError
from studio_recovery.models.registry import Domain

from tests.hypothesis_profiles import fuzz_settings
from tests.unit.fuzz_cloudtrail import (
    HOME_DOMAIN_ID,
    PRIOR_TIME,
    Scenario,
    build_event,
    build_world,
    expect,
    scenarios,
)
from tests.unit.studio_fakes import FakeRegistry, FakeSageMaker

MOTO_EXAMPLES = 200


@dataclass
class LambdaContextStub:
    function_name: str = "studio-recovery-event"
    memory_limit_in_mb: int = 256
    invoked_function_arn: str = (
        "arn:aws:lambda:us-east-1:123456789012:function:studio-recovery-event"
    )
    aws_request_id: str = "req-fuzz"

    def get_remaining_time_in_millis(self) -> int:
        return 60_000


@dataclass
class Tables:
    """The two moto tables and the SageMaker fake the handler currently sees."""

    registry: Any
    idempotency: Any
    repo: RegistryRepository
    sagemaker: list[FakeSageMaker] = field(default_factory=list)

    def reset(self) -> None:
        """Empty both tables (Hypothesis runs many examples in one test function)."""
        for table, keys in ((self.registry, ("pk", "sk")), (self.idempotency, ("id",))):
            with table.batch_writer() as batch:
                for item in _scan(table):
                    batch.delete_item(Key={key: item[key] for key in keys})

    def registry_items(self) -> list[dict[str, Any]]:
        """Every registry item, in key order."""
        return sorted(_scan(self.registry), key=lambda item: (item["pk"], item["sk"]))


def _scan(table: Any) -> list[dict[str, Any]]:
    reply = table.scan(ConsistentRead=True)
    items = list(reply["Items"])
    while "LastEvaluatedKey" in reply:
        reply = table.scan(
            ConsistentRead=True, ExclusiveStartKey=reply["LastEvaluatedKey"]
        )
        items.extend(reply["Items"])
    return items


def _clear_caches() -> None:
    for cached in (
        event_module._registry,
        event_module._recorder,
        event_module._idempotency_config,
    ):
        cached.cache_clear()


@pytest.fixture
def tables(
    registry_table: Any, idempotency_table: Any, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Tables]:
    state = Tables(
        registry_table, idempotency_table, RegistryRepository(registry_table.name)
    )
    _clear_caches()
    monkeypatch.setattr(event_module, "_sagemaker", lambda: state.sagemaker[-1])
    yield state
    _clear_caches()


def _seed(repo: RegistryRepository, registry: FakeRegistry) -> None:
    """Write what the fake registry of the scenario holds through the real repository."""
    for domain in registry.domains.values():
        repo.put_domain(domain)
    for key, history in registry.generations.items():
        for generation in history:
            repo.record_generation(
                key,
                domain_id=generation.domain_id,
                efs_id=generation.efs_id,
                uid=generation.uid,
                created_at=generation.created_at,
                event_id=generation.event_id,
            )
            if generation.deleted_at is not None:
                repo.mark_deleted(key, HOME_DOMAIN_ID, PRIOR_TIME)


@fuzz_settings(ci_examples=MOTO_EXAMPLES, with_fixtures=True)
@given(scenario=scenarios())
def test_handler_rejects_with_a_typed_error_and_an_unchanged_table_or_records(
    tables: Tables, scenario: Scenario
) -> None:
    # Given empty tables, then the scenario's registry and SageMaker
    tables.reset()
    sagemaker, registry = build_world(scenario)
    tables.sagemaker.append(sagemaker)
    _seed(tables.repo, registry)
    before = tables.registry_items()
    expected = expect(scenario)
    note(f"expected: {expected}")
    # When the real handler gets the event (any untyped exception fails the test here)
    try:
        result = event_module.handler(build_event(scenario), LambdaContextStub())  # type: ignore[arg-type]
    except StudioRecoveryError as exc:
        event(f"rejected: {type(exc).__name__}")
        # Then the error is the typed one expected and the registry is untouched
        assert type(exc) is expected.error, f"raised {exc!r}, expected {expected}"
        assert tables.registry_items() == before
        return
    event(f"accepted: {result['action']}")
    # Then the action is the expected one, and the registry changed only if it says so
    assert expected.error is None, f"accepted as {result}, expected {expected.error}"
    assert result["action"] == expected.action
    after = tables.registry_items()
    assert (after != before) == expected.writes, (before, after)
    if expected.action == "generation_recorded":
        generations = [item for item in after if item["sk"].startswith("GEN#")]
        assert {item["uid"] for item in generations} >= {expected.uid}
    if expected.action in {"domain_recorded", "domain_deleted"}:
        domains = [
            Domain.from_item(item) for item in after if item.get("entity") == "domain"
        ]
        assert expected.domain_id in {domain.domain_id for domain in domains}
