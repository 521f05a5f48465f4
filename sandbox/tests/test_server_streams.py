"""DynamoDB stream event source mappings deliver batches with Lambda's failure semantics."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sandbox.tests.helpers import SandboxClients, wait_for
from studio_sandbox.server.app import Sandbox

# Records every batch (the keys it held) and fails the records whose `fail` attribute
# says so: "once" fails the first delivery only, "always" fails every delivery.
CONSUMER = """
import json, os

def handler(event, context):
    keys = [r["dynamodb"]["Keys"]["pk"]["S"] for r in event["Records"]]
    seen_path = os.environ["OUT"] + ".seen"
    seen = set(open(seen_path).read().split()) if os.path.exists(seen_path) else set()
    with open(os.environ["OUT"], "a") as out:
        out.write(json.dumps(keys) + "\\n")
    failures = []
    for record in event["Records"]:
        key = record["dynamodb"]["Keys"]["pk"]["S"]
        mode = record["dynamodb"].get("NewImage", {}).get("fail", {}).get("S")
        if mode == "always" or (mode == "once" and key not in seen):
            failures.append({"itemIdentifier": record["dynamodb"]["SequenceNumber"]})
        with open(seen_path, "a") as s:
            s.write(key + "\\n")
    if os.environ.get("RAISE") and failures:
        raise RuntimeError("batch failed")
    return {"batchItemFailures": failures}
"""


def _table(aws: SandboxClients, name: str) -> str:
    reply = aws.client("dynamodb").create_table(
        TableName=name,
        BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        StreamSpecification={
            "StreamEnabled": True,
            "StreamViewType": "NEW_AND_OLD_IMAGES",
        },
    )
    return str(reply["TableDescription"]["LatestStreamArn"])


def _put(aws: SandboxClients, table: str, key: str, fail: str | None = None) -> None:
    item: dict[str, Any] = {"pk": {"S": key}}
    if fail:
        item["fail"] = {"S": fail}
    aws.client("dynamodb").put_item(TableName=table, Item=item)


def _batches(out: Path) -> list[list[str]]:
    if not out.is_file():
        return []
    return [json.loads(line) for line in out.read_text().splitlines()]


def _mapping(aws: SandboxClients, stream: str, fn: str, **options: Any) -> str:
    reply = aws.client("lambda").create_event_source_mapping(
        EventSourceArn=stream,
        FunctionName=fn,
        StartingPosition="TRIM_HORIZON",
        **options,
    )
    return str(reply["UUID"])


def test_partial_batch_failure_retries_from_the_failed_record(
    aws: SandboxClients, sandbox: Sandbox
) -> None:
    # given five records, the third failing on its first delivery
    stream = _table(aws, "partial")
    for key, fail in [
        ("a", None),
        ("b", None),
        ("c", "once"),
        ("d", None),
        ("e", None),
    ]:
        _put(aws, "partial", key, fail)
    out = sandbox.data_dir / "partial.jsonl"
    fn = aws.function("partial-consumer", CONSUMER, env={"OUT": str(out)})

    # when
    _mapping(aws, stream, fn, BatchSize=5, FunctionResponseTypes=["ReportBatchItemFailures"])

    # then the retry starts at the failed record, and nothing is delivered twice after it
    batches = wait_for(lambda: len(_batches(out)) >= 2 and _batches(out))
    assert batches[:2] == [["a", "b", "c", "d", "e"], ["c", "d", "e"]]


def test_poison_record_goes_to_the_on_failure_destination_and_the_shard_moves_on(
    aws: SandboxClients, sandbox: Sandbox
) -> None:
    # given a record that always fails, then a good one
    stream = _table(aws, "poison")
    url, queue_arn = aws.queue("stream-failures")
    out = sandbox.data_dir / "poison.jsonl"
    fn = aws.function("poison-consumer", CONSUMER, env={"OUT": str(out)})
    _mapping(
        aws,
        stream,
        fn,
        BatchSize=1,
        MaximumRetryAttempts=1,
        FunctionResponseTypes=["ReportBatchItemFailures"],
        DestinationConfig={"OnFailure": {"Destination": queue_arn}},
    )

    # when
    _put(aws, "poison", "bad", "always")
    _put(aws, "poison", "good")

    # then: one try plus one retry for the poison record, then the next record
    wait_for(lambda: ["good"] in _batches(out))
    assert _batches(out) == [["bad"], ["bad"], ["good"]]
    messages = aws.drain(url, expected=1)
    assert len(messages) == 1
    info = json.loads(messages[0]["Body"])
    assert info["requestContext"]["condition"] == "RetryAttemptsExhausted"
    assert info["DDBStreamBatchInfo"]["batchSize"] == 1
    assert info["DDBStreamBatchInfo"]["streamArn"] == stream


def test_function_error_bisects_the_batch(aws: SandboxClients, sandbox: Sandbox) -> None:
    # given four records, the last failing once, and a function that raises on failure
    stream = _table(aws, "bisect")
    for key, fail in [("a", None), ("b", None), ("c", None), ("d", "once")]:
        _put(aws, "bisect", key, fail)
    out = sandbox.data_dir / "bisect.jsonl"
    fn = aws.function("bisect-consumer", CONSUMER, env={"OUT": str(out), "RAISE": "1"})

    # when
    _mapping(aws, stream, fn, BatchSize=4, BisectBatchOnFunctionError=True)

    # then the failed batch is split in two, and each half goes through
    batches = wait_for(lambda: len(_batches(out)) >= 3 and _batches(out))
    assert batches[:3] == [["a", "b", "c", "d"], ["a", "b"], ["c", "d"]]


def test_filter_criteria_drop_records_before_the_function(
    aws: SandboxClients, sandbox: Sandbox
) -> None:
    stream = _table(aws, "filtered")
    out = sandbox.data_dir / "filtered.jsonl"
    fn = aws.function("filtered-consumer", CONSUMER, env={"OUT": str(out)})
    pattern = {"dynamodb": {"Keys": {"pk": {"S": [{"prefix": "GEN#"}]}}}}
    _mapping(
        aws,
        stream,
        fn,
        BatchSize=10,
        FilterCriteria={"Filters": [{"Pattern": json.dumps(pattern)}]},
    )

    for key in ["OTHER#1", "GEN#1", "OTHER#2", "GEN#2"]:
        _put(aws, "filtered", key)

    wait_for(lambda: sum(len(b) for b in _batches(out)) >= 2)
    delivered = [key for batch in _batches(out) for key in batch]
    assert delivered == ["GEN#1", "GEN#2"]


def test_latest_starting_position_skips_earlier_records(
    aws: SandboxClients, sandbox: Sandbox
) -> None:
    stream = _table(aws, "latest")
    _put(aws, "latest", "before")
    out = sandbox.data_dir / "latest.jsonl"
    fn = aws.function("latest-consumer", CONSUMER, env={"OUT": str(out)})
    aws.client("lambda").create_event_source_mapping(
        EventSourceArn=stream, FunctionName=fn, StartingPosition="LATEST", BatchSize=10
    )

    _put(aws, "latest", "after")  # written at once, before the poller may have started

    wait_for(lambda: _batches(out))
    assert [key for batch in _batches(out) for key in batch] == ["after"]
