"""The invariant checks themselves: a broken figure must turn into a named problem.

No sandbox here: rows are built by hand, so these show the checks can fail.
"""

from __future__ import annotations

import pytest
from studio_sandbox.harness.reliability import (
    MAX_CONCURRENT_RESTORES,
    Row,
    scenarios,
    summarise,
    table,
)


@pytest.mark.parametrize(
    ("figures", "needle"),
    [
        ({"lost": 1}, "lost"),
        ({"wrong_source": 2}, "wrong source"),
        ({"files_clobbered": 1}, "clobbered"),
        ({"leftovers": 3}, "left behind"),
        ({"failures": 2, "failures_visible": 1}, "not visible"),
        ({"peak_tasks": MAX_CONCURRENT_RESTORES + 1}, "DataSync tasks at once"),
        ({"stream_backlog": 4}, "stuck in the stream"),
    ],
)
def test_each_broken_invariant_is_reported(
    figures: dict[str, int], needle: str
) -> None:
    row = Row("broken", **figures)  # type: ignore[arg-type]
    summarise(row, {"tasks": ["t"] if figures.get("leftovers") else []})
    assert not row.ok
    assert any(needle in problem for problem in row.problems), row.problems
    assert "| NO |" in table([row])


def test_a_clean_row_has_no_problem_and_reads_yes() -> None:
    row = Row("clean", events_sent=8, restores_expected=2, restores_done=2)
    summarise(row, {"tasks": [], "locations": [], "access_points": []})
    assert row.ok
    assert "| 8 | 2/2 | 0 | 0 | 0 | 0 |" in table([row])


def test_small_run_covers_every_fault_of_the_issue() -> None:
    names = " ".join(s.name for s in scenarios(full=False, load=16))
    for needle in (
        "sagemaker", "datasync calls", "dynamodb", "StartExecution", "ERROR", "never ends",
        "crashes", "poison", "cloudtrail", "profile deleted", "domain deleted", "load 16",
    ):  # fmt: skip
        assert needle in names
