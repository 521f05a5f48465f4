"""The registry stream's deletion filter (`exists` on the NEW image) matches as on AWS."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sandbox.tests.helpers import SandboxClients, wait_for
from studio_sandbox.server.app import Sandbox

# The filter Terraform puts on the backup-on-deletion mapping (see the backup contract).
DELETION_FILTER = {
    "eventName": ["MODIFY"],
    "dynamodb": {
        "Keys": {"sk": {"S": [{"prefix": "GEN#"}]}},
        "NewImage": {"deleted_at": {"S": [{"exists": True}]}},
    },
}

RECORDER = """
import json, os

def handler(event, context):
    with open(os.environ["OUT"], "a") as out:
        for record in event["Records"]:
            keys = record["dynamodb"]["Keys"]
            note = record["dynamodb"]["NewImage"].get("note", {}).get("S", "")
            out.write(json.dumps([record["eventName"], keys["sk"]["S"], note]) + "\\n")
    return {"batchItemFailures": []}
"""


def _delivered(out: Path) -> list[list[str]]:
    if not out.is_file():
        return []
    return [json.loads(line) for line in out.read_text().splitlines()]


def test_only_modify_records_that_give_a_generation_deleted_at_pass(
    aws: SandboxClients, sandbox: Sandbox
) -> None:
    # given a registry-like table whose stream is mapped with the deletion filter
    ddb = aws.client("dynamodb")
    stream = ddb.create_table(
        TableName="registry-filter",
        BillingMode="PAY_PER_REQUEST",
        KeySchema=[
            {"AttributeName": "pk", "KeyType": "HASH"},
            {"AttributeName": "sk", "KeyType": "RANGE"},
        ],
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
        ],
        StreamSpecification={
            "StreamEnabled": True,
            "StreamViewType": "NEW_AND_OLD_IMAGES",
        },
    )["TableDescription"]["LatestStreamArn"]
    out = sandbox.data_dir / "deletion-filter.jsonl"
    fn = aws.function("deletion-recorder", RECORDER, env={"OUT": str(out)})
    aws.client("lambda").create_event_source_mapping(
        EventSourceArn=stream,
        FunctionName=fn,
        StartingPosition="TRIM_HORIZON",
        BatchSize=10,
        FilterCriteria={"Filters": [{"Pattern": json.dumps(DELETION_FILTER)}]},
    )

    def put(sk: str, note: str, **extra: Any) -> None:
        item = {"pk": {"S": "PROFILE#d#user#u"}, "sk": {"S": sk}, "note": {"S": note}}
        item.update({k: {"S": v} for k, v in extra.items()})
        ddb.put_item(TableName="registry-filter", Item=item)

    # when
    put("GEN#1", "inserted")  # INSERT: dropped
    put("GEN#1", "renamed")  # MODIFY without deleted_at: dropped
    put("GEN#1", "deleted", deleted_at="2026-11-28T17:00:00Z")  # passes
    put("META", "profile deleted", deleted_at="2026-11-28T17:00:00Z")  # not a GEN#: dropped
    put("META", "profile again", deleted_at="2026-11-28T17:00:01Z")  # not a GEN#: dropped
    put("GEN#2", "inserted deleted", deleted_at="2026-11-28T17:00:00Z")  # INSERT: dropped
    put("GEN#2", "touched", deleted_at="2026-11-28T17:00:00Z")  # passes (old image: for code)
    put("GEN#3", "inserted")
    put("GEN#3", "empty", deleted_at="")  # exists: an empty string still exists
    put("GEN#3", "last")  # MODIFY without deleted_at: dropped
    put("GEN#4", "inserted")
    put("GEN#4", "sentinel", deleted_at="2026-11-28T17:00:02Z")  # passes, comes last

    # then exactly the MODIFY records of GEN# items whose new image has deleted_at
    wait_for(lambda: any(row[2] == "sentinel" for row in _delivered(out)))
    assert _delivered(out) == [
        ["MODIFY", "GEN#1", "deleted"],
        ["MODIFY", "GEN#2", "touched"],
        ["MODIFY", "GEN#3", "empty"],
        ["MODIFY", "GEN#4", "sentinel"],
    ]
