"""Registry models: keys, validation and item round trips."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError
from studio_recovery.models.errors import MalformedEventError
from studio_recovery.models.registry import (
    Domain,
    Generation,
    HomeDirectory,
    Profile,
    ProfileKey,
    generation_sk,
    is_valid_uid,
    to_iso,
)

CREATED = datetime(2026, 11, 28, 14, 8, 57, tzinfo=UTC)


def _generation(**overrides: object) -> Generation:
    fields: dict[str, object] = {
        "domain_name": "demo",
        "kind": "user",
        "name": "user1",
        "domain_id": "d-abc",
        "efs_id": "fs-0123",
        "uid": "200001",
        "created_at": CREATED,
        "generation": 1,
    }
    fields.update(overrides)
    return Generation.model_validate(fields)


def test_user_and_space_with_the_same_name_have_different_keys() -> None:
    user = ProfileKey(domain_name="demo", kind="user", name="alice")
    space = ProfileKey(domain_name="demo", kind="space", name="alice")
    assert user.pk == "PROFILE#demo#user#alice"
    assert space.pk == "PROFILE#demo#space#alice"
    assert user != space


def test_profile_key_round_trips_through_pk() -> None:
    key = ProfileKey(domain_name="demo-1", kind="space", name="team-a")
    assert ProfileKey.from_pk(key.pk) == key


@pytest.mark.parametrize(
    "pk", ["DOMAIN#demo", "PROFILE#demo#user", "PROFILE#demo#robot#x"]
)
def test_from_pk_rejects_other_keys(pk: str) -> None:
    with pytest.raises((MalformedEventError, ValidationError)):
        ProfileKey.from_pk(pk)


@pytest.mark.parametrize("name", ["a", "user1", "A-b--c", "x" * 63])
def test_studio_names_are_accepted(name: str) -> None:
    assert ProfileKey(domain_name="demo", kind="user", name=name).name == name


@pytest.mark.parametrize("name", ["", "-a", "a-", "a_b", "a#b", "x" * 64, "a b"])
def test_invalid_studio_names_are_rejected(name: str) -> None:
    with pytest.raises(ValidationError):
        ProfileKey(domain_name="demo", kind="user", name=name)


@pytest.mark.parametrize(
    "uid", ["", "0", "00", "abc", "2000a1", "-200001", " 200001", "/"]
)
def test_uid_must_be_positive_digits(uid: str) -> None:
    assert not is_valid_uid(uid)
    with pytest.raises(ValidationError):
        _generation(uid=uid)


@given(st.integers(min_value=1, max_value=2**32 - 1))
def test_every_positive_32_bit_uid_is_valid(number: int) -> None:
    assert is_valid_uid(str(number))
    assert _generation(uid=str(number)).uid == str(number)


@pytest.mark.parametrize("uid", [str(2**32), "9999999999"])
def test_uid_beyond_32_bits_is_refused(uid: str) -> None:
    # EFS access points take 32-bit POSIX uids: such a row could never be restored into.
    assert not is_valid_uid(uid)
    with pytest.raises(ValidationError):
        _generation(uid=uid)


def test_generation_item_round_trip() -> None:
    generation = _generation(
        sso_user_value="alice@example.com", generation=2, event_id="e-1"
    )
    item = generation.to_item()
    assert item["pk"] == "PROFILE#demo#user#user1"
    assert item["sk"] == "GEN#000002"
    assert item["entity"] == "generation"
    assert item["created_at"] == "2026-11-28T14:08:57Z"
    assert "deleted_at" not in item
    # DynamoDB gives numbers back as Decimal.
    assert Generation.from_item({**item, "generation": Decimal(2)}) == generation


def test_generation_sk_sorts_numerically() -> None:
    assert sorted([generation_sk(10), generation_sk(9)]) == ["GEN#000009", "GEN#000010"]


def test_profile_defaults_to_replication_on() -> None:
    profile = Profile.model_validate(_generation().to_item())
    assert profile.replication is True
    assert profile.to_item()["sk"] == "PROFILE"
    assert profile.to_item()["entity"] == "profile"


def test_domain_item_keys() -> None:
    domain = Domain(
        domain_id="d-abc", domain_name="demo", efs_id="fs-1", created_at=CREATED
    )
    item = domain.to_item()
    assert (item["pk"], item["sk"], item["entity"]) == (
        "DOMAIN#demo",
        "DOMAIN#d-abc",
        "domain",
    )
    assert Domain.from_item(item) == domain


def test_times_are_stored_in_utc() -> None:
    paris = timezone(timedelta(hours=1))
    assert to_iso(datetime(2026, 1, 1, 1, 0, tzinfo=paris)) == "2026-01-01T00:00:00Z"
    assert _generation(created_at="2026-01-01T00:00:00+01:00").created_at == datetime(
        2025, 12, 31, 23, 0, tzinfo=UTC
    )


def test_home_directory_becomes_numbered_generation() -> None:
    key = ProfileKey(domain_name="demo", kind="space", name="s1")
    home = HomeDirectory(
        key=key, domain_id="d-1", efs_id="fs-1", uid="200009", created_at=CREATED
    )
    generation = home.as_generation(3)
    assert generation.key == key
    assert generation.sk == "GEN#000003"
    assert generation.uid == "200009"
