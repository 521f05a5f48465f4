"""The `seeder` Lambda handler: moto DynamoDB for the registry, fake or stubbed SageMaker."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from studio_recovery.dal.registry import RegistryRepository
from studio_recovery.dal.sagemaker import SageMakerGateway
from studio_recovery.handlers import seeder as seeder_module
from studio_recovery.models.errors import MalformedEventError
from studio_recovery.models.registry import ProfileKey

from tests.unit.studio_fakes import FakeSageMaker

from .test_event_handler import LambdaContextStub

ALICE = ProfileKey(domain_name="demo", kind="user", name="alice")


@pytest.fixture
def sagemaker(
    registry_table: Any, monkeypatch: pytest.MonkeyPatch
) -> Iterator[FakeSageMaker]:
    fake = FakeSageMaker()
    seeder_module._registry.cache_clear()
    monkeypatch.setattr(seeder_module, "_sagemaker", lambda: fake)
    yield fake
    seeder_module._registry.cache_clear()


@pytest.fixture
def repo(registry_table: Any) -> RegistryRepository:
    return RegistryRepository(registry_table.name)


def _invoke(event: Any) -> dict[str, Any]:
    result: dict[str, Any] = seeder_module.handler(event, LambdaContextStub())  # type: ignore[arg-type]
    return result


def _items(table: Any) -> list[dict[str, Any]]:
    return list(table.scan(ConsistentRead=True)["Items"])


def test_no_domains_seeds_nothing(
    sagemaker: FakeSageMaker, registry_table: Any
) -> None:
    result = _invoke({})
    assert (result["domains"], result["recorded"], result["skipped"]) == (0, 0, 0)
    assert _items(registry_table) == []


def test_seeding_records_profiles_and_a_rerun_changes_nothing(
    sagemaker: FakeSageMaker, repo: RegistryRepository, registry_table: Any
) -> None:
    sagemaker.add_domain("d-1", "demo", efs_id="fs-1")
    sagemaker.add_profile("d-1", "user", "alice", "200001")
    sagemaker.add_profile("d-1", "space", "alice", "200002")
    sagemaker.add_profile("d-1", "user", "bob", "200003")

    first = _invoke({"action": "seed"})
    repo.set_replication(ALICE, False)
    items_after_first = _items(registry_table)
    second = _invoke({})

    assert (first["domains"], first["users"], first["spaces"], first["recorded"]) == (
        1,
        2,
        1,
        3,
    )
    assert second["recorded"] == 0
    assert second["skipped_reasons"] == {"already recorded": 3}
    assert (
        len(items_after_first) == 1 + 3 * 2
    )  # domain + (profile row + generation) each
    assert sorted(map(str, _items(registry_table)), key=str) == sorted(
        map(str, items_after_first), key=str
    )
    alice = repo.get_profile(ALICE)
    assert alice is not None
    assert (alice.uid, alice.replication, alice.generation) == ("200001", False, 1)
    assert repo.get_domain_by_id("d-1") is not None


def test_profile_deleted_while_listing_is_normal(
    sagemaker: FakeSageMaker, repo: RegistryRepository
) -> None:
    sagemaker.add_domain("d-1", "demo")
    sagemaker.add_profile("d-1", "user", "alice", "200001")
    sagemaker.add_profile("d-1", "user", "gone", "200009")
    sagemaker.vanish_on_describe.add(("d-1", "user", "gone"))

    result = _invoke({})

    assert result["recorded"] == 1
    assert result["skipped_reasons"] == {"deleted while listing": 1}
    assert (
        repo.get_profile(ProfileKey(domain_name="demo", kind="user", name="gone"))
        is None
    )


def test_terraform_destroy_and_unknown_actions(sagemaker: FakeSageMaker) -> None:
    sagemaker.add_domain("d-1", "demo")
    assert _invoke({"tf": {"action": "delete"}}) == {"action": "none"}
    assert sagemaker.calls == []
    with pytest.raises(MalformedEventError, match="unknown seeder action"):
        _invoke({"action": "wipe"})


def test_seeding_through_the_real_gateway_follows_pages(
    registry_table: Any, repo: RegistryRepository, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = boto3.client("sagemaker", region_name="us-east-1")
    seeder_module._registry.cache_clear()
    monkeypatch.setattr(seeder_module, "_sagemaker", lambda: SageMakerGateway(client))
    monkeypatch.setenv("SEED_CONCURRENCY", "1")  # Stubber answers in order
    seeder_module.load_settings.cache_clear()
    with Stubber(client) as stubber:
        stubber.add_response(
            "list_domains",
            {"Domains": [{"DomainId": "d-1", "DomainName": "demo"}], "NextToken": "p2"},
            {"MaxResults": 100},
        )
        stubber.add_response(
            "list_domains", {"Domains": []}, {"MaxResults": 100, "NextToken": "p2"}
        )
        stubber.add_response(
            "describe_domain",
            {"DomainId": "d-1", "DomainName": "demo", "HomeEfsFileSystemId": "fs-1"},
            {"DomainId": "d-1"},
        )
        stubber.add_response(
            "list_user_profiles",
            {
                "UserProfiles": [{"DomainId": "d-1", "UserProfileName": "alice"}],
                "NextToken": "u2",
            },
            {"DomainIdEquals": "d-1", "MaxResults": 100},
        )
        stubber.add_response(
            "list_user_profiles",
            {"UserProfiles": [{"DomainId": "d-1", "UserProfileName": "bob"}]},
            {"DomainIdEquals": "d-1", "MaxResults": 100, "NextToken": "u2"},
        )
        stubber.add_response(
            "list_spaces", {"Spaces": []}, {"DomainIdEquals": "d-1", "MaxResults": 100}
        )
        for name, uid in (("alice", "200001"), ("bob", "200002")):
            stubber.add_response(
                "describe_user_profile",
                {"HomeEfsFileSystemUid": uid},
                {"DomainId": "d-1", "UserProfileName": name},
            )
        result = _invoke({})
        stubber.assert_no_pending_responses()

    assert (result["domains"], result["users"], result["recorded"]) == (1, 2, 2)
    assert [p.uid for p in repo.list_profiles("demo")] == ["200001", "200002"]
    seeder_module._registry.cache_clear()


@pytest.mark.parametrize(("concurrency", "pool"), [("32", 32), ("4", 10)])
def test_every_describe_thread_keeps_its_connection(
    registry_table: Any, monkeypatch: pytest.MonkeyPatch, concurrency: str, pool: int
) -> None:
    monkeypatch.setenv("SEED_CONCURRENCY", concurrency)
    seeder_module.load_settings.cache_clear()
    seeder_module._sagemaker.cache_clear()
    try:
        gateway: Any = seeder_module._sagemaker()
        config = gateway._client.meta.config
        assert config.max_pool_connections == pool  # botocore keeps 10 by default
        retries = {"mode": "standard", "total_max_attempts": 6}  # RETRY_CONFIG's
        assert config.retries == retries
        assert config.connect_timeout == 5
    finally:
        seeder_module._sagemaker.cache_clear()
        seeder_module.load_settings.cache_clear()
