"""Bulk migration (studio_recovery.logic.migration, migration_map): the map, the match
rules and the plan of every pair, and how fast 2,000 pairs plan."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from studio_recovery.logic.migration import (
    Action,
    Progress,
    Volumes,
    copy_request,
    plan_migration,
    progress_line,
    tally,
)
from studio_recovery.logic.migration_map import (
    MapRow,
    MatchRule,
    MigrationMap,
    parse_map,
    propose_map,
    render_map,
)
from studio_recovery.logic.restore_plan import (
    PendingCopy,
    StartRestore,
    make_restore_id,
    plan_copy,
)
from studio_recovery.models.history import ProfileHistory
from studio_recovery.models.registry import Generation, Kind, Profile, ProfileKey
from studio_recovery.models.restore import (
    BackupLocation,
    CopyRequest,
    HomeLocation,
    RestoreItem,
    make_backup_id,
)

T0 = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
OLD, NEW = "old", "new"


def key(domain: str, name: str, kind: Kind = "user") -> ProfileKey:
    return ProfileKey(domain_name=domain, kind=kind, name=name)


def gen(k: ProfileKey, number: int, uid: str, **overrides: Any) -> Generation:
    fields: dict[str, Any] = {
        "domain_name": k.domain_name,
        "kind": k.kind,
        "name": k.name,
        "domain_id": f"d-{k.domain_name}",
        "efs_id": f"fs-{k.domain_name}",
        "uid": uid,
        "generation": number,
        "created_at": T0 + timedelta(days=number),
    }
    fields.update(overrides)
    return Generation(**fields)


def history(
    generations: list[Generation],
    *,
    replication: bool = True,
    deleted: bool = False,
    extra: list[dict[str, Any]] | None = None,
) -> ProfileHistory:
    last = generations[-1]
    row = Profile(
        **last.model_dump(exclude={"has_data", "event_id", "deleted_at"}),
        replication=replication,
        deleted_at=last.created_at if deleted else None,
    )
    items = [row.to_item(), *(g.to_item() for g in generations), *(extra or [])]
    return ProfileHistory.from_items(last.key, items)


def copy_item(
    target: ProfileKey, source: ProfileKey, status: str = "PENDING"
) -> dict[str, Any]:
    request = CopyRequest(
        target=target, status=status, source_pk=source.pk, requested_at=T0
    )  # type: ignore[arg-type]
    body = request.model_dump(mode="json", exclude={"target"}, exclude_none=True)
    return {"pk": target.pk, "sk": "COPY", "entity": "copy", **body}


def restore_item(
    target: Generation,
    source: Generation,
    status: str,
    files: int = 3,
    *,
    nonce: str | None = None,
    head: str | None = None,
    day: int = 20,
) -> dict[str, Any]:
    target_at, source_at = HomeLocation.of(target), HomeLocation.of(source)
    item = RestoreItem(
        restore_id=make_restore_id("copy", target_at, source_at, nonce=nonce),
        trigger="copy",
        status=status,  # type: ignore[arg-type]
        reason=None if status == "SUCCEEDED" else "DataSync said no",
        source=source_at,
        target=target_at,
        head=head,
        started_at=T0 + timedelta(days=day),
        files_transferred=files,
    )
    return item.to_item()


def mapping(
    *pairs: tuple[str, str], kinds: tuple[Kind, Kind] = ("user", "user")
) -> MigrationMap:
    rows = tuple(
        MapRow(n, key(OLD, s, kinds[0]), key(NEW, t, kinds[1]))
        for n, (s, t) in enumerate(pairs, start=1)
    )
    return MigrationMap(OLD, NEW, rows)


def plan(
    m: MigrationMap,
    sources: dict[ProfileKey, ProfileHistory],
    targets: dict[ProfileKey, ProfileHistory],
    volumes: Volumes | None = None,
    *,
    retry_failed: bool = True,
) -> list[Any]:
    return plan_migration(
        m,
        sources=sources,
        targets=targets,
        volumes=volumes or Volumes(),
        requested_at=T0,
        retry_failed=retry_failed,
    )


ALICE, BOB = key(OLD, "alice"), key(OLD, "bob")
ALICE2 = key(NEW, "alice-example-com")


# ------------------------------------------------------------------ the map


def test_a_map_reads_pairs_and_keeps_every_bad_line_with_its_number() -> None:
    text = (
        "source_kind,source_name,target_kind,target_name\n"
        "# a comment\n"
        "\n"
        "profile,alice,profile,alice-example-com\n"
        "space,lab,space,lab\n"
        "user,bob,profile,bob2\n"
        "group,carol,profile,carol\n"
        "profile,dave\n"
        "profile,erin_x,profile,erin\n"
    )

    parsed = parse_map(text, from_domain=OLD, to_domain=NEW)

    assert [(r.line, r.source, r.target) for r in parsed.rows] == [
        (4, ALICE, ALICE2),
        (5, key(OLD, "lab", "space"), key(NEW, "lab", "space")),
        (6, BOB, key(NEW, "bob2")),
    ]
    problems = {e.line: e.problem for e in parsed.errors}
    assert sorted(problems) == [7, 8, 9]
    assert "unknown source kind 'group'" in problems[7]
    assert "expected 4 columns" in problems[8] and "found 2" in problems[8]
    assert "'erin_x' is not a Studio name" in problems[9]


def test_render_then_parse_gives_the_same_pairs_and_the_same_migration_id() -> None:
    m = mapping(("alice", "alice-example-com"), ("bob", "bob"))

    again = parse_map(render_map(m.rows, ["proposed"]), from_domain=OLD, to_domain=NEW)

    assert [(r.source, r.target) for r in again.rows] == [
        (r.source, r.target) for r in m.rows
    ]
    assert again.migration_id == m.migration_id
    assert re.fullmatch(r"mig-[0-9a-f]{12}", m.migration_id)
    assert mapping(("alice", "other")).migration_id != m.migration_id


# --------------------------------------------------------------- proposing


def profile(k: ProfileKey, sso: str | None = None, deleted: bool = False) -> Profile:
    g = gen(k, 1, "200001", sso_user_value=sso)
    return Profile(
        **g.model_dump(exclude={"has_data", "event_id", "deleted_at"}),
        deleted_at=T0 if deleted else None,
    )


def test_match_pairs_by_identity_center_user_then_by_name() -> None:
    sources = [
        profile(ALICE),
        profile(BOB),
        profile(key(OLD, "lab", "space")),
        profile(key(OLD, "zed")),
    ]
    targets = [
        profile(ALICE2, sso="Alice@Example.com"),
        profile(key(NEW, "bob"), sso="someone@example.com"),
        profile(key(NEW, "lab", "space")),
        profile(key(NEW, "gone"), sso="zed@example.com", deleted=True),
    ]

    proposed = propose_map(sources, targets, MatchRule(template="{name}@example.com"))

    pairs = {(p.row.source.name, p.row.target.name): p.how for p in proposed.proposals}
    assert pairs == {
        ("alice", "alice-example-com"): "Identity Center user alice@example.com",
        ("bob", "bob"): "same name",
        ("lab", "lab"): "same name",
    }
    assert [k.name for k, _ in proposed.unmatched] == ["zed"]


def test_a_name_pattern_feeds_the_identity_template() -> None:
    rule = MatchRule(
        by=("identity",),
        template="{first}.{last}@corp.example",
        pattern=re.compile(r"(?P<first>[a-z]+)-(?P<last>[a-z]+)"),
    )
    sources = [profile(key(OLD, "jane-doe")), profile(key(OLD, "admin1"))]
    targets = [profile(key(NEW, "jdoe"), sso="jane.doe@corp.example")]

    proposed = propose_map(sources, targets, rule)

    assert [(p.row.source.name, p.row.target.name) for p in proposed.proposals] == [
        ("jane-doe", "jdoe")
    ]
    assert proposed.unmatched == [
        (key(OLD, "admin1"), "its name does not match the pattern")
    ]


def test_a_template_with_an_unknown_field_is_refused_before_matching() -> None:
    assert MatchRule(template="{first}@x").problems() != []
    assert MatchRule(template="{name}@x").problems() == []


# ----------------------------------------------------------------- planning


def test_plan_says_where_the_data_is_and_what_happens_to_each_target() -> None:
    a1, b1 = gen(ALICE, 1, "200001"), gen(BOB, 1, "200002")
    carol = key(OLD, "carol")
    c1 = gen(carol, 1, "200003", efs_id="fs-retained")
    target = gen(ALICE2, 1, "300001")
    m = mapping(
        ("alice", "alice-example-com"), ("bob", "bob-later"), ("carol", "carol")
    )
    sources = {ALICE: history([a1]), BOB: history([b1]), carol: history([c1])}

    plans = plan(
        m,
        sources,
        {ALICE2: history([target])},
        Volumes(retained=frozenset({"fs-retained"})),
    )

    now, later, retained = plans
    assert now.action is Action.COPY_NOW
    assert now.source_generation == 1 and now.data_at == "EFS fs-old:/200001"
    assert now.target_state == "exists, nothing restored yet"
    assert now.start is not None and now.start.request.source.uid == "200001"
    assert now.start.request.target.uid == "300001"
    assert now.restore_id == now.start.request.restore_id
    assert (
        later.action is Action.COPY_ON_CREATE
        and later.target_state == "not created yet"
    )
    assert retained.data_at == "retained volume fs-retained:/200003"
    assert tally(plans)[Progress.WAITING] == 3


@pytest.mark.parametrize(
    ("case", "why"),
    [
        ("no source", "source is not in the registry"),
        ("empty source", "source has no data"),
        ("gone volume", "was deleted with its domain (retention Delete) and this home"),
        ("opted out", "target is opted out"),
        ("other identity", "target belongs to another identity"),
        ("pending from another", "target waits for a copy from old/user/bob"),
        ("same", "source and target are the same"),
    ],
)
def test_a_pair_that_cannot_be_done_says_why(case: str, why: str) -> None:
    a1 = gen(ALICE, 1, "200001", sso_user_value="alice@example.com")
    target = gen(ALICE2, 1, "300001", sso_user_value="alice@example.com")
    sources = {ALICE: history([a1])}
    targets = {ALICE2: history([target])}
    volumes = Volumes()
    m = mapping(("alice", "alice-example-com"))
    if case == "no source":
        sources = {}
    elif case == "empty source":
        sources = {ALICE: history([a1.model_copy(update={"has_data": False})])}
    elif case == "gone volume":
        volumes = Volumes(gone=frozenset({"fs-old"}))
    elif case == "opted out":
        targets = {ALICE2: history([target], replication=False)}
    elif case == "other identity":
        other = target.model_copy(update={"sso_user_value": "mallory@example.com"})
        targets = {ALICE2: history([other])}
    elif case == "pending from another":
        targets = {ALICE2: history([target], extra=[copy_item(ALICE2, BOB)])}
    elif case == "same":
        m = MigrationMap(OLD, OLD, (MapRow(1, ALICE, ALICE),))
        targets = sources

    (only,) = plan(m, sources, targets, volumes)

    assert only.action is Action.REFUSED
    assert why in only.detail, only.detail
    assert only.progress is Progress.FAILED


def backup_of(
    generation: Generation, day: int, status: str = "SUCCEEDED"
) -> dict[str, Any]:
    home = HomeLocation.of(generation)
    started = T0 + timedelta(days=day)
    item = RestoreItem(
        restore_id=make_backup_id(home, started, "scheduled"),
        trigger="scheduled",
        status=status,  # type: ignore[arg-type]
        source=home,
        target=BackupLocation.of(home, "backups-bucket"),
        started_at=started,
        ended_at=started + timedelta(minutes=3),
    )
    return item.to_item()


def test_a_source_on_a_deleted_volume_is_copied_from_its_latest_backup() -> None:
    # Given alice's home on a volume deleted with its domain, backed up twice (and a
    # later backup that failed)
    a1, target = gen(ALICE, 1, "200001"), gen(ALICE2, 1, "300001")
    backups = [backup_of(a1, 3), backup_of(a1, 5), backup_of(a1, 6, "FAILED")]
    sources = {ALICE: history([a1], extra=backups)}
    m = mapping(("alice", "alice-example-com"))

    # When the pair is planned
    (only,) = plan(
        m, sources, {ALICE2: history([target])}, Volumes(gone=frozenset({"fs-old"}))
    )

    # Then the data is in S3, and the copy reads the latest successful backup
    assert only.action is Action.COPY_NOW
    assert only.data_at.startswith(
        "backup in S3 s3://backups-bucket/homes/old/user/alice/"
    )
    assert only.data_at.endswith("as of 2026-11-06 12:03 UTC")
    assert only.start is not None
    source = only.start.request.source
    assert isinstance(source, BackupLocation)
    assert source.backup_id == backups[1]["restore_id"]
    # and the stream Lambda, given the same knowledge, plans the same restore id
    request = copy_request(m.rows[0], T0, m.migration_id)
    gone = frozenset({"fs-old"})
    pending = PendingCopy(request, [a1], gone, {1: source})
    same = plan_copy(target=target, copy=pending)
    assert isinstance(same, StartRestore)
    assert same.request.restore_id == only.restore_id


def test_two_sources_for_one_target_are_both_refused_with_the_other_line() -> None:
    a1, b1 = gen(ALICE, 1, "200001"), gen(BOB, 1, "200002")
    m = mapping(("alice", "shared"), ("bob", "shared"))

    first, second = plan(m, {ALICE: history([a1]), BOB: history([b1])}, {})

    assert first.action is second.action is Action.REFUSED
    assert "two sources map to one target (also line 2)" in first.detail
    assert "(also line 1)" in second.detail


def test_malformed_lines_are_rows_of_the_plan_in_line_order() -> None:
    parsed = parse_map(
        "profile,alice,profile,x\nprofile,bob\n", from_domain=OLD, to_domain=NEW
    )

    plans = plan(parsed, {ALICE: history([gen(ALICE, 1, "200001")])}, {})

    assert [(p.line, p.action) for p in plans] == [
        (1, Action.COPY_ON_CREATE),
        (2, Action.REFUSED),
    ]
    assert plans[1].detail.startswith("line 2: expected 4 columns")


@pytest.mark.parametrize(
    ("status", "action"),
    [
        ("SUCCEEDED", Action.DONE),
        ("RUNNING", Action.RUNNING),
        ("FAILED", Action.FAILED),
    ],
)
def test_a_pair_copied_before_is_reported_never_started_again(
    status: str, action: Action
) -> None:
    a1, target = gen(ALICE, 1, "200001"), gen(ALICE2, 1, "300001")
    earlier = restore_item(target, a1, status)
    targets = {
        ALICE2: history([target], extra=[copy_item(ALICE2, ALICE, "STARTED"), earlier])
    }

    (only,) = plan(
        mapping(("alice", "alice-example-com")),
        {ALICE: history([a1])},
        targets,
        retry_failed=False,  # what --status shows
    )

    assert only.action is action
    assert only.start is None
    assert only.restore_id == earlier["restore_id"]
    if status == "SUCCEEDED":
        assert only.target_state == "exists, has files (3 restored)"


def test_a_pair_registered_by_an_interrupted_run_is_started_with_the_same_id() -> None:
    a1, target = gen(ALICE, 1, "200001"), gen(ALICE2, 1, "300001")
    fresh = plan(
        mapping(("alice", "alice-example-com")),
        {ALICE: history([a1])},
        {ALICE2: history([target])},
    )
    pending = {ALICE2: history([target], extra=[copy_item(ALICE2, ALICE)])}

    (again,) = plan(
        mapping(("alice", "alice-example-com")), {ALICE: history([a1])}, pending
    )

    assert again.action is Action.COPY_NOW
    assert again.restore_id == fresh[0].restore_id


@pytest.mark.parametrize("status", ["FAILED", "PARTIAL"])
def test_a_pair_whose_copy_failed_is_retried_as_a_new_attempt(status: str) -> None:
    # Given a pair whose copy ended FAILED (or PARTIAL)
    a1, target = gen(ALICE, 1, "200001"), gen(ALICE2, 1, "300001")
    earlier = restore_item(target, a1, status)
    extra = [copy_item(ALICE2, ALICE, "STARTED"), earlier]
    targets = {ALICE2: history([target], extra=extra)}
    m = mapping(("alice", "alice-example-com"))

    # When migrate plans it again
    (only,) = plan(m, {ALICE: history([a1])}, targets)

    # Then it is a retry: attempt 2, an id of its own, the earlier failure named
    assert only.action is Action.RETRY and only.starts_now
    assert only.progress is Progress.WAITING
    assert only.attempt == 2
    assert only.start is not None
    assert only.restore_id == only.start.request.restore_id
    assert only.restore_id == make_restore_id(
        "copy", HomeLocation.of(target), HomeLocation.of(a1), nonce="attempt-2"
    )
    assert only.restore_id != earlier["restore_id"]
    assert f"after {earlier['restore_id']} {status}: DataSync said no" in only.detail
    # and the stream Lambda, reading the pair's COPY item, plans the very same id
    request = copy_request(m.rows[0], T0, m.migration_id, only.attempt)
    same = plan_copy(target=target, copy=PendingCopy(request, [a1]))
    assert isinstance(same, StartRestore)
    assert same.request.restore_id == only.restore_id


def test_each_failed_attempt_counts_and_a_steps_own_retry_does_not() -> None:
    a1, target = gen(ALICE, 1, "200001"), gen(ALICE2, 1, "300001")
    first = restore_item(target, a1, "PARTIAL", day=20)
    own_retry = restore_item(
        target, a1, "PARTIAL", nonce="retry-1", head=first["restore_id"], day=21
    )
    second = restore_item(target, a1, "FAILED", nonce="attempt-2", day=22)
    extra = [copy_item(ALICE2, ALICE, "STARTED"), first, own_retry, second]

    (only,) = plan(
        mapping(("alice", "alice-example-com")),
        {ALICE: history([a1])},
        {ALICE2: history([target], extra=extra)},
    )

    assert only.action is Action.RETRY and only.attempt == 3
    assert second["restore_id"] in only.detail


@pytest.mark.parametrize(
    ("later", "action"),
    [
        ("RUNNING", Action.RUNNING),
        ("PENDING", Action.RUNNING),
        ("SUCCEEDED", Action.DONE),
    ],
)
def test_a_pair_retried_before_is_never_started_again_unless_it_failed_again(
    later: str, action: Action
) -> None:
    # Given a failed first copy and a second attempt running, waiting or succeeded
    a1, target = gen(ALICE, 1, "200001"), gen(ALICE2, 1, "300001")
    failed = restore_item(target, a1, "FAILED", day=20)
    attempt = restore_item(target, a1, later, nonce="attempt-2", day=21)
    extra = [copy_item(ALICE2, ALICE, "STARTED"), failed, attempt]

    # When migrate plans it again
    (only,) = plan(
        mapping(("alice", "alice-example-com")),
        {ALICE: history([a1])},
        {ALICE2: history([target], extra=extra)},
    )

    # Then the second attempt is reported, nothing is started
    assert only.action is action
    assert only.start is None
    assert only.restore_id == attempt["restore_id"]


def test_a_running_automatic_retry_of_a_partial_step_is_followed_not_retried() -> None:
    a1, target = gen(ALICE, 1, "200001"), gen(ALICE2, 1, "300001")
    first = restore_item(target, a1, "PARTIAL", day=20)
    own_retry = restore_item(
        target, a1, "RUNNING", nonce="retry-1", head=first["restore_id"], day=19
    )
    extra = [copy_item(ALICE2, ALICE, "STARTED"), first, own_retry]

    (only,) = plan(
        mapping(("alice", "alice-example-com")),
        {ALICE: history([a1])},
        {ALICE2: history([target], extra=extra)},
    )

    assert only.action is Action.RUNNING
    assert only.restore_id == own_retry["restore_id"]


def test_progress_line_counts_every_state() -> None:
    a1 = gen(ALICE, 1, "200001")
    plans = plan(mapping(("alice", "x"), ("nobody", "y")), {ALICE: history([a1])}, {})

    assert progress_line(plans) == "2 pairs: 0 done, 0 running, 1 waiting, 1 failed"


PAIRS = 2000
PLAN_BUDGET_SECONDS = 5.0
"""Generous (a laptop plans 2,000 pairs in well under a second) yet it fails when a pair
costs more than a few milliseconds, e.g. a scan of every history per pair."""


def test_two_thousand_pairs_plan_in_seconds() -> None:
    sources: dict[ProfileKey, ProfileHistory] = {}
    targets: dict[ProfileKey, ProfileHistory] = {}
    lines = ["source_kind,source_name,target_kind,target_name"]
    for n in range(PAIRS):
        source, target = key(OLD, f"user{n}"), key(NEW, f"person{n}")
        sources[source] = history(
            [gen(source, 1, str(200000 + n)), gen(source, 2, str(400000 + n))]
        )
        if n % 2 == 0:
            targets[target] = history([gen(target, 1, str(600000 + n))])
        lines.append(f"profile,user{n},profile,person{n}")
    started = time.perf_counter()

    parsed = parse_map("\n".join(lines), from_domain=OLD, to_domain=NEW)
    plans = plan(parsed, sources, targets)

    elapsed = time.perf_counter() - started
    assert len(plans) == PAIRS
    counts = {a: sum(1 for p in plans if p.action is a) for a in Action}
    assert counts[Action.COPY_NOW] == counts[Action.COPY_ON_CREATE] == PAIRS // 2
    assert len({p.restore_id for p in plans if p.restore_id}) == PAIRS // 2
    assert elapsed < PLAN_BUDGET_SECONDS, f"{PAIRS} pairs planned in {elapsed:.2f} s"
