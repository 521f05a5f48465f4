"""The small reliability run (`make test`): every scenario, every invariant.

Given the module on the sandbox, when each scenario's faults are on while its profiles and
spaces are deleted and recreated, then every eligible one is restored exactly once from the
right directory, nothing the new owner wrote is touched, nothing is left behind or stuck,
the task quota holds, and every failure is visible. The full run is `make reliability`.
"""

from __future__ import annotations

import pytest
from studio_sandbox.harness.reliability import (
    MAX_CONCURRENT_RESTORES,
    Env,
    Row,
    run_scenario,
    scenarios,
    table,
)

SMALL = scenarios(full=False, load=16)
ROWS: list[Row] = []


@pytest.mark.parametrize(
    ("index", "name"),
    [(i, s.name) for i, s in enumerate(SMALL)],
    ids=[s.name for s in SMALL],
)
def test_scenario_keeps_every_invariant(env: Env, index: int, name: str) -> None:
    scenario = SMALL[index]
    row = run_scenario(env, scenario, index)
    ROWS.append(row)
    print("\n" + table([row]))
    assert row.events_sent > 0, "no CloudTrail event reached the bus"
    if scenario.injects:
        assert row.faults_fired > 0, "the scenario's faults never fired"
    if scenario.expect == "restore":
        assert row.restores_done == row.restores_expected == scenario.profiles, (
            row.problems
        )
    if scenario.expect == "fail":
        assert row.restores_done == 0, row.problems
        assert row.failures >= scenario.profiles, row.problems
    assert row.lost == 0, row.problems
    assert row.duplicated == 0, row.problems
    assert row.wrong_source == 0, row.problems
    assert row.files_clobbered == 0, row.problems
    assert row.leftovers == 0, row.problems
    assert row.stream_backlog == 0, row.problems
    assert row.peak_tasks <= MAX_CONCURRENT_RESTORES
    assert row.failures_visible == row.failures, row.problems
    assert row.problems == []
