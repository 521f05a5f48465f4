"""Helpers of the sandbox suite: clients, a tiny Lambda zip, polling."""

from __future__ import annotations

import io
import json
import time
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import boto3
from botocore.config import Config

from studio_sandbox.server import state

T = TypeVar("T")

ROLE_POLICY = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "lambda.amazonaws.com"},
                "Action": "sts:AssumeRole",
            }
        ],
    }
)


class SandboxClients:
    """boto3 clients for one sandbox endpoint, created once per service."""

    def __init__(self, endpoint_url: str) -> None:
        self.endpoint_url = endpoint_url
        self._clients: dict[str, Any] = {}

    def client(self, service: str) -> Any:
        if service not in self._clients:
            self._clients[service] = boto3.client(
                service,
                endpoint_url=self.endpoint_url,
                region_name=state.REGION,
                aws_access_key_id=state.ACCESS_KEY,
                aws_secret_access_key=state.SECRET_KEY,
                config=Config(retries={"max_attempts": 1}),
            )
        return self._clients[service]

    def __getattr__(self, service: str) -> Any:
        return self.client(service.replace("_", "-") if service != "stepfunctions" else service)

    def role(self, name: str = "sandbox-test-role") -> str:
        iam = self.client("iam")
        try:
            return str(iam.get_role(RoleName=name)["Role"]["Arn"])
        except iam.exceptions.NoSuchEntityException:
            return str(
                iam.create_role(RoleName=name, AssumeRolePolicyDocument=ROLE_POLICY)["Role"]["Arn"]
            )

    def queue(self, name: str) -> tuple[str, str]:
        """Create an SQS queue; returns (url, arn)."""
        sqs = self.client("sqs")
        url = sqs.create_queue(QueueName=name)["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        return url, arn

    def function(
        self,
        name: str,
        source: str,
        *,
        handler: str = "app.main.handler",
        env: dict[str, str] | None = None,
        **extra: Any,
    ) -> str:
        """Create a function from `source` (the module `app/main.py`); returns its ARN."""
        reply = self.client("lambda").create_function(
            FunctionName=name,
            Runtime="python3.12",
            Role=self.role(),
            Handler=handler,
            Code={"ZipFile": lambda_zip({"app/__init__.py": "", "app/main.py": source})},
            Environment={"Variables": env or {}},
            Timeout=extra.pop("Timeout", 10),
            **extra,
        )
        return str(reply["FunctionArn"])

    def drain(self, queue_url: str, expected: int, timeout: float = 15.0) -> list[dict[str, Any]]:
        """Receive messages until `expected` arrived or `timeout` passed."""
        sqs = self.client("sqs")
        messages: list[dict[str, Any]] = []
        deadline = time.monotonic() + timeout
        while len(messages) < expected and time.monotonic() < deadline:
            reply = sqs.receive_message(
                QueueUrl=queue_url,
                MaxNumberOfMessages=10,
                MessageAttributeNames=["All"],
                WaitTimeSeconds=0,
            )
            for message in reply.get("Messages", []):
                messages.append(message)
                sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
            if len(messages) < expected:
                time.sleep(0.1)
        return messages


def lambda_zip(files: dict[str, str]) -> bytes:
    """A deployment package holding `files` (path -> source)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        for path, source in files.items():
            zf.writestr(path, source)
    return buffer.getvalue()


def wait_for(check: Callable[[], T | None], timeout: float = 15.0, interval: float = 0.1) -> T:
    """Poll `check` until it returns something truthy; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        time.sleep(interval)


def process_alive(pid: int) -> bool:
    """A live process (a zombie left to an init that does not reap counts as gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return False
    return fields[0] != "Z"
