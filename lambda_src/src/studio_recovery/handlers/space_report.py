"""EBS space restores into the registry: S3 "Object Created" of a space agent's restore
report (spaces/.../restores/<time>.json, through EventBridge) -> the restore item and the
space's row (where its home lives, its last restore). Which space it is comes from the
object key, which the bucket policy fences per owner; the counters from the report."""

from __future__ import annotations

import functools
from typing import Any

import boto3
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from studio_recovery.config import SpaceReportSettings, load_settings
from studio_recovery.dal.space_reports import SpaceReports
from studio_recovery.logic.space_backups import parse_report_key, restore_items
from studio_recovery.models.errors import MalformedEventError
from studio_recovery.models.space_report import S3ObjectCreatedEvent
from studio_recovery.observability import logger, metrics


@functools.cache
def reports() -> SpaceReports:
    settings = load_settings(SpaceReportSettings)
    table = boto3.resource("dynamodb").Table(settings.registry_table_name)
    return SpaceReports(boto3.client("s3"), table)


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Lambda entry point (`studio_recovery.handlers.space_report.handler`)."""
    return record_report(event, reports())


def record_report(event: dict[str, Any], store: SpaceReports) -> dict[str, Any]:
    parsed = S3ObjectCreatedEvent.model_validate(event)
    key = parsed.detail.object.key
    found = parse_report_key(key)
    if found is None:
        raise MalformedEventError(f"not a space restore report: {key!r}")
    ref, stamp = found
    report = store.read(parsed.detail.bucket.name, key)
    restore, space = restore_items(ref, stamp, report, key)
    store.record(restore, space)
    logger.info("space restore recorded", extra={"space": ref.prefix, "status": report.status})
    metrics.add_metric(name="SpaceRestoresRecorded", unit=MetricUnit.Count, value=1)
    if report.status in ("PARTIAL", "FAILED"):
        metrics.add_metric(name="SpaceRestoresNotSucceeded", unit=MetricUnit.Count, value=1)
    return {"pk": restore["pk"], "sk": restore["sk"], "status": report.status}
