"""The sandbox's SageMaker rate limit answers ThrottlingException as SageMaker does."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from moto import mock_aws

from studio_sandbox.sagemaker import responses as sagemaker_responses
from studio_sandbox.sagemaker import throttle
from studio_sandbox.sagemaker.throttle import Limiter, Rate, parse_rates

NO_RETRIES = Config(retries={"mode": "standard", "total_max_attempts": 1})


@pytest.fixture
def sagemaker(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(key, "testing")
    monkeypatch.delenv(throttle.ENVIRONMENT_VARIABLE, raising=False)
    sagemaker_responses.patch()
    try:
        with mock_aws():
            yield boto3.client("sagemaker", region_name="us-east-1", config=NO_RETRIES)
    finally:
        sagemaker_responses.unpatch()


def test_calls_over_the_burst_are_throttled_with_sagemakers_error(sagemaker: Any) -> None:
    throttle.configure({"ListDomains": Rate(per_second=0.001, burst=3)})
    for _ in range(3):
        sagemaker.list_domains()
    with pytest.raises(ClientError) as info:
        sagemaker.list_domains()
    error = info.value.response["Error"]
    assert (error["Code"], error["Message"]) == ("ThrottlingException", "Rate exceeded")
    assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert throttle.LIMITER.throttled["ListDomains"] == 1


def test_each_operation_has_its_own_bucket(sagemaker: Any) -> None:
    throttle.configure({"ListDomains": Rate(per_second=0.001, burst=1)})
    sagemaker.list_domains()
    for _ in range(5):
        sagemaker.list_user_profiles()  # no rate set for it: never throttled
    with pytest.raises(ClientError):
        sagemaker.list_domains()


def test_botocore_retries_a_throttled_call_until_it_passes(sagemaker: Any) -> None:
    throttle.configure({"ListDomains": Rate(per_second=20, burst=1)})
    retrying = boto3.client(
        "sagemaker", region_name="us-east-1",
        config=Config(retries={"mode": "standard", "max_attempts": 10}),
    )  # fmt: skip
    for _ in range(4):
        retrying.list_domains()  # botocore classes ThrottlingException as retryable
    assert throttle.LIMITER.allowed["ListDomains"] == 4


def test_no_limit_once_unconfigured(sagemaker: Any) -> None:
    throttle.configure({"ListDomains": Rate(per_second=0.001, burst=1)})
    throttle.configure(None)
    for _ in range(5):
        sagemaker.list_domains()


def test_bucket_refills_at_its_rate_and_holds_at_most_its_burst() -> None:
    now = [0.0]
    limiter = Limiter(clock=lambda: now[0])
    limiter.configure({"*": Rate(per_second=10, burst=2)})
    assert [limiter.admit("X") for _ in range(3)] == [True, True, False]
    now[0] += 0.1  # one token
    assert [limiter.admit("X") for _ in range(2)] == [True, False]
    now[0] += 100  # refills to the burst, no more
    assert [limiter.admit("X") for _ in range(3)] == [True, True, False]
    assert limiter.admit("X", account="other")  # another account, another bucket


def test_rates_parse_from_the_environment_form() -> None:
    assert parse_rates("") == {}
    assert parse_rates("default") == throttle.DEFAULT_RATES
    assert parse_rates("DescribeSpace=20:40, *=5") == {
        "DescribeSpace": Rate(20, 40),
        "*": Rate(5, 0),
    }
    with pytest.raises(ValueError, match="is not op=rate"):
        parse_rates("DescribeSpace")
    with pytest.raises(ValueError, match="must be positive"):
        parse_rates("DescribeSpace=0")


def test_the_environment_sets_the_rates_at_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(throttle.ENVIRONMENT_VARIABLE, "ListSpaces=3")
    sagemaker_responses.patch()
    try:
        assert throttle.LIMITER.rates == {"ListSpaces": Rate(3, 0)}
    finally:
        sagemaker_responses.unpatch()
    assert throttle.LIMITER.rates == {}
