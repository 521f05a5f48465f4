"""EventBridge delivery to Lambda and Step Functions targets.

moto matches events against rules but cannot deliver to Lambda or Step Functions
targets. This module replaces `Rule.send_to_targets`: disabled rules never fire (as in
AWS), nor do schedule rules on events (the sandbox does not run schedules: a test invokes
the target with a Scheduled Event, `scenario.run_backup_schedule`); Lambda targets are
invoked asynchronously (the function's own retries and dead-letter queue apply) when the
function's resource policy lets the rule invoke it; Step Functions targets start an
execution; every other target type keeps moto's own delivery. A target that cannot be
reached (missing, or not permitted) goes to the target's dead-letter queue after its
retry policy, as EventBridge does.

Events reach the rules through :func:`.bus.publish`.
"""

from __future__ import annotations

import copy
import fnmatch
import json
import logging
import time
from datetime import UTC, datetime
from typing import Any, cast

from moto.awslambda.utils import get_backend as lambda_backend
from moto.core.utils import unix_time
from moto.events.models import Rule
from moto.events.utils import EventTemplateParser

from studio_sandbox import delivery, iam
from studio_sandbox.lambda_runtime import runtime as lambda_runtime

LOG = logging.getLogger(__name__)

_original_send_to_targets = Rule.send_to_targets
_SANDBOX_SERVICES = ("lambda", "states")


def _iso(value: Any) -> str:
    if isinstance(value, int | float):
        return datetime.fromtimestamp(float(value), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return str(value)


def _target_input(target: dict[str, Any], event: dict[str, Any]) -> Any:
    """What the target receives: the event, a constant `Input`, `InputPath` or a template."""
    if target.get("Input"):
        return json.loads(target["Input"])
    transformer = target.get("InputTransformer")
    if transformer:
        rendered = EventTemplateParser.parse(
            input_template=transformer.get("InputTemplate"),
            input_paths_map=transformer.get("InputPathsMap", {}),
            event=cast(Any, event),
        )
        return rendered
    path = target.get("InputPath")
    if path and path.startswith("$."):
        value: Any = event
        for part in path[2:].split("."):
            value = value.get(part) if isinstance(value, dict) else None
        return value
    return event


def _allows_events(statement: dict[str, Any], rule_arn: str) -> bool:
    """Whether one resource-policy statement lets this rule invoke the function."""
    principal = statement.get("Principal")
    service = principal.get("Service") if isinstance(principal, dict) else principal
    services = service if isinstance(service, list) else [service]
    actions = statement.get("Action")
    actions = actions if isinstance(actions, list) else [actions]
    if statement.get("Effect") != "Allow" or not ({"events.amazonaws.com", "*"} & set(services)):
        return False
    if not {"lambda:InvokeFunction", "lambda:*", "*"} & set(actions):
        return False
    conditions = statement.get("Condition") or {}
    for operator in ("ArnLike", "ArnEquals", "StringLike", "StringEquals"):
        source = (conditions.get(operator) or {}).get("AWS:SourceArn")
        if source is not None and not fnmatch.fnmatchcase(rule_arn, str(source)):
            return False
    return True


def may_invoke(fn: Any, rule_arn: str) -> bool:
    """EventBridge invokes a function only when its resource policy allows the rule."""
    statements = getattr(getattr(fn, "policy", None), "statements", None) or []
    return any(_allows_events(statement, rule_arn) for statement in statements)


def _deliver(rule: Rule, target: dict[str, Any], event: dict[str, Any]) -> None:
    """Deliver one event to one Lambda or Step Functions target."""
    arn = target["Arn"]
    parts = arn.split(":")
    service, region, account = parts[2], parts[3], parts[4]
    payload = _target_input(target, event)
    if service == "lambda":
        runtime = lambda_runtime.current()
        fn = lambda_backend(account, region).get_function(arn)
        if runtime is None:
            raise RuntimeError("the sandbox Lambda runtime is not running")
        if not may_invoke(fn, rule.arn):
            raise PermissionError(
                f"the resource policy of {fn.function_name} does not allow "
                f"events.amazonaws.com to invoke it from {rule.arn}"
            )
        runtime.invoke_async(fn, payload)
    else:
        # Imported on the first Step Functions target: the interpreter takes seconds to load.
        from studio_sandbox import stepfunctions

        stepfunctions.install()  # no-op once the Step Functions service has been called
        _authorize_target_role(target, arn)
        stepfunctions.backend_for(account, region).start_execution(
            arn, name=cast(str, None), execution_input=json.dumps(payload)
        )


def _authorize_target_role(target: dict[str, Any], state_machine_arn: str) -> None:
    """EventBridge starts an execution with the target's role, which must allow
    states:StartExecution ("IAM roles for sending events to targets in Amazon EventBridge",
    https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-events-iam-roles.html)."""
    if not iam.enforcing():
        return
    role = str(target.get("RoleArn") or "")
    if not role:
        raise PermissionError(f"target {state_machine_arn} has no RoleArn")
    from studio_sandbox.iam.enforce import AccessDenied

    try:
        iam.authorize_role(role, "events", "states:StartExecution", [state_machine_arn])
    except AccessDenied as denied:
        raise PermissionError(denied.message) from None


def _deliver_with_retries(rule: Rule, target: dict[str, Any], event: dict[str, Any]) -> None:
    attempts = 1 + int(target.get("RetryPolicy", {}).get("MaximumRetryAttempts", 2))
    attempts = min(attempts, 3)  # the sandbox does not wait 24 hours
    error: Exception | None = None
    for attempt in range(attempts):
        try:
            _deliver(rule, target, event)
            return
        except Exception as exc:  # an unreachable target, as EventBridge sees it
            error = exc
            time.sleep(0.2 * (attempt + 1))
    LOG.warning("rule %s: target %s unreachable: %s", rule.name, target["Arn"], error)
    dlq = target.get("DeadLetterConfig", {}).get("Arn")
    if dlq:
        delivery.send(
            dlq,
            json.dumps(event),
            {
                "RULE_ARN": rule.arn,
                "TARGET_ARN": target["Arn"],
                "ERROR_CODE": "NO_PERMISSIONS"
                if isinstance(error, PermissionError)
                else "RESOURCE_NOT_FOUND",
                "ERROR_MESSAGE": str(error)[:512],
            },
        )


def _send_to_targets(self: Rule, original_event: Any, transform_input: bool = True) -> None:
    if self.state != "ENABLED" or not self.event_pattern.matches_event(original_event):
        return
    if self.scheduled_expression and not self.event_pattern.get_pattern():
        return  # a schedule rule fires on its schedule only; moto's empty pattern matches all
    ours = [t for t in self.targets if t["Arn"].split(":")[2] in _SANDBOX_SERVICES]
    others = [t for t in self.targets if t not in ours]
    if others:
        shallow = copy.copy(self)
        shallow.targets = others
        try:
            _original_send_to_targets(shallow, copy.deepcopy(original_event), transform_input)
        except NotImplementedError:
            LOG.info("rule %s: a target type the sandbox does not deliver; ignored", self.name)
    if ours:
        event = copy.deepcopy(original_event)
        event["time"] = _iso(event.get("time", unix_time()))
        event.pop("ingestion-time", None)
        for target in ours:
            _deliver_with_retries(self, target, event)


def install() -> None:
    """Deliver to Lambda and Step Functions targets."""
    Rule.send_to_targets = _send_to_targets  # type: ignore[method-assign]


def uninstall() -> None:
    """Give moto back its own delivery."""
    Rule.send_to_targets = _original_send_to_targets  # type: ignore[method-assign]
