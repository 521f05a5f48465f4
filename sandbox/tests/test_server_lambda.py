"""Lambda in the sandbox runs the deployed zip's handler, like the Invoke API reference says."""

from __future__ import annotations

import base64
import json

import pytest
from botocore.exceptions import ClientError

from sandbox.tests.helpers import SandboxClients
from studio_sandbox.server.app import Sandbox

HANDLER = """
import os

def handler(event, context):
    print("handling", event)
    if event.get("fail"):
        raise ValueError("asked to fail")
    return {
        "greeting": os.environ["GREETING"],
        "event": event,
        "function_name": context.function_name,
        "endpoint": os.environ["AWS_ENDPOINT_URL"],
        "remaining_ok": 0 < context.get_remaining_time_in_millis() <= 10000,
    }
"""


@pytest.fixture(scope="module")
def echo(aws: SandboxClients) -> str:
    return aws.function("echo", HANDLER, env={"GREETING": "hello"})


def test_sync_invoke_runs_the_handler_with_its_environment(aws: SandboxClients, echo: str) -> None:
    # when
    reply = aws.client("lambda").invoke(FunctionName="echo", Payload=json.dumps({"n": 1}))

    # then
    assert reply["StatusCode"] == 200
    assert "FunctionError" not in reply
    body = json.loads(reply["Payload"].read())
    assert body == {
        "greeting": "hello",
        "event": {"n": 1},
        "function_name": "echo",
        "endpoint": aws.endpoint_url,
        "remaining_ok": True,
    }


def test_handler_error_is_shaped_like_aws(aws: SandboxClients, echo: str) -> None:
    reply = aws.client("lambda").invoke(
        FunctionName=echo, Payload=json.dumps({"fail": True}), LogType="Tail"
    )

    assert reply["StatusCode"] == 200
    assert reply["FunctionError"] == "Unhandled"
    body = json.loads(reply["Payload"].read())
    assert body["errorType"] == "ValueError"
    assert body["errorMessage"] == "asked to fail"
    assert isinstance(body["stackTrace"], list) and body["stackTrace"]
    assert "asked to fail" in base64.b64decode(reply["LogResult"]).decode()


def test_logs_go_to_the_function_log_file(aws: SandboxClients, echo: str, sandbox: Sandbox) -> None:
    aws.client("lambda").invoke(FunctionName="echo", Payload=json.dumps({"marker": "m-42"}))

    log = (sandbox.data_dir / "logs" / "echo.log").read_text()
    assert "handling {'marker': 'm-42'}" in log


def test_payload_that_is_not_json_is_refused(aws: SandboxClients, echo: str) -> None:
    with pytest.raises(ClientError) as caught:
        aws.client("lambda").invoke(FunctionName="echo", Payload=b"{not json")

    assert caught.value.response["Error"]["Code"] == "InvalidRequestContentException"
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_unknown_function_is_not_found(aws: SandboxClients) -> None:
    with pytest.raises(ClientError) as caught:
        aws.client("lambda").invoke(FunctionName="nope", Payload=b"{}")

    assert caught.value.response["Error"]["Code"] == "ResourceNotFoundException"


def test_missing_module_fails_like_the_runtime(aws: SandboxClients) -> None:
    aws.function("badhandler", HANDLER, handler="app.missing.handler", env={"GREETING": "x"})

    reply = aws.client("lambda").invoke(FunctionName="badhandler", Payload=b"{}")

    assert reply["FunctionError"] == "Unhandled"
    body = json.loads(reply["Payload"].read())
    assert body["errorType"] == "Runtime.ImportModuleError"
    assert "app.missing" in body["errorMessage"]


def test_only_the_zip_is_importable_not_the_project_sources(
    aws: SandboxClients,
) -> None:
    # a function whose zip lacks studio_recovery cannot import it, as in AWS
    source = (
        "def handler(e, c):\n"
        "    try:\n"
        "        import studio_recovery\n"
        "    except ImportError:\n"
        "        return 'missing'\n"
        "    return 'found'\n"
    )
    aws.function("isolated", source)

    reply = aws.client("lambda").invoke(FunctionName="isolated", Payload=b"{}")

    assert json.loads(reply["Payload"].read()) == "missing"


def test_timeout_is_reported_like_aws(aws: SandboxClients) -> None:
    aws.function("sleepy", "import time\ndef handler(e, c):\n    time.sleep(5)\n", Timeout=1)

    reply = aws.client("lambda").invoke(FunctionName="sleepy", Payload=b"{}")

    assert reply["FunctionError"] == "Unhandled"
    body = json.loads(reply["Payload"].read())
    assert body["errorType"] == "Sandbox.Timedout"
    assert "Task timed out after 1.00 seconds" in body["errorMessage"]


def test_updated_environment_is_used_by_the_next_invoke(aws: SandboxClients) -> None:
    source = "import os\ndef handler(e, c):\n    return os.environ['COLOUR']\n"
    aws.function("colour", source, env={"COLOUR": "red"})
    lam = aws.client("lambda")
    assert json.loads(lam.invoke(FunctionName="colour")["Payload"].read()) == "red"

    lam.update_function_configuration(
        FunctionName="colour", Environment={"Variables": {"COLOUR": "blue"}}
    )

    assert json.loads(lam.invoke(FunctionName="colour")["Payload"].read()) == "blue"


def test_async_failure_goes_to_the_dead_letter_queue_after_two_retries(
    aws: SandboxClients, sandbox: Sandbox
) -> None:
    # given a function that counts its attempts in a file and always fails
    url, arn = aws.queue("async-dlq")
    source = (
        "import os\n"
        "def handler(e, c):\n"
        "    with open(os.environ['COUNTER'], 'a') as f:\n"
        "        f.write('x')\n"
        "    raise RuntimeError('always fails')\n"
    )
    counter = sandbox.data_dir / "attempts.txt"
    aws.function(
        "failing",
        source,
        env={"COUNTER": str(counter)},
        DeadLetterConfig={"TargetArn": arn},
    )

    # when
    reply = aws.client("lambda").invoke(
        FunctionName="failing",
        InvocationType="Event",
        Payload=json.dumps({"id": "e-1"}),
    )

    # then
    assert reply["StatusCode"] == 202
    messages = aws.drain(url, expected=1, timeout=20)
    assert len(messages) == 1
    assert json.loads(messages[0]["Body"]) == {"id": "e-1"}
    attributes = messages[0]["MessageAttributes"]
    assert attributes["ErrorMessage"]["StringValue"] == "always fails"
    assert attributes["ErrorCode"]["StringValue"] == "200"
    assert counter.read_text() == "xxx"  # the first attempt and two retries


def test_dead_letter_config_is_kept_on_the_function(aws: SandboxClients) -> None:
    _, arn = aws.queue("kept-dlq")
    aws.function(
        "withdlq",
        "def handler(e, c):\n    return 1\n",
        DeadLetterConfig={"TargetArn": arn},
    )

    config = aws.client("lambda").get_function_configuration(FunctionName="withdlq")

    assert config["DeadLetterConfig"] == {"TargetArn": arn}


def test_async_failure_goes_to_the_on_failure_destination(aws: SandboxClients) -> None:
    # given a failing function with no retries and an on-failure destination
    url, arn = aws.queue("on-failure")
    aws.function("failing-once", "def handler(e, c):\n    raise TypeError('bad input')\n")
    aws.client("lambda").put_function_event_invoke_config(
        FunctionName="failing-once",
        MaximumRetryAttempts=0,
        DestinationConfig={"OnFailure": {"Destination": arn}},
    )

    # when
    aws.client("lambda").invoke(
        FunctionName="failing-once",
        InvocationType="Event",
        Payload=json.dumps({"id": "e-2"}),
    )

    # then an invocation record arrives after the single attempt
    messages = aws.drain(url, expected=1)
    assert len(messages) == 1
    record = json.loads(messages[0]["Body"])
    assert record["requestPayload"] == {"id": "e-2"}
    assert record["requestContext"]["condition"] == "RetriesExhausted"
    assert record["requestContext"]["approximateInvokeCount"] == 1
    assert record["responsePayload"]["errorType"] == "TypeError"
