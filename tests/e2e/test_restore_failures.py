"""Issue 5's failure paths: each ends FAILED and loud, and leaves no DataSync resource.

DataSync executions are made to fail or hang with `datasync_models.faults`; AWS throttling is
injected with `faults.inject`; a restore is stopped by hand with StopExecution.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable

from studio_sandbox import efs, faults
from studio_sandbox.datasync import models as datasync_models

from tests.e2e.conftest import E2E_VARIABLES, Deployed
from tests.e2e.flows import (
    assert_failed_loudly,
    assert_succeeded,
    new_domain,
    recreate,
    seed,
)

HOME_WAIT_SECONDS = int(E2E_VARIABLES["home_wait_timeout_seconds"])


def test_datasync_execution_error_fails_the_restore_loudly(
    deployed: Deployed, unique: Callable[[str], str]
) -> None:
    domain = unique("dserror")
    seeded = seed(deployed, domain, new_domain(deployed, domain), "user", "hana")
    datasync_models.faults.error = ("InternalError", "the sandbox lost the disk")

    recreate(deployed, seeded)

    item = assert_failed_loudly(
        deployed, domain, "user", "hana", 2, cause="the sandbox lost the disk"
    )
    assert _task_execution_arn(deployed, str(item["execution_arn"]))  # it did transfer


def test_throttled_datasync_creates_are_retried_until_the_restore_succeeds(
    deployed: Deployed, unique: Callable[[str], str]
) -> None:
    domain = unique("throttle")
    seeded = seed(deployed, domain, new_domain(deployed, domain), "user", "ivan")
    injected_before = faults.registry.injected
    for operation in ("CreateLocationEfs", "CreateTask"):
        faults.inject(
            "datasync", operation, error_code="ThrottlingException", duration_s=8,
            message="Rate exceeded",
        )  # fmt: skip

    home = recreate(deployed, seeded)

    assert_succeeded(
        deployed, domain, "user", "ivan", 2, seeded.before, home, timeout=180
    )
    assert faults.registry.injected > injected_before, (
        "the throttling never hit a request"
    )


def test_transfer_that_never_finishes_times_out_and_fails_loudly(
    deployed: Deployed, unique: Callable[[str], str]
) -> None:
    domain = unique("hang")
    seeded = seed(deployed, domain, new_domain(deployed, domain), "space", "jobs")
    datasync_models.faults.hang = True

    recreate(deployed, seeded)

    item = assert_failed_loudly(
        deployed, domain, "space", "jobs", 2, cause="300 seconds"
    )
    execution = deployed.client("datasync").describe_task_execution(
        TaskExecutionArn=_task_execution_arn(deployed, str(item["execution_arn"]))
    )
    assert execution["Status"] in ("ERROR", "CANCELLING"), execution


def test_home_directory_that_never_appears_times_out_and_fails_loudly(
    deployed: Deployed, unique: Callable[[str], str]
) -> None:
    """The new home is created through the new uid's access point; when that access point
    never becomes available, prepare waits HOME_WAIT_TIMEOUT_SECONDS, then the restore
    fails visibly and the access point is deleted."""
    domain = unique("nohome")
    seeded = seed(deployed, domain, new_domain(deployed, domain), "user", "lena")
    efs.faults.access_point_creating_seconds = float("inf")
    try:
        started = time.monotonic()
        recreate(deployed, seeded)
        item = assert_failed_loudly(
            deployed, domain, "user", "lena", 2, cause="did not appear"
        )
    finally:
        efs.reset_faults()
    waited = time.monotonic() - started
    assert waited >= HOME_WAIT_SECONDS, f"gave up after {waited:.1f} s"
    assert "HomeDirectoryTimeout" in str(item["reason"]), item
    assert not item.get("task_arn"), "no task is created for a home that never appeared"


def test_restore_stopped_by_hand_is_cleaned_up_and_recorded(
    deployed: Deployed, unique: Callable[[str], str]
) -> None:
    domain = unique("stopped")
    seeded = seed(deployed, domain, new_domain(deployed, domain), "user", "kim")
    datasync_models.faults.hang = True
    recreate(deployed, seeded)
    arn = _running_transfer(deployed, domain, "user", "kim")

    deployed.client("stepfunctions").stop_execution(
        executionArn=arn, cause="admin stopped it"
    )

    assert_failed_loudly(
        deployed,
        domain,
        "user",
        "kim",
        2,
        cause="stopped by hand",
        execution_status="ABORTED",
    )


def _running_transfer(deployed: Deployed, domain: str, kind: str, name: str) -> str:
    """The execution ARN of a restore whose DataSync task exists (transfer under way)."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        for item in deployed.registry.restores(domain, kind, name):  # type: ignore[arg-type]
            if item.get("task_arn") and item.get("status") == "RUNNING":
                return str(item["execution_arn"])
        time.sleep(0.5)
    raise AssertionError(f"{kind} {name}: no restore reached its transfer within 60 s")


def _task_execution_arn(deployed: Deployed, execution_arn: str) -> str:
    """The DataSync execution a workflow started, from its history."""
    history = deployed.client("stepfunctions").get_execution_history(
        executionArn=execution_arn, maxResults=1000
    )["events"]
    for event in history:
        output = (event.get("taskSucceededEventDetails") or {}).get("output") or ""
        if "TaskExecutionArn" in output:
            return str(json.loads(output)["TaskExecutionArn"])
    raise AssertionError(f"{execution_arn} never started a DataSync execution")
