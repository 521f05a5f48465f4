"""Property tests of the stream Lambda's decision for a new home when earlier restores are in
any state (issue 14, item 1): failed, cut short, finished, still running, written but never
started.

For every such history, handling the new generation's record (once, or again as a retry):

- never starts an execution while a restore into one of its sources is running (it writes
  the restore as waiting for that one instead), and starts exactly one otherwise;
- the execution it starts reads the plan's sources, newest first;
- a retried record never starts a second execution nor writes a second restore.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import given
from hypothesis import strategies as st
from studio_recovery.logic.stream import on_new_generation
from studio_recovery.models.aws import StartedExecution
from studio_recovery.models.history import ProfileHistory
from studio_recovery.models.registry import Generation, Profile, ProfileKey
from studio_recovery.models.restore import (
    HomeLocation,
    RestoreItem,
    RestoreOutcome,
    RestoreRequest,
)
from studio_recovery.services import StreamServices

from tests.hypothesis_profiles import fuzz_settings

T0 = datetime(2026, 1, 1, tzinfo=UTC)
KEY = ProfileKey(domain_name="demo", kind="user", name="alice")
STATES = ("FAILED", "SUCCEEDED", "SOURCE_EMPTY", "RUNNING", "PENDING", "UNSTARTED")


@dataclass
class Fakes:
    """The registry partition of one profile, and the executions started."""

    generations: list[Generation]
    profile: Profile
    restores: dict[str, RestoreItem] = field(default_factory=dict)
    started: list[RestoreRequest] = field(default_factory=list)

    # HomeRegistry
    def read_history(self, key: ProfileKey) -> ProfileHistory:
        items = [self.profile.to_item(), *(g.to_item() for g in self.generations)]
        items += [r.to_item() for r in self.restores.values()]
        return ProfileHistory.from_items(key, items)

    # RestoreStore
    def create_restore(self, item: RestoreItem) -> bool:
        if item.restore_id in self.restores:
            return False
        self.restores[item.restore_id] = item
        return True

    def get_restore(self, key: ProfileKey, restore_id: str) -> RestoreItem | None:
        return self.restores.get(restore_id)

    def set_execution(self, key: ProfileKey, restore_id: str, arn: str) -> None:
        self._update(restore_id, execution_arn=arn)

    def finish(
        self, key: ProfileKey, restore_id: str, outcome: RestoreOutcome, _: Any
    ) -> None:
        self._update(restore_id, status=outcome.status, reason=outcome.reason)

    def set_profile_restore(self, *args: Any, **kwargs: Any) -> bool:
        return True

    def _update(self, restore_id: str, **changes: Any) -> None:
        self.restores[restore_id] = self.restores[restore_id].model_copy(update=changes)

    # Workflow
    def start(self, request: RestoreRequest) -> StartedExecution:
        already = any(r.restore_id == request.restore_id for r in self.started)
        if not already:
            self.started.append(request)
        return StartedExecution(
            f"arn:exec:{request.restore_id}", already_started=already
        )


def _generation(number: int) -> Generation:
    created = T0 + timedelta(days=number)
    return Generation(
        domain_name="demo",
        kind="user",
        name="alice",
        domain_id="d-1",
        efs_id="fs-1",
        uid=str(200000 + number),
        created_at=created,
        deleted_at=None,
        generation=number,
    )


def build(count: int, states: list[str]) -> Fakes:
    """`count` generations (the last is new); a restore into each earlier one from the one
    before it, in the drawn state."""
    generations = [_generation(n) for n in range(1, count + 1)]
    for index, generation in enumerate(generations[:-1]):
        generations[index] = generation.model_copy(
            update={"deleted_at": generations[index + 1].created_at}
        )
    target = generations[-1]
    profile = Profile(**target.model_dump(exclude={"has_data", "event_id"}))
    fakes = Fakes(generations, profile)
    for number, state in zip(range(2, count), states, strict=False):
        into, source = generations[number - 1], generations[number - 2]
        restore_id = f"alice-g{number}-{number:012x}"
        fakes.restores[restore_id] = RestoreItem(
            restore_id=restore_id,
            trigger="auto",
            status="PENDING" if state == "UNSTARTED" else state,  # type: ignore[arg-type]
            source=HomeLocation.of(source),
            target=HomeLocation.of(into),
            execution_arn=None if state == "UNSTARTED" else f"arn:exec:{restore_id}",
            started_at=into.created_at,
        )
    return fakes


@fuzz_settings(ci_examples=500)
@given(count=st.integers(2, 6), states=st.lists(st.sampled_from(STATES), max_size=5))
def test_a_new_home_never_starts_while_one_of_its_sources_is_written(
    count: int, states: list[str]
) -> None:
    fakes = build(count, states)
    services = StreamServices(
        registry=fakes,  # type: ignore[arg-type]
        restores=fakes,  # type: ignore[arg-type]
        workflow=fakes,  # type: ignore[arg-type]
        reuse_window=timedelta(days=30),
        clock=lambda: T0 + timedelta(days=30),
    )
    running = {
        r.restore_id
        for r in fakes.restores.values()
        if r.status in ("PENDING", "RUNNING") and r.execution_arn
    }
    before = set(fakes.restores)

    first = on_new_generation(KEY, count, services)
    planned = [r for r in fakes.restores.values() if r.restore_id not in before]
    # meanwhile its first source is found empty, and the record comes again
    newest_earlier = fakes.generations[-2]
    fakes.generations[-2] = newest_earlier.model_copy(update={"has_data": False})
    again = on_new_generation(KEY, count, services)

    new = [r for r in fakes.restores.values() if r.restore_id not in before]
    assert len(new) == 1, (first, again, new)
    [item] = new
    assert [r.restore_id for r in planned] == [item.restore_id]
    assert [item.source, *item.then] == [
        HomeLocation.of(g) for g in reversed([*fakes.generations[:-2], newest_earlier])
    ]
    if running:
        assert fakes.started == [], first
        assert item.waiting_for in running and item.execution_arn is None
    else:
        assert [r.restore_id for r in fakes.started] == [item.restore_id], (
            first,
            again,
        )
        assert item.waiting_for is None
    # a restore written but never started into an older home is superseded, not left open
    for restore in fakes.restores.values():
        if restore.restore_id in before and restore.execution_arn is None:
            assert restore.status == "SUPERSEDED", restore
