"""The space-report function on moto: an EBS space's restore report in S3 becomes the
restore item and the space's row in the registry, once, keyed by the object key."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from studio_recovery.dal.space_reports import SpaceReports
from studio_recovery.handlers.space_report import record_report
from studio_recovery.models.errors import MalformedEventError

BUCKET = "sr-test-backups-123456789012-us-east-1"
PREFIX = "spaces/private/alice/d-abc123/nb/"


def report(
    status: str = "SUCCEEDED", files: int = 3, finished: str = "2026-12-07T10:00:00Z"
) -> dict[str, Any]:
    return {
        "status": status,
        "source_prefix": PREFIX,
        "started_at": "2026-12-07T09:59:58Z",
        "finished_at": finished,
        "duration_seconds": 1.25,
        "files": files,
        "bytes": 1234,
        "kept_count": 1,
        "missing_count": 0,
        "domain_id": "d-forged",  # what the body says about identity is never used
        "owner": "bob",
    }


def event(key: str) -> dict[str, Any]:
    return {
        "source": "aws.s3",
        "detail-type": "Object Created",
        "detail": {"bucket": {"name": BUCKET}, "object": {"key": key, "size": 10}},
    }


@pytest.fixture
def store(registry_table: Any) -> SpaceReports:
    s3 = boto3.client("s3", region_name="us-east-1")
    s3.create_bucket(Bucket=BUCKET)
    return SpaceReports(s3, registry_table)


def put(store: SpaceReports, key: str, body: dict[str, Any]) -> None:
    store.s3.put_object(Bucket=BUCKET, Key=key, Body=json.dumps(body).encode())


def test_a_report_is_recorded_for_the_space_its_key_names(
    store: SpaceReports, registry_table: Any
) -> None:
    key = PREFIX + "restores/20261207T100000000000Z.json"
    put(store, key, report())
    result = record_report(event(key), store)
    assert result["status"] == "SUCCEEDED"
    pk = "SPACE#d-abc123#alice#nb"
    restore = registry_table.get_item(
        Key={"pk": pk, "sk": "RESTORE#20261207T100000000000Z"}
    )["Item"]
    assert (restore["status"], restore["files"], restore["bytes"]) == (
        "SUCCEEDED",
        3,
        1234,
    )
    assert float(restore["duration_seconds"]) == 1.25
    space = registry_table.get_item(Key={"pk": pk, "sk": "SPACE"})["Item"]
    assert space["home"] == {"type": "ebs", "backup_prefix": PREFIX}
    assert space["last_restore"]["status"] == "SUCCEEDED"
    assert space["owner"] == "alice"


def test_redelivery_changes_nothing_and_an_older_report_never_replaces_a_newer(
    store: SpaceReports, registry_table: Any
) -> None:
    newer = PREFIX + "restores/20261207T120000000000Z.json"
    older = PREFIX + "restores/20261207T110000000000Z.json"
    put(store, newer, report("PARTIAL", files=2, finished="2026-12-07T12:00:00Z"))
    put(store, older, report("SUCCEEDED", files=9, finished="2026-12-07T11:00:00Z"))
    record_report(event(newer), store)
    put(store, newer, report("SUCCEEDED", files=99))  # rewritten object, same key
    record_report(event(newer), store)
    record_report(event(older), store)
    pk = "SPACE#d-abc123#alice#nb"
    space = registry_table.get_item(Key={"pk": pk, "sk": "SPACE"})["Item"]
    assert space["last_restore"]["sk"] == "RESTORE#20261207T120000000000Z"
    assert space["last_restore"]["status"] == "PARTIAL"
    first = registry_table.get_item(
        Key={"pk": pk, "sk": "RESTORE#20261207T120000000000Z"}
    )["Item"]
    assert first["files"] == 2


@pytest.mark.parametrize(
    "key",
    [
        "spaces/private/alice/d-abc123/nb/manifest.json",
        "spaces/private/alice/d-abc123/nb/files/restores/x.json",
        "homes/fs-1/200001/restores/20261207T100000Z.json",
        "spaces/private/../d-abc123/nb/restores/20261207T100000Z.json",
    ],
)
def test_other_keys_are_refused(store: SpaceReports, key: str) -> None:
    with pytest.raises(MalformedEventError):
        record_report(event(key), store)
