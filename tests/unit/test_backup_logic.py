"""Backups, the pure decisions: which homes are backed up, which backup a restore reads,
and how the restore plan uses backups when a volume is gone (issue #9)."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from studio_recovery.cli.args import backup_time
from studio_recovery.logic.backups import (
    BackupSkip,
    as_source,
    choose_backup,
    deletion_backup,
    gone_volumes,
    latest_backups,
    scheduled_backup,
    volume_gone,
)
from studio_recovery.logic.restore_plan import (
    SkipReason,
    SkipRestore,
    StartRestore,
    make_restore_id,
    plan_restore,
)
from studio_recovery.models.registry import Domain, Generation, Profile
from studio_recovery.models.restore import (
    BackupLocation,
    HomeLocation,
    RestoreItem,
    RestoreStatus,
    is_backup_id,
    make_backup_id,
    restore_sk,
)

T0 = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
WINDOW = timedelta(days=30)
BUCKET = "studio-recovery-backups-123456789012-us-east-1"


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


def profile_at(target: Generation, **overrides: Any) -> Profile:
    fields = target.model_dump(exclude={"has_data", "event_id"})
    fields.update(overrides)
    return Profile(**fields)


def backup_item(
    generation: Generation,
    started_at: datetime,
    status: RestoreStatus = "SUCCEEDED",
    trigger: Any = "scheduled",
) -> RestoreItem:
    home = HomeLocation.of(generation)
    ended = (
        started_at + timedelta(minutes=5) if status in {"SUCCEEDED", "FAILED"} else None
    )
    return RestoreItem(
        restore_id=make_backup_id(home, started_at, trigger),
        trigger=trigger,
        status=status,
        source=home,
        target=BackupLocation.of(home, BUCKET),
        started_at=started_at,
        ended_at=ended,
        files_transferred=3,
    )


def plan(
    generations: list[Generation],
    *,
    gone: frozenset[str] = frozenset(),
    backups: dict[int, BackupLocation] | None = None,
    replication: bool = True,
) -> StartRestore | SkipRestore:
    target = generations[-1]
    return plan_restore(
        profile=profile_at(target, replication=replication),
        target=target,
        generations=generations,
        reuse_window=WINDOW,
        gone_volumes=gone,
        latest_backups=backups,
    )


def started(result: StartRestore | SkipRestore) -> StartRestore:
    assert isinstance(result, StartRestore), result
    return result


def skipped(result: StartRestore | SkipRestore) -> SkipRestore:
    assert isinstance(result, SkipRestore), result
    return result


# ------------------------------------------------------------- planning with backups


def recreated_domain() -> tuple[Generation, Generation]:
    """alice on fs-old (domain d-old, deleted with its volume), then on fs-new."""
    old = deleted(gen(1, "200001", domain_id="d-old", efs_id="fs-old"))
    new = gen(2, "200007", domain_id="d-new", efs_id="fs-new")
    return old, new


def test_gone_volume_is_restored_from_its_latest_backup() -> None:
    # given generation 1's volume is gone and it has a successful backup
    old, new = recreated_domain()
    backup = as_source(backup_item(old, T0 + timedelta(days=1)))
    # when planning generation 2
    request = started(
        plan([old, new], gone=frozenset({"fs-old"}), backups={1: backup})
    ).request
    # then the backup, as it was when it ended, is the source
    assert isinstance(request.source, BackupLocation)
    assert request.source.backup_id == backup.backup_id
    assert request.source.as_of == T0 + timedelta(days=1, minutes=5)
    assert request.source.prefix == "homes/demo/user/alice/fs-old-200001/"
    assert request.trigger == "auto"
    assert isinstance(request.target, HomeLocation) and request.target.uid == "200007"


def test_gone_volume_without_backup_is_skipped_with_a_sentence_to_act_on() -> None:
    old, new = recreated_domain()
    result = skipped(plan([old, new], gone=frozenset({"fs-old"}), backups={}))
    assert result.reason is SkipReason.VOLUME_DELETED_NO_BACKUP
    assert result.reason.value == "volume_deleted_no_backup"
    assert "fs-old" in result.detail and "generation 1" in result.detail
    assert "studio-recovery backups" in result.detail
    assert "Retain" in result.detail


def test_newest_generation_with_a_usable_source_wins() -> None:
    # generation 1 on a retained volume; generation 2 on a gone volume
    g1 = deleted(gen(1, "200001", domain_id="d-one", efs_id="fs-kept"))
    g2 = deleted(gen(2, "200002", domain_id="d-two", efs_id="fs-gone"))
    g3 = gen(3, "200003", domain_id="d-three", efs_id="fs-new")
    gone = frozenset({"fs-gone"})
    # with a backup of generation 2: the backup (newer) wins over generation 1's directory
    backup = as_source(backup_item(g2, T0 + timedelta(days=2)))
    with_backup = started(plan([g1, g2, g3], gone=gone, backups={2: backup})).request
    assert isinstance(with_backup.source, BackupLocation)
    assert with_backup.source.generation == 2
    # without one: generation 1's directory, still on its volume
    without = started(plan([g1, g2, g3], gone=gone, backups={})).request
    assert isinstance(without.source, HomeLocation)
    assert (without.source.generation, without.source.efs_id) == (1, "fs-kept")


def test_directory_on_a_live_volume_wins_over_its_own_backup() -> None:
    old, new = deleted(gen(1, "200001")), gen(2, "200002")
    backup = as_source(backup_item(old, T0))
    request = started(plan([old, new], gone=frozenset(), backups={1: backup})).request
    assert isinstance(request.source, HomeLocation)
    assert request.source.uid == "200001"


def test_backups_off_plans_exactly_as_before() -> None:
    # without the backup knowledge, a gone volume is not known: today's behaviour
    old, new = recreated_domain()
    without = plan_restore(
        profile=profile_at(new), target=new, generations=[old, new], reuse_window=WINDOW
    )
    assert started(without).request == started(plan([old, new])).request
    assert isinstance(started(without).request.source, HomeLocation)


def test_rules_apply_to_a_backup_source_too() -> None:
    old, new = recreated_domain()
    gone = frozenset({"fs-old"})
    backup = as_source(backup_item(old, T0))
    # opted out
    assert (
        skipped(
            plan([old, new], gone=gone, backups={1: backup}, replication=False)
        ).reason
        is SkipReason.OPTED_OUT
    )
    # a different IAM Identity Center user
    sso_old = old.model_copy(update={"sso_user_value": "alice@example.com"})
    sso_new = new.model_copy(update={"sso_user_value": "mallory@example.com"})
    assert (
        skipped(plan([sso_old, sso_new], gone=gone, backups={1: backup})).reason
        is SkipReason.IDENTITY_CHANGED
    )
    # outside the reuse window
    late = new.model_copy(update={"created_at": old.created_at + timedelta(days=60)})
    assert (
        skipped(plan([old, late], gone=gone, backups={1: backup})).reason
        is SkipReason.OUTSIDE_REUSE_WINDOW
    )


def test_empty_generation_on_a_gone_volume_is_neither_a_source_nor_stranded() -> None:
    old, new = recreated_domain()
    empty = old.model_copy(update={"has_data": False})
    backup = as_source(backup_item(old, T0))
    result = skipped(
        plan([empty, new], gone=frozenset({"fs-old"}), backups={1: backup})
    )
    assert result.reason is SkipReason.NO_EARLIER_DATA


def test_restore_id_of_a_backup_source_is_deterministic_and_names_the_backup() -> None:
    old, new = recreated_domain()
    target = HomeLocation.of(new)
    first = as_source(backup_item(old, T0))
    second = as_source(backup_item(old, T0 + timedelta(days=1)))
    ids = {
        make_restore_id("auto", target, first),
        make_restore_id("auto", target, second),
        make_restore_id("auto", target, HomeLocation.of(old)),
    }
    assert len(ids) == 3
    assert make_restore_id("auto", target, first) == make_restore_id(
        "auto", target, first
    )
    assert not any(is_backup_id(i) for i in ids)
    assert all(restore_sk(i).startswith("RESTORE#") for i in ids)


# ------------------------------------------------------------------ who is backed up


def test_volume_gone_only_for_a_domain_deleted_with_retention_delete() -> None:
    domain = Domain(domain_id="d-1", domain_name="demo", efs_id="fs-1", created_at=T0)
    deleted_at = T0 + timedelta(days=1)
    dropped = domain.model_copy(
        update={"deleted_at": deleted_at, "retention": "Delete"}
    )
    retained = domain.model_copy(
        update={"deleted_at": deleted_at, "retention": "Retain"}
    )
    assert [volume_gone(d) for d in (None, domain, retained, dropped)] == [
        False,
        False,
        False,
        True,
    ]
    assert gone_volumes([None, domain, retained, dropped]) == frozenset({"fs-1"})


def test_scheduled_backup_of_a_live_profile_targets_its_directory_prefix() -> None:
    current = gen(2, "200002")
    at = datetime(2026, 11, 28, 3, 0, tzinfo=UTC)
    decision = scheduled_backup(
        profile_at(current), bucket=BUCKET, at=at, gone=frozenset()
    )
    request = decision.request
    assert request is not None and decision.skip is None
    assert request.trigger == "scheduled"
    assert request.is_backup
    assert isinstance(request.target, BackupLocation)
    assert request.target.bucket == BUCKET
    assert request.target.prefix == "homes/demo/user/alice/fs-1-200002/"
    assert request.source == HomeLocation.of(current)
    assert is_backup_id(request.restore_id)
    assert "-b20261128030000-" in request.restore_id
    # the same schedule time gives the same id; another time another
    again = scheduled_backup(
        profile_at(current), bucket=BUCKET, at=at, gone=frozenset()
    )
    later = scheduled_backup(
        profile_at(current), bucket=BUCKET, at=at + timedelta(days=1), gone=frozenset()
    )
    assert again.request is not None and later.request is not None
    assert again.request.restore_id == request.restore_id != later.request.restore_id


@pytest.mark.parametrize(
    ("overrides", "gone", "skip"),
    [
        ({"deleted_at": T0 + timedelta(days=3)}, frozenset(), BackupSkip.DELETED),
        ({"replication": False}, frozenset(), BackupSkip.OPTED_OUT),
        ({}, frozenset({"fs-1"}), BackupSkip.VOLUME_GONE),
    ],
    ids=["deleted", "opted-out", "volume-gone"],
)
def test_scheduled_backup_skips(
    overrides: dict[str, Any], gone: frozenset[str], skip: BackupSkip
) -> None:
    decision = scheduled_backup(
        profile_at(gen(1, "200001"), **overrides), bucket=BUCKET, at=T0, gone=gone
    )
    assert decision.request is None
    assert decision.skip is skip


def test_deletion_backup_is_named_by_the_deletion_time() -> None:
    generation = deleted(gen(1, "200001"))
    decision = deletion_backup(
        generation, profile_at(generation), bucket=BUCKET, gone=frozenset()
    )
    assert decision.request is not None
    assert decision.request.trigger == "deletion"
    assert decision.request.source == HomeLocation.of(generation)
    assert generation.deleted_at is not None
    stamp = generation.deleted_at.strftime("%Y%m%d%H%M%S")
    assert f"-b{stamp}-" in decision.request.restore_id
    # opted out or volume gone: none
    opted_out = deletion_backup(
        generation,
        profile_at(generation, replication=False),
        bucket=BUCKET,
        gone=frozenset(),
    )
    assert opted_out.skip is BackupSkip.OPTED_OUT
    gone = deletion_backup(
        generation, profile_at(generation), bucket=BUCKET, gone=frozenset({"fs-1"})
    )
    assert gone.skip is BackupSkip.VOLUME_GONE
    with pytest.raises(ValueError, match="not deleted"):
        deletion_backup(
            gen(2, "200002"), profile_at(generation), bucket=BUCKET, gone=frozenset()
        )


# ------------------------------------------------------------- choosing a backup


def history() -> list[RestoreItem]:
    g1, g2 = gen(1, "200001"), gen(2, "200002")
    return [
        backup_item(g1, T0 + timedelta(days=1)),
        backup_item(g1, T0 + timedelta(days=2), trigger="deletion"),
        backup_item(g2, T0 + timedelta(days=3), status="FAILED"),
        backup_item(g2, T0 + timedelta(days=4)),
        backup_item(g2, T0 + timedelta(days=5), status="RUNNING"),
    ]


def test_latest_backups_keeps_the_latest_success_of_each_generation() -> None:
    items = history()
    latest = latest_backups(reversed(items))
    assert sorted(latest) == [1, 2]
    assert latest[1].backup_id == items[1].restore_id
    assert latest[2].backup_id == items[3].restore_id
    assert latest[2].as_of == items[3].ended_at


def test_choose_backup_by_time_takes_the_latest_success_at_or_before() -> None:
    items = history()
    # exactly at a backup's start: that one
    assert choose_backup(items, T0 + timedelta(days=2)) == items[1]
    # after a FAILED and before a RUNNING one: the latest success before both
    assert choose_backup(items, T0 + timedelta(days=3, hours=1)) == items[1]
    assert choose_backup(items, T0 + timedelta(days=9)) == items[3]
    # before the first one: none
    assert choose_backup(items, T0) is None
    assert choose_backup([], T0 + timedelta(days=9)) is None


def test_choose_backup_by_id_only_finds_a_success() -> None:
    items = history()
    assert choose_backup(items, items[0].restore_id) == items[0]
    assert choose_backup(items, items[2].restore_id) is None  # FAILED
    assert choose_backup(items, "alice-b20990101000000-0123456789ab") is None


def test_as_source_refuses_anything_but_a_finished_success() -> None:
    items = history()
    with pytest.raises(ValueError, match="not a succeeded backup"):
        as_source(items[2])
    source = as_source(items[0])
    assert (source.backup_id, source.as_of, source.bucket) == (
        items[0].restore_id,
        items[0].ended_at,
        BUCKET,
    )


# ------------------------------------------------------------------ --from-backup TIME


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-11-28", datetime(2026, 11, 28, 23, 59, 59, tzinfo=UTC)),
        ("2026-11-28T14:00:00Z", datetime(2026, 11, 28, 14, 0, tzinfo=UTC)),
        ("2026-11-28T14:00", datetime(2026, 11, 28, 14, 0, tzinfo=UTC)),
        ("2026-11-28T16:00:00+02:00", datetime(2026, 11, 28, 14, 0, tzinfo=UTC)),
        ("alice-b20261128030000-0123456789ab", "alice-b20261128030000-0123456789ab"),
    ],
)
def test_backup_time_reads_dates_times_and_ids(text: str, expected: object) -> None:
    assert backup_time(text) == expected


@pytest.mark.parametrize(
    "text", ["yesterday", "2026-13-01", "", "alice-g2-0123456789ab"]
)
def test_backup_time_refuses_anything_else(text: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError, match="neither a backup id nor"):
        backup_time(text)
