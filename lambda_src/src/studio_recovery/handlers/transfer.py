"""The workflow's Lambda steps: `prepare_handler` and `finalize_handler` (restores,
backups and restores from a backup alike; see `studio_recovery.logic.transfer`).

`finalize_handler` is also the target of the EventBridge rule on "Step Functions Execution
Status Change" (ABORTED, TIMED_OUT, FAILED): it then finds the restore by its execution and
cleans up what the ended execution left behind. An execution whose Finalize already
recorded the result (it then ends FAILED through a Fail state) only has its leftovers
deleted: it is not recorded or notified twice.
"""

from __future__ import annotations

import json
from typing import Any, TypeVar

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel, ValidationError

from studio_recovery.config import PrepareSettings, load_settings
from studio_recovery.logic.ports import RestoreStore
from studio_recovery.logic.transfer import (
    STOPPED_STATUS_ERRORS,
    finalize,
    finalize_stopped,
    prepare,
)
from studio_recovery.models.errors import MalformedEventError
from studio_recovery.models.registry import ProfileKey
from studio_recovery.models.restore import (
    BackupLocation,
    FinalizeInput,
    PrepareInput,
    RestoreItem,
)
from studio_recovery.observability import append_context_keys, logger, metrics
from studio_recovery.services import build_finalize_services, build_prepare_services

ModelT = TypeVar("ModelT", bound=BaseModel)

STATUS_CHANGE = "Step Functions Execution Status Change"
STOPPED_STATUSES = frozenset(STOPPED_STATUS_ERRORS)
"""ABORTED, TIMED_OUT and FAILED: the statuses the execution-ended rule matches."""


@logger.inject_lambda_context(clear_state=True)
def prepare_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Create the access point, locations and task; returns them (stored at `$.transfer`)."""
    request = _validate(PrepareInput, event)
    _log_context(request.target.domain_name, request.target.kind, request.target.name)
    append_context_keys(restore_id=request.restore_id)
    transfer = prepare(request, load_settings(PrepareSettings), build_prepare_services())
    return transfer.model_dump()


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def finalize_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Clean up and record a restore or backup; returns `{"status", "reason",
    "follow_up_restore_id"}`.

    Accepts the workflow's `{"execution_arn", "state": {...}}`, the flat workflow state, or
    an EventBridge execution status change.
    """
    if not isinstance(event, dict):
        raise MalformedEventError(f"finalize expects a JSON object, got {type(event).__name__}")
    if event.get("detail-type") == STATUS_CHANGE:
        return _on_stopped_execution(event)
    state = _validate(FinalizeInput, _flatten(event))
    _log_context(state.target.domain_name, state.target.kind, state.target.name)
    append_context_keys(restore_id=state.restore_id)
    outcome = finalize(state, build_finalize_services())
    family = "Backups" if isinstance(state.target, BackupLocation) else "Restores"
    metric_name = family + outcome.status.title().replace("_", "")
    metrics.add_metric(name=metric_name, unit=MetricUnit.Count, value=1)
    return outcome.workflow_output()


def _on_stopped_execution(event: dict[str, Any]) -> dict[str, Any]:
    detail = event.get("detail") or {}
    if not isinstance(detail, dict):
        raise MalformedEventError("the status change event's detail is not an object")
    status = str(detail.get("status", ""))
    execution_arn = str(detail.get("executionArn", ""))
    if status not in STOPPED_STATUSES or not execution_arn:
        return {"status": "IGNORED", "reason": f"execution status {status or 'unknown'}"}
    services = build_finalize_services()
    item = _restore_of(detail, services.restores)
    outcome = finalize_stopped(
        execution_arn,
        status,
        item,
        services,
        error=_text(detail.get("error")),
        cause=_text(detail.get("cause")),
    )
    if outcome is None:
        return {"status": "IGNORED", "reason": "no unfinished restore for this execution"}
    return outcome.workflow_output()


def _text(value: Any) -> str | None:
    """A status-change field as text: Step Functions sends a string or null."""
    return None if value is None else str(value)


def _restore_of(detail: dict[str, Any], restores: RestoreStore) -> RestoreItem | None:
    """The restore of a stopped execution: from its input when readable, else by ARN."""
    try:
        state = json.loads(detail.get("input") or "{}")
        key = ProfileKey(
            domain_name=state["target"]["domain_name"],
            kind=state["target"]["kind"],
            name=state["target"]["name"],
        )
        item = restores.get_restore(key, str(state["restore_id"]))
    except (ValueError, KeyError, TypeError, ValidationError):
        item = None
    return item or restores.find_by_execution(str(detail.get("executionArn")))


def _flatten(event: dict[str, Any]) -> dict[str, Any]:
    """`{"execution_arn", "state": {...}}` -> the state with `execution_arn` in it."""
    if isinstance(event.get("state"), dict):
        return {**event["state"], "execution_arn": event.get("execution_arn")}
    return event


def _validate(model: type[ModelT], event: dict[str, Any]) -> ModelT:
    try:
        return model.model_validate(event)
    except ValidationError as exc:
        raise MalformedEventError(f"{model.__name__}: {exc}") from None


def _log_context(domain: str, kind: str, name: str) -> None:
    append_context_keys(domain=domain, kind=kind, profile=name)
