"""Event decisions (logic.events) with in-memory fakes: no AWS."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from studio_recovery.logic import events
from studio_recovery.logic.events import handle_event
from studio_recovery.models.cloudtrail import CloudTrailDetail, SageMakerCloudTrailEvent
from studio_recovery.models.errors import (
    DomainPendingError,
    MalformedEventError,
    UnresolvableProfileError,
    UnsupportedEventError,
)
from studio_recovery.models.registry import ProfileKey

from .studio_fakes import FakeRegistry, FakeSageMaker, cloudtrail_event

USER1 = ProfileKey(domain_name="demo", kind="user", name="user1")


def _detail(name: str, **kwargs: Any) -> CloudTrailDetail:
    return SageMakerCloudTrailEvent.model_validate(
        cloudtrail_event(name, **kwargs)
    ).detail


@pytest.fixture
def sagemaker() -> FakeSageMaker:
    fake = FakeSageMaker()
    fake.add_domain("d-abc", "demo", efs_id="fs-0123")
    return fake


def test_create_user_profile_records_uid_and_volume(sagemaker: FakeSageMaker) -> None:
    sagemaker.add_profile("d-abc", "user", "user1", "200001", sso_user_value="alice")
    registry = FakeRegistry()
    detail = _detail(
        "CreateUserProfile",
        event_id="e-1",
        request_parameters={"domainId": "d-abc", "userProfileName": "user1"},
    )

    outcome = handle_event(detail, registry, sagemaker)

    assert outcome.action == "generation_recorded"
    assert outcome.generation == 1
    (generation,) = registry.generations[USER1]
    assert (generation.efs_id, generation.uid, generation.sso_user_value) == (
        "fs-0123",
        "200001",
        "alice",
    )
    assert generation.event_id == "e-1"
    assert generation.created_at == datetime(2026, 11, 28, 14, 8, 57, tzinfo=UTC)


def test_create_space_uses_the_space_kind(sagemaker: FakeSageMaker) -> None:
    sagemaker.add_profile("d-abc", "space", "user1", "200002")
    registry = FakeRegistry()
    detail = _detail(
        "CreateSpace", request_parameters={"domainId": "d-abc", "spaceName": "user1"}
    )

    handle_event(detail, registry, sagemaker)

    space = ProfileKey(domain_name="demo", kind="space", name="user1")
    assert [g.uid for g in registry.generations[space]] == ["200002"]
    assert USER1 not in registry.generations


def test_user_settings_with_or_without_role_do_not_matter(
    sagemaker: FakeSageMaker,
) -> None:
    sagemaker.add_profile("d-abc", "user", "user1", "200001")
    registry = FakeRegistry()
    params = {"domainId": "d-abc", "userProfileName": "user1", "userSettings": {}}
    outcome = handle_event(
        _detail("CreateUserProfile", request_parameters=params), registry, sagemaker
    )
    assert outcome.action == "generation_recorded"


@pytest.mark.parametrize("uid", [None, "", "abc", "0", "20000x"])
def test_unreadable_uid_writes_nothing(
    sagemaker: FakeSageMaker, uid: str | None
) -> None:
    sagemaker.add_profile("d-abc", "user", "user1", uid)
    registry = FakeRegistry()
    detail = _detail(
        "CreateUserProfile",
        request_parameters={"domainId": "d-abc", "userProfileName": "user1"},
    )
    with pytest.raises(UnresolvableProfileError, match="HomeEfsFileSystemUid"):
        handle_event(detail, registry, sagemaker)
    assert registry.writes == []


def test_profile_gone_before_describe_writes_nothing(sagemaker: FakeSageMaker) -> None:
    registry = FakeRegistry()
    detail = _detail(
        "CreateUserProfile",
        request_parameters={"domainId": "d-abc", "userProfileName": "user1"},
    )
    with pytest.raises(UnresolvableProfileError, match="deleted before"):
        handle_event(detail, registry, sagemaker)
    assert registry.writes == []


def test_profile_of_a_domain_without_home_efs_is_skipped_with_a_reason(
    sagemaker: FakeSageMaker,
) -> None:
    # given a domain created with HomeEfsFileSystemCreation Disabled
    sagemaker.add_domain("d-new", "fresh", efs_id=None, home_efs_creation="Disabled")
    sagemaker.add_profile("d-new", "user", "user1", "200001")
    registry = FakeRegistry()
    detail = _detail(
        "CreateUserProfile",
        request_parameters={"domainId": "d-new", "userProfileName": "user1"},
    )

    # when
    outcome = handle_event(detail, registry, sagemaker)

    # then nothing is written, and the outcome says why (no error: no dead letter)
    assert outcome.action == "skipped_no_home_efs"
    assert "no home EFS volume" in outcome.reason
    assert not outcome.recorded
    assert registry.writes == []


def test_in_service_domain_without_a_volume_is_skipped_too(
    sagemaker: FakeSageMaker,
) -> None:
    sagemaker.add_domain("d-new", "fresh", efs_id=None)
    sagemaker.add_profile("d-new", "space", "team", "200001")
    detail = _detail(
        "CreateSpace", request_parameters={"domainId": "d-new", "spaceName": "team"}
    )

    outcome = handle_event(detail, FakeRegistry(), sagemaker)

    assert outcome.action == "skipped_no_home_efs"


def test_create_domain_without_home_efs_records_it_without_a_volume(
    sagemaker: FakeSageMaker,
) -> None:
    sagemaker.add_domain("d-new", "fresh", efs_id=None, home_efs_creation="Disabled")
    registry = FakeRegistry()
    detail = _detail(
        "CreateDomain",
        request_parameters={
            "domainName": "fresh",
            "homeEfsFileSystemCreation": "Disabled",
        },
        response_elements={"domainArn": "arn:aws:sagemaker:us-east-1:1:domain/d-new"},
    )

    outcome = handle_event(detail, registry, sagemaker)

    assert outcome.action == "domain_recorded"
    assert "no home EFS volume" in outcome.reason
    assert registry.domains["d-new"].efs_id is None


def test_pending_domain_is_described_again_until_it_has_its_volume(
    sagemaker: FakeSageMaker,
) -> None:
    # given a domain that answers Pending (no volume) three times
    sagemaker.add_domain("d-new", "fresh", efs_id="fs-9", pending_describes=3)
    registry = FakeRegistry()
    slept: list[float] = []
    detail = _detail(
        "CreateDomain",
        request_parameters={"domainName": "fresh"},
        response_elements={"domainArn": "arn:aws:sagemaker:us-east-1:1:domain/d-new"},
    )

    # when
    outcome = handle_event(detail, registry, sagemaker, sleep=slept.append)

    # then it waited (growing pauses) and recorded the volume
    assert outcome.action == "domain_recorded"
    assert registry.domains["d-new"].efs_id == "fs-9"
    assert slept == [0.5, 1.0, 2.0]


def test_domain_pending_too_long_raises_after_a_bounded_wait(
    sagemaker: FakeSageMaker,
) -> None:
    sagemaker.add_domain("d-new", "fresh", efs_id="fs-9", pending_describes=1000)
    sagemaker.add_profile("d-new", "user", "user1", "200001")
    registry = FakeRegistry()
    slept: list[float] = []
    detail = _detail(
        "CreateUserProfile",
        request_parameters={"domainId": "d-new", "userProfileName": "user1"},
    )

    with pytest.raises(DomainPendingError, match="still Pending"):
        handle_event(detail, registry, sagemaker, sleep=slept.append)

    assert sum(slept) == pytest.approx(events.PENDING_WAIT_SECONDS)
    assert max(slept) <= events.PENDING_MAX_POLL_SECONDS
    assert registry.writes == []


def test_unknown_event_name_is_unsupported(sagemaker: FakeSageMaker) -> None:
    registry = FakeRegistry()
    detail = _detail("UpdateUserProfile", request_parameters={"domainId": "d-abc"})
    with pytest.raises(UnsupportedEventError, match="UpdateUserProfile"):
        handle_event(detail, registry, sagemaker)
    assert registry.writes == []
    assert sagemaker.calls == []


@pytest.mark.parametrize(
    ("name", "params", "message"),
    [
        ("CreateUserProfile", None, "domainId is missing"),
        ("CreateUserProfile", {"domainId": "d-abc"}, "userProfileName is missing"),
        ("CreateSpace", {"spaceName": "s1"}, "domainId is missing"),
        ("DeleteDomain", {}, "domainId is missing"),
        ("CreateDomain", {"domainName": "demo"}, "domainArn is missing"),
        (
            "CreateUserProfile",
            {"domainId": "d-abc", "userProfileName": "bad_name"},
            "name",
        ),
    ],
)
def test_malformed_events_write_nothing(
    sagemaker: FakeSageMaker, name: str, params: dict[str, Any] | None, message: str
) -> None:
    sagemaker.add_profile("d-abc", "user", "bad_name", "200001")
    registry = FakeRegistry()
    with pytest.raises(MalformedEventError, match=message):
        handle_event(_detail(name, request_parameters=params), registry, sagemaker)
    assert registry.writes == []


def test_failed_api_call_is_ignored(sagemaker: FakeSageMaker) -> None:
    registry = FakeRegistry()
    detail = _detail(
        "CreateUserProfile",
        request_parameters={"domainId": "d-abc", "userProfileName": "user1"},
        errorCode="ResourceInUse",
    )
    outcome = handle_event(detail, registry, sagemaker)
    assert outcome.action == "ignored"
    assert registry.writes == []


def test_delete_user_profile_marks_latest_generation(sagemaker: FakeSageMaker) -> None:
    sagemaker.add_profile("d-abc", "user", "user1", "200001")
    registry = FakeRegistry()
    create = {"domainId": "d-abc", "userProfileName": "user1"}
    handle_event(
        _detail("CreateUserProfile", request_parameters=create), registry, sagemaker
    )

    outcome = handle_event(
        _detail(
            "DeleteUserProfile",
            request_parameters=create,
            event_time="2026-11-29T00:00:00Z",
        ),
        registry,
        sagemaker,
    )

    assert outcome.action == "profile_deleted"
    assert registry.generations[USER1][0].deleted_at == datetime(
        2026, 11, 29, tzinfo=UTC
    )


def test_delete_in_unknown_domain_is_a_no_op() -> None:
    registry = FakeRegistry()
    params = {"domainId": "d-gone", "spaceName": "s1"}
    outcome = handle_event(
        _detail("DeleteSpace", request_parameters=params), registry, FakeSageMaker()
    )
    assert outcome.action == "ignored"
    assert registry.writes == []


def test_delete_space_of_a_deleted_domain_uses_the_registry(
    sagemaker: FakeSageMaker,
) -> None:
    sagemaker.add_profile("d-abc", "space", "s1", "200003")
    registry = FakeRegistry()
    handle_event(
        _detail(
            "CreateDomain",
            response_elements={
                "domainArn": "arn:aws:sagemaker:us-east-1:1:domain/d-abc"
            },
            request_parameters={"domainName": "demo"},
        ),
        registry,
        sagemaker,
    )
    handle_event(
        _detail(
            "CreateSpace", request_parameters={"domainId": "d-abc", "spaceName": "s1"}
        ),
        registry,
        sagemaker,
    )
    del sagemaker.domains["d-abc"]

    outcome = handle_event(
        _detail(
            "DeleteSpace", request_parameters={"domainId": "d-abc", "spaceName": "s1"}
        ),
        registry,
        sagemaker,
    )

    assert outcome.action == "profile_deleted"
    assert outcome.domain_name == "demo"


def test_create_domain_takes_the_id_from_the_response_arn(
    sagemaker: FakeSageMaker,
) -> None:
    registry = FakeRegistry()
    detail = _detail(
        "CreateDomain",
        request_parameters={"domainName": "demo", "authMode": "IAM"},
        response_elements={
            "domainArn": "arn:aws:sagemaker:us-east-1:123456789012:domain/d-abc"
        },
    )
    outcome = handle_event(detail, registry, sagemaker)
    assert outcome.action == "domain_recorded"
    assert registry.domains["d-abc"].efs_id == "fs-0123"
    assert registry.domains["d-abc"].domain_name == "demo"


@pytest.mark.parametrize(
    ("policy", "expected"),
    [
        (None, "Retain"),
        ({"homeEfsFileSystem": "Retain"}, "Retain"),
        ({"homeEfsFileSystem": "Delete"}, "Delete"),
    ],
)
def test_delete_domain_records_retention(
    sagemaker: FakeSageMaker, policy: dict[str, str] | None, expected: str
) -> None:
    registry = FakeRegistry()
    handle_event(
        _detail(
            "CreateDomain",
            response_elements={
                "domainArn": "arn:aws:sagemaker:us-east-1:1:domain/d-abc"
            },
        ),
        registry,
        sagemaker,
    )
    params: dict[str, Any] = {"domainId": "d-abc"}
    if policy is not None:
        params["retentionPolicy"] = policy
    outcome = handle_event(
        _detail("DeleteDomain", request_parameters=params), registry, sagemaker
    )
    assert outcome.action == "domain_deleted"
    assert registry.domains["d-abc"].retention == expected
