"""A speed fix to the sandbox's DynamoDB (moto 5.2), applied by the benchmark.

moto's `TransactWriteItems` deep-copies the whole table once for *every item* of the
transaction, to roll back on failure: a 100-item transaction on a 10,000-item table copies
a million items, so our seeder's batched transactions (and any transaction on a large
registry) become quadratic in the table size. DynamoDB does nothing like that. This fix
keeps moto's behaviour (all or nothing) but snapshots only the items the transaction
touches, and restores them when it fails.

Belongs in `studio_recovery.sandbox.compat` (proposed to the lead); kept here meanwhile.
"""

from __future__ import annotations

import copy
import threading
import types
from typing import Any

_local = threading.local()
_original: dict[str, Any] = {}


class _CopyShim(types.SimpleNamespace):
    """Stands in for the `copy` module inside moto.dynamodb.models."""

    @staticmethod
    def deepcopy(obj: Any, memo: dict[int, Any] | None = None) -> Any:
        from moto.dynamodb.models.table import Table

        if getattr(_local, "in_transaction", False) and isinstance(obj, Table):
            return obj  # the touched items are snapshotted by the wrapper instead
        return copy.deepcopy(obj, memo)

    @staticmethod
    def copy(obj: Any) -> Any:
        return copy.copy(obj)


def _key_values(table: Any, op_type: str, op: dict[str, Any]) -> tuple[Any, Any]:
    from moto.dynamodb.models.dynamo_type import DynamoType

    attrs = op["Item"] if op_type == "Put" else op["Key"]
    hash_value = DynamoType(attrs[table.hash_key_attr])
    range_value = (
        DynamoType(attrs[table.range_key_attr]) if table.range_key_attr else None
    )
    return hash_value, range_value


def _snapshot(
    backend: Any, transact_items: list[dict[str, Any]]
) -> list[tuple[Any, ...]]:
    saved = []
    for entry in transact_items:
        try:
            op_type, op = next(iter(entry.items()))
            table = backend.tables[op["TableName"]]
            hash_value, range_value = _key_values(table, op_type, op)
        except (KeyError, StopIteration, TypeError, AttributeError):
            continue  # moto itself reports the malformed entry
        current = table.get_item(hash_value, range_value)
        saved.append((table, hash_value, range_value, copy.deepcopy(current)))
    return saved


def _restore(saved: list[tuple[Any, ...]]) -> None:
    for table, hash_value, range_value, item in reversed(saved):
        if table.range_key_attr:
            bucket = table.items[hash_value]
            if item is None:
                bucket.pop(range_value, None)
                if not bucket:
                    table.items.pop(hash_value, None)
            else:
                bucket[range_value] = item
        elif item is None:
            table.items.pop(hash_value, None)
        else:
            table.items[hash_value] = item


def install() -> None:
    """Patch moto's DynamoDB backend (idempotent)."""
    from moto.dynamodb import models

    mod: Any = models

    if _original:
        return
    backend_cls = models.DynamoDBBackend
    original = backend_cls.transact_write_items
    _original["transact_write_items"] = original
    _original["copy"] = mod.copy

    def transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> None:
        saved = _snapshot(self, transact_items)
        _local.in_transaction = True
        try:
            original(self, transact_items)
        except Exception:
            _restore(saved)
            raise
        finally:
            _local.in_transaction = False

    mod.copy = _CopyShim()
    backend_cls.transact_write_items = transact_write_items  # type: ignore[method-assign]


def uninstall() -> None:
    from moto.dynamodb import models

    mod: Any = models

    if not _original:
        return
    models.DynamoDBBackend.transact_write_items = _original.pop("transact_write_items")  # type: ignore[method-assign]
    mod.copy = _original.pop("copy")
