"""Registry stream -> restore and backup executions: routing only (the work is in
`studio_recovery.logic.stream`).

Routes INSERTs of `GEN#` items (a new home directory), INSERTs/MODIFYs of `COPY` items
whose status is PENDING (docs/internals.md section 1) and, when backups are on
(`BACKUP_BUCKET_NAME`), MODIFYs of `GEN#` items that just got `deleted_at` (a deleted
home directory is backed up); ignores every other record.
Each record is handled on its own (partial batch response): a poison record fails alone.
Handling is idempotent: restore items are written only if absent and executions are named
by their deterministic `restore_id`.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.batch import (
    BatchProcessor,
    EventType,
    process_partial_response,
)
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import (
    DynamoDBRecord,
    DynamoDBRecordEventName,
)
from aws_lambda_powertools.utilities.typing import LambdaContext

from studio_recovery.logic.stream import on_deleted_generation, on_new_generation, on_pending_copy
from studio_recovery.models.registry import GENERATION_PREFIX, ProfileKey
from studio_recovery.models.restore import COPY_SK
from studio_recovery.observability import append_context_keys, logger, metrics
from studio_recovery.services import build_stream_services as build_services

processor = BatchProcessor(event_type=EventType.DynamoDBStreams)


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    """Lambda entry point (`studio_recovery.handlers.stream.handler`)."""
    return process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )


def record_handler(record: DynamoDBRecord) -> str:
    """Route one stream record; returns what was done (for the logs and tests)."""
    keys = record.dynamodb.keys if record.dynamodb else {}
    pk, sk = str(keys.get("pk", "")), str(keys.get("sk", ""))
    event_name = record.event_name
    if event_name == DynamoDBRecordEventName.INSERT and sk.startswith(GENERATION_PREFIX):
        key, number = ProfileKey.from_pk(pk), int(sk.removeprefix(GENERATION_PREFIX))
        return on_new_generation(key, number, build_services())
    if event_name in (DynamoDBRecordEventName.INSERT, DynamoDBRecordEventName.MODIFY) and (
        sk == COPY_SK
    ):
        image = record.dynamodb.new_image if record.dynamodb else {}
        if image.get("status") == "PENDING":
            return on_pending_copy(ProfileKey.from_pk(pk), build_services())
    if event_name == DynamoDBRecordEventName.MODIFY and sk.startswith(GENERATION_PREFIX):
        return _on_generation_modified(record, pk, sk)
    return "ignored"


def _on_generation_modified(record: DynamoDBRecord, pk: str, sk: str) -> str:
    """A `GEN#` item changed: back it up when it was just marked deleted (backups on)."""
    services = build_services()
    if services.backup_bucket is None:
        return "ignored: backups off"
    new_image = record.dynamodb.new_image if record.dynamodb else {}
    old_image = record.dynamodb.old_image if record.dynamodb else {}
    if new_image.get("deleted_at") is None or old_image.get("deleted_at") is not None:
        return "ignored: not a deletion"
    key = ProfileKey.from_pk(pk)
    number = int(sk.removeprefix(GENERATION_PREFIX))
    append_context_keys(domain=key.domain_name, kind=key.kind, profile=key.name)
    return on_deleted_generation(key, number, services, services.backup_bucket)
