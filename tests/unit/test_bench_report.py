"""The page `make bench` writes (docs/performance.md, bench/report.py): every measured
figure, its baseline, its goal and its status, the run that measured them, the fixed text."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from bench import report
from bench.report import (
    DOC_HEAD,
    DOC_RATIO,
    DOC_TAIL,
    GOAL_MISSED,
    fmt,
    results_from_json,
    write_document,
    write_json,
)

ROOT = Path(__file__).resolve().parents[2]

RESULTS: dict[str, Any] = {
    "meta": {
        "command": "python -m bench.run --zip build/lambda.zip",
        "started_at": "2026-12-01T09:30:00+00:00",
        "python": "3.11.7",
        "machine": "x86_64, 2 CPUs",
        "total_seconds": 512.3,
        "part_seconds": {"coldstart": 60.2, "seeding": 90.0, "deploy+restore": 362.1},
    },
    "rows": [
        {
            "section": "1 seeding",
            "metric": "seed 5,000 profiles+spaces",
            "ours": 41.7,
            "baseline": 187.0,
            "unit": "s",
            "goal": {"direction": "higher", "value": 10, "text": ">= 10x faster"},
            "note": "10 domains x 500",
            "ratio_kind": "baseline/ours",
        },
        {
            "section": "2 mass restore",
            "metric": "CreateTask quota refusals",
            "ours": 0,
            "baseline": 200,
            "unit": "",
            "goal": {"direction": "max", "value": 0, "text": "0"},
            "note": "",
            "ratio_kind": "none",
        },
        {
            "section": "3 cost per restore",
            "metric": "workflow dollars per restore (all but DataSync)",
            "ours": 0.000241,
            "baseline": 0.001232,
            "unit": "$",
            "goal": {
                "direction": "max",
                "value": 0.001232,
                "text": "cheaper than the original",
            },
            "note": "",
            "ratio_kind": "baseline/ours",
        },
        {
            "section": "4 cold start",
            "metric": "build/lambda.zip size",
            "ours": 73.9,
            "baseline": 200.0,
            "unit": "KiB",
            "goal": {"direction": "max", "value": 200.0, "text": "<= 200 KiB"},
            "note": "",
            "ratio_kind": "ours/baseline",
        },
        {
            "section": "5 deploy",
            "metric": "terraform apply (examples/sandbox)",
            "ours": 97.0,
            "baseline": None,
            "unit": "s",
            "goal": None,
            "note": "132 resources",
            "ratio_kind": "none",
        },
    ],
    "details": {},
    "errors": [],
}


def table_line(page: str, metric: str) -> list[str]:
    """The cells of the table row whose Measure starts with `metric`."""
    for line in page.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if line.startswith("|") and len(cells) == 7 and cells[1].startswith(metric):
            return cells
    raise AssertionError(f"no table row for {metric!r}")


def test_the_page_holds_every_figure_its_baseline_and_its_goal(tmp_path: Path) -> None:
    # given
    results = results_from_json(RESULTS)
    # when
    page = write_document(results, tmp_path / "docs" / "performance.md").read_text()
    # then
    for row in RESULTS["rows"]:
        cells = table_line(page, row["metric"])
        assert cells[0] == row["section"]
        assert cells[2] == fmt(row["ours"], row["unit"])
        assert cells[3] == fmt(row["baseline"], row["unit"])
        assert cells[5] == (row["goal"]["text"] if row["goal"] else "")
    assert table_line(page, "seed 5,000")[2:7] == [
        "41.7 s",
        "187 s",
        "4.5x",
        ">= 10x faster",
        GOAL_MISSED,
    ]
    assert table_line(page, "CreateTask quota refusals")[6] == "ok"
    assert table_line(page, "workflow dollars")[2:4] == ["$0.000241", "$0.001232"]
    assert table_line(page, "build/lambda.zip size")[4] == "0.4x"
    assert "3/4 goals met; GOAL MISSED: 1 seeding/seed 5,000 profiles+spaces" in page


def test_the_page_says_which_run_measured_it_between_the_fixed_texts(
    tmp_path: Path,
) -> None:
    # given
    results = results_from_json(RESULTS)
    # when
    page = write_document(results, tmp_path / "performance.md").read_text()
    # then
    flat = " ".join(page.split())
    assert page.startswith(DOC_HEAD)
    assert page.endswith(DOC_TAIL)
    assert DOC_RATIO in page
    assert "Measured by `python -m bench.run --zip build/lambda.zip`" in flat
    assert "started 2026-12-01T09:30:00+00:00 (Python 3.11.7, x86_64, 2 CPUs)" in flat
    assert "512 s in all" in flat and "seeding 90 s" in flat


def test_a_partial_run_names_the_run_its_other_sections_come_from(
    tmp_path: Path,
) -> None:
    # given: a full run on file, then a run of one part
    earlier = results_from_json(RESULTS)
    write_json(earlier, tmp_path / "results.json")
    partial = results_from_json(
        {
            "meta": {
                "command": "python -m bench.run --only deploy",
                "started_at": "T2",
            },
            "rows": [RESULTS["rows"][4] | {"ours": 88.0}],
        }
    )
    # when
    report.keep_other_sections(partial, tmp_path / "results.json")
    page = write_document(partial, tmp_path / "performance.md").read_text()
    # then
    flat = " ".join(page.split())
    assert table_line(page, "terraform apply")[2] == "88 s"
    assert table_line(page, "seed 5,000")[2] == "41.7 s"
    assert (
        "kept from the run started 2026-12-01T09:30:00+00:00 "
        "(`python -m bench.run --zip build/lambda.zip`, 512 s)"
    ) in flat


def test_the_rewrite_command_renders_a_results_file(tmp_path: Path) -> None:
    # given
    (tmp_path / "results.json").write_text(json.dumps(RESULTS))
    # when
    code = report.main(
        [
            "--results",
            str(tmp_path / "results.json"),
            "--doc",
            str(tmp_path / "p.md"),
        ]
    )
    # then
    assert code == 0
    assert table_line((tmp_path / "p.md").read_text(), "seed 5,000")[2] == "41.7 s"


def test_the_committed_page_is_in_the_format_the_bench_writes() -> None:
    page = (ROOT / "docs" / "performance.md").read_text()
    assert page.startswith(DOC_HEAD + "\n## Latest results\n")
    assert DOC_RATIO in page
    assert page.endswith(DOC_TAIL)
    assert "| Section" in page and "goals met" in page
