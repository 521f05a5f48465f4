"""Registry access the CLI needs and the library's repositories do not offer (yet).

Thin adapters over the same key layout (docs/internals.md section 1) that build the
library's own models: two read-only scans (generations of many profiles, domains) and the
admin's copy request (the `COPY` item, written only by the CLI).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from botocore.exceptions import ClientError

from studio_recovery.models.registry import Domain, Generation
from studio_recovery.models.restore import COPY_SK, CopyRequest


def _scan(table: Any, expression: str, values: dict[str, Any]) -> Iterator[dict[str, Any]]:
    kwargs: dict[str, Any] = {
        "FilterExpression": expression,
        "ExpressionAttributeValues": values,
    }
    while True:
        page = table.scan(**kwargs)
        yield from page.get("Items", [])
        start = page.get("LastEvaluatedKey")
        if not start:
            return
        kwargs["ExclusiveStartKey"] = start


def generations_by_profile(
    table: Any, domain_name: str | None = None
) -> dict[str, list[Generation]]:
    """Every generation, grouped by profile `pk`, oldest first (one paginated Scan)."""
    expression = "entity = :generation"
    values: dict[str, Any] = {":generation": "generation"}
    if domain_name is not None:
        expression += " AND domain_name = :domain"
        values[":domain"] = domain_name
    grouped: dict[str, list[Generation]] = {}
    for item in _scan(table, expression, values):
        generation = Generation.from_item(dict(item))
        grouped.setdefault(generation.pk, []).append(generation)
    for generations in grouped.values():
        generations.sort(key=lambda g: g.generation)
    return grouped


def list_domains(table: Any) -> list[Domain]:
    """Every domain ever recorded, deleted ones included (one paginated Scan)."""
    items = _scan(table, "entity = :domain", {":domain": "domain"})
    return sorted((Domain.from_item(dict(item)) for item in items), key=lambda d: d.created_at)


def put_copy_request(table: Any, request: CopyRequest, *, replace_pending: bool) -> bool:
    """Write the `COPY` item of `request.target`; False when a PENDING one is in the way.

    Unless `replace_pending`, the write is conditional: no item, or one already STARTED.
    """
    body = request.model_dump(mode="json", exclude={"target"}, exclude_none=True)
    item = {"pk": request.target.pk, "sk": COPY_SK, "entity": "copy", **body}
    kwargs: dict[str, Any] = {"Item": item}
    if not replace_pending:
        kwargs["ConditionExpression"] = "attribute_not_exists(pk) OR #status <> :pending"
        kwargs["ExpressionAttributeNames"] = {"#status": "status"}
        kwargs["ExpressionAttributeValues"] = {":pending": "PENDING"}
    try:
        table.put_item(**kwargs)
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
            return False
        raise
    return True
