"""Lambda `seeder`: record every existing domain, user profile and space.

Invoked once on install by Terraform (`aws_lambda_invocation`, input `{}` or
`{"action": "seed"}`), and safe to invoke again. Returns and logs the counts.
"""

from __future__ import annotations

import functools
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from studio_recovery.config import SeederSettings, load_settings
from studio_recovery.dal.registry import RegistryRepository
from studio_recovery.dal.sagemaker import SageMakerGateway
from studio_recovery.logic.ports import SeedRegistry, SeedSource
from studio_recovery.logic.seeding import seed
from studio_recovery.models.errors import MalformedEventError
from studio_recovery.observability import logger, metrics, tracer


@functools.cache
def _registry() -> SeedRegistry:
    return RegistryRepository(load_settings(SeederSettings).registry_table_name)


@functools.cache
def _sagemaker() -> SeedSource:
    return SageMakerGateway(threads=load_settings(SeederSettings).seed_concurrency)


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any] | None, context: LambdaContext) -> dict[str, Any]:
    """Entry point (`studio_recovery.handlers.seeder.handler`)."""
    event = event or {}
    if not isinstance(event, dict):
        raise MalformedEventError(f"seeder input must be a JSON object, got {type(event).__name__}")
    if event.get("tf", {}).get("action") == "delete":  # aws_lambda_invocation on destroy
        logger.info("Terraform destroy: nothing to seed")
        return {"action": "none"}
    action = event.get("action", "seed")
    if action != "seed":
        raise MalformedEventError(
            f'unknown seeder action {action!r}; send {{}} or {{"action": "seed"}}'
        )
    settings = load_settings(SeederSettings)
    report = seed(
        _sagemaker(),
        _registry(),
        concurrency=settings.seed_concurrency,
        run_id=f"seed:{context.aws_request_id}",
    )
    metrics.add_metric(name="ProfilesSeeded", unit=MetricUnit.Count, value=report.recorded)
    return {"action": "seed", **report.as_dict()}
