"""The registry stream's filters (`exists` on the images) match as on AWS.

The patterns are the ones modules/workflow/functions.tf puts on the stream mapping. They
filter on the `dynamodb` key only (the form the Lambda guide documents for DynamoDB
streams) and tell an INSERT (no old image) from a MODIFY (both images) by the images.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sandbox.tests.helpers import SandboxClients, wait_for
from studio_sandbox.server.app import Sandbox

# The filter Terraform puts on the backup-on-deletion mapping (see the backup contract).
DELETION_FILTER = {
    "dynamodb": {
        "Keys": {"sk": {"S": [{"prefix": "GEN#"}]}},
        "OldImage": {"sk": {"S": [{"exists": True}]}},
        "NewImage": {"deleted_at": {"S": [{"exists": True}]}},
    },
}
# The filter for new generations.
NEW_GENERATION_FILTER = {
    "dynamodb": {
        "Keys": {"sk": {"S": [{"prefix": "GEN#"}]}},
        "OldImage": {"sk": {"S": [{"exists": False}]}},
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


def _mapped_table(
    aws: SandboxClients, sandbox: Sandbox, name: str, pattern: dict[str, Any]
) -> tuple[Path, Callable[..., None]]:
    """A registry-like table whose stream is mapped, with `pattern`, to a recorder; returns
    the recorder's output file and a `put(sk, note, **attributes)` for the table."""
    ddb = aws.client("dynamodb")
    stream = ddb.create_table(
        TableName=name,
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
    out = sandbox.data_dir / f"{name}.jsonl"
    fn = aws.function(f"{name}-recorder", RECORDER, env={"OUT": str(out)})
    aws.client("lambda").create_event_source_mapping(
        EventSourceArn=stream,
        FunctionName=fn,
        StartingPosition="TRIM_HORIZON",
        BatchSize=10,
        FilterCriteria={"Filters": [{"Pattern": json.dumps(pattern)}]},
    )

    def put(sk: str, note: str, **extra: Any) -> None:
        item = {"pk": {"S": "PROFILE#d#user#u"}, "sk": {"S": sk}, "note": {"S": note}}
        item.update({k: {"S": v} for k, v in extra.items()})
        ddb.put_item(TableName=name, Item=item)

    return out, put


def test_only_modify_records_that_give_a_generation_deleted_at_pass(
    aws: SandboxClients, sandbox: Sandbox
) -> None:
    # given a registry-like table whose stream is mapped with the deletion filter
    out, put = _mapped_table(aws, sandbox, "registry-filter", DELETION_FILTER)

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


def test_only_inserts_of_generations_pass_the_new_generation_filter(
    aws: SandboxClients, sandbox: Sandbox
) -> None:
    # given a registry-like table whose stream is mapped with the new-generation filter
    out, put = _mapped_table(aws, sandbox, "registry-new-gen", NEW_GENERATION_FILTER)

    # when
    put("GEN#1", "inserted")  # INSERT: passes
    put("GEN#1", "renamed")  # MODIFY: dropped
    put("GEN#1", "deleted", deleted_at="2026-11-28T17:00:00Z")  # MODIFY: dropped
    put("META", "profile")  # INSERT, not a GEN#: dropped
    put("COPY", "copy", status="PENDING")  # INSERT, not a GEN#: dropped
    put("GEN#2", "sentinel")  # INSERT: passes, comes last

    # then exactly the INSERT records of GEN# items
    wait_for(lambda: any(row[2] == "sentinel" for row in _delivered(out)))
    assert _delivered(out) == [["INSERT", "GEN#1", "inserted"], ["INSERT", "GEN#2", "sentinel"]]
