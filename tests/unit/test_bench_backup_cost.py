"""The backup cost model (bench/backup_cost.py) on figures worked out by hand, and a
partial bench run keeping the other sections of results.json (bench/report.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench import backup_cost
from bench.report import Goal, Results, Row, keep_other_sections, write_json

STANDARD = backup_cost.BackupAssumptions(storage_class="STANDARD")


def test_storage_counts_the_home_and_35_days_of_changed_versions() -> None:
    # given a 5 GB home, 2% rewritten daily, everything in S3 Standard
    # when
    cost = backup_cost.monthly_cost(STANDARD)
    # then (5 GB current + 0.1 GB x 35 days of earlier versions) x $0.023
    assert cost.storage == pytest.approx(8.5 * 0.023)


def test_requests_per_backup_are_one_head_per_object_and_a_put_per_changed_file() -> (
    None
):
    # given 20,480 files of 256 KiB and 2,048 directories
    assert (STANDARD.files, STANDARD.dirs) == (20_480, 2_048)
    # when
    cost = backup_cost.monthly_cost(STANDARD)
    # then 23 LIST + 409.6 PUT at $0.005/1000; 22,528 HEAD + 409.6 verify at $0.0004/1000
    per_backup = (23 + 409.6) * 0.005 / 1000 + (22_528 + 409.6) * 0.0004 / 1000
    assert cost.requests_per_backup["LIST"] == 23
    assert cost.requests == pytest.approx(30 * per_backup)
    assert cost.datasync == pytest.approx(30 * 0.1 * 0.0125)


def test_infrequent_access_trades_storage_for_dearer_heads() -> None:
    # given the module defaults (STANDARD_IA after 30 days) and the same home in STANDARD
    ia = backup_cost.monthly_cost(backup_cost.BackupAssumptions())
    standard = backup_cost.monthly_cost(STANDARD)
    # then the cold 4.9 GB cost less to keep, and every HEAD of them costs more
    assert standard.storage - ia.storage == pytest.approx(4.9 * (0.023 - 0.0125))
    heads = ia.requests_per_backup["HEAD_cold"]
    assert ia.requests - standard.requests == pytest.approx(
        30 * heads * (0.001 - 0.0004) / 1000
    )


def test_measured_figures_flow_into_the_month() -> None:
    # given two objects per changed file and a workflow of $0.0003 per backup
    a = backup_cost.BackupAssumptions(
        storage_class="STANDARD",
        objects_per_changed_file=2.0,
        workflow_dollars_per_backup=0.0003,
    )
    # when
    cost = backup_cost.monthly_cost(a)
    # then
    assert cost.requests_per_backup["PUT"] == pytest.approx(2 * 409.6)
    assert cost.workflow == pytest.approx(30 * 0.0003)
    assert cost.monthly == pytest.approx(
        cost.storage + cost.requests + cost.datasync + cost.workflow
    )


@pytest.mark.parametrize(
    ("change", "storage_class"), [(1.5, "STANDARD"), (0.02, "GLACIER")]
)
def test_bad_assumptions_are_refused(change: float, storage_class: str) -> None:
    a = backup_cost.BackupAssumptions(daily_change=change, storage_class=storage_class)
    with pytest.raises(ValueError, match="daily_change|storage class"):
        backup_cost.monthly_cost(a)


def test_a_partial_run_keeps_the_other_sections(tmp_path: Path) -> None:
    # given an earlier full run
    earlier = Results(meta={"started_at": "earlier", "part_seconds": {"seeding": 9.0}})
    earlier.add(Row("1 seeding", "seed", 1.0, 10.0, "s", Goal("higher", 5, ">= 5x")))
    earlier.add(Row("6 backup cost", "total", 0.9, None, "$", ratio_kind="none"))
    earlier.details["seeding"] = {"n": 1}
    path = write_json(earlier, tmp_path / "results.json")
    # when a backup-only run lands
    now = Results(meta={"part_seconds": {"backup": 3.0}})
    now.add(Row("6 backup cost", "total", 0.5, None, "$", ratio_kind="none"))
    keep_other_sections(now, path)
    # then
    by_section = {(r.section, r.ours) for r in now.rows}
    assert by_section == {("6 backup cost", 0.5), ("1 seeding", 1.0)}
    seeding = next(r for r in now.rows if r.section == "1 seeding")
    assert seeding.status == "ok" and seeding.goal == Goal("higher", 5, ">= 5x")
    assert now.details["seeding"] == {"n": 1}
    assert now.meta["part_seconds"] == {"backup": 3.0, "seeding": 9.0}
    assert json.loads(path.read_text())["meta"]["started_at"] == now.meta["kept_from"]
