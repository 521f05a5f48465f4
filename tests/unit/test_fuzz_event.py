"""Property-based tests of the event handler's logic (issue 7, "Bad input"): no AWS.

Every drawn CloudTrail-via-EventBridge event, valid or broken, goes through the handler's
own parsing (`handlers.event._parse`) and `logic.events.handle_event` with in-memory fakes.
The handler must record exactly what the contract says, or raise the typed error the
contract names, and then leave the registry untouched. Any other exception fails the test.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import event, given, note
from hypothesis import strategies as st
from studio_recovery.handlers.event import _parse
from studio_recovery.logic.events import EventOutcome, handle_event
from studio_recovery.models.errors import MalformedEventError, StudioRecoveryError
from studio_recovery.models.registry import Domain, Generation

from tests.hypothesis_profiles import fuzz_settings
from tests.unit.fuzz_cloudtrail import (
    EFS_ID,
    Expected,
    Scenario,
    World,
    build_event,
    build_world,
    expect,
    home_key,
    scenarios,
)
from tests.unit.studio_fakes import FakeRegistry, FakeSageMaker


def _snapshot(
    registry: FakeRegistry,
) -> tuple[dict[Any, tuple[Generation, ...]], dict[str, Any]]:
    generations = {
        key: tuple(history) for key, history in registry.generations.items() if history
    }
    return generations, dict(registry.domains)


def _run(
    scenario: Scenario, sagemaker: FakeSageMaker, registry: FakeRegistry
) -> EventOutcome:
    """What the `event` Lambda does with the event, minus idempotency and AWS clients."""
    parsed = _parse(build_event(scenario))
    return handle_event(parsed.detail, registry, sagemaker)


@fuzz_settings()
@given(scenarios())
def test_every_event_is_recorded_as_the_contract_says_or_rejected_with_a_typed_error(
    scenario: Scenario,
) -> None:
    _check_event(scenario)


@fuzz_settings(ci_examples=500)
@given(scenarios(broken=False))
def test_well_formed_events_record_exactly_what_the_contract_says(
    scenario: Scenario,
) -> None:
    """The same check on well-formed events only, so that the recording paths get many
    examples (the bulk property spends most of its examples on rejections)."""
    _check_event(scenario)


def _check_event(scenario: Scenario) -> None:
    # Given the world of the scenario
    sagemaker, registry = build_world(scenario)
    before = _snapshot(registry)
    expected = expect(scenario)
    note(f"expected: {expected}")
    # When the handler's parse and logic run (any untyped exception fails the test here)
    try:
        outcome = _run(scenario, sagemaker, registry)
    except StudioRecoveryError as exc:
        event(f"rejected: {type(exc).__name__}")
        # Then a rejection is the expected typed error and nothing was written
        assert type(exc) is expected.error, f"raised {exc!r}, expected {expected}"
        assert registry.writes == []
        assert _snapshot(registry) == before
        return
    event(f"accepted: {outcome.action}")
    # Then the outcome and the registry are what the contract says
    assert expected.error is None, f"accepted as {outcome}, expected {expected.error}"
    assert outcome.action == expected.action
    assert outcome.event_id == scenario.event_id
    if expected.writes:
        assert len(registry.writes) == 1, registry.writes
    else:
        assert registry.writes == []
        assert _snapshot(registry) == before
    _check_written(scenario, expected, outcome, registry)


def _check_written(
    scenario: Scenario,
    expected: Expected,
    outcome: EventOutcome,
    registry: FakeRegistry,
) -> None:
    if expected.action in {"generation_recorded", "already_recorded"}:
        assert outcome.generation == expected.generation
        assert scenario.kind is not None
        assert scenario.name is not None
    if expected.action == "generation_recorded":
        _check_generation(scenario, expected, registry)
    elif expected.action == "profile_deleted":
        assert scenario.kind is not None
        assert scenario.name is not None
        (generation,) = registry.generations[home_key(scenario.kind, scenario.name)]
        assert generation.deleted_at == scenario.time
    elif expected.action == "domain_recorded":
        assert expected.domain_id is not None
        domain = registry.domains[expected.domain_id]
        assert (domain.domain_name, domain.efs_id) == (
            expected.domain_name,
            expected.efs_id,
        )
        assert (domain.created_at, domain.event_id) == (
            scenario.time,
            scenario.event_id,
        )
    elif expected.action == "domain_deleted":
        assert expected.domain_id is not None
        domain = registry.domains[expected.domain_id]
        assert (domain.deleted_at, domain.retention) == (
            scenario.time,
            expected.retention,
        )


def _check_generation(
    scenario: Scenario, expected: Expected, registry: FakeRegistry
) -> None:
    assert scenario.kind is not None
    assert scenario.name is not None
    assert expected.domain_name is not None
    key = home_key(scenario.kind, scenario.name)
    generation = registry.generations[key][-1]
    assert generation.key == key
    assert generation.generation == expected.generation
    assert (generation.domain_id, generation.efs_id) == (expected.domain_id, EFS_ID)
    assert generation.uid == expected.uid
    assert generation.sso_user_value == expected.sso
    assert (generation.created_at, generation.event_id) == (
        scenario.time,
        scenario.event_id,
    )


# ------------------------------------------------------------- event times at the edges

_ANY_OFFSET = st.integers(min_value=-23 * 60 - 59, max_value=23 * 60 + 59).map(
    lambda minutes: timezone(timedelta(minutes=minutes))
)


@fuzz_settings(ci_examples=500)
@given(
    moment=st.datetimes(
        min_value=datetime(1, 1, 1),
        max_value=datetime(9999, 12, 31),
        timezones=_ANY_OFFSET,
    ),
    event_name=st.sampled_from(
        ["CreateUserProfile", "DeleteUserProfile", "CreateDomain"]
    ),
)
def test_any_parseable_event_time_is_recorded_readably_or_rejected_as_malformed(
    moment: datetime, event_name: str
) -> None:
    """An eventTime pydantic accepts (year 1 to 9999, any offset) must either be stored in
    a form the registry can read back, or be rejected as malformed with nothing written."""
    scenario = Scenario(
        event_name=event_name,
        event_id="e-time",
        event_time=moment.isoformat(),
        domain_id="d-abc",
        name="user1",
        name_key="userProfileName",
        domain_arn="arn:aws:sagemaker:us-east-1:123456789012:domain/d-abc",
        world=World(profile_uid="200001", prior="other_uid_live"),
    )
    sagemaker, registry = build_world(scenario)
    before = _snapshot(registry)
    try:
        _run(scenario, sagemaker, registry)
    except MalformedEventError:
        assert registry.writes == []
        assert _snapshot(registry) == before
        return
    for history in registry.generations.values():
        for generation in history:
            assert Generation.from_item(generation.to_item()) == _whole_seconds(
                generation
            )
    for domain in registry.domains.values():
        assert Domain.from_item(
            domain.to_item()
        ).created_at == domain.created_at.replace(microsecond=0)


def _whole_seconds(generation: Generation) -> Generation:
    """`generation` as the registry stores it: times to the second."""
    update: dict[str, Any] = {
        "created_at": generation.created_at.replace(microsecond=0)
    }
    if generation.deleted_at is not None:
        update["deleted_at"] = generation.deleted_at.replace(microsecond=0)
    return generation.model_copy(update=update)


def test_an_event_time_before_year_1_in_utc_is_rejected_as_malformed() -> None:
    """The smallest case of the property above, kept explicit: 0001-01-01T00:00:00+01:00
    is 31 December of year 0 in UTC, a date Python cannot represent."""
    scenario = Scenario(
        event_name="CreateUserProfile",
        event_id="e-time",
        event_time=datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=1))).isoformat(),
        domain_id="d-abc",
        name="user1",
        name_key="userProfileName",
        world=World(profile_uid="200001"),
    )
    sagemaker, registry = build_world(scenario)

    with pytest.raises(MalformedEventError):
        _run(scenario, sagemaker, registry)

    assert registry.writes == []
