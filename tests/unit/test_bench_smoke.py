"""The benchmark's report code (bench/report.py, bench/prices.py, bench/probes.py) on a
fake result set: the table, the goal markers, the JSON, the cost model."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from bench import prices, probes
from bench.report import (
    GOAL_MISSED,
    Goal,
    Results,
    Row,
    render_markdown,
    summary,
    write_json,
)


def fake_results() -> Results:
    results = Results(meta={"command": "make bench"})
    results.add(
        Row("1 seeding", "seed 5,000", 12.0, 240.0, "s", Goal("higher", 10, ">= 10x"))
    )
    results.add(
        Row("1 seeding", "seed slow", 60.0, 240.0, "s", Goal("higher", 10, ">= 10x"))
    )
    results.add(
        Row("2 mass", "refusals", 0, 200, "", Goal("max", 0, "0"), ratio_kind="none")
    )
    results.add(
        Row("4 cold", "import event", 900.0, 800.0, "ms", ratio_kind="ours/baseline")
    )
    results.add(Row("5 deploy", "apply", 80.0, None, "s", ratio_kind="none"))
    return results


def test_ratio_is_how_many_times_better_ours_is() -> None:
    # given / when
    rows = fake_results().rows
    # then
    assert rows[0].ratio == pytest.approx(20.0)
    assert rows[1].ratio == pytest.approx(4.0)
    assert rows[2].ratio is None
    assert rows[3].ratio == pytest.approx(900 / 800)
    assert Row("x", "y", 0.0, 5.0).ratio == math.inf


def test_a_missed_goal_is_marked_in_the_table_and_the_summary() -> None:
    # given
    results = fake_results()
    # when
    table = render_markdown(results.rows)
    text = summary(results)
    # then
    lines = table.splitlines()
    assert lines[0].startswith("| Section")
    assert len(lines) == 2 + len(results.rows)
    assert "20.0x" in lines[2] and lines[2].rstrip(" |").endswith("ok")
    assert GOAL_MISSED in lines[3] and "4.0x" in lines[3]
    assert "| 12 s " in lines[2] and "| 240 s " in lines[2]
    assert text.startswith("2/3 goals met") and "1 seeding/seed slow" in text


def test_a_row_without_its_figure_is_not_judged() -> None:
    row = Row("x", "y", None, 3.0, goal=Goal("max", 0, "0"))
    assert row.status == "not measured"


def test_json_holds_rows_ratios_statuses_and_missed_goals(tmp_path: Path) -> None:
    # given
    results = fake_results()
    results.rows.append(Row("x", "free", 0.0, 5.0))  # infinite ratio
    # when
    data = json.loads(write_json(results, tmp_path / "results.json").read_text())
    # then
    assert data["goals_missed"] == ["1 seeding/seed slow"]
    assert [r["status"] for r in data["rows"][:3]] == ["ok", GOAL_MISSED, "ok"]
    assert data["rows"][0]["ratio"] == pytest.approx(20.0)
    assert data["rows"][-1]["ratio"] is None
    assert data["meta"]["command"] == "make bench"


def test_original_sample_cost_follows_its_workflow_structure() -> None:
    # given a 1 GB restore, 60 s transfer, Studio opened after one hour
    cost = prices.original_sample_cost(
        transfer_s=60, gb=1.0, lambda_seconds_per_invocation=0
    )
    # then: 12 ListApps polls x 3 + 4 DataSync set-up tasks + 2 polls x 3 + 2 writes + end
    assert cost.transitions == 36 + 4 + 6 + 2 + 1
    assert cost.sagemaker_calls == 2 + 12
    assert cost.datasync_calls == 4 + 2
    expected = 49 * 0.025 / 1000 + 2 * 0.2 / 1e6 + 0.0125 + 4 * 1.25 / 1e6
    assert cost.dollars() == pytest.approx(expected)


def test_dynamodb_units_count_writes_and_reads_by_operation() -> None:
    counts = {"dynamodb:PutItem": 2, "dynamodb:TransactWriteItems": 1, "dynamodb:GetItem": 3,
              "sagemaker:DescribeDomain": 5, "dynamodb:DescribeTable": 1}  # fmt: skip
    assert prices.dynamodb_units(counts) == (2 + 4, 3)


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        (
            {
                "HTTP_AUTHORIZATION": "AWS4-HMAC-SHA256 Credential=testing/20261128/us-east-1/"
                "datasync/aws4_request, SignedHeaders=host",
                "HTTP_X_AMZ_TARGET": "FmrsService.CreateTask",
            },
            ("datasync", "CreateTask"),
        ),
        (
            {
                "HTTP_AUTHORIZATION": "AWS4-HMAC-SHA256 Credential=testing/20261128/us-east-1/"
                "lambda/aws4_request",
                "PATH_INFO": "/2015-03-31/functions/f/invocations",
                "REQUEST_METHOD": "POST",
            },
            ("lambda", "Invoke"),
        ),
        (
            {"QUERY_STRING": "Action=DescribeSubnets&Version=1"},
            ("unsigned", "DescribeSubnets"),
        ),
    ],
)
def test_requests_are_classified_by_service_and_operation(
    environ: dict[str, str], expected: tuple[str, str]
) -> None:
    assert probes.classify(environ) == expected


def test_workflow_dollars_are_the_bill_without_the_copy() -> None:
    cost = prices.original_sample_cost(
        transfer_s=60, gb=1.0, lambda_seconds_per_invocation=0
    )
    assert cost.workflow_dollars() == pytest.approx(cost.dollars() - 0.0125)
    assert cost.workflow_dollars() == pytest.approx(
        49 * 0.025 / 1000 + 2 * 0.2 / 1e6 + 4 * 1.25 / 1e6
    )
