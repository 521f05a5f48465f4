"""The time-to-a-restore part's arithmetic (bench/restore_latency.py), on fake histories."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bench.restore_latency import ASSUMED_PHASES, original_latency, split_history


@pytest.mark.parametrize(
    ("datasync_s", "expected"), [(0.5, 30), (30, 30), (60.4, 90), (61, 90), (119, 120)]
)
def test_the_original_sees_the_end_at_its_next_30_s_poll(
    datasync_s: float, expected: float
) -> None:
    assert original_latency(datasync_s) == expected


def test_the_assumed_phases_add_up_to_the_blogs_minute() -> None:
    assert sum(ASSUMED_PHASES.values()) == 60


def _event(kind: str, name: str | None, at: float) -> dict[str, Any]:
    event: dict[str, Any] = {
        "type": kind,
        "timestamp": datetime(2026, 12, 8, tzinfo=UTC) + timedelta(seconds=at),
    }
    if name is not None:
        key = (
            "stateEnteredEventDetails"
            if kind.endswith("Entered")
            else "stateExitedEventDetails"
        )
        event[key] = {"name": name}
    return event


def test_the_history_splits_the_products_own_time() -> None:
    # given an execution started 3 s after the recreation, a 61 s transfer seen by the
    # second check, 60 s apart
    t = _event
    events = [
        t("ExecutionStarted", None, 3),
        t("TaskStateEntered", "Prepare", 3), t("TaskStateExited", "Prepare", 5),
        t("TaskStateEntered", "StartTransfer", 5), t("TaskStateExited", "StartTransfer", 6),
        t("TaskStateEntered", "CheckTransfer", 66), t("TaskStateExited", "CheckTransfer", 66.5),
        t("TaskStateEntered", "CheckTransfer", 126.5), t("TaskStateExited", "CheckTransfer", 127),
        t("TaskStateEntered", "Finalize", 127), t("TaskStateExited", "Finalize", 128),
    ]  # fmt: skip
    recreated = datetime(2026, 12, 8, tzinfo=UTC).timestamp()
    # when it is split
    parts = split_history(events, recreated, datasync_s=61)
    # then each step has its own seconds, and the poll is what passed after DataSync ended
    assert list(parts.values()) == pytest.approx([3, 2, 1, 127 - (6 + 61), 1])
