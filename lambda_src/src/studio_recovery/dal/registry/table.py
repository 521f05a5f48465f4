"""The registry table itself: the client, pagination, conditional writes and transactions
every registry repository shares (docs/internals.md section 1 for the key layout).

Throttling, 5xx and connection failures that outlive botocore's retries become
`TransientAwsError`; a transaction that lost a race becomes `RegistryConflict`, which the
repositories re-read and retry (with `backoff`) a bounded number of times.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import boto3
from botocore.exceptions import ClientError

from studio_recovery.dal.aws_errors import RETRY_CONFIG, error_code, transient_aws_errors
from studio_recovery.models.errors import NotFoundError, RegistryConflict, TransientAwsError

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import DynamoDBServiceResource

MAX_CONFLICT_ATTEMPTS = 5
"""How often a write that lost a race is re-read and retried before giving up."""

CONDITION_FAILED = "ConditionalCheckFailedException"

_CONFLICT_REASONS = frozenset({"ConditionalCheckFailed", "TransactionConflict"})
_THROTTLED_REASONS = frozenset({"ThrottlingError", "ProvisionedThroughputExceeded"})


class RegistryTable:
    """One registry table: what every repository over it needs."""

    def __init__(
        self, table_name: str, dynamodb_resource: DynamoDBServiceResource | None = None
    ) -> None:
        self._resource: Any = dynamodb_resource or boto3.resource("dynamodb", config=RETRY_CONFIG)
        self._table: Any = self._resource.Table(table_name)
        self.table_name = table_name
        # The resource's client serializes plain Python values, transactions included.
        self._client: Any = self._table.meta.client

    # ----------------------------------------------------------------- reads

    def _get(self, key: dict[str, str], action: str) -> dict[str, Any] | None:
        """One item by key (consistent read), or None."""
        with transient_aws_errors(action):
            reply = self._table.get_item(Key=key, ConsistentRead=True)
        item = reply.get("Item")
        return dict(item) if item else None

    def _query(self, action: str, **kwargs: Any) -> Iterator[dict[str, Any]]:
        """Every item a Query returns, page after page."""
        yield from _paginate(self._table.query, action, kwargs)

    def _scan(self, action: str, **kwargs: Any) -> Iterator[dict[str, Any]]:
        """Every item a (filtered) Scan returns, page after page."""
        yield from _paginate(self._table.scan, action, kwargs)

    # ---------------------------------------------------------------- writes

    def _put_if_absent(self, item: dict[str, Any], action: str) -> bool:
        """PutItem only when no item has this key; False (nothing written) otherwise."""
        return self._conditional(
            action,
            lambda: self._table.put_item(Item=item, ConditionExpression="attribute_not_exists(pk)"),
        )

    def _conditional(self, action: str, call: Callable[[], object]) -> bool:
        """Run a conditional write; False when its condition failed."""
        try:
            with transient_aws_errors(action):
                call()
        except ClientError as exc:
            if error_code(exc) != CONDITION_FAILED:
                raise
            return False
        return True

    def _update_existing(
        self, key: dict[str, str], expression: str, values: dict[str, Any], *, what: str
    ) -> dict[str, Any]:
        """UpdateItem on an item that must exist; NotFoundError otherwise. Returns ALL_NEW."""
        try:
            with transient_aws_errors("registry update_item"):
                reply = self._table.update_item(
                    Key=key,
                    UpdateExpression=expression,
                    ExpressionAttributeValues=values,
                    ConditionExpression="attribute_exists(pk)",
                    ReturnValues="ALL_NEW",
                )
        except ClientError as exc:
            if error_code(exc) == CONDITION_FAILED:
                raise NotFoundError(f"{what} is not in the registry") from exc
            raise
        return dict(reply.get("Attributes", {}))

    def _transact(self, actions: list[dict[str, Any]]) -> None:
        """One TransactWriteItems; `RegistryConflict` when a condition failed or another
        transaction touched the same items."""
        for action in actions:
            next(iter(action.values()))["TableName"] = self.table_name
        try:
            with transient_aws_errors("registry transact_write_items"):
                self._client.transact_write_items(TransactItems=actions)
        except ClientError as exc:
            if error_code(exc) != "TransactionCanceledException":
                raise
            reasons = {r.get("Code") for r in exc.response.get("CancellationReasons", [])}
            message = str(exc.response.get("Error", {}).get("Message", ""))
            if reasons & _THROTTLED_REASONS:
                raise TransientAwsError(f"registry transaction throttled: {reasons}") from exc
            if reasons & _CONFLICT_REASONS or any(r in message for r in _CONFLICT_REASONS):
                raise RegistryConflict(f"registry transaction lost a race: {reasons}") from exc
            raise


def _paginate(call: Any, action: str, kwargs: dict[str, Any]) -> Iterator[dict[str, Any]]:
    while True:
        with transient_aws_errors(action):
            reply = call(**kwargs)
        for item in reply.get("Items", []):
            yield dict(item)
        if "LastEvaluatedKey" not in reply:
            return
        kwargs = {**kwargs, "ExclusiveStartKey": reply["LastEvaluatedKey"]}


def backoff(attempt: int) -> None:
    """Jittered exponential pause before retrying a lost race (jitter, not cryptography)."""
    time.sleep(random.uniform(0, 0.05 * 2**attempt))  # noqa: S311
