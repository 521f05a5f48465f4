"""`ProfileHistory`: one profile's partition as models, each part parsed when first read."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError
from studio_recovery.models.history import ProfileHistory
from studio_recovery.models.registry import ProfileKey, generation_sk

ALICE = ProfileKey(domain_name="demo", kind="user", name="alice")


def generation(number: int, uid: str, **extra: Any) -> dict[str, Any]:
    return {
        "pk": ALICE.pk,
        "sk": generation_sk(number),
        "entity": "generation",
        "generation": number,
        "domain_id": "d-abc",
        "domain_name": "demo",
        "kind": "user",
        "name": "alice",
        "efs_id": "fs-1",
        "uid": uid,
        "created_at": f"2026-11-0{number}T00:00:00Z",
        **extra,
    }


def profile_row(number: int, uid: str) -> dict[str, Any]:
    return {
        **generation(number, uid),
        "sk": "PROFILE",
        "entity": "profile",
        "replication": True,
    }


def restore(
    restore_id: str, started_at: str, sk_prefix: str = "RESTORE#"
) -> dict[str, Any]:
    return {
        "pk": ALICE.pk,
        "sk": f"{sk_prefix}{restore_id}",
        "entity": "restore",
        "restore_id": restore_id,
        "trigger": "auto",
        "status": "SUCCEEDED",
        "target": {
            k: v for k, v in generation(2, "200002").items() if k not in {"pk", "sk"}
        },
        "started_at": started_at,
    }


def copy(status: str) -> dict[str, Any]:
    return {
        "pk": ALICE.pk,
        "sk": "COPY",
        "entity": "copy",
        "status": status,
        "source_pk": "PROFILE#demo#user#bob",
        "requested_at": "2026-11-01T08:00:00Z",
    }


def test_items_in_any_order_become_ordered_parts() -> None:
    # given a partition as a Query might page it, in any order
    items = [
        restore("later", "2026-11-05T00:00:00Z"),
        generation(2, "200002"),
        copy("STARTED"),
        profile_row(2, "200002"),
        restore("earlier", "2026-11-03T00:00:00Z"),
        generation(1, "200001", deleted_at="2026-11-02T00:00:00Z"),
        {"pk": ALICE.pk, "sk": "SOMETHING#else", "entity": "future"},
    ]
    # when it is read as a history
    history = ProfileHistory.from_items(ALICE, items)
    # then the parts are the models, oldest first, and unknown sort keys are ignored
    assert history.profile is not None and history.profile.generation == 2
    assert [g.generation for g in history.generations] == [1, 2]
    assert history.generation(1) == history.generations[0]
    assert history.generation(7) is None
    assert [r.restore_id for r in history.restores] == ["earlier", "later"]
    assert history.backups == ()
    assert history.copy is not None and history.copy.status == "STARTED"
    assert history.pending_copy is None


def test_an_empty_partition_is_a_profile_never_recorded() -> None:
    history = ProfileHistory.from_items(ALICE, [])
    assert history.profile is None
    assert (
        history.generations == ()
        and history.copy is None
        and history.pending_copy is None
    )


def test_a_pending_copy_is_pending() -> None:
    history = ProfileHistory.from_items(ALICE, [copy("PENDING")])
    assert history.pending_copy is not None
    assert history.pending_copy.source.name == "bob"


def test_a_malformed_item_fails_only_the_part_that_holds_it() -> None:
    # given a partition with a broken restore item and a broken other generation
    broken_restore = {**restore("x", "2026-11-03T00:00:00Z"), "status": "NOT_A_STATUS"}
    broken_generation = {**generation(9, "200009"), "uid": "../1"}
    items = [
        profile_row(2, "200002"),
        generation(2, "200002"),
        broken_restore,
        broken_generation,
    ]
    history = ProfileHistory.from_items(ALICE, items)
    # then the row and one generation read fine (as GetItem of each did) ...
    assert history.profile is not None
    assert history.generation(2) is not None
    # ... and only the parts holding a broken item fail, as their own reads did
    with pytest.raises(ValidationError):
        _ = history.restores
    with pytest.raises(ValidationError):
        _ = history.generations
