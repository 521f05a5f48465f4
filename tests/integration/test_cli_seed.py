"""`studio-recovery seed`: invoke the seeder Lambda (moto cannot run it: a stubbed client)."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import boto3
import pytest
from botocore.response import StreamingBody
from botocore.stub import Stubber
from studio_recovery.cli.exit_codes import ExitCode

if TYPE_CHECKING:
    from tests.integration.cli_fixtures import RunCli

pytest_plugins = ("tests.integration.cli_fixtures",)

FUNCTION = "studio-recovery-seeder"
COUNTS = {
    "action": "seed",
    "domains": 2,
    "users": 5,
    "spaces": 1,
    "recorded": 4,
    "skipped": 2,
    "skipped_reasons": {"already recorded": 2},
    "skipped_examples": ["demo/user/alice: already recorded"],
}


def _body(payload: Any) -> StreamingBody:
    raw = json.dumps(payload).encode()
    return StreamingBody(io.BytesIO(raw), len(raw))


@pytest.fixture
def lambda_stub(
    aws_env: dict[str, str], stub_client: Callable[[str, Any], None]
) -> Stubber:
    client = boto3.client("lambda", region_name="us-east-1")
    stubber = Stubber(client)
    stubber.activate()
    stub_client("lambda", client)
    return stubber


def test_seed_wait_shows_the_counts(run_cli: RunCli, lambda_stub: Stubber) -> None:
    lambda_stub.add_response(
        "invoke",
        {"StatusCode": 200, "Payload": _body(COUNTS)},
        {"FunctionName": FUNCTION, "Payload": b'{"action": "seed"}'},
    )

    result = run_cli(
        "--region", "us-east-1", "--seeder-function", FUNCTION, "seed", "--wait"
    )

    assert result.code == ExitCode.OK, result.err
    assert "Seeding done" in result.out
    lines = result.out.splitlines()
    assert any("users" in line and "5" in line for line in lines)
    assert any("skipped: already recorded" in line and "2" in line for line in lines)
    assert "demo/user/alice: already recorded" in result.out
    lambda_stub.assert_no_pending_responses()


def test_seed_wait_json(run_cli: RunCli, lambda_stub: Stubber, tf_output: Any) -> None:
    lambda_stub.add_response("invoke", {"StatusCode": 200, "Payload": _body(COUNTS)})
    outputs = tf_output({"seeder_function_name": FUNCTION})

    result = run_cli(
        "--region", "us-east-1", "--tf-output", str(outputs), "seed", "--wait", "--json"
    )

    assert result.code == ExitCode.OK
    assert result.json() == {"function": FUNCTION, "counts": COUNTS}


def test_seed_without_wait_starts_it_asynchronously(
    run_cli: RunCli, lambda_stub: Stubber
) -> None:
    lambda_stub.add_response(
        "invoke",
        {"StatusCode": 202, "Payload": _body("")},
        {
            "FunctionName": FUNCTION,
            "InvocationType": "Event",
            "Payload": b'{"action": "seed"}',
        },
    )

    result = run_cli("--region", "us-east-1", "--seeder-function", FUNCTION, "seed")

    assert result.code == ExitCode.OK
    assert "Seeding started" in result.out
    lambda_stub.assert_no_pending_responses()


def test_seeder_failure_is_reported_in_one_line(
    run_cli: RunCli, lambda_stub: Stubber
) -> None:
    error = {"errorType": "TransientAwsError", "errorMessage": "ListDomains: throttled"}
    lambda_stub.add_response(
        "invoke",
        {"StatusCode": 200, "FunctionError": "Unhandled", "Payload": _body(error)},
    )

    result = run_cli(
        "--region", "us-east-1", "--seeder-function", FUNCTION, "seed", "--wait"
    )

    assert result.code == ExitCode.AWS_ERROR
    assert "TransientAwsError: ListDomains: throttled" in result.err
    assert result.err.count("\n") == 1


def test_seed_errors(run_cli: RunCli, lambda_stub: Stubber) -> None:
    lambda_stub.add_client_error(
        "invoke",
        "AccessDeniedException",
        "User: arn:aws:iam::123456789012:user/admin is not authorized to perform: "
        "lambda:InvokeFunction on resource: seeder",
        http_status_code=403,
    )
    lambda_stub.add_client_error(
        "invoke", "ResourceNotFoundException", "Function not found: seeder", 404
    )
    args = ["--region", "us-east-1", "--seeder-function", FUNCTION, "seed", "--wait"]

    denied = run_cli(*args)
    missing = run_cli(*args)
    no_name = run_cli("--region", "us-east-1", "seed")

    assert denied.code == ExitCode.ACCESS_DENIED
    assert "lambda:InvokeFunction" in denied.err
    assert missing.code == ExitCode.NOT_FOUND
    assert no_name.code == ExitCode.USAGE
    assert "--seeder-function" in no_name.err


def test_seed_unreachable(run_cli: RunCli, unreachable: list[str]) -> None:
    result = run_cli(*unreachable, "--seeder-function", FUNCTION, "seed")

    assert result.code == ExitCode.UNREACHABLE
