"""The `event` Lambda handler end to end: moto DynamoDB (registry + idempotency), fake or
stubbed SageMaker (moto 5.2.1 has no user profiles or spaces)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from studio_recovery.dal.registry import RegistryRepository
from studio_recovery.dal.sagemaker import SageMakerGateway
from studio_recovery.handlers import event as event_module
from studio_recovery.models.errors import (
    MalformedEventError,
    TransientAwsError,
    UnresolvableProfileError,
    UnsupportedEventError,
)
from studio_recovery.models.registry import ProfileKey

from tests.unit.studio_fakes import FakeSageMaker, cloudtrail_event

USER1 = ProfileKey(domain_name="demo", kind="user", name="user1")


@dataclass
class LambdaContextStub:
    function_name: str = "studio-recovery-event"
    memory_limit_in_mb: int = 256
    invoked_function_arn: str = (
        "arn:aws:lambda:us-east-1:123456789012:function:studio-recovery-event"
    )
    aws_request_id: str = "req-1"

    def get_remaining_time_in_millis(self) -> int:
        return 60_000


def _clear_caches() -> None:
    for cached in (
        event_module._registry,
        event_module._sagemaker,
        event_module._recorder,
        event_module._idempotency_config,
    ):
        if hasattr(cached, "cache_clear"):  # not while a test has replaced it
            cached.cache_clear()


@pytest.fixture
def sagemaker(
    registry_table: Any, idempotency_table: Any, monkeypatch: pytest.MonkeyPatch
) -> Iterator[FakeSageMaker]:
    fake = FakeSageMaker()
    fake.add_domain("d-abc", "demo", efs_id="fs-0123")
    _clear_caches()
    monkeypatch.setattr(event_module, "_sagemaker", lambda: fake)
    yield fake
    _clear_caches()


@pytest.fixture
def repo(registry_table: Any) -> RegistryRepository:
    return RegistryRepository(registry_table.name)


def _invoke(event: dict[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = event_module.handler(event, LambdaContextStub())  # type: ignore[arg-type]
    return result


def _items(table: Any) -> list[dict[str, Any]]:
    return list(table.scan(ConsistentRead=True)["Items"])


def _create_user(
    event_id: str = "e-create-1", time: str = "2026-11-28T10:00:00Z"
) -> Any:
    return cloudtrail_event(
        "CreateUserProfile",
        event_id=event_id,
        event_time=time,
        request_parameters={"domainId": "d-abc", "userProfileName": "user1"},
        response_elements={
            "userProfileArn": "arn:aws:sagemaker:us-east-1:123456789012:user-profile/d-abc/user1"
        },
    )


def test_create_user_profile_is_recorded(
    sagemaker: FakeSageMaker, repo: RegistryRepository
) -> None:
    sagemaker.add_profile("d-abc", "user", "user1", "200001")

    result = _invoke(_create_user())

    assert result["action"] == "generation_recorded"
    profile = repo.get_profile(USER1)
    assert profile is not None
    assert (profile.uid, profile.efs_id, profile.generation) == ("200001", "fs-0123", 1)


def test_same_event_delivered_three_times_records_once(
    sagemaker: FakeSageMaker, repo: RegistryRepository, registry_table: Any
) -> None:
    sagemaker.add_profile("d-abc", "user", "user1", "200001")

    results = [_invoke(_create_user()) for _ in range(3)]

    assert results[0] == results[1] == results[2]
    assert len(repo.list_generations(USER1)) == 1
    assert len(_items(registry_table)) == 2
    # The second and third deliveries were answered from the idempotency table.
    assert sagemaker.calls.count("Describe user d-abc/user1") == 1


def test_create_space_without_user_settings(
    sagemaker: FakeSageMaker, repo: RegistryRepository
) -> None:
    sagemaker.add_profile("d-abc", "space", "user1", "200002")
    event = cloudtrail_event(
        "CreateSpace",
        event_id="e-space",
        request_parameters={"domainId": "d-abc", "spaceName": "user1"},
    )
    assert _invoke(event)["action"] == "generation_recorded"
    space = repo.get_profile(ProfileKey(domain_name="demo", kind="space", name="user1"))
    assert space is not None
    assert space.uid == "200002"
    assert repo.get_profile(USER1) is None


def test_delete_then_recreate_keeps_history_and_opt_out(
    sagemaker: FakeSageMaker, repo: RegistryRepository
) -> None:
    sagemaker.add_profile("d-abc", "user", "user1", "200001")
    _invoke(_create_user())
    repo.set_replication(USER1, False)
    delete = cloudtrail_event(
        "DeleteUserProfile",
        event_id="e-delete-1",
        event_time="2026-11-28T11:00:00Z",
        request_parameters={"domainId": "d-abc", "userProfileName": "user1"},
    )
    assert _invoke(delete)["action"] == "profile_deleted"
    sagemaker.add_profile("d-abc", "user", "user1", "200007")

    result = _invoke(_create_user("e-create-2", "2026-11-28T12:00:00Z"))

    assert result["generation"] == 2
    generations = repo.list_generations(USER1)
    assert [(g.uid, g.deleted_at is not None) for g in generations] == [
        ("200001", True),
        ("200007", False),
    ]
    profile = repo.get_profile(USER1)
    assert profile is not None
    assert profile.replication is False


def test_domain_created_and_deleted_with_retention(
    sagemaker: FakeSageMaker, repo: RegistryRepository
) -> None:
    create = cloudtrail_event(
        "CreateDomain",
        event_id="e-domain-1",
        request_parameters={"domainName": "demo"},
        response_elements={
            "domainArn": "arn:aws:sagemaker:us-east-1:123456789012:domain/d-abc"
        },
    )
    delete = cloudtrail_event(
        "DeleteDomain",
        event_id="e-domain-2",
        event_time="2026-11-29T00:00:00Z",
        request_parameters={
            "domainId": "d-abc",
            "retentionPolicy": {"homeEfsFileSystem": "Retain"},
        },
    )
    assert _invoke(create)["action"] == "domain_recorded"
    del sagemaker.domains["d-abc"]
    assert _invoke(delete)["action"] == "domain_deleted"
    domain = repo.get_domain_by_id("d-abc")
    assert domain is not None
    assert (domain.efs_id, domain.retention) == ("fs-0123", "Retain")


@pytest.mark.parametrize("uid", ["", "abc", None])
def test_unreadable_uid_raises_and_writes_nothing(
    sagemaker: FakeSageMaker,
    registry_table: Any,
    idempotency_table: Any,
    uid: str | None,
) -> None:
    sagemaker.add_profile("d-abc", "user", "user1", uid)
    with pytest.raises(UnresolvableProfileError):
        _invoke(_create_user())
    assert _items(registry_table) == []
    # The failed attempt left no idempotency record: the retry will run again.
    assert _items(idempotency_table) == []


def test_unknown_event_raises_and_writes_nothing(
    sagemaker: FakeSageMaker, registry_table: Any
) -> None:
    event = cloudtrail_event("UpdateSpace", request_parameters={"domainId": "d-abc"})
    with pytest.raises(UnsupportedEventError):
        _invoke(event)
    assert _items(registry_table) == []


@pytest.mark.parametrize(
    "event",
    [
        {},
        {
            "detail-type": "AWS API Call via CloudTrail",
            "detail": {"eventName": "CreateSpace"},
        },
        cloudtrail_event("CreateSpace", request_parameters={"spaceName": "s1"}),
    ],
)
def test_malformed_event_raises_and_writes_nothing(
    sagemaker: FakeSageMaker, registry_table: Any, event: dict[str, Any]
) -> None:
    with pytest.raises(MalformedEventError):
        _invoke(event)
    assert _items(registry_table) == []


def _stubbed_gateway(monkeypatch: pytest.MonkeyPatch) -> Stubber:
    client = boto3.client("sagemaker", region_name="us-east-1")
    stubber = Stubber(client)
    monkeypatch.setattr(event_module, "_sagemaker", lambda: SageMakerGateway(client))
    return stubber


def test_describe_failure_raises_typed_error_and_writes_nothing(
    sagemaker: FakeSageMaker, registry_table: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    stubber = _stubbed_gateway(monkeypatch)
    stubber.add_response(
        "describe_domain",
        {"DomainName": "demo", "HomeEfsFileSystemId": "fs-0123"},
        {"DomainId": "d-abc"},
    )
    stubber.add_client_error(
        "describe_user_profile",
        service_error_code="AccessDeniedException",
        http_status_code=403,
    )
    with (
        stubber,
        pytest.raises(UnresolvableProfileError, match="AccessDeniedException"),
    ):
        _invoke(_create_user())
    assert _items(registry_table) == []


def test_sagemaker_throttling_raises_transient_error(
    sagemaker: FakeSageMaker, registry_table: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    stubber = _stubbed_gateway(monkeypatch)
    for _ in range(5):
        stubber.add_client_error(
            "describe_domain",
            service_error_code="ThrottlingException",
            http_status_code=400,
        )
    with stubber, pytest.raises(TransientAwsError):
        _invoke(_create_user())
    assert _items(registry_table) == []


def test_stubbed_gateway_records_uid_and_sso_user(
    sagemaker: FakeSageMaker, repo: RegistryRepository, monkeypatch: pytest.MonkeyPatch
) -> None:
    stubber = _stubbed_gateway(monkeypatch)
    stubber.add_response(
        "describe_domain",
        {"DomainName": "demo", "HomeEfsFileSystemId": "fs-0123"},
        {"DomainId": "d-abc"},
    )
    stubber.add_response(
        "describe_user_profile",
        {
            "HomeEfsFileSystemUid": "200011",
            "SingleSignOnUserValue": "alice@example.com",
        },
        {"DomainId": "d-abc", "UserProfileName": "user1"},
    )
    with stubber:
        _invoke(_create_user())
    profile = repo.get_profile(USER1)
    assert profile is not None
    assert (profile.uid, profile.sso_user_value) == ("200011", "alice@example.com")


def test_profile_of_a_domain_without_home_efs_is_skipped_and_counted(
    sagemaker: FakeSageMaker,
    registry_table: Any,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # given a domain created with HomeEfsFileSystemCreation Disabled
    stubber = _stubbed_gateway(monkeypatch)
    stubber.add_response(
        "describe_domain",
        {
            "DomainName": "demo",
            "Status": "InService",
            "HomeEfsFileSystemCreation": "Disabled",
        },
        {"DomainId": "d-abc"},
    )

    # when
    with stubber:
        outcome = _invoke(_create_user())

    # then it is skipped with its reason, not raised (so not dead-lettered), and counted
    assert outcome["action"] == "skipped_no_home_efs"
    assert "no home EFS volume" in outcome["reason"]
    assert _items(registry_table) == []
    assert "EventsSkippedNoHomeEfs" in capsys.readouterr().out
