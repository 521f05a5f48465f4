"""The restore decision (studio_recovery.logic.restore_plan), rule by rule."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from studio_recovery.logic.restore_plan import (
    PendingCopy,
    SkipReason,
    SkipRestore,
    StartRestore,
    make_restore_id,
    plan_follow_up,
    plan_incomplete_source,
    plan_restore,
    skip_restore_id,
)
from studio_recovery.models.registry import Generation, Profile, ProfileKey
from studio_recovery.models.restore import (
    CopyRequest,
    HomeLocation,
    RestoreItem,
    RestoreStatus,
    TransferStats,
)

T0 = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
WINDOW = timedelta(days=30)


def gen(number: int, uid: str, **overrides: Any) -> Generation:
    fields: dict[str, Any] = {
        "domain_name": "demo",
        "kind": "user",
        "name": "alice",
        "domain_id": "d-abc",
        "efs_id": "fs-1",
        "uid": uid,
        "generation": number,
        "created_at": T0 + timedelta(days=number),
    }
    fields.update(overrides)
    return Generation(**fields)


def deleted(generation: Generation, days_after_creation: float = 0.5) -> Generation:
    when = generation.created_at + timedelta(days=days_after_creation)
    return generation.model_copy(update={"deleted_at": when})


def profile_at(target: Generation, replication: bool = True) -> Profile:
    fields = target.model_dump(exclude={"has_data", "event_id"})
    return Profile(**fields, replication=replication)


def plan(
    generations: list[Generation],
    *,
    replication: bool = True,
    pending: PendingCopy | None = None,
    window: timedelta = WINDOW,
) -> StartRestore | SkipRestore:
    target = generations[-1]
    return plan_restore(
        profile=profile_at(target, replication),
        target=target,
        generations=generations,
        reuse_window=window,
        pending_copy=pending,
    )


def started(result: StartRestore | SkipRestore) -> StartRestore:
    assert isinstance(result, StartRestore), result
    return result


def skipped(result: StartRestore | SkipRestore) -> SkipRestore:
    assert isinstance(result, SkipRestore), result
    return result


# ------------------------------------------------------------------ restore


def test_recreated_user_is_restored_from_the_previous_generation() -> None:
    # given a user deleted and recreated with a new uid
    old, new = deleted(gen(1, "200001")), gen(2, "200005")
    # when planning the new generation
    request = started(plan([old, new])).request
    # then its files come from generation 1 into generation 2, trigger auto
    assert request.trigger == "auto"
    assert (request.source.uid, request.source.generation) == ("200001", 1)
    assert (request.target.uid, request.target.generation) == ("200005", 2)


def test_recreated_space_is_restored_too() -> None:
    old = deleted(gen(1, "200001", kind="space", name="team"))
    new = gen(2, "200009", kind="space", name="team")
    request = started(plan([old, new])).request
    assert request.target.kind == "space"
    assert request.source.uid == "200001"


def test_recreated_twice_picks_the_latest_earlier_generation_with_data() -> None:
    # given three earlier generations, the latest one found empty by an earlier restore
    g1 = deleted(gen(1, "200001"))
    g2 = deleted(gen(2, "200002"))
    g3 = deleted(gen(3, "200003")).model_copy(update={"has_data": False})
    g4 = gen(4, "200004")
    # when planning generation 4
    request = started(plan([g1, g2, g3, g4])).request
    # then generation 2 (not 3, which is empty; not 1, which is older) is the source
    assert request.source.generation == 2


def test_latest_earlier_generation_is_chosen_even_when_not_the_previous_one_in_order() -> (
    None
):
    g1, g2, g3 = deleted(gen(1, "200001")), deleted(gen(2, "200002")), gen(3, "200003")
    request = started(plan([g2, g1, g3])).request
    assert request.source.generation == 2


def test_recreated_domain_restores_from_the_retained_volume() -> None:
    old = gen(1, "200001", domain_id="d-old", efs_id="fs-old")
    new = gen(2, "200001", domain_id="d-new", efs_id="fs-new")
    request = started(plan([old, new])).request
    assert request.source.efs_id == "fs-old"
    assert request.target.efs_id == "fs-new"


def test_not_deleted_earlier_generation_has_no_window_to_respect() -> None:
    old, new = gen(1, "200001"), gen(2, "200002", created_at=T0 + timedelta(days=400))
    assert started(plan([old, new])).request.source.generation == 1


# --------------------------------------------------------------------- skips


def test_opted_out_profile_is_skipped() -> None:
    result = skipped(
        plan([deleted(gen(1, "200001")), gen(2, "200002")], replication=False)
    )
    assert result.reason is SkipReason.OPTED_OUT


def test_new_profile_has_no_earlier_generation() -> None:
    result = skipped(plan([gen(1, "200001")]))
    assert result.reason is SkipReason.NO_EARLIER_GENERATION


def test_earlier_generations_all_empty_are_skipped() -> None:
    old = deleted(gen(1, "200001")).model_copy(update={"has_data": False})
    result = skipped(plan([old, gen(2, "200002")]))
    assert result.reason is SkipReason.NO_EARLIER_DATA


def test_same_directory_is_never_a_source() -> None:
    # a generation recorded again for the same volume and uid is not a source for itself
    old = deleted(gen(1, "200001"))
    result = skipped(plan([old, gen(2, "200001")]))
    assert result.reason is SkipReason.NO_EARLIER_DATA


@pytest.mark.parametrize("bad_uid", ["0", "", "../200001", "2000 01"])
def test_unsafe_source_uid_is_never_a_source(bad_uid: str) -> None:
    old = deleted(gen(1, "200001")).model_copy(update={"uid": bad_uid})
    result = skipped(plan([old, gen(2, "200002")]))
    assert result.reason is SkipReason.NO_EARLIER_DATA


def test_name_reused_by_a_different_sso_identity_is_skipped() -> None:
    old = deleted(gen(1, "200001", sso_user_value="alice@example.com"))
    new = gen(2, "200002", sso_user_value="mallory@example.com")
    result = skipped(plan([old, new]))
    assert result.reason is SkipReason.IDENTITY_CHANGED
    assert "mallory@example.com" in result.detail


@pytest.mark.parametrize(
    ("old_sso", "new_sso"),
    [
        ("alice@example.com", "alice@example.com"),
        (None, "alice@example.com"),
        ("a", None),
    ],
)
def test_same_or_unknown_sso_identity_is_restored(
    old_sso: str | None, new_sso: str | None
) -> None:
    old = deleted(gen(1, "200001", sso_user_value=old_sso))
    new = gen(2, "200002", sso_user_value=new_sso)
    assert started(plan([old, new])).request.source.generation == 1


def test_previous_deleted_longer_ago_than_the_window_is_skipped() -> None:
    old = deleted(gen(1, "200001"))
    assert old.deleted_at is not None
    new = gen(2, "200002", created_at=old.deleted_at + WINDOW + timedelta(minutes=1))
    result = skipped(plan([old, new]))
    assert result.reason is SkipReason.OUTSIDE_REUSE_WINDOW


def test_previous_deleted_just_inside_the_window_is_restored() -> None:
    old = deleted(gen(1, "200001"))
    assert old.deleted_at is not None
    new = gen(2, "200002", created_at=old.deleted_at + WINDOW - timedelta(minutes=1))
    assert isinstance(plan([old, new]), StartRestore)


def test_generation_replaced_by_a_newer_one_is_skipped() -> None:
    g1, g2 = deleted(gen(1, "200001")), deleted(gen(2, "200002"))
    g3 = gen(3, "200003")
    result = plan_restore(
        profile=profile_at(g3),
        target=g2,
        generations=[g1, g2, g3],
        reuse_window=WINDOW,
    )
    assert skipped(result).reason is SkipReason.SUPERSEDED


# --------------------------------------------------------------------- copies


def copy_of(
    source_generations: list[Generation], generation: int | None = None
) -> PendingCopy:
    request = CopyRequest(
        target=ProfileKey(domain_name="demo", kind="user", name="alice"),
        status="PENDING",
        source_pk=source_generations[0].pk,
        source_generation=generation,
        requested_at=T0,
    )
    return PendingCopy(request, source_generations)


def test_pending_copy_takes_precedence_over_the_automatic_restore() -> None:
    # given alice recreated, and an admin copy from bob pending
    bob = [gen(1, "300001", name="bob"), gen(2, "300002", name="bob")]
    result = plan([deleted(gen(1, "200001")), gen(2, "200002")], pending=copy_of(bob))
    # then bob's latest generation is copied, as a copy
    request = started(result).request
    assert request.trigger == "copy"
    assert (request.source.name, request.source.generation) == ("bob", 2)


def test_copy_applies_even_to_an_opted_out_profile_with_no_history() -> None:
    bob = [gen(1, "300001", name="bob")]
    result = plan([gen(1, "200001")], replication=False, pending=copy_of(bob))
    assert started(result).request.source.uid == "300001"


def test_copy_of_a_named_generation_uses_that_generation() -> None:
    bob = [gen(1, "300001", name="bob"), gen(2, "300002", name="bob")]
    result = plan([gen(1, "200001")], pending=copy_of(bob, generation=1))
    assert started(result).request.source.generation == 1


def test_copy_of_a_missing_generation_is_skipped() -> None:
    bob = [gen(1, "300001", name="bob")]
    result = plan([gen(1, "200001")], pending=copy_of(bob, generation=7))
    assert skipped(result).reason is SkipReason.COPY_SOURCE_UNUSABLE


# ---------------------------------------------------------------- follow-ups


def test_follow_up_after_an_empty_source_goes_one_generation_further_back() -> None:
    g1, g2 = deleted(gen(1, "200001")), deleted(gen(2, "200002"))
    g2_empty = g2.model_copy(update={"has_data": False})
    g3 = gen(3, "200003")
    follow = plan_follow_up(
        trigger="auto",
        target=g3,
        source_generations=[g1, g2_empty, g3],
        empty_generation=2,
    )
    assert follow is not None
    assert follow.request.source.generation == 1


def test_no_follow_up_when_nothing_earlier_may_hold_data() -> None:
    g1 = deleted(gen(1, "200001")).model_copy(update={"has_data": False})
    g2 = gen(2, "200002")
    assert (
        plan_follow_up(
            trigger="auto", target=g2, source_generations=[g1, g2], empty_generation=1
        )
        is None
    )


def restore_into(
    target: Generation, source: Generation, status: RestoreStatus, minutes: int = 0
) -> RestoreItem:
    return RestoreItem(
        restore_id=f"r-{target.generation}-{source.generation}-{minutes}",
        trigger="auto",
        status=status,
        source=HomeLocation.of(source),
        target=HomeLocation.of(target),
        started_at=target.created_at + timedelta(minutes=minutes),
    )


@pytest.mark.parametrize("status", ["FAILED", "PARTIAL"])
def test_source_whose_own_restore_failed_brings_its_predecessor_too(
    status: RestoreStatus,
) -> None:
    # given alice recreated twice, and the restore g1 -> g2 failed or missed files
    g1, g2, g3 = deleted(gen(1, "200001")), deleted(gen(2, "200002")), gen(3, "200003")
    # when g2 has been restored into g3
    follow = plan_incomplete_source(
        target=g3,
        source=g2,
        restores_into_source=[restore_into(g2, g1, status)],
        generations=[g1, g2, g3],
    )
    # then g1, the data g2 never received, is restored into g3 as well
    assert follow is not None
    assert follow.request.source.generation == 1
    assert follow.request.target.generation == 3


@pytest.mark.parametrize("status", ["SUCCEEDED", "SKIPPED", "SOURCE_EMPTY"])
def test_source_whose_own_restore_did_not_fail_needs_nothing_more(
    status: RestoreStatus,
) -> None:
    g1, g2, g3 = deleted(gen(1, "200001")), deleted(gen(2, "200002")), gen(3, "200003")
    restores = [restore_into(g2, g1, status)]
    assert (
        plan_incomplete_source(
            target=g3,
            source=g2,
            restores_into_source=restores,
            generations=[g1, g2, g3],
        )
        is None
    )


def test_only_the_latest_restore_into_the_source_counts() -> None:
    # a failed restore retried by hand with success leaves the source complete
    g1, g2, g3 = deleted(gen(1, "200001")), deleted(gen(2, "200002")), gen(3, "200003")
    restores = [restore_into(g2, g1, "FAILED", 0), restore_into(g2, g1, "SUCCEEDED", 5)]
    assert (
        plan_incomplete_source(
            target=g3,
            source=g2,
            restores_into_source=restores,
            generations=[g1, g2, g3],
        )
        is None
    )


def test_incomplete_source_never_brings_an_empty_predecessor() -> None:
    g1 = deleted(gen(1, "200001")).model_copy(update={"has_data": False})
    g2, g3 = deleted(gen(2, "200002")), gen(3, "200003")
    assert (
        plan_incomplete_source(
            target=g3,
            source=g2,
            restores_into_source=[restore_into(g2, g1, "FAILED")],
            generations=[g1, g2, g3],
        )
        is None
    )


# ------------------------------------------------------------------- names


NAME_RE = re.compile(r"^[A-Za-z0-9_-]{1,80}$")


def test_restore_id_is_deterministic_readable_and_valid() -> None:
    old, new = deleted(gen(1, "200001")), gen(2, "200005")
    first = started(plan([old, new])).request.restore_id
    again = started(plan([old, new])).request.restore_id
    assert first == again
    assert first.startswith("alice-g2-")
    assert NAME_RE.fullmatch(first)


def test_restore_id_differs_by_source_trigger_and_target() -> None:
    target = HomeLocation.of(gen(2, "200005"))
    source = HomeLocation.of(gen(1, "200001"))
    other_source = HomeLocation.of(gen(1, "300001", name="bob"))
    ids = {
        make_restore_id("auto", target, source),
        make_restore_id("copy", target, source),
        make_restore_id("auto", target, other_source),
        make_restore_id("auto", HomeLocation.of(gen(3, "200006")), source),
        make_restore_id("manual", target, source, nonce="again"),
    }
    assert len(ids) == 5


def test_restore_id_of_the_longest_name_fits_80_characters() -> None:
    long_name = "a" + "-b" * 31  # 63 characters, the longest Studio name
    target = HomeLocation.of(gen(123456, "200005", name=long_name))
    restore_id = make_restore_id("auto", target, HomeLocation.of(gen(1, "200001")))
    assert len(restore_id) <= 80
    assert NAME_RE.fullmatch(restore_id)
    assert restore_id.endswith("-g123456-" + restore_id[-12:])


def test_skip_id_differs_from_any_start_id() -> None:
    old, new = deleted(gen(1, "200001")), gen(2, "200005")
    assert skip_restore_id(new) != started(plan([old, new])).request.restore_id
    assert NAME_RE.fullmatch(skip_restore_id(new))


# ------------------------------------------------------------ empty sources


@pytest.mark.parametrize(
    ("describe", "empty"),
    [
        ({"FilesTransferred": 1, "FilesListed": {"AtSource": 1}}, True),
        ({"FilesTransferred": 0, "FilesListed": {"AtSource": 0}}, True),
        ({"FilesTransferred": 0, "FilesListed": {"AtSource": 5}}, False),
        ({"FilesTransferred": 0}, True),
        ({"FilesTransferred": 3}, False),
    ],
)
def test_empty_source_is_told_by_what_datasync_listed_there(
    describe: dict[str, Any], empty: bool
) -> None:
    # a source listing only its own directory is empty; files already at the target are not
    assert TransferStats.from_describe(describe).source_was_empty is empty
