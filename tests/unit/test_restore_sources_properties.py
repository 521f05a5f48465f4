"""Property tests of the source choice over generated histories (issue 14, item 1).

A history is any sequence of recreations (by one of two identities, or with no identity
recorded), deletions some time apart, opt-outs and opt-ins, homes never opened, domains
recreated with retention Retain or Delete (the earlier volume kept or gone), backups that
succeeded or failed, and restores that found a source empty or missing, failed, were cut
short or are still running. For every such history, the plan of the newest generation:

- reads only generations of the same profile and identity, older than the new one, that
  may hold data, inside the reuse window, with a safe uid, never the new home itself;
- reads them newest first, each directory once; a gone volume only through its latest
  SUCCEEDED backup;
- leaves out none that qualifies;
- once the restore ran (simulated: a home that does not exist or holds nothing is marked
  `has_data=false`, as finalize does), never reads such a home again, and the new home
  holds exactly the union of the files of the qualifying homes, newest version first.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st
from studio_recovery.logic.restore_plan import (
    SkipRestore,
    StartRestore,
    is_safe_uid,
    plan_restore,
)
from studio_recovery.models.registry import Generation, Profile
from studio_recovery.models.restore import BackupLocation, HomeLocation

from tests.hypothesis_profiles import fuzz_settings

T0 = datetime(2026, 1, 1, tzinfo=UTC)
WINDOW = timedelta(days=30)
IDENTITIES = ("alice@example.com", "bob@example.com", None)


@dataclass
class Home:
    """What is really on disk for one generation (the product does not see it)."""

    generation: Generation
    exists: bool
    files: dict[str, str] = field(default_factory=dict)


@dataclass
class World:
    homes: list[Home] = field(default_factory=list)
    gone: set[str] = field(default_factory=set)
    backups: dict[int, BackupLocation] = field(default_factory=dict)
    replication: bool = True
    restore_statuses: list[str] = field(default_factory=list)

    def known(self) -> list[Generation]:
        return [home.generation for home in self.homes]


_steps = st.lists(
    st.one_of(
        st.tuples(
            st.just("recreate"),
            st.sampled_from(IDENTITIES),
            st.sampled_from(["opened", "never_opened", "opened_empty"]),
            st.floats(min_value=0.01, max_value=45),
        ),
        st.tuples(st.just("opt"), st.booleans()),
        st.tuples(st.just("domain"), st.sampled_from(["Retain", "Delete"])),
        st.tuples(st.just("backup"), st.integers(0, 20), st.booleans()),
        st.tuples(st.just("found_empty"), st.integers(0, 20)),
        st.tuples(
            st.just("restore"),
            st.sampled_from(
                ["FAILED", "RUNNING", "SUCCEEDED", "SOURCE_EMPTY", "ABORTED"]
            ),
        ),
        st.tuples(st.just("foreign"), st.integers(1, 20)),
    ),
    min_size=1,
    max_size=25,
)


def build(steps: list[tuple[object, ...]]) -> tuple[World, list[Generation]]:
    """Play the steps; the last step is always a recreation (the generation planned)."""
    world = World()
    foreign: list[Generation] = []
    volume, clock = 1, T0
    for step in [*steps, ("recreate", "alice@example.com", "opened", 1.0)]:
        kind = step[0]
        if kind == "recreate":
            _, identity, opened, gap = step
            clock += timedelta(days=float(gap))  # type: ignore[arg-type]
            if world.homes:
                last = world.homes[-1]
                last.generation = last.generation.model_copy(
                    update={"deleted_at": clock}
                )
            number = len(world.homes) + 1
            generation = _generation(number, f"fs-{volume}", identity, clock)  # type: ignore[arg-type]
            files = {f"g{number}.txt": f"from {number}", "shared.txt": f"v{number}"}
            world.homes.append(
                Home(
                    generation,
                    exists=opened != "never_opened",
                    files=files if opened == "opened" else {},
                )
            )
        elif kind == "opt":
            world.replication = bool(step[1])
        elif kind == "domain":
            if step[1] == "Delete":
                world.gone.add(f"fs-{volume}")
            volume += 1
        elif kind == "backup" and world.homes:
            home = world.homes[int(step[1]) % len(world.homes)]  # type: ignore[call-overload]
            if step[2] and home.generation.efs_id not in world.gone:
                world.backups[home.generation.generation] = _backup(
                    home.generation, clock
                )
        elif kind == "found_empty" and world.homes:
            home = world.homes[int(step[1]) % len(world.homes)]  # type: ignore[call-overload]
            if (
                not home.files
            ):  # a transfer found it empty or missing: finalize marks it
                home.generation = home.generation.model_copy(update={"has_data": False})
        elif kind == "restore":
            world.restore_statuses.append(str(step[1]))
        elif kind == "foreign":
            number = int(step[1])  # type: ignore[call-overload]
            foreign.append(
                _generation(number, "fs-1", "alice@example.com", T0, name="mallory")
            )
    return world, foreign


def _generation(
    number: int,
    efs_id: str,
    identity: str | None,
    created: datetime,
    name: str = "alice",
) -> Generation:
    return Generation(
        domain_name="demo",
        kind="user",
        name=name,
        domain_id=f"d-{efs_id}",
        efs_id=efs_id,
        uid=str(200000 + number + (500 if name != "alice" else 0)),
        sso_user_value=identity,
        created_at=created,
        generation=number,
    )


def _backup(generation: Generation, when: datetime) -> BackupLocation:
    return BackupLocation.of(HomeLocation.of(generation), "backups").model_copy(
        update={
            "backup_id": f"alice-b{when:%Y%m%d%H%M%S}-{generation.generation:012x}",
            "as_of": when,
        }
    )


def plan_newest(world: World, foreign: list[Generation]) -> StartRestore | SkipRestore:
    target = world.homes[-1].generation
    profile = Profile(
        **target.model_dump(exclude={"has_data", "event_id"}),
        replication=world.replication,
    )
    return plan_restore(
        profile=profile,
        target=target,
        generations=[*world.known(), *foreign],
        reuse_window=WINDOW,
        gone_volumes=world.gone,
        latest_backups=world.backups,
    )


def qualifies(candidate: Generation, target: Generation) -> bool:
    """The rule, written out on its own: which earlier generations must be read."""
    same_identity = (
        candidate.sso_user_value is None
        or target.sso_user_value is None
        or candidate.sso_user_value == target.sso_user_value
    )
    in_window = (
        candidate.deleted_at is None
        or target.created_at - candidate.deleted_at <= WINDOW
    )
    return (
        candidate.key == target.key
        and candidate.generation < target.generation
        and same_identity
        and in_window
        and candidate.has_data is not False
        and is_safe_uid(candidate.uid)
        and (candidate.efs_id, candidate.uid) != (target.efs_id, target.uid)
    )


@fuzz_settings(ci_examples=500)
@given(steps=_steps)
def test_sources_are_the_same_persons_homes_that_may_hold_data_newest_first(
    steps: list[tuple[object, ...]],
) -> None:
    world, foreign = build(steps)
    target = world.homes[-1].generation
    result = plan_newest(world, foreign)
    if not world.replication or len(world.homes) == 1:
        assert isinstance(result, SkipRestore)
        return
    by_number = {g.generation: g for g in world.known()}
    expected = [
        g
        for g in sorted(world.known(), key=lambda g: -g.generation)
        if qualifies(g, target)
        and (g.efs_id not in world.gone or g.generation in world.backups)
    ]
    if not expected:
        assert isinstance(result, SkipRestore), result
        return
    assert isinstance(result, StartRestore), result
    request = result.request
    sources = [request.source, *request.then]
    numbers = [s.generation for s in sources]
    assert numbers == sorted(numbers, reverse=True) and len(set(numbers)) == len(
        numbers
    )
    assert numbers == [g.generation for g in expected]  # none left out, none extra
    for source in sources:
        generation = by_number[source.generation]
        assert qualifies(generation, target)
        assert source.key == target.key  # never another profile's home
        if (
            generation.efs_id in world.gone
        ):  # a gone volume: its latest good backup only
            assert source == world.backups[generation.generation]
        else:
            assert source == HomeLocation.of(generation)
    assert request.target == HomeLocation.of(target)


@fuzz_settings(ci_examples=500)
@given(steps=_steps)
def test_after_the_restore_no_missing_or_empty_home_is_read_and_the_union_arrives(
    steps: list[tuple[object, ...]],
) -> None:
    world, foreign = build(steps)
    result = plan_newest(world, foreign)
    if not isinstance(result, StartRestore):
        return
    request = result.request
    homes = {home.generation.generation: home for home in world.homes}
    new_home: dict[str, str] = {}
    for source in [request.source, *request.then]:
        home = homes[source.generation]
        if not home.exists or not home.files:  # the step finds it missing or empty
            home.generation = home.generation.model_copy(update={"has_data": False})
            continue
        for path, content in home.files.items():
            new_home.setdefault(path, content)  # OverwriteMode NEVER: first copy stays
    # the new home got exactly the union of the qualifying homes, newest version first
    target = world.homes[-1].generation
    union: dict[str, str] = {}
    for home in sorted(world.homes[:-1], key=lambda h: -h.generation.generation):
        reachable = home.generation.efs_id not in world.gone or (
            home.generation.generation in world.backups
        )
        if qualifies(home.generation, target) and reachable:
            for path, content in home.files.items():
                union.setdefault(path, content)
    assert new_home == union
    # and planned again (a retried record, another recreation), no such home is read
    again = plan_newest(world, foreign)
    if isinstance(again, StartRestore):
        for source in [again.request.source, *again.request.then]:
            home = homes[source.generation]
            assert home.exists and home.files, source


@fuzz_settings(ci_examples=500)
@given(steps=_steps, flips=st.integers(0, 4))
def test_opting_out_and_back_in_meanwhile_changes_nothing(
    steps: list[tuple[object, ...]], flips: int
) -> None:
    world, foreign = build([step for step in steps if step[0] != "opt"])
    world.replication = True
    before = plan_newest(world, foreign)
    flipped, _ = build(
        [
            *[step for step in steps if step[0] != "opt"],
            *[("opt", i % 2 == 1) for i in range(flips)],
        ]
    )
    flipped.replication = True  # opted in again before the recreation
    assert plan_newest(flipped, foreign) == before
