"""EventBridge in the sandbox delivers to Lambda and Step Functions targets."""

from __future__ import annotations

import json

from sandbox.tests.helpers import SandboxClients, wait_for
from studio_sandbox.eventbridge import cloudtrail
from studio_sandbox.server import state
from studio_sandbox.server.app import Sandbox

RECORDER = """
import json, os

def handler(event, context):
    with open(os.environ["OUT"], "a") as out:
        out.write(json.dumps(event) + "\\n")
    return "ok"
"""


def _recorded(path: str) -> list[dict[str, object]]:
    try:
        with open(path) as lines:
            return [json.loads(line) for line in lines]
    except FileNotFoundError:
        return []


def _rule(
    aws: SandboxClients,
    name: str,
    pattern: dict[str, object],
    target_arn: str,
    *,
    permit: bool = True,
    **target: object,
) -> None:
    """A rule with one target; a Lambda target lets the rule invoke it unless `permit` is off."""
    events = aws.client("events")
    rule_arn = events.put_rule(Name=name, EventPattern=json.dumps(pattern))["RuleArn"]
    events.put_targets(Rule=name, Targets=[{"Id": "t", "Arn": target_arn, **target}])
    if permit and ":lambda:" in target_arn and ":function:does-not-exist" not in target_arn:
        aws.client("lambda").add_permission(
            FunctionName=target_arn,
            StatementId=f"events-{name}",
            Action="lambda:InvokeFunction",
            Principal="events.amazonaws.com",
            SourceArn=rule_arn,
        )


def test_put_events_reaches_a_matching_lambda_target(aws: SandboxClients, sandbox: Sandbox) -> None:
    # given
    out = str(sandbox.data_dir / "put-events.jsonl")
    arn = aws.function("recorder", RECORDER, env={"OUT": out})
    _rule(aws, "orders", {"source": ["shop"], "detail-type": ["Order placed"]}, arn)

    # when
    aws.client("events").put_events(
        Entries=[
            {
                "Source": "shop",
                "DetailType": "Order placed",
                "Detail": json.dumps({"id": 7}),
            },
            {
                "Source": "shop",
                "DetailType": "Order cancelled",
                "Detail": json.dumps({"id": 8}),
            },
        ]
    )

    # then only the matching event arrives, shaped as EventBridge delivers it
    delivered = wait_for(lambda: _recorded(out))
    assert len(delivered) == 1
    event = delivered[0]
    assert event["detail"] == {"id": 7}
    assert event["source"] == "shop"
    assert event["detail-type"] == "Order placed"
    assert event["account"] == state.ACCOUNT_ID
    assert isinstance(event["time"], str) and str(event["time"]).endswith("Z")


def test_cloudtrail_api_call_event_reaches_the_rule(aws: SandboxClients, sandbox: Sandbox) -> None:
    out = str(sandbox.data_dir / "cloudtrail.jsonl")
    arn = aws.function("trail-recorder", RECORDER, env={"OUT": out})
    pattern = {
        "source": ["aws.sagemaker"],
        "detail-type": ["AWS API Call via CloudTrail"],
        "detail": {"eventName": ["DeleteUserProfile"]},
    }
    _rule(aws, "sagemaker-calls", pattern, arn)

    cloudtrail.emit_api_call(
        "CreateUserProfile",
        {"domainId": "d-1", "userProfileName": "u"},
        None,
        region=state.REGION,
        account_id=state.ACCOUNT_ID,
    )
    cloudtrail.emit_api_call(
        "DeleteUserProfile",
        {"domainId": "d-1", "userProfileName": "u"},
        None,
        region=state.REGION,
        account_id=state.ACCOUNT_ID,
    )

    delivered = wait_for(lambda: _recorded(out))
    assert [e["detail"]["eventName"] for e in delivered] == ["DeleteUserProfile"]  # type: ignore[index]
    detail = delivered[0]["detail"]
    assert detail["eventSource"] == "sagemaker.amazonaws.com"  # type: ignore[index]
    assert detail["requestParameters"] == {"domainId": "d-1", "userProfileName": "u"}  # type: ignore[index]
    assert len(detail["eventID"]) == 36  # type: ignore[index,arg-type]


def test_events_the_sandbox_publishes_reach_an_sqs_target(aws: SandboxClients) -> None:
    # given a rule whose target moto delivers itself (a queue)
    url, queue_arn = aws.queue("trail-queue")
    aws.client("events").put_rule(
        Name="to-queue",
        EventPattern=json.dumps(
            {"source": ["aws.sagemaker"], "detail": {"eventName": ["CreateSpace"]}}
        ),
    )
    aws.client("events").put_targets(Rule="to-queue", Targets=[{"Id": "q", "Arn": queue_arn}])

    # when the sandbox publishes a CloudTrail-shaped event on its own
    cloudtrail.emit_api_call(
        "CreateSpace",
        {"domainId": "d-1", "spaceName": "team"},
        None,
        region=state.REGION,
        account_id=state.ACCOUNT_ID,
    )

    # then the queue receives it
    (message,) = aws.drain(url, expected=1)
    body = json.loads(message["Body"])
    assert body["detail"]["eventName"] == "CreateSpace"
    assert body["source"] == "aws.sagemaker"


def test_disabled_rule_does_not_fire(aws: SandboxClients, sandbox: Sandbox) -> None:
    out = str(sandbox.data_dir / "disabled.jsonl")
    arn = aws.function("disabled-recorder", RECORDER, env={"OUT": out})
    _rule(aws, "quiet", {"source": ["quiet"]}, arn)
    aws.client("events").disable_rule(Name="quiet")
    _rule(
        aws,
        "loud",
        {"source": ["quiet"]},
        aws.function("loud", RECORDER, env={"OUT": out + ".loud"}),
    )

    aws.client("events").put_events(
        Entries=[{"Source": "quiet", "DetailType": "x", "Detail": "{}"}]
    )

    wait_for(lambda: _recorded(out + ".loud"))  # the enabled rule has delivered by now
    assert _recorded(out) == []


def test_unreachable_target_goes_to_the_target_dead_letter_queue(
    aws: SandboxClients,
) -> None:
    url, dlq = aws.queue("rule-dlq")
    missing = f"arn:aws:lambda:{state.REGION}:{state.ACCOUNT_ID}:function:does-not-exist"
    _rule(
        aws,
        "to-nowhere",
        {"source": ["nowhere"]},
        missing,
        DeadLetterConfig={"Arn": dlq},
        RetryPolicy={"MaximumRetryAttempts": 0},
    )

    aws.client("events").put_events(
        Entries=[{"Source": "nowhere", "DetailType": "x", "Detail": json.dumps({"k": 1})}]
    )

    messages = aws.drain(url, expected=1)
    assert len(messages) == 1
    assert json.loads(messages[0]["Body"])["detail"] == {"k": 1}
    assert messages[0]["MessageAttributes"]["TARGET_ARN"]["StringValue"] == missing


def test_lambda_target_without_permission_is_not_invoked(
    aws: SandboxClients, sandbox: Sandbox
) -> None:
    # given a rule whose function does not allow events.amazonaws.com to invoke it
    out = str(sandbox.data_dir / "unpermitted.jsonl")
    url, dlq = aws.queue("unpermitted-dlq")
    arn = aws.function("unpermitted", RECORDER, env={"OUT": out})
    _rule(
        aws,
        "unpermitted",
        {"source": ["locked"]},
        arn,
        permit=False,
        DeadLetterConfig={"Arn": dlq},
        RetryPolicy={"MaximumRetryAttempts": 0},
    )

    # when
    aws.client("events").put_events(
        Entries=[{"Source": "locked", "DetailType": "x", "Detail": json.dumps({"k": 3})}]
    )

    # then the event lands in the target's dead-letter queue, never in the function
    messages = aws.drain(url, expected=1)
    assert len(messages) == 1
    assert messages[0]["MessageAttributes"]["ERROR_CODE"]["StringValue"] == "NO_PERMISSIONS"
    assert _recorded(out) == []


def test_step_functions_target_starts_an_execution(aws: SandboxClients) -> None:
    sfn = aws.client("stepfunctions")
    machine = sfn.create_state_machine(
        name="from-rule",
        definition=json.dumps({"StartAt": "Done", "States": {"Done": {"Type": "Succeed"}}}),
        roleArn=aws.role(),
    )["stateMachineArn"]
    _rule(aws, "to-sfn", {"source": ["sfn-test"]}, machine)

    aws.client("events").put_events(
        Entries=[{"Source": "sfn-test", "DetailType": "x", "Detail": json.dumps({"k": 2})}]
    )

    executions = wait_for(lambda: sfn.list_executions(stateMachineArn=machine)["executions"])
    assert len(executions) == 1
    started = sfn.describe_execution(executionArn=executions[0]["executionArn"])
    assert json.loads(started["input"])["detail"] == {"k": 2}
