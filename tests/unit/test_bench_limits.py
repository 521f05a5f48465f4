"""The bench's arithmetic for the rate-limit bound and the apply's per-resource times."""

from __future__ import annotations

import json

import pytest
from studio_sandbox.sagemaker.throttle import Rate

from bench.apply_profile import first_start_seconds, parse_apply_log, resource_type
from bench.demo_time import apply_seconds
from bench.report import Goal, Row
from bench.throttled_seeding import bound_seconds


def test_the_bound_is_the_slowest_operation_at_its_own_rate() -> None:
    rates = {
        "DescribeUserProfile": Rate(20, 20),
        "DescribeSpace": Rate(20, 20),
        "*": Rate(10),
    }
    calls = {"DescribeUserProfile": 2520, "DescribeSpace": 1020, "ListSpaces": 30}
    # (2520 - 20 saved) / 20 per second; the others drain side by side, faster.
    assert bound_seconds(calls, rates) == pytest.approx(125.0)
    assert bound_seconds({"ListDomains": 5}, rates) == 0.0  # within the burst


def test_a_min_goal_needs_ours_at_least_the_value() -> None:
    goal = Goal("min", 0.9, ">= 90%")
    assert Row("s", "m", 0.95, 0.5, goal=goal).status == "ok"
    assert Row("s", "m", 0.85, 0.5, goal=goal).status == "GOAL MISSED"


def _message(kind: str, address: str, at: str) -> str:
    hook = {"resource": {"addr": address}, "action": "create"}
    return json.dumps({"type": kind, "hook": hook, "@timestamp": at})


def test_apply_log_gives_each_resource_its_time_slowest_first() -> None:
    lines = [
        json.dumps({"type": "version", "@timestamp": "2026-12-03T10:00:00.000000Z"}),
        _message("apply_start", "aws_vpc.this", "2026-12-03T10:00:04.000000Z"),
        _message(
            "apply_start", "module.m.aws_sqs_queue.this[0]", "2026-12-03T10:00:05.0Z"
        ),
        _message("apply_complete", "aws_vpc.this", "2026-12-03T10:00:06.000000Z"),
        _message(
            "apply_complete", "module.m.aws_sqs_queue.this[0]", "2026-12-03T10:00:30.0Z"
        ),
        "not json",
    ]
    spans = parse_apply_log(lines)
    assert [(s.address, s.seconds) for s in spans] == [
        ("module.m.aws_sqs_queue.this[0]", 25.0),
        ("aws_vpc.this", 2.0),
    ]
    assert first_start_seconds(lines) == pytest.approx(4.0)
    assert resource_type(spans[0].address) == "aws_sqs_queue"


def test_the_demo_apply_time_is_read_from_the_demo_output() -> None:
    output = (
        "[   1.4s] terraform apply of the real module (examples/sandbox)\n"
        "          163 resources\n          done in 102.0 s\n"
        "[ 105.8s] Scenario 1\n          done in 3.0 s\n"
    )
    assert apply_seconds(output) == 102.0
    assert apply_seconds("DEMO FAILED") is None
