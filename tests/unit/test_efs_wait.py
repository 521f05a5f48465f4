"""EfsGateway.wait_until_available: the bounded wait for the new home directory."""

from __future__ import annotations

from typing import Any

import pytest
from studio_recovery.dal.efs import EfsGateway
from studio_recovery.models.errors import HomeDirectoryTimeout


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def time(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


class FakeEfs:
    """describe_access_points answers the next state from `states` (the last one repeats)."""

    def __init__(self, *states: str) -> None:
        self.states = list(states)
        self.calls = 0

    def describe_access_points(self, AccessPointId: str) -> dict[str, Any]:
        state = self.states[min(self.calls, len(self.states) - 1)]
        self.calls += 1
        if state == "gone":
            return {"AccessPoints": []}
        return {
            "AccessPoints": [{"AccessPointId": AccessPointId, "LifeCycleState": state}]
        }


def _wait(efs: FakeEfs, clock: FakeClock, timeout: float) -> None:
    EfsGateway(efs_client=efs, ec2_client=object()).wait_until_available(
        "fsap-1",
        timeout_seconds=timeout,
        poll_seconds=2,
        sleep=clock.sleep,
        clock=clock.time,
    )


def test_returns_at_once_when_available() -> None:
    efs, clock = FakeEfs("available"), FakeClock()
    _wait(efs, clock, timeout=60)
    assert (efs.calls, clock.sleeps) == (1, [])


def test_polls_until_available() -> None:
    efs, clock = FakeEfs("creating", "creating", "available"), FakeClock()
    _wait(efs, clock, timeout=60)
    assert efs.calls == 3
    assert clock.sleeps == [2, 2]


def test_times_out_when_never_available() -> None:
    efs, clock = FakeEfs("creating"), FakeClock()
    with pytest.raises(
        HomeDirectoryTimeout, match=r"fsap-1 was creating after waiting up to 10"
    ):
        _wait(efs, clock, timeout=10)
    assert clock.now <= 10
    assert efs.calls == 6  # at 0, 2, 4, 6, 8 and 10 seconds


def test_waits_the_whole_timeout_when_it_is_not_a_multiple_of_the_poll() -> None:
    # given a home that never appears and a 5-second timeout polled every 2 seconds
    efs, clock = FakeEfs("creating"), FakeClock()
    # when the wait gives up
    with pytest.raises(HomeDirectoryTimeout):
        _wait(efs, clock, timeout=5)
    # then it waited the whole 5 seconds and looked once more at the deadline
    assert clock.sleeps == [2, 2, 1]
    assert clock.now == 5
    assert efs.calls == 4  # at 0, 2, 4 and 5 seconds


@pytest.mark.parametrize("state", ["error", "deleting", "gone"])
def test_gives_up_at_once_on_a_dead_access_point(state: str) -> None:
    efs, clock = FakeEfs(state), FakeClock()
    with pytest.raises(HomeDirectoryTimeout, match="did not appear"):
        _wait(efs, clock, timeout=60)
    assert clock.sleeps == []
