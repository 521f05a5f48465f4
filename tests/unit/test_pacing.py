"""The per-operation pacer: no wait until throttled, then the admitted rate, rising slowly."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest
from botocore.session import get_session
from studio_recovery.dal.pacing import DECREASE, INCREASE_PER_SECOND, Pacer


@dataclass
class HTTP:
    status_code: int
    headers: dict[str, str] = field(default_factory=dict)


class FakeTime:
    def __init__(self) -> None:
        self.now = 100.0
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


@pytest.fixture
def fake() -> FakeTime:
    return FakeTime()


def test_an_operation_never_throttled_is_never_paced(fake: FakeTime) -> None:
    pacer = Pacer(fake.clock, fake.sleep)
    for _ in range(100):
        pacer.before_attempt("DescribeSpace")
        pacer.after_attempt("DescribeSpace", throttled=False)
    assert fake.slept == []
    assert pacer.rate("DescribeSpace") is None


def test_a_throttle_sets_the_pace_to_the_rate_admitted_over_the_last_second(
    fake: FakeTime,
) -> None:
    pacer = Pacer(fake.clock, fake.sleep)
    for _ in range(20):  # 20 admitted within the last second
        pacer.after_attempt("DescribeUserProfile", throttled=False)
        fake.now += 0.04
    pacer.after_attempt("DescribeUserProfile", throttled=True)
    assert pacer.rate("DescribeUserProfile") == pytest.approx(20)
    assert pacer.rate("DescribeSpace") is None  # each operation has its own pace
    for _ in range(10):
        pacer.before_attempt("DescribeUserProfile")
    spacing = fake.slept[-1]
    assert spacing == pytest.approx(1 / 20)


def test_a_throttle_lowers_the_pace_by_a_bounded_step(fake: FakeTime) -> None:
    pacer = Pacer(fake.clock, fake.sleep)
    for _ in range(30):
        pacer.after_attempt("Op", throttled=False)
    pacer.after_attempt("Op", throttled=True)
    fake.now += 5  # nothing admitted in the last second
    pacer.after_attempt("Op", throttled=True)
    assert pacer.rate("Op") == pytest.approx(30 * (1 - DECREASE))


def test_the_pace_rises_after_each_second_without_throttling(fake: FakeTime) -> None:
    pacer = Pacer(fake.clock, fake.sleep)
    for _ in range(10):
        pacer.after_attempt("Op", throttled=False)
    pacer.after_attempt("Op", throttled=True)
    fake.now += 1.0
    pacer.before_attempt("Op")
    assert pacer.rate("Op") == pytest.approx(10 * (1 + INCREASE_PER_SECOND))


def test_attached_to_a_client_it_hears_each_attempt_and_its_throttle(
    fake: FakeTime,
) -> None:
    client = get_session().create_client(
        "sagemaker", region_name="us-east-1", aws_access_key_id="a",
        aws_secret_access_key="b",
    )  # fmt: skip
    pacer = Pacer(fake.clock, fake.sleep)
    assert pacer.attach(client) is client
    operation = client.meta.service_model.operation_model("DescribeSpace")
    events = client.meta.events
    for _ in range(5):
        events.emit(
            "needs-retry.sagemaker.DescribeSpace",
            response=(HTTP(200), {"ResponseMetadata": {"HTTPStatusCode": 200}}),
            operation=operation,
            attempts=1,
            caught_exception=None,
            request_dict={"context": {}},
        )
    events.emit(
        "needs-retry.sagemaker.DescribeSpace",
        response=(HTTP(400), {"Error": {"Code": "ThrottlingException"}}),
        operation=operation,
        attempts=1,
        caught_exception=None,
        request_dict={"context": {}},
    )
    assert pacer.rate("DescribeSpace") == pytest.approx(5)

    request = HTTP(0, {"X-Amz-Target": "SageMaker.DescribeSpace"})
    for _ in range(3):
        events.emit("before-send.sagemaker.DescribeSpace", request=request)
    assert fake.slept == pytest.approx([0.2, 0.2, 0.2])
