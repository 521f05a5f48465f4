"""RegistryRepository against moto's DynamoDB."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from botocore.exceptions import ClientError
from botocore.stub import Stubber
from studio_recovery.dal.registry import RegistryRepository
from studio_recovery.models.errors import NotFoundError, TransientAwsError
from studio_recovery.models.registry import Domain, HomeDirectory, ProfileKey

USER1 = ProfileKey(domain_name="demo", kind="user", name="user1")
SPACE1 = ProfileKey(domain_name="demo", kind="space", name="user1")
T0 = datetime(2026, 11, 1, tzinfo=UTC)


@pytest.fixture
def repo(registry_table: Any) -> RegistryRepository:
    return RegistryRepository(registry_table.name)


def _record(
    repo: RegistryRepository, key: ProfileKey, uid: str, days: int = 0, **kw: Any
) -> Any:
    return repo.record_generation(
        key,
        domain_id=kw.pop("domain_id", "d-abc"),
        efs_id=kw.pop("efs_id", "fs-0123"),
        uid=uid,
        created_at=T0 + timedelta(days=days),
        **kw,
    )


def _items(table: Any) -> list[dict[str, Any]]:
    return list(table.scan(ConsistentRead=True)["Items"])


def test_first_generation_creates_profile_with_replication_on(
    repo: RegistryRepository, registry_table: Any
) -> None:
    generation = _record(repo, USER1, "200001", event_id="e-1", sso_user_value="alice")

    profile = repo.get_profile(USER1)
    assert profile is not None
    assert (profile.generation, profile.uid, profile.replication) == (1, "200001", True)
    assert profile.sso_user_value == "alice"
    assert generation.sk == "GEN#000001"
    assert {item["sk"] for item in _items(registry_table)} == {"PROFILE", "GEN#000001"}


def test_same_home_twice_is_recorded_once(
    repo: RegistryRepository, registry_table: Any
) -> None:
    first = _record(repo, USER1, "200001", event_id="e-1")
    again = _record(repo, USER1, "200001", event_id="e-2")
    assert again == first
    assert len(_items(registry_table)) == 2


def test_user_and_space_with_the_same_name_do_not_collide(
    repo: RegistryRepository,
) -> None:
    _record(repo, USER1, "200001")
    _record(repo, SPACE1, "200002")
    user, space = repo.get_profile(USER1), repo.get_profile(SPACE1)
    assert user is not None
    assert space is not None
    assert (user.uid, space.uid) == ("200001", "200002")
    assert [g.uid for g in repo.list_generations(USER1)] == ["200001"]


def test_recreating_twice_keeps_every_generation_and_the_opt_out(
    repo: RegistryRepository,
) -> None:
    _record(repo, USER1, "200001")
    repo.set_replication(USER1, False)
    repo.mark_deleted(USER1, "d-abc", T0 + timedelta(days=1))
    _record(repo, USER1, "200005", days=2)
    repo.mark_deleted(USER1, "d-abc", T0 + timedelta(days=3))
    _record(repo, USER1, "200009", days=4)

    generations = repo.list_generations(USER1)
    assert [(g.generation, g.uid) for g in generations] == [
        (1, "200001"),
        (2, "200005"),
        (3, "200009"),
    ]
    assert [g.deleted_at is not None for g in generations] == [True, True, False]
    profile = repo.get_profile(USER1)
    assert profile is not None
    assert (profile.generation, profile.uid, profile.replication) == (
        3,
        "200009",
        False,
    )
    assert profile.deleted_at is None


def test_mark_deleted_marks_profile_and_is_idempotent(repo: RegistryRepository) -> None:
    _record(repo, USER1, "200001")
    deleted_at = T0 + timedelta(hours=5)
    marked = repo.mark_deleted(USER1, "d-abc", deleted_at)
    assert marked is not None
    assert marked.deleted_at == deleted_at
    profile = repo.get_profile(USER1)
    assert profile is not None
    assert profile.deleted_at == deleted_at
    assert repo.mark_deleted(USER1, "d-abc", deleted_at) is None


def test_mark_deleted_ignores_other_domains_and_later_generations(
    repo: RegistryRepository,
) -> None:
    _record(repo, USER1, "200001", domain_id="d-old")
    assert repo.mark_deleted(USER1, "d-new", T0 + timedelta(days=1)) is None
    assert repo.mark_deleted(USER1, "d-old", T0 - timedelta(days=1)) is None
    assert all(g.deleted_at is None for g in repo.list_generations(USER1))


def test_delete_of_unknown_profile_is_a_no_op(
    repo: RegistryRepository, registry_table: Any
) -> None:
    assert repo.mark_deleted(USER1, "d-abc", T0) is None
    assert _items(registry_table) == []


def test_a_late_delete_does_not_mark_a_newer_profile_row(
    repo: RegistryRepository,
) -> None:
    _record(repo, USER1, "200001")
    _record(repo, USER1, "200002", days=2)  # the recreate arrived before the delete
    marked = repo.mark_deleted(USER1, "d-abc", T0 + timedelta(days=1))
    assert marked is not None
    assert marked.generation == 1
    profile = repo.get_profile(USER1)
    assert profile is not None
    assert profile.deleted_at is None


def test_a_late_delete_in_the_recreations_second_marks_the_older_generation(
    repo: RegistryRepository,
) -> None:
    """Deleted and recreated within one second (CloudTrail times are whole seconds), the
    recreation processed first: the delete is the older generation's, not the new one's."""
    _record(repo, USER1, "200001")
    _record(repo, USER1, "200002", days=2)
    # The registry keeps whole seconds; an event time may carry a fraction of one.
    marked = repo.mark_deleted(USER1, "d-abc", T0 + timedelta(days=2, milliseconds=400))
    assert marked is not None
    assert marked.generation == 1
    assert [g.deleted_at is None for g in repo.list_generations(USER1)] == [False, True]


def test_a_profile_deleted_in_its_creations_second_is_marked(
    repo: RegistryRepository,
) -> None:
    _record(repo, USER1, "200001")
    marked = repo.mark_deleted(USER1, "d-abc", T0)
    assert marked is not None
    assert marked.generation == 1


def test_older_home_than_latest_is_not_recorded(repo: RegistryRepository) -> None:
    _record(repo, USER1, "200005", days=5)
    latest = _record(repo, USER1, "200001", days=1)
    assert latest.uid == "200005"
    assert len(repo.list_generations(USER1)) == 1


def test_conflicting_write_is_retried_and_both_are_kept(
    repo: RegistryRepository, registry_table: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    rival = RegistryRepository(registry_table.name)
    original = repo.get_profile
    calls = {"n": 0}

    def get_profile_with_a_rival(key: ProfileKey) -> Any:
        calls["n"] += 1
        if (
            calls["n"] == 1
        ):  # another writer records a home between our read and our write
            _record(rival, USER1, "200001")
        return original(key)

    monkeypatch.setattr(repo, "get_profile", get_profile_with_a_rival)
    generation = _record(repo, USER1, "200002", days=1)

    assert calls["n"] == 2
    assert generation.generation == 2
    assert [(g.generation, g.uid) for g in repo.list_generations(USER1)] == [
        (1, "200001"),
        (2, "200002"),
    ]
    profile = original(USER1)
    assert profile is not None
    assert (profile.generation, profile.uid) == (2, "200002")


def test_endless_conflicts_end_in_transient_error(
    repo: RegistryRepository, monkeypatch: pytest.MonkeyPatch
) -> None:
    _record(repo, USER1, "200001")
    monkeypatch.setattr(
        "studio_recovery.dal.registry.table.backoff", lambda attempt: None
    )
    # The profile row always looks one generation behind: every write fails its condition.
    stale = repo.get_profile(USER1)
    assert stale is not None
    monkeypatch.setattr(
        repo, "get_profile", lambda key: stale.model_copy(update={"generation": 7})
    )
    with pytest.raises(TransientAwsError, match="kept changing"):
        _record(repo, USER1, "200002", days=1)
    assert [g.uid for g in repo.list_generations(USER1)] == ["200001"]


def test_throttling_becomes_transient_error(repo: RegistryRepository) -> None:
    client = repo._table.meta.client
    with Stubber(client) as stubber:
        for _ in range(5):  # every attempt botocore makes is throttled
            stubber.add_client_error(
                "query", service_error_code="ThrottlingException", http_status_code=400
            )
        with pytest.raises(TransientAwsError, match="ThrottlingException"):
            repo.list_generations(USER1)


def test_set_replication_requires_a_known_profile(repo: RegistryRepository) -> None:
    with pytest.raises(NotFoundError):
        repo.set_replication(USER1, False)
    _record(repo, USER1, "200001")
    assert repo.set_replication(USER1, False).replication is False
    assert repo.set_replication(USER1, True).replication is True


def test_mark_generation_empty(repo: RegistryRepository) -> None:
    _record(repo, USER1, "200001")
    repo.mark_generation_empty(USER1, 1)
    assert repo.list_generations(USER1)[0].has_data is False
    with pytest.raises(NotFoundError):
        repo.mark_generation_empty(USER1, 2)


def test_domains_put_find_and_delete(repo: RegistryRepository) -> None:
    domain = Domain(domain_id="d-abc", domain_name="demo", efs_id="fs-1", created_at=T0)
    assert repo.put_domain(domain) is True
    assert repo.get_domain_by_id("d-abc") == domain
    assert repo.get_domain_by_id("d-other") is None

    assert (
        repo.mark_domain_deleted("demo", "d-abc", T0 + timedelta(days=1), "Retain")
        is True
    )
    found = repo.get_domain_by_id("d-abc")
    assert found is not None
    assert found.retention == "Retain"
    assert found.deleted_at == T0 + timedelta(days=1)
    # A replayed CreateDomain does not resurrect it; an unknown domain is a no-op.
    assert repo.put_domain(domain) is False
    assert repo.mark_domain_deleted("demo", "d-zzz", T0, "Delete") is False


def test_list_profiles_by_domain(repo: RegistryRepository) -> None:
    _record(repo, USER1, "200001")
    _record(repo, SPACE1, "200002")
    _record(repo, ProfileKey(domain_name="other", kind="user", name="bob"), "200003")
    assert [p.key for p in repo.list_profiles("demo")] == [SPACE1, USER1]
    assert len(repo.list_profiles()) == 3


def _home(
    key: ProfileKey, uid: str, days: int = 0, domain_id: str = "d-abc"
) -> HomeDirectory:
    return HomeDirectory(
        key=key,
        domain_id=domain_id,
        efs_id="fs-0123",
        uid=uid,
        created_at=T0 + timedelta(days=days),
        event_id="seed",
    )


def test_batch_record_writes_new_profiles_and_is_safe_to_rerun(
    repo: RegistryRepository, registry_table: Any
) -> None:
    homes = [
        _home(
            ProfileKey(domain_name="demo", kind="user", name=f"u{i}"), str(200000 + i)
        )
        for i in range(1, 61)  # more than one transaction
    ]
    first = repo.batch_record(homes)
    assert first.recorded == 60
    assert first.skipped == []
    assert len(_items(registry_table)) == 120

    second = repo.batch_record(homes)
    assert second.recorded == 0
    assert len(second.skipped) == 60
    assert {reason for _, reason in second.skipped} == {"already recorded"}
    assert len(_items(registry_table)) == 120


def test_batch_record_keeps_flags_and_never_lowers_generation(
    repo: RegistryRepository,
) -> None:
    _record(repo, USER1, "200001")
    repo.mark_deleted(USER1, "d-abc", T0 + timedelta(days=1))
    _record(repo, USER1, "200002", days=2)
    repo.set_replication(USER1, False)

    result = repo.batch_record(
        [
            _home(
                USER1, "200001"
            ),  # an old home seen again (cannot happen, must be harmless)
            _home(SPACE1, "200003", days=3),
        ]
    )

    profile = repo.get_profile(USER1)
    assert profile is not None
    assert (profile.generation, profile.uid, profile.replication) == (
        2,
        "200002",
        False,
    )
    assert result.recorded == 1
    assert result.skipped == [(USER1, "already recorded")]


def test_batch_record_records_a_recreation_missed_by_events(
    repo: RegistryRepository,
) -> None:
    _record(repo, USER1, "200001")
    repo.set_replication(USER1, False)
    result = repo.batch_record([_home(USER1, "200007", days=4)])
    assert result.recorded == 1
    profile = repo.get_profile(USER1)
    assert profile is not None
    assert (profile.generation, profile.uid, profile.replication) == (
        2,
        "200007",
        False,
    )


def test_throttled_transaction_becomes_transient_error(
    repo: RegistryRepository, registry_table: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    def throttled(**kwargs: Any) -> None:
        raise ClientError(
            {
                "Error": {
                    "Code": "TransactionCanceledException",
                    "Message": "cancelled",
                },
                "CancellationReasons": [{"Code": "ThrottlingError"}, {"Code": "None"}],
            },
            "TransactWriteItems",
        )

    monkeypatch.setattr(repo._client, "transact_write_items", throttled)
    with pytest.raises(TransientAwsError, match="throttled"):
        _record(repo, USER1, "200001")
    assert _items(registry_table) == []
