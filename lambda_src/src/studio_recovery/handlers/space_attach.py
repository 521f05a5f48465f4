"""The space backup lifecycle configurations as the default of the domains the module is
given (`space_backups.attach_to_domain_ids`), run by Terraform's `aws_lambda_invocation`
with `lifecycle_scope = "CRUD"`: create and update attach them to every domain of the input
(and detach them from domains an update dropped), destroy detaches them. A domain whose
default lifecycle configuration is another one keeps it (Studio runs one per app): ours is
only allowed there, and the result says so per domain. Terraform cannot own the settings
of a domain it did not create, hence a function."""

from __future__ import annotations

import functools
from typing import Any

import boto3
from aws_lambda_powertools.utilities.typing import LambdaContext

from studio_recovery.logic.space_backups import domain_update
from studio_recovery.observability import logger


@functools.cache
def sagemaker() -> Any:
    return boto3.client("sagemaker")


@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Lambda entry point (`studio_recovery.handlers.space_attach.handler`)."""
    return attach_to_domains(event, sagemaker())


def attach_to_domains(event: dict[str, Any], client: Any) -> dict[str, Any]:
    """`event`: `domain_ids`, `lifecycle_config_arns` (app type -> ARN) and Terraform's `tf`
    (`action` create / update / delete, `prev_input`). Returns, per domain, what was done
    and the notes on defaults left to another configuration."""
    action = (event.get("tf") or {}).get("action", "create")
    previous = (event.get("tf") or {}).get("prev_input") or {}
    arns: dict[str, str] = dict(event.get("lifecycle_config_arns") or {})
    domains: list[str] = list(event.get("domain_ids") or [])
    result: dict[str, Any] = {}
    if action == "delete":
        for domain_id in domains:
            result[domain_id] = _apply(client, domain_id, arns, attach=False)
        return {"action": action, "domains": result}
    # An update first detaches what the previous input attached and this one does not.
    old_arns: dict[str, str] = dict(previous.get("lifecycle_config_arns") or {})
    for domain_id in previous.get("domain_ids") or []:
        gone = {t: a for t, a in old_arns.items() if domain_id not in domains or arns.get(t) != a}
        if gone:
            _apply(client, domain_id, gone, attach=False)
    for domain_id in domains:
        result[domain_id] = _apply(client, domain_id, arns, attach=True)
    return {"action": action, "domains": result}


def _apply(client: Any, domain_id: str, arns: dict[str, str], *, attach: bool) -> dict[str, Any]:
    try:
        domain = client.describe_domain(DomainId=domain_id)
    except client.exceptions.ResourceNotFound:
        if attach:
            raise
        # Detaching from a domain deleted since: nothing left to detach.
        return {"detached": [], "notes": [f"{domain_id} no longer exists"]}
    request, notes = domain_update(domain, arns, attach=attach)
    if len(request) > 1:
        client.update_domain(**request)
    for note in notes:
        logger.warning(
            "default lifecycle configuration kept", extra={"domain": domain_id, "note": note}
        )
    return {"attached" if attach else "detached": sorted(arns), "notes": notes}
