"""DynamoDB stream event source mappings, with Lambda's batching and failure semantics.

moto calls a mapped function synchronously inside every table write, with every record
the shard ever held, and empties the shard when the function returns anything. This
module stops that and polls instead, like the Lambda service: one poller per enabled
mapping reads the shard from its starting position, drops records its filter criteria
reject, invokes the function with up to `BatchSize` records, and then

- on success moves past the batch;
- with `ReportBatchItemFailures`, retries from the lowest failed `itemIdentifier`;
- on a function error, halves the batch first when `BisectBatchOnFunctionError` is set,
  then retries up to `MaximumRetryAttempts` (the sandbox caps "forever" at
  :data:`UNBOUNDED_RETRY_CAP`), then sends the batch's metadata to the on-failure
  destination and moves on, so a poison record never blocks the shard.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, cast

from moto.awslambda.models import EventSourceMapping, LambdaBackend, lambda_backends
from moto.core.utils import unix_time
from moto.dynamodb.models import dynamodb_backends
from moto.dynamodb.models.table import StreamRecord, StreamShard
from moto.events.models import EventPattern

from studio_sandbox import delivery
from studio_sandbox.iam import lambda_sources
from studio_sandbox.lambda_runtime import runtime as lambda_runtime
from studio_sandbox.server import state

LOG = logging.getLogger(__name__)

UNBOUNDED_RETRY_CAP = 10
POLL_INTERVAL_S = 0.1
MAX_BACKOFF_S = 2.0

LATEST_ATTRIBUTE = "_sandbox_latest_sequence"

_changed = threading.Condition()
_original_add = StreamShard.add
_original_create_mapping = LambdaBackend.create_event_source_mapping


def _create_mapping(self: LambdaBackend, spec: dict[str, Any]) -> EventSourceMapping:
    """Create the mapping, remembering where LATEST was at that moment (not when polled)."""
    esm: EventSourceMapping = _original_create_mapping(self, spec)
    if ":dynamodb:" in esm.event_source_arn:
        shard = _shard_of(esm, self.account_id, self.region_name)
        if shard is not None:
            setattr(esm, LATEST_ATTRIBUTE, shard.starting_sequence_number + len(shard.items))
    return esm


def _shard_of(esm: EventSourceMapping, account_id: str, region: str) -> StreamShard | None:
    """The shard of the stream a mapping reads, None when that stream is gone or replaced."""
    arn = esm.event_source_arn
    table_name = arn.split(":table/", 1)[1].split("/stream/", 1)[0]
    try:
        table = dynamodb_backends[account_id][region].get_table(table_name)
    except Exception:
        return None
    if table.latest_stream_label != arn.rsplit("/stream/", 1)[-1]:
        return None
    shard: StreamShard | None = table.stream_shard
    return shard


def _add(self: StreamShard, old: Any, new: Any) -> None:
    """Append the record to the shard only; pollers deliver it."""
    t = self.table.stream_specification["StreamViewType"]  # type: ignore[index]
    event_name = "INSERT" if old is None else ("REMOVE" if new is None else "MODIFY")
    seq = len(self.items) + self.starting_sequence_number
    self.items.append(StreamRecord(self.table, t, event_name, old, new, seq))
    with _changed:
        _changed.notify_all()


def _iso(value: float) -> str:
    return datetime.fromtimestamp(value, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def lambda_record(record: StreamRecord, source_arn: str, region: str) -> dict[str, Any]:
    """A stream record as Lambda delivers it (epoch creation time, source ARN)."""
    raw = record.to_json()
    dynamodb = dict(raw["dynamodb"])
    created = dynamodb.get("ApproximateCreationDateTime")
    if isinstance(created, datetime):
        dynamodb["ApproximateCreationDateTime"] = int(unix_time(created))
    return {
        "eventID": raw["eventID"],
        "eventName": raw["eventName"],
        "eventVersion": raw["eventVersion"],
        "eventSource": raw["eventSource"],
        "awsRegion": region,
        "dynamodb": dynamodb,
        "eventSourceARN": source_arn,
    }


def _filters(esm: EventSourceMapping) -> list[EventPattern]:
    criteria = esm.filter_criteria or {}
    return [
        EventPattern.load(f["Pattern"]) for f in criteria.get("Filters", []) if f.get("Pattern")
    ]


@dataclass
class _Batch:
    records: list[dict[str, Any]]
    first_seq: int
    last_seq: int


class StreamPoller:
    """Delivers one mapping's stream to its function until stopped."""

    def __init__(self, esm: EventSourceMapping, account_id: str, region: str) -> None:
        self.esm = esm
        self.account_id = account_id
        self.region = region
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"esm-{esm.uuid[:8]}", daemon=True)
        self._position: int | None = None
        self._window = int(esm.batch_size)
        self._attempts = 0
        self._filters = _filters(esm)

    # -- shard access ---------------------------------------------------------------
    def shard(self) -> StreamShard | None:
        return _shard_of(self.esm, self.account_id, self.region)

    def backlog(self) -> int:
        """Records of the shard not yet handed to (or skipped by) the function."""
        shard = self.shard()
        if shard is None or self._position is None:
            return 0
        return max(0, shard.starting_sequence_number + len(shard.items) - self._position)

    def _next_batch(self, shard: StreamShard) -> _Batch | None:
        start = shard.starting_sequence_number
        if self._position is None:
            latest = getattr(self.esm, LATEST_ATTRIBUTE, None)
            at_end = self.esm.starting_position == "LATEST"
            self._position = (latest or start + len(shard.items)) if at_end else start
        records: list[dict[str, Any]] = []
        first = last = self._position
        index = self._position - start
        while index < len(shard.items) and len(records) < self._window:
            record = lambda_record(shard.items[index], self.esm.event_source_arn, self.region)
            last = start + index
            if not self._filters or any(f.matches_event(cast(Any, record)) for f in self._filters):
                records.append(record)
            elif not records:
                first = last + 1  # dropped by the filter, before the batch began
            index += 1
        if not records:
            self._position = start + index  # everything seen was filtered out
            return None
        return _Batch(records, first, last)

    # -- delivery -------------------------------------------------------------------
    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                worked = self._step()
            except Exception:
                LOG.exception("event source mapping %s: poll failed", self.esm.uuid)
                worked = False
            if not worked:
                with _changed:
                    _changed.wait(POLL_INTERVAL_S)

    def _step(self) -> bool:
        shard = self.shard()
        runtime = lambda_runtime.current()
        if shard is None or runtime is None or not self.esm.enabled:
            return False
        batch = self._next_batch(shard)
        if batch is None:
            return False
        fn = lambda_backends[self.account_id][self.region].get_function(self.esm.function_arn)
        stream = str(self.esm.event_source_arn)
        if not lambda_sources.may_read_stream(str(fn.role), fn.function_name, stream):
            return False  # the execution role cannot read the stream (studio_sandbox.iam)
        result = runtime.invoke_sync(fn, {"Records": batch.records})
        failed_from = self._failed_from(batch, result)
        if failed_from is None:
            self._succeeded(batch)
            return True
        self._failed(batch, failed_from, result)
        return True

    def _failed_from(self, batch: _Batch, result: lambda_runtime.InvokeResult) -> int | None:
        """The sequence number to retry from, or None when the batch succeeded."""
        if result.function_error:
            return batch.first_seq
        if "ReportBatchItemFailures" not in (self.esm.function_response_types or []):
            return None
        try:
            response = json.loads(result.payload or b"null")
        except ValueError:
            return None
        failures = (response or {}).get("batchItemFailures") if isinstance(response, dict) else None
        if not failures:
            return None
        seqs = {int(r["dynamodb"]["SequenceNumber"]) for r in batch.records}
        failed: list[int] = []
        for failure in failures:
            identifier = str((failure or {}).get("itemIdentifier") or "")
            if not identifier.isdigit() or int(identifier) not in seqs:
                return batch.first_seq  # an unknown identifier fails the whole batch
            failed.append(int(identifier))
        return min(failed)

    def _succeeded(self, batch: _Batch) -> None:
        self._position = batch.last_seq + 1
        self._attempts = 0
        self._window = int(self.esm.batch_size)

    def _failed(self, batch: _Batch, failed_from: int, result: lambda_runtime.InvokeResult) -> None:
        self._position = failed_from
        if result.function_error and self.esm.bisect_on_error and len(batch.records) > 1:
            self._window = max(1, (len(batch.records) + 1) // 2)
            return  # bisecting does not count as a retry
        self._attempts += 1
        limit = self.esm.max_retry_attempts
        limit = UNBOUNDED_RETRY_CAP if limit is None or int(limit) < 0 else int(limit)
        if self._attempts <= limit:
            time.sleep(min(MAX_BACKOFF_S, 0.1 * 2**self._attempts))
            return
        failed = [r for r in batch.records if int(r["dynamodb"]["SequenceNumber"]) >= failed_from]
        LOG.warning(
            "event source mapping %s: %d records failed %d times; skipping them",
            self.esm.uuid,
            len(failed),
            self._attempts,
        )
        self._send_on_failure(failed, result)
        self._succeeded(batch)

    def _send_on_failure(
        self, records: list[dict[str, Any]], result: lambda_runtime.InvokeResult
    ) -> None:
        destination = ((self.esm.destination_config or {}).get("OnFailure") or {}).get(
            "Destination"
        )
        if not destination or not records:
            return
        fn = lambda_backends[self.account_id][self.region].get_function(self.esm.function_arn)
        if not lambda_sources.may_deliver(str(fn.role), fn.function_name, destination):
            return  # the execution role may not send there (studio_sandbox.iam)
        first, last = records[0]["dynamodb"], records[-1]["dynamodb"]
        info = {
            "requestContext": {
                "requestId": str(uuid.uuid4()),
                "functionArn": self.esm.function_arn,
                "condition": "RetryAttemptsExhausted",
                "approximateInvokeCount": self._attempts,
            },
            "responseContext": {
                "statusCode": 200,
                "executedVersion": "$LATEST",
                "functionError": result.function_error or "",
            },
            "version": "1.0",
            "timestamp": _iso(time.time()),
            "DDBStreamBatchInfo": {
                "shardId": "shardId-00000001541626099285-f35f62ef",
                "startSequenceNumber": first["SequenceNumber"],
                "endSequenceNumber": last["SequenceNumber"],
                "approximateArrivalOfFirstRecord": _iso(
                    float(first["ApproximateCreationDateTime"])
                ),
                "approximateArrivalOfLastRecord": _iso(float(last["ApproximateCreationDateTime"])),
                "batchSize": len(records),
                "streamArn": self.esm.event_source_arn,
            },
        }
        delivery.send(destination, json.dumps(info))

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        with _changed:
            _changed.notify_all()
        self._thread.join(timeout=5)


class StreamPollers:
    """Keeps one poller running per enabled DynamoDB stream mapping of the sandbox."""

    def __init__(self) -> None:
        self._pollers: dict[str, StreamPoller] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="esm-manager", daemon=True)

    def _mappings(self) -> dict[str, EventSourceMapping]:
        cfg = state.settings()
        backend = lambda_backends[cfg.account_id][cfg.region]
        return {
            esm_id: esm
            for esm_id, esm in list(backend._event_source_mappings.items())
            if ":dynamodb:" in esm.event_source_arn
        }

    def _run(self) -> None:
        cfg = state.settings()
        while not self._stop.wait(0.25):
            mappings = self._mappings()
            for esm_id, esm in mappings.items():
                if esm_id not in self._pollers:
                    poller = StreamPoller(esm, cfg.account_id, cfg.region)
                    self._pollers[esm_id] = poller
                    poller.start()
            for esm_id in [k for k in self._pollers if k not in mappings]:
                self._pollers.pop(esm_id).stop()

    def backlog(self) -> int:
        """Stream records not yet handed to (or skipped by) any mapping's function."""
        return sum(poller.backlog() for poller in list(self._pollers.values()))

    def start(self) -> None:
        StreamShard.add = _add  # type: ignore[method-assign]
        LambdaBackend.create_event_source_mapping = _create_mapping  # type: ignore[method-assign]
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        for poller in self._pollers.values():
            poller.stop()
        self._pollers.clear()
        StreamShard.add = _original_add  # type: ignore[method-assign]
        LambdaBackend.create_event_source_mapping = _original_create_mapping  # type: ignore[method-assign]
