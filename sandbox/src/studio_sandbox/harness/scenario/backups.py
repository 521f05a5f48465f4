"""Backups to S3: the schedule run as EventBridge would, the bucket, backed-up trees compared."""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import boto3

from studio_sandbox.harness.scenario.base import (
    BACKUP_TERMINAL_STATUSES,
    ScenarioError,
)
from studio_sandbox.harness.scenario.files import FileRecord
from studio_sandbox.harness.scenario.studio import Home
from studio_sandbox.server import state

# --------------------------------------------------------------------------- backups


def backup_prefix_of(domain_name: str, home: Home) -> str:
    """`homes/<domain>/<kind>/<name>/<efs_id>-<uid>/`: where the backups of `home` go.

    Spelled out from docs/internals.md section 7 rather than taken from the library, so a
    scenario checks the layout instead of repeating it.
    """
    return f"homes/{domain_name}/{home.kind}/{home.name}/{home.efs_id}-{home.uid}/"


def scheduled_event(at: datetime, rule_arn: str) -> dict[str, Any]:
    """The event an EventBridge schedule rule sends its target at `at`."""
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": state.ACCOUNT_ID,
        "time": at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": state.REGION,
        "resources": [rule_arn],
        "detail": {},
    }


@dataclass(frozen=True)
class ScheduleRun:
    """One run of the backup schedule: when it fired and what the function answered."""

    at: datetime
    result: dict[str, Any]

    @property
    def stamp(self) -> str:
        """`YYYYMMDDHHMMSS`: the part of every backup id this run started."""
        return self.at.astimezone(UTC).strftime("%Y%m%d%H%M%S")

    @property
    def expected(self) -> int:
        """Backups this run stands for: those it started and those already started."""
        return int(self.result.get("started", 0)) + int(self.result.get("already_started", 0))


def schedule_rule_arn(endpoint: str, function_name: str, config: Any = None) -> str:
    """The ARN of the EventBridge rule that targets the backup function."""
    lam: Any = boto3.client("lambda", endpoint_url=endpoint, config=config)
    events: Any = boto3.client("events", endpoint_url=endpoint, config=config)
    function_arn = lam.get_function(FunctionName=function_name)["Configuration"]["FunctionArn"]
    names = events.list_rule_names_by_target(TargetArn=function_arn).get("RuleNames", [])
    if not names:
        raise ScenarioError(
            f"no EventBridge rule targets {function_name}: is `backups` enabled in the module?"
        )
    return str(events.describe_rule(Name=names[0])["Arn"])


def run_backup_schedule(
    endpoint: str, function_name: str, at: datetime | None = None, config: Any = None
) -> ScheduleRun:
    """Invoke the deployed backup function as its schedule rule would, and wait for its answer.

    The Lambda Invoke API runs the real handler in the sandbox's Lambda runtime with the
    Scheduled Event payload; a function error fails the scenario with its message.
    `config`: a botocore Config for the clients (the benchmark marks its own calls).
    """
    when = (at or datetime.now(UTC)).replace(microsecond=0)
    event = scheduled_event(when, schedule_rule_arn(endpoint, function_name, config))
    lam: Any = boto3.client("lambda", endpoint_url=endpoint, config=config)
    reply = lam.invoke(
        FunctionName=function_name,
        InvocationType="RequestResponse",
        Payload=json.dumps(event).encode(),
    )
    body = reply["Payload"].read().decode() or "null"
    if reply.get("FunctionError"):
        raise ScenarioError(f"the backup function failed on the scheduled event: {body}")
    result = json.loads(body)
    if not isinstance(result, dict):
        raise ScenarioError(f"the backup function answered {body!r}, not a JSON object")
    return ScheduleRun(when, result)


@dataclass(frozen=True)
class BackupObject:
    """One current object under a backup prefix: its bytes and S3 metadata."""

    key: str
    data: bytes
    metadata: dict[str, str]
    version_id: str | None


class BackupBucket:
    """Reads of the backup bucket, from the sandbox's S3 in this process.

    Not over HTTP: the bucket policy denies requests without TLS, the sandbox speaks
    plain HTTP, and moto applies that Deny without looking at its condition. The objects
    are read where the sandbox's DataSync writes them, moto's S3 backend.
    """

    def __init__(self, endpoint: str, bucket: str) -> None:
        self.endpoint = endpoint
        self.bucket = bucket

    def _entries(self, prefix: str) -> dict[str, list[Any]]:
        """Every version and delete marker per key under `prefix`, oldest first."""
        from moto.s3.models import s3_backends  # the sandbox runs in this process

        bucket = s3_backends[state.ACCOUNT_ID]["aws"].get_bucket(self.bucket)
        return {
            str(name): list(bucket.keys.getlist(name, []))
            for name in sorted(list(bucket.keys))
            if str(name).startswith(prefix)
        }

    def keys(self, prefix: str) -> list[str]:
        """Current object keys under `prefix`, relative to it (directory markers end in /)."""
        return [
            name[len(prefix) :]
            for name, entries in self._entries(prefix).items()
            if entries and _is_object(entries[-1])
        ]

    def read(self, prefix: str, rel: str) -> BackupObject:
        """The current version of `prefix + rel`."""
        entries = self._entries(prefix + rel).get(prefix + rel, [])
        if not entries or not _is_object(entries[-1]):
            raise ScenarioError(f"s3://{self.bucket}/{prefix}{rel} has no current version")
        key = entries[-1]
        return BackupObject(
            key=rel,
            data=bytes(key.value),
            metadata={
                str(k).lower().removeprefix("x-amz-meta-"): str(v) for k, v in key.metadata.items()
            },
            version_id=key.version_id,
        )

    def versions(self, prefix: str) -> dict[str, list[dict[str, Any]]]:
        """Every version and delete marker per relative key, newest first."""
        return {
            name[len(prefix) :]: [
                {
                    "VersionId": entry.version_id,
                    "LastModified": entry.last_modified,
                    "DeleteMarker": not _is_object(entry),
                }
                for entry in reversed(entries)
            ]
            for name, entries in self._entries(prefix).items()
        }

    def version_count(self, prefix: str) -> int:
        """Object versions (not delete markers) under `prefix`: what backups have written."""
        return sum(
            1
            for entries in self.versions(prefix).values()
            for entry in entries
            if not entry["DeleteMarker"]
        )

    def exists(self, key: str) -> bool:
        entries = self._entries(key).get(key, [])
        return bool(entries) and _is_object(entries[-1])


def _is_object(entry: Any) -> bool:
    from moto.s3.models import FakeKey

    return isinstance(entry, FakeKey)


def compare_backed_up(
    before: dict[str, FileRecord], bucket: BackupBucket, prefix: str, uid: int
) -> list[str]:
    """Mismatches between a home's snapshot and its backup prefix (empty list: all good).

    Every regular file must be an object with the same bytes whose metadata records the
    owner `uid` and the file's permission bits (DataSync's `file-owner` and
    `file-permissions`); every directory and symlink must have an object too.
    """
    keys = set(bucket.keys(prefix))
    problems: list[str] = []
    for rel, record in sorted(before.items()):
        if record.kind == "dir":
            if f"{rel}/" not in keys and not any(k.startswith(f"{rel}/") for k in keys):
                problems.append(f"{rel}/: no object")
            continue
        if rel not in keys:
            problems.append(f"{rel}: no object")
            continue
        if record.kind == "symlink":
            continue
        stored = bucket.read(prefix, rel)
        if stored.data != record.content:
            problems.append(f"{rel}: object bytes differ")
        problems += [f"{rel}: {p}" for p in _metadata_problems(stored.metadata, record, uid)]
    return problems


def _metadata_problems(metadata: dict[str, str], record: FileRecord, uid: int) -> list[str]:
    owner = metadata.get("file-owner")
    permissions = metadata.get("file-permissions")
    problems: list[str] = []
    if owner is None or permissions is None:
        return [f"no file-owner/file-permissions metadata (has {sorted(metadata)})"]
    if owner != str(uid):
        problems.append(f"metadata owner {owner}, expected {uid}")
    if int(permissions, 8) & 0o7777 != record.mode & 0o7777:
        problems.append(f"metadata permissions {permissions}, expected {record.mode:o}")
    return problems


def backups_of_run(
    endpoint: str, table_name: str, run: ScheduleRun, config: Any = None
) -> list[dict[str, Any]]:
    """Every `BACKUP#` item whose id carries this schedule run's time (a table scan)."""
    dynamodb: Any = boto3.resource("dynamodb", endpoint_url=endpoint, config=config)
    table = dynamodb.Table(table_name)
    marker = f"-b{run.stamp}-"
    items: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {"ConsistentRead": True}
    while True:
        page = table.scan(**kwargs)
        items += [
            dict(item)
            for item in page.get("Items", [])
            if str(item["sk"]).startswith("BACKUP#") and marker in str(item["sk"])
        ]
        if "LastEvaluatedKey" not in page:
            return items
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def wait_for_schedule_run(
    endpoint: str, table_name: str, run: ScheduleRun, timeout: float = 180, config: Any = None
) -> list[dict[str, Any]]:
    """Every backup the run started, once all of them ended (SUCCEEDED or FAILED)."""
    deadline = time.monotonic() + timeout
    while True:
        items = backups_of_run(endpoint, table_name, run, config)
        done = [i for i in items if i.get("status") in BACKUP_TERMINAL_STATUSES]
        if len(done) >= run.expected and len(done) == len(items):
            return items
        if time.monotonic() > deadline:
            states = sorted((str(i.get("restore_id")), str(i.get("status"))) for i in items)
            raise ScenarioError(
                f"the schedule run of {run.stamp} ({run.result}) did not finish within "
                f"{timeout:.0f} s: {len(done)} of {run.expected} backups ended; {states}"
            )
        time.sleep(0.5)
