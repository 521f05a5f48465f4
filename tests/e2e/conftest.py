"""End-to-end fixtures: one sandbox with the real module applied, shared by the e2e package.

`sandbox` starts the sandbox once for tests/e2e (package scope: the other suites start their
own after it stops). `deployed` applies examples/sandbox to it once (1-2 minutes), writes
`outputs.json` for the admin CLI, subscribes an SQS queue to the module's SNS topic, and
hands the tests what they drive: the endpoint, the outputs, Studio, the registry and admin().
Every test uses its own domain names; faults are cleared after each test.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import pytest
from studio_sandbox import efs, faults
from studio_sandbox.datasync import models as datasync_models
from studio_sandbox.harness.scenario import (
    Registry,
    ScenarioError,
    Studio,
    admin,
    apply_module_with,
    leftovers,
)
from studio_sandbox.server.app import Sandbox

from tests.deployment import (
    EXAMPLES_DIR,
    ZIP_PATH,
    use_offline_terraform_config,
)

E2E_VARIABLES = {
    "max_concurrent_restores": "20",  # room to load the quota; still far under 100 tasks
    "transfer_timeout_seconds": "300",  # the module's minimum; the clock is compressed
    "home_wait_timeout_seconds": "5",  # real seconds: the prepare Lambda's own wait
}
WAIT_SCALE = 0.05
"""Step Functions Wait states and Retry intervals run 20x faster (the workflow's own
arithmetic is unchanged: a 10 s poll still counts 10 s towards the 300 s timeout)."""


@dataclass
class Notifications:
    """Messages the module's SNS topic delivered to a test queue."""

    sqs: Any
    queue_url: str
    seen: list[str] = field(default_factory=list)

    def drain(self) -> list[str]:
        while True:
            reply = self.sqs.receive_message(
                QueueUrl=self.queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0
            )
            messages = reply.get("Messages", [])
            if not messages:
                return self.seen
            for message in messages:
                body = json.loads(message["Body"])
                self.seen.append(str(body.get("Message", body)))
                self.sqs.delete_message(
                    QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"]
                )

    def wait_for(self, *needles: str, timeout: float = 30) -> str:
        """The first message containing every needle."""
        deadline = time.monotonic() + timeout
        while True:
            for text in self.drain():
                if all(needle in text for needle in needles):
                    return text
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"no notification naming {needles}; got {self.seen}"
                )
            time.sleep(0.5)


@dataclass
class Deployed:
    """The module applied to the sandbox, and what tests drive it with."""

    endpoint: str
    outputs: dict[str, Any]
    tf_output: Path
    studio: Studio
    registry: Registry
    notifications: Notifications
    apply_seconds: float

    def admin(self, *args: str) -> tuple[int, str]:
        return admin(self.endpoint, self.tf_output, *args)

    def client(self, service: str) -> Any:
        return boto3.client(service, endpoint_url=self.endpoint)

    def open_efs(self, domain_id: str) -> None:
        code, output = self.admin("open-efs", "--domain-id", domain_id)
        assert code == 0, output

    def execution_status(self, arn: str, timeout: float = 60) -> str:
        """The execution's status once it left RUNNING.

        Read with ListExecutions, which never carries the output (DescribeExecution of a
        SUCCEEDED restore has its own test in test_sandbox_gaps).
        """
        sfn = self.client("stepfunctions")
        machine = self.outputs["state_machine_arn"]
        deadline = time.monotonic() + timeout
        while True:
            pages = sfn.get_paginator("list_executions").paginate(
                stateMachineArn=machine
            )
            status = next(
                (
                    str(e["status"])
                    for page in pages
                    for e in page["executions"]
                    if e["executionArn"] == arn
                ),
                "MISSING",
            )
            if status != "RUNNING":
                return status
            if time.monotonic() > deadline:
                raise AssertionError(f"execution {arn} still RUNNING after {timeout} s")
            time.sleep(0.5)

    def leftovers(self, timeout: float = 20) -> dict[str, list[str]]:
        """What is left once cleanup had `timeout` seconds to finish (all lists empty: good)."""
        deadline = time.monotonic() + timeout
        while True:
            left = leftovers(self.endpoint)
            if not any(left.values()) or time.monotonic() > deadline:
                return left
            time.sleep(0.5)


UPGRADE_MODULE = "test_upgrade_plan.py"
"""Applies its own installation (the old layout) to a sandbox of its own: see below."""


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Under pytest-xdist (`make test-e2e`: `-n 2 --dist loadgroup`) every e2e test runs in
    one worker, so the package's one applied sandbox serves them all; the upgrade test runs
    in the other worker, where its old-layout apply, plan and destroy (three quarters of its
    time is the provider's fixed waits) overlap the e2e tests instead of following them.
    It needs only `sandbox`, which that worker starts for it. Without xdist the marks do
    nothing and the package runs as before, in one sandbox."""
    here = Path(__file__).parent
    for item in items:
        path = Path(item.path)
        if here in path.parents:
            group = "e2e-upgrade" if path.name == UPGRADE_MODULE else "e2e"
            item.add_marker(pytest.mark.xdist_group(group))


@pytest.fixture(scope="package")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    """The sandbox of the e2e package."""
    for name in ("werkzeug", "moto"):
        logging.getLogger(name).setLevel(logging.ERROR)
    with Sandbox(
        port=0, data_dir=tmp_path_factory.mktemp("e2e-sandbox"), iam_enforced=True
    ) as running:
        yield running
    faults.clear()
    faults.set_wait_scale(1.0)
    datasync_models.reset_faults()
    efs.reset_faults()


@pytest.fixture(scope="package")
def deployed(sandbox: Sandbox) -> Deployed:
    """examples/sandbox applied once; a queue subscribed to the notification topic."""
    if not ZIP_PATH.is_file():
        pytest.fail(
            f"{ZIP_PATH} is missing: run `make build` (make test does it first)"
        )
    use_offline_terraform_config()
    data_dir = Path(sandbox.data_dir)
    try:
        tf, seconds = apply_module_with(
            sandbox.endpoint_url,
            ZIP_PATH,
            data_dir,
            E2E_VARIABLES,
            examples_dir=EXAMPLES_DIR,
        )
    except ScenarioError as error:
        # A second apply converges when the sandbox dropped one provider connection
        # (seen once under load: "use of closed network connection" on PutMetricAlarm).
        logging.getLogger(__name__).warning(
            "terraform apply failed once, retrying: %s", error
        )
        tf, seconds = apply_module_with(
            sandbox.endpoint_url,
            ZIP_PATH,
            data_dir,
            E2E_VARIABLES,
            examples_dir=EXAMPLES_DIR,
        )
    outputs = tf.outputs()
    tf_output = tf.write_outputs(data_dir / "outputs.json")
    sqs = boto3.client("sqs", endpoint_url=sandbox.endpoint_url)
    queue_url = sqs.create_queue(QueueName="e2e-notifications")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(
        QueueUrl=queue_url, AttributeNames=["QueueArn"]
    )["Attributes"]["QueueArn"]
    boto3.client("sns", endpoint_url=sandbox.endpoint_url).subscribe(
        TopicArn=outputs["notification_topic_arn"], Protocol="sqs", Endpoint=queue_arn
    )
    faults.set_wait_scale(WAIT_SCALE)
    return Deployed(
        endpoint=sandbox.endpoint_url,
        outputs=outputs,
        tf_output=tf_output,
        studio=Studio(
            sandbox.endpoint_url, outputs["vpc_id"], list(outputs["subnet_ids"])
        ),
        registry=Registry(sandbox.endpoint_url, outputs["registry_table_name"]),
        notifications=Notifications(sqs, queue_url),
        apply_seconds=seconds,
    )


@pytest.fixture(autouse=True)
def _no_faults_after_test() -> Iterator[None]:
    """Whatever a test injected ends with it."""
    yield
    faults.clear()
    datasync_models.reset_faults()
    efs.reset_faults()


@pytest.fixture
def unique() -> Callable[[str], str]:
    """A name no other test uses (domain names are the registry's keys)."""
    counter = iter(range(1_000_000))
    stamp = time.strftime("%H%M%S")

    def make(prefix: str) -> str:
        return f"{prefix}-{stamp}-{next(counter)}"

    return make
