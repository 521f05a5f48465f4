"""Registry stream -> restore and backup executions.

Reacts to INSERTs of `GEN#` items (a new home directory), to INSERTs/MODIFYs of `COPY`
items whose status is PENDING (docs/internals.md section 1) and, when backups are on
(`BACKUP_BUCKET_NAME`), to MODIFYs of `GEN#` items that just got `deleted_at` (a deleted
home directory is backed up); ignores every other record.
Each record is handled on its own (partial batch response): a poison record fails alone.
Handling is idempotent: restore items are written only if absent and executions are named
by their deterministic `restore_id`.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit, single_metric
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

from studio_recovery.config import StreamSettings, load_settings
from studio_recovery.dal.registry import RegistryRepository
from studio_recovery.dal.restores import RestoreRepository
from studio_recovery.dal.workflow import WorkflowGateway
from studio_recovery.logic.backups import deletion_backup, gone_volumes, latest_backups
from studio_recovery.logic.restore_plan import (
    PendingCopy,
    Plan,
    SkipReason,
    SkipRestore,
    plan_copy,
    plan_restore,
    reuse_window_of,
)
from studio_recovery.logic.restore_start import record_skip, start_backup, start_restore
from studio_recovery.models.errors import NotFoundError
from studio_recovery.models.registry import GENERATION_PREFIX, Generation, ProfileKey
from studio_recovery.models.restore import COPY_SK, BackupLocation, Trigger
from studio_recovery.observability import (
    METRICS_NAMESPACE,
    append_context_keys,
    logger,
    metrics,
)

processor = BatchProcessor(event_type=EventType.DynamoDBStreams)


@dataclass
class StreamServices:
    registry: RegistryRepository
    restores: RestoreRepository
    workflow: WorkflowGateway
    reuse_window: timedelta
    clock: Callable[[], datetime] = lambda: datetime.now(UTC)
    backup_bucket: str | None = None
    """The backup bucket; None when backups are off (then nothing here reads backups)."""


@functools.cache
def build_services() -> StreamServices:
    """Clients and settings, made once per cold start (tests: `build_services.cache_clear()`)."""
    settings = load_settings(StreamSettings)
    return StreamServices(
        registry=RegistryRepository(settings.registry_table_name),
        restores=RestoreRepository(settings.registry_table_name),
        workflow=WorkflowGateway(settings.state_machine_arn),
        reuse_window=reuse_window_of(settings.name_reuse_window_days),
        backup_bucket=settings.backup_bucket_name,
    )


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    """Lambda entry point (`studio_recovery.handlers.stream.handler`)."""
    return process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )


def record_handler(record: DynamoDBRecord) -> str:
    """Handle one stream record; returns what was done (for the logs and tests)."""
    keys = record.dynamodb.keys if record.dynamodb else {}
    pk, sk = str(keys.get("pk", "")), str(keys.get("sk", ""))
    event_name = record.event_name
    if event_name == DynamoDBRecordEventName.INSERT and sk.startswith(GENERATION_PREFIX):
        return on_new_generation(ProfileKey.from_pk(pk), int(sk.removeprefix(GENERATION_PREFIX)))
    if event_name in (DynamoDBRecordEventName.INSERT, DynamoDBRecordEventName.MODIFY) and (
        sk == COPY_SK
    ):
        image = record.dynamodb.new_image if record.dynamodb else {}
        if image.get("status") == "PENDING":
            return on_pending_copy(ProfileKey.from_pk(pk))
    if event_name == DynamoDBRecordEventName.MODIFY and sk.startswith(GENERATION_PREFIX):
        return on_generation_modified(record, pk, sk)
    return "ignored"


def on_new_generation(key: ProfileKey, number: int) -> str:
    """A new home directory of `key`: restore into it (or a pending copy), or record why not."""
    services = build_services()
    append_context_keys(domain=key.domain_name, kind=key.kind, profile=key.name)
    profile = services.registry.get_profile(key)
    if profile is None:
        raise NotFoundError(f"generation {number} of {key} has no profile row")
    generations = services.registry.list_generations(key)
    target = _find(generations, number)
    if target is None:
        logger.warning("Generation from the stream is not in the registry", extra={"n": number})
        return "ignored"
    pending = _pending_copy(key, services)
    gone, backups = _backup_knowledge(key, target, generations, services)
    plan = plan_restore(
        profile=profile,
        target=target,
        generations=generations,
        reuse_window=services.reuse_window,
        pending_copy=pending,
        gone_volumes=gone,
        latest_backups=backups,
    )
    return _carry_out(plan, target, services, trigger="copy" if pending else "auto")


def on_pending_copy(key: ProfileKey) -> str:
    """An admin asked for a copy into `key`: start it at once when the target exists."""
    services = build_services()
    append_context_keys(domain=key.domain_name, kind=key.kind, profile=key.name)
    pending = _pending_copy(key, services)
    if pending is None:
        return "ignored"
    profile = services.registry.get_profile(key)
    if profile is None or profile.is_deleted:
        logger.info("Copy waits for its target profile to be created")
        return "waiting"
    target = _find(services.registry.list_generations(key), profile.generation)
    if target is None:
        raise NotFoundError(f"{key}: current generation {profile.generation} is not recorded")
    return _carry_out(plan_copy(target=target, copy=pending), target, services, trigger="copy")


def on_generation_modified(record: DynamoDBRecord, pk: str, sk: str) -> str:
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


def on_deleted_generation(
    key: ProfileKey, number: int, services: StreamServices, bucket: str
) -> str:
    """Back up generation `number` of `key`, just deleted (trigger `deletion`)."""
    profile = services.registry.get_profile(key)
    if profile is None:
        raise NotFoundError(f"deleted generation {number} of {key} has no profile row")
    generation = services.registry.get_generation(key, number)
    if generation is None or generation.deleted_at is None:
        logger.warning("Deleted generation from the stream is not in the registry as deleted")
        return "ignored: generation not deleted in the registry"
    domain = services.registry.get_domain(generation.domain_name, generation.domain_id)
    decision = deletion_backup(generation, profile, bucket=bucket, gone=gone_volumes([domain]))
    if decision.request is None:
        reason = decision.skip.value if decision.skip else "unknown"
        logger.info("Deleted home directory not backed up", extra={"reason": reason})
        return f"ignored: {reason}"
    append_context_keys(restore_id=decision.request.restore_id)
    result = start_backup(decision.request, services.restores, services.workflow, services.clock())
    if result.started:
        metrics.add_metric(name="BackupsStarted", unit=MetricUnit.Count, value=1)
        return f"backup started: {result.restore_id}"
    return f"backup already started: {result.restore_id}"


def _backup_knowledge(
    key: ProfileKey,
    target: Generation,
    generations: list[Generation],
    services: StreamServices,
) -> tuple[frozenset[str], dict[int, BackupLocation]]:
    """(EFS ids of gone volumes, generation -> latest SUCCEEDED backup) for planning the
    restore into `target`; both empty when backups are off (today's behaviour)."""
    if services.backup_bucket is None:
        return frozenset(), {}
    earlier = [g for g in generations if g.generation < target.generation]
    domains = {(g.domain_name, g.domain_id) for g in earlier}
    gone = gone_volumes(services.registry.get_domain(name, id_) for name, id_ in sorted(domains))
    if not any(g.efs_id in gone for g in earlier):
        return gone, {}
    return gone, latest_backups(services.restores.list_backups(key))


def _pending_copy(key: ProfileKey, services: StreamServices) -> PendingCopy | None:
    copy = services.restores.get_copy(key)
    if copy is None or copy.status != "PENDING":
        return None
    return PendingCopy(copy, services.registry.list_generations(copy.source))


def _carry_out(
    plan: Plan, target: Generation, services: StreamServices, trigger: Trigger = "auto"
) -> str:
    now = services.clock()
    if isinstance(plan, SkipRestore) and plan.reason is SkipReason.NO_EARLIER_GENERATION:
        # A profile's first home directory: nothing to restore, nothing worth a record.
        logger.info("First home directory of this profile; nothing to restore")
        return "ignored: first home directory"
    if isinstance(plan, SkipRestore):
        record_skip(plan, target, services.restores, now, trigger=trigger)
        with single_metric(
            name="RestoresSkipped", unit=MetricUnit.Count, value=1, namespace=METRICS_NAMESPACE
        ) as metric:
            metric.add_dimension(name="reason", value=plan.reason.value)
        return f"skipped: {plan.reason.value}"
    append_context_keys(restore_id=plan.request.restore_id)
    result = start_restore(plan, services.restores, services.workflow, now)
    if result.started:
        metrics.add_metric(name="RestoresStarted", unit=MetricUnit.Count, value=1)
        return f"started: {result.restore_id}"
    return f"already started: {result.restore_id}"


def _find(generations: list[Generation], number: int) -> Generation | None:
    return next((g for g in generations if g.generation == number), None)
