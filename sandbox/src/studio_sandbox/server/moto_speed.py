"""Per-request costs of moto 5.2 cut, with the same answers, so the sandbox keeps up with
hundreds of restores at once.

Measured by sampling every thread of a 150-profile recreation run (tests/e2e
test_restore_load.py): most request threads waited on two locks, each held by slow work.

- **Which backend serves a request**: moto's dispatcher answers it under one global lock,
  and for every request lists moto's ~200 package directories on disk
  (`list_of_moto_modules`, an `isdir` per entry) before matching its URL patterns. The
  answer depends only on the host string, so it is kept per host.
- **TransactWriteItems** deep-copies the whole table once for *every item* of the
  transaction, to roll back on failure: quadratic in the registry's size, and done under
  the sandbox's DynamoDB write lock (`compat`), so every other write waited. Only the
  items the transaction touches are snapshotted here, and put back when it fails: still
  all or nothing, as DynamoDB is.
- Every request lists all the methods of its service's response class
  (`inspect.getmembers`, some 400 names) only to ask whether the action is one of them: a
  lookup of the one name answers the same.
- Every conditional write parses its `ConditionExpression` again: the parsed expression,
  which evaluation never changes, is kept per (expression, names, values).
- Every new item re-adds the size of all its attributes once per attribute to check the
  400 KB limit (quadratic in the attributes): the sizes are added once.
- A **Query** on the base table lists and sorts *every item of the table* (`all_items`)
  to keep those of one partition: each `read_history` of a 4,000-profile registry cost a
  sort of some 20,000 items, and with 2,000 `migrate` pairs in flight the sandbox spent
  half its time there (py-spy, bench `--only migrate`). It reads the one partition, in
  the same order, here; a Query on an index is moto's own.
"""

from __future__ import annotations

import copy
import inspect
import json
import threading
import types
from typing import Any

_local = threading.local()
_original: dict[str, Any] = {}
_users = 0
"""How many installs are live: one process may run a sandbox and a test that installs too
(pytest-xdist mixes suites in one worker); moto gets its own code back after the last."""
_users_lock = threading.Lock()


# -- which backend serves a host -------------------------------------------------------
_backend_for_host: dict[str | None, Any] = {}


def _cached_backend_for_host(self: Any, host: str | None) -> Any:
    """moto's `get_backend_for_host`, answered once per host string."""
    try:
        return _backend_for_host[host]
    except KeyError:
        found = _original["get_backend_for_host"](self, host)
        _backend_for_host[host] = found
        return found


# -- TransactWriteItems without a whole-table copy per item ----------------------------
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
    range_value = DynamoType(attrs[table.range_key_attr]) if table.range_key_attr else None
    return hash_value, range_value


def _snapshot(backend: Any, transact_items: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
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


def _transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> None:
    saved = _snapshot(self, transact_items)
    _local.in_transaction = True
    try:
        _original["transact_write_items"](self, transact_items)
    except Exception:
        _restore(saved)
        raise
    finally:
        _local.in_transaction = False


# -- request dispatch ------------------------------------------------------------------
class _MethodNames:
    """What `method_names_from_class` answers, for the one question moto asks of it
    (`action in names`): whether the class has a plain function of that name."""

    def __init__(self, clazz: type) -> None:
        self.clazz = clazz

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and inspect.isfunction(getattr(self.clazz, name, None))


def _method_names(clazz: type) -> _MethodNames:
    return _MethodNames(clazz)


# -- conditional writes and new items --------------------------------------------------
_PARSED_LIMIT = 256
_parsed: dict[str, Any] = {}
_parsed_lock = threading.Lock()


def _filter_expression(
    expr: str | None, names: dict[str, str] | None, values: dict[str, Any] | None
) -> Any:
    """moto's `get_filter_expression`, parsed once per distinct (expression, names, values)."""
    key = json.dumps([expr, names, values], sort_keys=True, default=repr)
    with _parsed_lock:
        found = _parsed.get(key)
    if found is None:
        found = _original["get_filter_expression"](expr, names, values)
        with _parsed_lock:
            if len(_parsed) >= _PARSED_LIMIT:
                _parsed.clear()
            _parsed[key] = found
    return found


def _item_init(self: Any, hash_key: Any, range_key: Any, attrs: dict[str, Any]) -> None:
    """moto's `Item.__init__` with the 400 KB check made once, on the same sum."""
    from moto.dynamodb.exceptions import ItemSizeTooLarge
    from moto.dynamodb.models.dynamo_type import DynamoType, LimitedSizeDict
    from moto.dynamodb.models.utilities import bytesize

    self.hash_key = hash_key
    self.range_key = range_key
    converted = {key: DynamoType(value) for key, value in attrs.items()}
    size = sum(bytesize(key) + value.size() for key, value in converted.items())
    if size > 405000:  # moto's limit (LimitedSizeDict.__setitem__)
        raise ItemSizeTooLarge
    self.attrs = LimitedSizeDict()
    dict.update(self.attrs, converted)


# -- Query reads one partition ---------------------------------------------------------
def _query(self: Any, hash_key: Any, *args: Any, **kwargs: Any) -> Any:
    """moto's `Table.query`; on the base table its `all_items` gives one partition."""
    index_name = kwargs.get("index_name", args[6] if len(args) > 6 else None)
    _local.partition = (self, hash_key) if index_name is None and hash_key is not None else None
    try:
        return _original["query"](self, hash_key, *args, **kwargs)
    finally:
        _local.partition = None


def _all_items(self: Any) -> Any:
    """moto's `Table.all_items`, or, inside a base-table Query of this table, the items of
    the queried partition in the same (range key) order."""
    partition = getattr(_local, "partition", None)
    if partition is None or partition[0] is not self:
        return _original["all_items"](self)
    _local.partition = None  # once: the candidates of the Query
    bucket = self.items.get(partition[1]) if partition[1] in self.items else None
    if bucket is None:
        return []
    if not self.range_key_attr:
        return [bucket]
    return sorted(bucket.values(), key=lambda item: item.range_key)


def install() -> None:
    """Patch moto's dispatcher and DynamoDB backend; every call needs its `uninstall`."""
    global _users
    with _users_lock:
        _users += 1
        if _users == 1:
            _patch()


def _patch() -> None:
    from moto.core import responses as moto_responses
    from moto.dynamodb import models
    from moto.dynamodb.models import dynamo_type
    from moto.dynamodb.models import table as moto_table
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication

    mod: Any = models
    responses: Any = moto_responses
    table: Any = moto_table
    _original["get_backend_for_host"] = DomainDispatcherApplication.get_backend_for_host
    DomainDispatcherApplication.get_backend_for_host = _cached_backend_for_host  # type: ignore[method-assign]
    _original["method_names_from_class"] = responses.method_names_from_class
    responses.method_names_from_class = _method_names
    _original["get_filter_expression"] = table.get_filter_expression
    table.get_filter_expression = _filter_expression
    mod.get_filter_expression = _filter_expression  # transactions parse it there first
    _original["item_init"] = dynamo_type.Item.__init__
    dynamo_type.Item.__init__ = _item_init  # type: ignore[method-assign]
    _original["transact_write_items"] = models.DynamoDBBackend.transact_write_items
    _original["copy"] = mod.copy
    mod.copy = _CopyShim()
    models.DynamoDBBackend.transact_write_items = _transact_write_items  # type: ignore[method-assign]
    _original["query"] = moto_table.Table.query
    _original["all_items"] = moto_table.Table.all_items
    moto_table.Table.query = _query  # type: ignore[method-assign]
    moto_table.Table.all_items = _all_items  # type: ignore[method-assign]


def uninstall() -> None:
    """Give moto back its own code after the last install (other suites in the process may
    use plain moto). An uninstall without an install does nothing."""
    global _users
    with _users_lock:
        if _users == 0:
            return
        _users -= 1
        if _users == 0:
            _unpatch()


def _unpatch() -> None:
    from moto.core import responses as moto_responses
    from moto.dynamodb import models
    from moto.dynamodb.models import dynamo_type
    from moto.dynamodb.models import table as moto_table
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication

    mod: Any = models
    responses: Any = moto_responses
    table: Any = moto_table
    DomainDispatcherApplication.get_backend_for_host = _original.pop("get_backend_for_host")  # type: ignore[method-assign]
    _backend_for_host.clear()
    responses.method_names_from_class = _original.pop("method_names_from_class")
    table.get_filter_expression = _original["get_filter_expression"]
    mod.get_filter_expression = _original.pop("get_filter_expression")
    dynamo_type.Item.__init__ = _original.pop("item_init")  # type: ignore[method-assign]
    _parsed.clear()
    models.DynamoDBBackend.transact_write_items = _original.pop("transact_write_items")  # type: ignore[method-assign]
    mod.copy = _original.pop("copy")
    moto_table.Table.query = _original.pop("query")  # type: ignore[method-assign]
    moto_table.Table.all_items = _original.pop("all_items")  # type: ignore[method-assign]
