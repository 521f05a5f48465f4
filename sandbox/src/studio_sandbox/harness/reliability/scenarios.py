"""The reliability scenarios: each one's faults (hooks), and the list the run goes through."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from typing import Any

from studio_sandbox import faults
from studio_sandbox.harness.reliability.env import (
    DATASYNC_CALLS,
    DYNAMODB_WRITES,
    SAGEMAKER_READS,
    Env,
    Hook,
    Scenario,
    Target,
)
from studio_sandbox.harness.reliability.steps import (
    open_efs,
    recreate_all,
    restores_of,
)
from studio_sandbox.lambda_runtime import runtime as lambda_runtime

# --------------------------------------------------------------------------- scenarios


def _inject_each(service: str, operations: tuple[str, ...], **kwargs: Any) -> None:
    for operation in operations:
        faults.inject(service, operation, **kwargs)


def throttle(service: str, operations: tuple[str, ...], rate: float, duration: float) -> Hook:
    """Throttling on `rate` of the calls and a 5xx on a third as many, for `duration` s."""

    def arm(_env: Env, _targets: list[Target]) -> None:
        _inject_each(
            service, operations, error_code=_throttle_code(service), rate=rate,
            duration_s=duration, message="Rate exceeded (injected)",
        )  # fmt: skip
        _inject_each(
            service, operations, http_status=500, rate=max(0.01, rate / 3),
            error_code=SERVER_ERRORS.get(service, "InternalFailure"),
            duration_s=duration, message="Internal error (injected)",
        )  # fmt: skip

    return arm


def _throttle_code(service: str) -> str:
    if service == "dynamodb":
        return "ProvisionedThroughputExceededException"
    return "ThrottlingException"


SERVER_ERRORS = {"datasync": "InternalException", "dynamodb": "InternalServerError"}
"""Each service's own 5xx error name (the others send the generic `InternalFailure`)."""


LAMBDA_DATASYNC_CALLS = ("CreateLocationEfs", "CreateTask", "DeleteTask", "DeleteLocation")
"""The DataSync calls the Lambda functions make (botocore retries them); `StartTaskExecution`
and `DescribeTaskExecution` come from the workflow's SDK integration (see Findings)."""


def load_throttle(duration: float) -> Hook:
    """The load run's throttling: SageMaker reads, DynamoDB writes, the Lambdas' DataSync."""
    parts = (
        throttle("sagemaker", SAGEMAKER_READS, 0.2, duration),
        throttle("dynamodb", DYNAMODB_WRITES, 0.1, duration),
        throttle("datasync", LAMBDA_DATASYNC_CALLS, 0.2, duration),
    )

    def arm(env: Env, targets: list[Target]) -> None:
        for part in parts:
            part(env, targets)

    return arm


def datasync_error(_env: Env, _targets: list[Target]) -> None:
    faults.set_datasync_faults(error=["VerificationError", "injected: verification failed"])


def datasync_hang(_env: Env, _targets: list[Target]) -> None:
    faults.set_datasync_faults(hang=True)


def crash_stream_lambda(times: int) -> Hook:
    """The stream Lambda's process dies mid-batch, `times` times (after its first call)."""

    def arm(env: Env, _targets: list[Target]) -> None:
        function = str(env.outputs["stream_function_name"])
        original = lambda_runtime.Worker.call
        budget = [times]

        def call(self: lambda_runtime.Worker, payload: Any, request_id: str) -> dict[str, Any]:
            records = payload.get("Records") if isinstance(payload, dict) else None
            if self.spec.name == function and records and budget[0] > 0:
                budget[0] -= 1
                crashes.append(1)
                threading.Timer(0.15, self.proc.kill).start()  # mid-batch: records half done
            return original(self, payload, request_id)

        lambda_runtime.Worker.call = call  # type: ignore[method-assign]
        restorers.append(lambda: setattr(lambda_runtime.Worker, "call", original))

    return arm


restorers: list[Callable[[], None]] = []
crashes: list[int] = []


def poison_record(env: Env, targets: list[Target]) -> None:
    """A malformed GEN# item straight into the registry: its record always fails."""
    domain = targets[0].domain_name
    env.registry.table.put_item(
        Item={"pk": f"PROFILE#{domain}#user#ghost", "sk": "GEN#000001", "entity": "generation"}
    )
    env.registry.table.put_item(
        Item={"pk": f"PROFILE#{domain}#user#ghost2", "sk": "GEN#notanumber", "generation": "x"}
    )


def poison_visible(env: Env) -> tuple[int, int]:
    """Two poison records: each must reach the stream failure queue."""
    deadline = time.monotonic() + 90
    seen: list[str] = []
    while time.monotonic() < deadline:
        seen += env.drain(str(env.outputs["stream_failure_queue_url"]))
        covered = sum(int(json.loads(m)["DDBStreamBatchInfo"]["batchSize"]) for m in seen)
        if covered >= 2:
            break
        time.sleep(1)
    covered = sum(int(json.loads(m)["DDBStreamBatchInfo"]["batchSize"]) for m in seen)
    return 2, min(2, covered)


def hold_deletes(env: Env, _targets: list[Target]) -> None:
    """Deletes arrive after the Creates; every event is recorded for replays."""
    env.tap.hold = {"DeleteUserProfile", "DeleteSpace", "DeleteApp"}
    env.tap.recording = True
    env.tap.recorded = []


def late_and_duplicated(env: Env, _targets: list[Target]) -> None:
    """Release the held Deletes 2 s late, then deliver every event twice more, reversed."""
    time.sleep(2)
    env.tap.release()
    env.tap.recording = False
    recorded = list(env.tap.recorded)
    for _ in range(2):
        for event, kwargs in reversed(recorded):
            env.tap.replay(event, kwargs)


def slow_transfers(_env: Env, _targets: list[Target]) -> None:
    faults.set_datasync_faults(phase_delay=1.5)


def delete_while_restoring(env: Env, targets: list[Target]) -> None:
    """Delete each new profile as soon as its restore is RUNNING."""
    pending = list(targets)
    deadline = time.monotonic() + 90
    while pending and time.monotonic() < deadline:
        for target in list(pending):
            items = restores_of(env, target)
            if any(i.get("status") == "RUNNING" and i.get("task_arn") for i in items):
                env.studio.delete(target.domain_id, target.kind, target.name)
                pending.remove(target)
        time.sleep(0.2)


def delete_domain_while_seeding(env: Env, targets: list[Target]) -> None:
    """Run the seeder while the profiles and the domain are deleted (Retain), then recreate
    the domain under the same name with the same profiles: they come back from the old
    volume."""
    lam = env.client("lambda")
    results: list[dict[str, Any]] = []
    seeder = threading.Thread(
        target=lambda: results.append(
            lam.invoke(FunctionName=env.outputs["seeder_function_name"], Payload=b"{}")
        )
    )
    seeder.start()
    domain_id = targets[0].domain_id
    for target in targets:
        env.studio.delete(target.domain_id, target.kind, target.name)
    env.studio.delete_domain(domain_id, retain=True)
    seeder.join(timeout=120)
    _seeder_errors.append(sum(1 for r in results if r.get("FunctionError")))
    new_id = env.studio.create_domain(targets[0].domain_name)
    open_efs(env, new_id)
    for target in targets:
        target.domain_id = new_id
    recreate_all(env, targets, delete=False)


_seeder_errors: list[int] = []


def seeder_visible(_env: Env) -> tuple[int, int]:
    """A seeder that failed is visible (FunctionError in its answer); none is fine too."""
    errors = _seeder_errors.pop() if _seeder_errors else 0
    return errors, errors


def scenarios(full: bool, load: int) -> list[Scenario]:
    n = 4 if full else 2
    rate, secs = (0.3, 60.0) if full else (0.3, 30.0)
    return [
        Scenario("baseline (no fault)", n),
        Scenario("sagemaker describe/list throttled+5xx", n,
                 arm=throttle("sagemaker", SAGEMAKER_READS, rate, secs), injects=True),
        Scenario("datasync calls throttled+5xx", n,
                 arm=throttle("datasync", DATASYNC_CALLS, rate, secs), injects=True),
        Scenario("dynamodb writes throttled+5xx", n,
                 arm=throttle("dynamodb", DYNAMODB_WRITES, 0.2, secs), injects=True),
        Scenario("sfn StartExecution throttled+5xx", n,
                 arm=throttle("stepfunctions", ("StartExecution",), 0.5, secs), injects=True),
        Scenario("datasync execution ERROR", n, expect="fail", arm=datasync_error),
        Scenario("datasync execution never ends", n, expect="fail", arm=datasync_hang),
        Scenario("stream lambda crashes mid-batch", n, arm=crash_stream_lambda(3), injects=True),
        Scenario("poison stream record", n, arm=poison_record, extra_failures=poison_visible),
        Scenario("cloudtrail late+dup x3+out of order", n, arm=hold_deletes,
                 during=late_and_duplicated),
        Scenario("profile deleted while restoring", n, expect="any", arm=slow_transfers,
                 during=delete_while_restoring),
        Scenario("domain deleted while seeding", n, recreate=delete_domain_while_seeding,
                 extra_failures=seeder_visible),
        Scenario(f"load {load} across {5 if full else 2} domains, throttled", load,
                 domains=5 if full else 2, timeout=300 + 3.0 * load,
                 arm=load_throttle(300 + 3.0 * load),
                 injects=True),
    ]  # fmt: skip
