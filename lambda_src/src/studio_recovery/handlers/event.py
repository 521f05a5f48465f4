"""Lambda `event`: a SageMaker CloudTrail event (via EventBridge) -> the registry.

Thin: parse and validate the event, run `logic.events.handle_event` once per CloudTrail
`eventID` (Powertools idempotency), log and count. A typed error propagates after a log
line saying why, so EventBridge's asynchronous invocation retries it and then sends it to
the dead-letter queue; nothing is written in that case.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)
from aws_lambda_powertools.utilities.parser import parse
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import ValidationError

from studio_recovery.config import EventSettings, load_settings
from studio_recovery.dal.aws_errors import RETRY_CONFIG
from studio_recovery.dal.registry import RegistryRepository
from studio_recovery.dal.sagemaker import SageMakerGateway
from studio_recovery.logic.events import handle_event
from studio_recovery.logic.ports import EventRegistry, SageMakerReader
from studio_recovery.models.cloudtrail import SageMakerCloudTrailEvent
from studio_recovery.models.errors import MalformedEventError, StudioRecoveryError
from studio_recovery.observability import logger, metrics, tracer

IDEMPOTENCY_KEY = "detail.event_id"
"""JMESPath into the parsed event (`model_dump(mode="json")`): the CloudTrail eventID."""


@functools.cache
def _registry() -> EventRegistry:
    return RegistryRepository(load_settings(EventSettings).registry_table_name)


@functools.cache
def _sagemaker() -> SageMakerReader:
    return SageMakerGateway()


@functools.cache
def _idempotency_config() -> IdempotencyConfig:
    return IdempotencyConfig(event_key_jmespath=IDEMPOTENCY_KEY, raise_on_no_idempotency_key=True)


@functools.cache
def _recorder() -> Callable[..., dict[str, Any]]:
    """`_record` wrapped once per process in idempotency keyed on the CloudTrail eventID."""
    persistence = DynamoDBPersistenceLayer(
        table_name=load_settings(EventSettings).idempotency_table_name, boto_config=RETRY_CONFIG
    )
    wrapped: Callable[..., dict[str, Any]] = idempotent_function(
        data_keyword_argument="event",
        persistence_store=persistence,
        config=_idempotency_config(),
    )(_record)
    return wrapped


def _record(event: SageMakerCloudTrailEvent) -> dict[str, Any]:
    outcome = handle_event(event.detail, _registry(), _sagemaker())
    if outcome.recorded:
        metrics.add_metric(name="EventsRecorded", unit=MetricUnit.Count, value=1)
    if outcome.action == "skipped_no_home_efs":
        metrics.add_metric(name="EventsSkippedNoHomeEfs", unit=MetricUnit.Count, value=1)
        logger.warning("Event skipped", extra=outcome.as_dict())
        return outcome.as_dict()
    logger.info("Event applied", extra=outcome.as_dict())
    return outcome.as_dict()


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Entry point (`studio_recovery.handlers.event.handler`)."""
    try:
        load_settings(EventSettings)
        parsed = _parse(event)
        logger.append_keys(event_name=parsed.detail.event_name, event_id=parsed.detail.event_id)
        _idempotency_config().register_lambda_context(context)
        return _recorder()(event=parsed)
    except StudioRecoveryError as exc:
        metrics.add_metric(name="EventsRejected", unit=MetricUnit.Count, value=1)
        logger.error(
            "Event not recorded; raising so it is retried, then dead-lettered",
            extra={"error": type(exc).__name__, "reason": str(exc)},
        )
        raise


def _parse(event: dict[str, Any]) -> SageMakerCloudTrailEvent:
    try:
        return parse(event=event, model=SageMakerCloudTrailEvent)
    except (ValidationError, TypeError, ValueError) as exc:
        raise MalformedEventError(f"not a SageMaker CloudTrail event: {exc}") from None
