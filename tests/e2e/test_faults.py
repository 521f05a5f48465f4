"""The fault-injection layer: AWS errors in each service's wire format, rules that expire.

Given a running sandbox, when a rule is injected, then boto3 raises exactly the error code
and HTTP status a real service would send, only for the operation named, and only while
the rule is in force. No Terraform is needed here.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from studio_sandbox import faults
from studio_sandbox.datasync import models as datasync_models
from studio_sandbox.server.app import Sandbox

NO_RETRY = Config(retries={"total_max_attempts": 1, "mode": "standard"})


def client(sandbox: Sandbox, service: str) -> Any:
    return boto3.client(service, endpoint_url=sandbox.endpoint_url, config=NO_RETRY)


def error_of(call: Any, **kwargs: Any) -> tuple[str, int]:
    with pytest.raises(ClientError) as caught:
        call(**kwargs)
    response = caught.value.response
    return response["Error"]["Code"], response["ResponseMetadata"]["HTTPStatusCode"]


def http(sandbox: Sandbox, method: str, path: str, body: Any = None) -> tuple[int, Any]:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(
        sandbox.endpoint_url + path, data=data, method=method
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as reply:
            return reply.status, json.loads(reply.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


@pytest.mark.parametrize(
    ("service", "operation", "code", "status", "call", "kwargs"),
    [
        ("datasync", "CreateTask", "ThrottlingException", 400, "create_task",
         {"SourceLocationArn": "arn:aws:datasync:us-east-1:123456789012:location/loc-1",
          "DestinationLocationArn": "arn:aws:datasync:us-east-1:123456789012:location/loc-2"}),
        ("dynamodb", "PutItem", "ProvisionedThroughputExceededException", 400, "put_item",
         {"TableName": "t", "Item": {"pk": {"S": "x"}}}),
        ("dynamodb", "UpdateItem", "ThrottlingException", 400, "update_item",
         {"TableName": "t", "Key": {"pk": {"S": "x"}}}),
        ("sagemaker", "DescribeDomain", "ThrottlingException", 400, "describe_domain",
         {"DomainId": "d-1"}),
        ("sagemaker", "ListApps", "InternalFailure", 500, "list_apps", {}),
        ("stepfunctions", "StartExecution", "ThrottlingException", 400, "start_execution",
         {"stateMachineArn": "arn:aws:states:us-east-1:123456789012:stateMachine:x"}),
        ("states", "DescribeExecution", "ServiceUnavailable", 503, "describe_execution",
         {"executionArn": "arn:aws:states:us-east-1:123456789012:execution:x:y"}),
        ("ec2", "DescribeSubnets", "RequestLimitExceeded", 503, "describe_subnets", {}),
        ("sns", "Publish", "Throttling", 400, "publish",
         {"TopicArn": "arn:aws:sns:us-east-1:123456789012:t", "Message": "m"}),
        ("sqs", "SendMessage", "ThrottlingException", 400, "send_message",
         {"QueueUrl": "http://127.0.0.1/123456789012/q", "MessageBody": "m"}),
        ("efs", "DescribeAccessPoints", "ThrottlingException", 429, "describe_access_points",
         {}),
        ("efs", "CreateAccessPoint", "InternalServerError", 500, "create_access_point",
         {"ClientToken": "t", "FileSystemId": "fs-1"}),
        ("lambda", "Invoke", "TooManyRequestsException", 429, "invoke",
         {"FunctionName": "f"}),
    ],
)  # fmt: skip
def test_error_reaches_boto3_with_the_real_code_and_status(
    sandbox: Sandbox,
    service: str,
    operation: str,
    code: str,
    status: int,
    call: str,
    kwargs: dict[str, Any],
) -> None:
    faults.inject(service, operation, error_code=code, http_status=status)
    boto_name = faults.canonical_service(service)

    got = error_of(getattr(client(sandbox, boto_name), call), **kwargs)

    assert got == (code, status)


def test_other_operations_of_the_service_are_untouched(sandbox: Sandbox) -> None:
    faults.inject("datasync", "CreateLocationEfs", error_code="ThrottlingException")
    ds = client(sandbox, "datasync")

    assert "Tasks" in ds.list_tasks()
    assert error_of(
        ds.create_location_efs,
        EfsFilesystemArn="arn:aws:elasticfilesystem:us-east-1:123456789012:file-system/fs-1",
        Ec2Config={"SubnetArn": "arn:aws:ec2:us-east-1:123456789012:subnet/s", "SecurityGroupArns": ["arn:aws:ec2:us-east-1:123456789012:security-group/sg"]},
    ) == ("ThrottlingException", 400)  # fmt: skip


def test_count_limits_the_failures_then_the_rule_is_gone(sandbox: Sandbox) -> None:
    rule = faults.inject(
        "sagemaker", "ListDomains", error_code="ThrottlingException", count=2
    )
    sm = client(sandbox, "sagemaker")

    assert error_of(sm.list_domains)[0] == "ThrottlingException"
    assert error_of(sm.list_domains)[0] == "ThrottlingException"
    assert "Domains" in sm.list_domains()
    assert rule not in [r["id"] for r in faults.active()]


def test_duration_expires_the_rule(sandbox: Sandbox) -> None:
    faults.inject("sagemaker", error_code="ThrottlingException", duration_s=0.5)
    sm = client(sandbox, "sagemaker")

    assert error_of(sm.list_domains)[0] == "ThrottlingException"
    time.sleep(0.6)
    assert "Domains" in sm.list_domains()
    assert faults.active() == []


def test_latency_only_rule_delays_and_succeeds(sandbox: Sandbox) -> None:
    faults.inject("datasync", "ListTasks", latency_ms=300)
    started = time.monotonic()

    reply = client(sandbox, "datasync").list_tasks()

    assert "Tasks" in reply
    assert time.monotonic() - started >= 0.3


def test_rate_draws_are_repeatable_with_a_seed(sandbox: Sandbox) -> None:
    def outcomes() -> list[bool]:
        faults.clear()
        faults.seed(7)
        faults.inject(
            "sagemaker", "ListDomains", error_code="ThrottlingException", rate=0.5
        )
        sm = client(sandbox, "sagemaker")
        results = []
        for _ in range(20):
            try:
                sm.list_domains()
                results.append(True)
            except ClientError:
                results.append(False)
        return results

    first, second = outcomes(), outcomes()

    assert first == second
    assert 0 < first.count(False) < 20


def test_count_is_exact_under_concurrent_requests(sandbox: Sandbox) -> None:
    faults.inject(
        "sagemaker", "ListDomains", error_code="ThrottlingException", count=10
    )
    failures: list[int] = []
    lock = threading.Lock()

    def worker() -> None:
        sm = client(sandbox, "sagemaker")
        for _ in range(10):
            try:
                sm.list_domains()
            except ClientError:
                with lock:
                    failures.append(1)

    threads = [threading.Thread(target=worker) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(failures) == 10


def test_remove_and_clear(sandbox: Sandbox) -> None:
    first = faults.inject("sagemaker", "ListDomains", error_code="ThrottlingException")
    faults.inject("datasync", "ListTasks", error_code="ThrottlingException")

    assert faults.remove(first) is True
    assert faults.remove(first) is False
    assert "Domains" in client(sandbox, "sagemaker").list_domains()
    assert faults.clear() == 1
    assert "Tasks" in client(sandbox, "datasync").list_tasks()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"service": "nosuch", "error_code": "X"}, "unknown service"),
        (
            {"service": "datasync", "operation": "Nope", "error_code": "X"},
            "no operation",
        ),
        ({"service": "datasync", "error_code": "X", "rate": 0}, "rate"),
        ({"service": "datasync", "error_code": "X", "http_status": 200}, "http_status"),
        ({"service": "datasync"}, "error_code"),
        ({"service": "datasync", "error_code": "X", "count": 0}, "count"),
    ],
)
def test_bad_rules_are_refused_with_a_clear_message(
    kwargs: dict[str, Any], message: str
) -> None:
    service = kwargs.pop("service")
    with pytest.raises(faults.FaultError, match=message):
        faults.inject(service, **kwargs)
    assert faults.active() == []


def test_http_routes_inject_list_and_clear(sandbox: Sandbox) -> None:
    status, reply = http(
        sandbox, "POST", "/_sandbox/faults",
        {"service": "datasync", "operation": "ListTasks", "error_code": "ThrottlingException"},
    )  # fmt: skip
    assert status == 200
    rule = reply["id"]
    assert error_of(client(sandbox, "datasync").list_tasks) == (
        "ThrottlingException",
        400,
    )

    status, listed = http(sandbox, "GET", "/_sandbox/faults")
    assert status == 200
    assert [(r["id"], r["fired"]) for r in listed["rules"]] == [(rule, 1)]

    assert http(sandbox, "DELETE", "/_sandbox/faults") == (200, {"cleared": 1})
    assert "Tasks" in client(sandbox, "datasync").list_tasks()


def test_http_routes_refuse_bad_input(sandbox: Sandbox) -> None:
    status, reply = http(
        sandbox, "POST", "/_sandbox/faults", {"service": "datasync", "x": 1}
    )
    assert status == 400
    assert "unknown" in reply["message"]
    assert http(sandbox, "DELETE", "/_sandbox/faults/fault-nope")[0] == 404


def test_http_route_sets_datasync_execution_faults(sandbox: Sandbox) -> None:
    status, reply = http(
        sandbox,
        "POST",
        "/_sandbox/faults/datasync",
        {"error": ["Boom", "disk on fire"]},
    )

    assert status == 200
    assert reply["error"] == ["Boom", "disk on fire"]
    assert datasync_models.faults.error == ("Boom", "disk on fire")
