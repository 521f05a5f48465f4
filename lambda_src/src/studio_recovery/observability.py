"""The one Logger, Tracer and Metrics of the library (Powertools)."""

from __future__ import annotations

from aws_lambda_powertools import Logger, Metrics, Tracer

SERVICE_NAME = "studio-recovery"
METRICS_NAMESPACE = "StudioRecovery"

logger = Logger(service=SERVICE_NAME)
tracer = Tracer(service=SERVICE_NAME)
metrics = Metrics(namespace=METRICS_NAMESPACE, service=SERVICE_NAME)


def append_context_keys(
    *,
    domain: str | None = None,
    kind: str | None = None,
    profile: str | None = None,
    restore_id: str | None = None,
) -> None:
    """Add the given keys to every following log line of this invocation (None is skipped)."""
    keys = {"domain": domain, "kind": kind, "profile": profile, "restore_id": restore_id}
    logger.append_keys(**{name: value for name, value in keys.items() if value is not None})
