"""The reliability run's environment: one sandbox with the module applied, an event tap, a
quota watch."""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config

from studio_sandbox import faults
from studio_sandbox.datasync import models as datasync_models
from studio_sandbox.eventbridge import bus
from studio_sandbox.harness.scenario import (
    Home,
    Kind,
    Registry,
    ScenarioError,
    Studio,
    apply_module_with,
)
from studio_sandbox.server.app import Sandbox

LOG = logging.getLogger(__name__)
MAX_CONCURRENT_RESTORES = 10
VARIABLES = {
    "max_concurrent_restores": str(MAX_CONCURRENT_RESTORES),
    "transfer_timeout_seconds": "300",
    # Backups on, as the module's default (issue 16): every deletion also starts a backup
    # that shares the DataSync slots and meets the same faults; the rows count restores.
    "backups_enabled": "true",
}
WAIT_SCALE = 0.05
"""Step Functions Wait/Retry intervals run 20x faster; the workflow's arithmetic is unchanged."""
OWN_FILE = "mine/written-before-the-restore.txt"
RETRYING = Config(retries={"mode": "standard", "total_max_attempts": 20}, max_pool_connections=32)

SAGEMAKER_READS = (
    "DescribeDomain",
    "DescribeUserProfile",
    "DescribeSpace",
    "ListDomains",
    "ListUserProfiles",
    "ListSpaces",
    "ListApps",
)
DATASYNC_CALLS = (
    "CreateLocationEfs",
    "CreateTask",
    "StartTaskExecution",
    "DescribeTaskExecution",
    "DeleteTask",
    "DeleteLocation",
)
DYNAMODB_WRITES = ("PutItem", "UpdateItem", "DeleteItem", "TransactWriteItems", "BatchWriteItem")


# --------------------------------------------------------------------------- the environment


class EventTap:
    """Counts the SageMaker CloudTrail events published; can hold some back and replay them."""

    def __init__(self) -> None:
        self.original: Callable[..., None] = bus.publish
        self.sent = 0
        self.hold: set[str] = set()
        self.held: list[tuple[dict[str, Any], dict[str, Any]]] = []
        self.recording = False
        self.recorded: list[tuple[dict[str, Any], dict[str, Any]]] = []
        self._lock = threading.Lock()

    def install(self) -> None:
        bus.publish = self.publish

    def uninstall(self) -> None:
        bus.publish = self.original

    def publish(self, event: dict[str, Any], **kwargs: Any) -> None:
        name = str((event.get("detail") or {}).get("eventName", ""))
        with self._lock:
            if event.get("source") == "aws.sagemaker":
                if self.recording:
                    self.recorded.append((event, kwargs))
                if name in self.hold:
                    self.held.append((event, kwargs))
                    return
                self.sent += 1
        self.original(event, **kwargs)

    def replay(self, event: dict[str, Any], kwargs: dict[str, Any]) -> None:
        """Deliver `event` again, same eventID: a duplicate, late or out-of-order delivery."""
        with self._lock:
            self.sent += 1
        self.original(event, **kwargs)

    def release(self) -> None:
        with self._lock:
            held, self.held, self.hold = self.held, [], set()
        for event, kwargs in held:
            self.replay(event, kwargs)


class QuotaWatch:
    """Polls DataSync `ListTasks` and keeps the highest count seen."""

    def __init__(self, endpoint: str) -> None:
        self.client: Any = boto3.client("datasync", endpoint_url=endpoint, config=RETRYING)
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="quota-watch", daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(0.25):
            try:
                count = sum(
                    len(page.get("Tasks", []))
                    for page in self.client.get_paginator("list_tasks").paginate()
                )
            except Exception:  # a failed poll is not a finding; the next one counts
                LOG.debug("ListTasks poll failed", exc_info=True)
                continue
            self.peak = max(self.peak, count)

    def reset(self) -> None:
        self.peak = 0

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)


@dataclass
class Env:
    """The sandbox with the module applied, and what the scenarios drive and read."""

    sandbox: Sandbox
    endpoint: str
    outputs: dict[str, Any]
    tf_output: Path
    studio: Studio
    registry: Registry
    tap: EventTap
    quota: QuotaWatch
    sqs: Any
    notify_queue: str
    stamp: str = field(default_factory=lambda: time.strftime("%H%M%S"))

    def client(self, service: str) -> Any:
        factory: Any = boto3.client  # the stubs' per-service overloads need a literal name
        return factory(service, endpoint_url=self.endpoint, config=RETRYING)

    def drain(self, queue_url: str) -> list[str]:
        """Every message waiting in a queue (removed from it)."""
        bodies: list[str] = []
        while True:
            reply = self.sqs.receive_message(
                QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0
            )
            messages = reply.get("Messages", [])
            if not messages:
                return bodies
            for message in messages:
                body = str(message["Body"])
                with suppress(ValueError, AttributeError):  # SNS envelope or raw message
                    body = str(json.loads(body).get("Message", body))
                bodies.append(body)
                self.sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])

    def stream_backlog(self) -> int:
        """Stream records not yet handed to (or skipped by) the stream Lambda."""
        return self.sandbox.stream_backlog()


@contextmanager
def environment(data_dir: Path, zip_path: Path, examples_dir: Path) -> Iterator[Env]:
    """Start the sandbox, apply the module once, subscribe a queue to the topic."""
    for name in ("werkzeug", "moto", "botocore", "urllib3"):
        logging.getLogger(name).setLevel(logging.CRITICAL)
    tap = EventTap()
    with Sandbox(port=0, data_dir=data_dir, iam_enforced=True) as sandbox:
        endpoint = sandbox.endpoint_url
        try:
            tf, _ = apply_module_with(
                endpoint, zip_path, data_dir, VARIABLES, examples_dir=examples_dir
            )
        except ScenarioError:  # one dropped provider connection; a second apply converges
            tf, _ = apply_module_with(
                endpoint, zip_path, data_dir, VARIABLES, examples_dir=examples_dir
            )
        outputs = tf.outputs()
        tf_output = tf.write_outputs(data_dir / "outputs.json")
        sqs: Any = boto3.client("sqs", endpoint_url=endpoint)
        queue_url = sqs.create_queue(QueueName="reliability-notifications")["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])
        boto3.client("sns", endpoint_url=endpoint).subscribe(
            TopicArn=outputs["notification_topic_arn"],
            Protocol="sqs",
            Endpoint=arn["Attributes"]["QueueArn"],
        )
        studio = Studio(endpoint, outputs["vpc_id"], list(outputs["subnet_ids"]))
        studio.sagemaker = boto3.client("sagemaker", endpoint_url=endpoint, config=RETRYING)
        faults.set_wait_scale(WAIT_SCALE)
        quota = QuotaWatch(endpoint)
        quota.start()
        tap.install()
        try:
            yield Env(
                sandbox=sandbox,
                endpoint=endpoint,
                outputs=outputs,
                tf_output=tf_output,
                studio=studio,
                registry=Registry(endpoint, outputs["registry_table_name"]),
                tap=tap,
                quota=quota,
                sqs=sqs,
                notify_queue=queue_url,
            )
        finally:
            tap.uninstall()
            quota.stop()
            faults.clear()
            faults.set_wait_scale(1.0)
            datasync_models.reset_faults()


# --------------------------------------------------------------------------- scenario types


@dataclass
class Target:
    """One profile or space: its first home (seeded) and its second (recreated)."""

    domain_name: str
    domain_id: str
    kind: Kind
    name: str
    old: Home
    new: Home | None = None
    own_bytes: bytes = b""
    files: dict[str, bytes] = field(default_factory=dict)


Hook = Callable[[Env, list[Target]], None]


def nothing(_env: Env, _targets: list[Target]) -> None:
    return None


@dataclass
class Scenario:
    """What a scenario switches on, and what it expects of each target."""

    name: str
    profiles: int
    domains: int = 1
    expect: str = "restore"  # "restore": all SUCCEEDED; "fail": all fail visibly; "any"
    arm: Hook = nothing  # before the deletions
    during: Hook = nothing  # after the recreations, before waiting
    recreate: Callable[[Env, list[Target]], None] | None = None
    timeout: float = 240
    extra_failures: Callable[[Env], tuple[int, int]] | None = None  # (failures, visible)
    injects: bool = False  # its faults are counted: at least one must fire
