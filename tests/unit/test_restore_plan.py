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
    build_chain,
    make_restore_id,
    plan_restore,
    skip_restore_id,
)
from studio_recovery.models.registry import Generation, Profile, ProfileKey
from studio_recovery.models.restore import (
    BackupLocation,
    CopyRequest,
    HomeLocation,
    RestoreRequest,
    TransferStats,
)

T0 = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
NAME_RE = re.compile(r"^[A-Za-z0-9_-]{1,80}$")
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


def sources_of(request: RestoreRequest) -> list[int]:
    return [s.generation for s in [request.source, *request.then]]


def test_recreated_twice_reads_every_earlier_generation_with_data_newest_first() -> (
    None
):
    # given three earlier generations, the latest one found empty by an earlier restore
    g1 = deleted(gen(1, "200001"))
    g2 = deleted(gen(2, "200002"))
    g3 = deleted(gen(3, "200003")).model_copy(update={"has_data": False})
    g4 = gen(4, "200004")
    # when planning generation 4
    request = started(plan([g1, g2, g3, g4])).request
    # then generation 2 is read first, then generation 1; 3 (empty) never
    assert sources_of(request) == [2, 1]
    assert (request.step, request.head) == (1, None)


def test_sources_are_newest_first_whatever_order_the_history_comes_in() -> None:
    g1, g2, g3 = deleted(gen(1, "200001")), deleted(gen(2, "200002")), gen(3, "200003")
    assert sources_of(started(plan([g2, g1, g3])).request) == [2, 1]


def test_identity_is_compared_generation_by_generation() -> None:
    # given alice, then the name given to mallory, then back to alice
    g1 = deleted(gen(1, "200001", sso_user_value="alice@example.com"))
    g2 = deleted(gen(2, "200002", sso_user_value="mallory@example.com"))
    g3 = gen(3, "200003", sso_user_value="alice@example.com")
    # then alice's third home reads her first one only, never mallory's
    assert sources_of(started(plan([g1, g2, g3])).request) == [1]
    # and mallory, recreated after that, reads her own home only
    g3_deleted = deleted(g3)
    g4 = gen(4, "200004", sso_user_value="mallory@example.com")
    assert sources_of(started(plan([g1, g2, g3_deleted, g4])).request) == [2]


def test_each_generation_has_its_own_reuse_window() -> None:
    # given a first home deleted long ago and a second one deleted yesterday
    g1 = deleted(gen(1, "200001"))
    g2 = gen(2, "200002", created_at=T0 + timedelta(days=100))
    g2 = g2.model_copy(update={"deleted_at": g2.created_at + timedelta(days=1)})
    g3 = gen(3, "200003", created_at=T0 + timedelta(days=102))
    # then only the second is read: the first is outside the window
    assert sources_of(started(plan([g1, g2, g3])).request) == [2]


def test_one_directory_recorded_twice_is_read_once() -> None:
    g1 = deleted(gen(1, "200001"))
    g2 = deleted(gen(2, "200001"))  # the same directory recorded again
    g3 = gen(3, "200003")
    assert sources_of(started(plan([g1, g2, g3])).request) == [2]


def test_gone_volume_is_read_from_its_backup_among_the_other_sources() -> None:
    g1 = deleted(gen(1, "200001", efs_id="fs-gone", domain_id="d-gone"))
    g2 = deleted(gen(2, "200002", efs_id="fs-gone", domain_id="d-gone"))
    g3 = deleted(gen(3, "200003"))
    g4 = gen(4, "200004")
    backup = BackupLocation.of(HomeLocation.of(g1), "bucket").model_copy(
        update={"backup_id": "alice-b20261101000000-0123456789ab", "as_of": T0}
    )
    request = started(
        plan_restore(
            profile=profile_at(g4),
            target=g4,
            generations=[g1, g2, g3, g4],
            reuse_window=WINDOW,
            gone_volumes={"fs-gone"},
            latest_backups={1: backup},
        )
    ).request
    # generation 3 from its directory, 2 passed over (no backup), 1 from its backup
    assert sources_of(request) == [3, 1]
    assert request.then == [backup]


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


def test_a_copy_attempt_has_an_id_of_its_own_the_same_wherever_it_is_planned() -> None:
    bob = [gen(1, "300001", name="bob")]
    first = copy_of(bob)
    retry = PendingCopy(first.request.model_copy(update={"attempt": 2}), bob)

    ids = [
        started(plan([gen(1, "200001")], pending=p)).request.restore_id
        for p in (first, retry, retry)
    ]

    assert ids[0] != ids[1] == ids[2]


def test_a_copy_source_on_a_gone_volume_reads_its_backup_or_is_skipped() -> None:
    bob = [gen(1, "300001", name="bob", efs_id="fs-gone")]
    backup = BackupLocation.of(HomeLocation.of(bob[0]), "backups-bucket").model_copy(
        update={"backup_id": "bob-b20261102000000-0123456789ab", "as_of": T0}
    )
    request = copy_of(bob).request

    from_backup = plan(
        [gen(1, "200001")], pending=PendingCopy(request, bob, {"fs-gone"}, {1: backup})
    )
    nothing = plan(
        [gen(1, "200001")], pending=PendingCopy(request, bob, {"fs-gone"}, {})
    )

    assert started(from_backup).request.source == backup
    assert skipped(nothing).reason is SkipReason.VOLUME_DELETED_NO_BACKUP
    assert "fs-gone was deleted with its domain" in skipped(nothing).detail


# ------------------------------------------------------------------- chains


def test_every_step_of_a_chain_has_its_own_deterministic_id() -> None:
    g1, g2, g3 = deleted(gen(1, "200001")), deleted(gen(2, "200002")), gen(3, "200003")
    sources = [HomeLocation.of(g2), HomeLocation.of(g1)]
    first = build_chain("auto", target=g3, sources=sources)
    second = build_chain(
        "auto", target=g3, sources=sources[1:], step=2, head=first.restore_id
    )
    assert first == build_chain("auto", target=g3, sources=sources)
    assert first.then == [HomeLocation.of(g1)]
    assert second.then == []
    assert first.restore_id != second.restore_id
    assert second.chain_id == first.chain_id == first.restore_id
    assert NAME_RE.fullmatch(second.restore_id)


def test_a_chain_needs_a_source() -> None:
    with pytest.raises(ValueError, match="at least one source"):
        build_chain("auto", target=gen(2, "200002"), sources=[])


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
