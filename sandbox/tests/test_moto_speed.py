"""studio_sandbox.server.moto_speed: moto answers as it did without the speed fixes."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws
from moto.core.utils import method_names_from_class
from moto.dynamodb.responses import DynamoHandler
from moto.moto_server.werkzeug_app import DomainDispatcherApplication
from moto.sagemaker.responses import SageMakerResponse

from studio_sandbox.server import moto_speed

TABLE = "studio-recovery-registry"
REGION = "us-east-1"


@pytest.fixture
def ddb(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """A DynamoDB client on a registry-shaped table (pk, sk strings) in in-process moto,
    with the speed fixes installed."""
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.setenv(name, "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with mock_aws():
        client = boto3.client("dynamodb", region_name=REGION)
        client.create_table(
            TableName=TABLE,
            KeySchema=[
                {"AttributeName": "pk", "KeyType": "HASH"},
                {"AttributeName": "sk", "KeyType": "RANGE"},
            ],
            AttributeDefinitions=[
                {"AttributeName": "pk", "AttributeType": "S"},
                {"AttributeName": "sk", "AttributeType": "S"},
            ],
            BillingMode="PAY_PER_REQUEST",
        )
        moto_speed.install()
        try:
            yield client
        finally:
            moto_speed.uninstall()


def _error(call: Any, **kwargs: Any) -> str:
    with pytest.raises(ClientError) as failure:
        call(**kwargs)
    return str(failure.value.response["Error"]["Code"])


def _put(pk: str, value: str, *, new: bool = True) -> dict[str, Any]:
    put: dict[str, Any] = {
        "TableName": TABLE,
        "Item": {"pk": {"S": pk}, "sk": {"S": "A"}, "v": {"S": value}},
    }
    if new:
        put["ConditionExpression"] = "attribute_not_exists(pk)"
    return {"Put": put}


def _items(ddb: Any) -> dict[str, str]:
    return {i["pk"]["S"]: i["v"]["S"] for i in ddb.scan(TableName=TABLE)["Items"]}


def test_a_successful_transaction_writes_every_item(ddb: Any) -> None:
    ddb.transact_write_items(TransactItems=[_put("a", "1"), _put("b", "1")])
    assert _items(ddb) == {"a": "1", "b": "1"}


def test_a_failed_transaction_leaves_the_table_as_it_was(ddb: Any) -> None:
    # given
    ddb.transact_write_items(TransactItems=[_put("a", "old"), _put("c", "old")])
    # when: a and b are written, then the condition on c fails
    with pytest.raises(ClientError) as failure:
        ddb.transact_write_items(
            TransactItems=[
                _put("a", "new", new=False),
                _put("b", "new"),
                _put("c", "new"),
            ]
        )
    # then
    assert failure.value.response["Error"]["Code"] == "TransactionCanceledException"
    assert _items(ddb) == {"a": "old", "c": "old"}


def test_a_failed_transaction_does_not_undo_other_items(ddb: Any) -> None:
    """Only the items a transaction touches are put back: a row outside it stays as written
    (moto's own rollback restored a copy of the whole table)."""
    ddb.put_item(TableName=TABLE, Item={"pk": {"S": "other"}, "sk": {"S": "A"}, "v": {"S": "1"}})
    ddb.transact_write_items(TransactItems=[_put("c", "old")])
    with pytest.raises(ClientError):
        ddb.transact_write_items(TransactItems=[_put("d", "new"), _put("c", "new")])
    assert _items(ddb) == {"other": "1", "c": "old"}


@pytest.mark.parametrize("cls", [DynamoHandler, SageMakerResponse])
def test_method_names_answer_as_moto_listed_them(cls: type) -> None:
    listed = set(method_names_from_class(cls))
    names = moto_speed._method_names(cls)
    assert listed and all(name in names for name in listed)
    for name in ("not_an_action", "__init__x", "response_headers", "", "dispatch2"):
        assert (name in names) == (name in listed)


def test_an_item_over_400_kb_is_still_refused(ddb: Any) -> None:
    big = {
        "pk": {"S": "big"},
        "sk": {"S": "A"},
        "a": {"S": "x" * 300_000},
        "b": {"S": "y" * 110_000},
    }
    assert _error(ddb.put_item, TableName=TABLE, Item=big) == "ValidationException"
    ddb.put_item(
        TableName=TABLE,
        Item={"pk": {"S": "ok"}, "sk": {"S": "A"}, "a": {"S": "x" * 300_000}},
    )
    item = ddb.get_item(TableName=TABLE, Key={"pk": {"S": "ok"}, "sk": {"S": "A"}})["Item"]
    assert item["a"]["S"] == "x" * 300_000


def test_a_condition_parsed_once_is_still_checked_per_item_and_per_value(
    ddb: Any,
) -> None:
    key = {"sk": {"S": "A"}}
    new = {"ConditionExpression": "attribute_not_exists(pk)"}
    ddb.put_item(TableName=TABLE, Item={"pk": {"S": "a"}, **key, "n": {"N": "1"}}, **new)
    again = {
        "TableName": TABLE,
        "Item": {"pk": {"S": "a"}, **key, "n": {"N": "9"}},
        **new,
    }
    assert _error(ddb.put_item, **again) == "ConditionalCheckFailedException"
    ddb.put_item(TableName=TABLE, Item={"pk": {"S": "b"}, **key, "n": {"N": "1"}}, **new)

    def put_if_n(value: str, n: str) -> dict[str, Any]:
        return {
            "TableName": TABLE,
            "Item": {"pk": {"S": "a"}, **key, "n": {"N": n}},
            "ConditionExpression": "n = :v",
            "ExpressionAttributeValues": {":v": {"N": value}},
        }

    assert _error(ddb.put_item, **put_if_n("5", "2")) == "ConditionalCheckFailedException"
    ddb.put_item(**put_if_n("1", "2"))  # same expression, other value: parsed anew
    item = ddb.get_item(TableName=TABLE, Key={"pk": {"S": "a"}, **key})["Item"]
    assert item["n"] == {"N": "2"}
    put_b = {"Put": {"TableName": TABLE, "Item": {"pk": {"S": "b"}, **key}, **new}}
    assert _error(ddb.transact_write_items, TransactItems=[put_b]) == "TransactionCanceledException"


def test_the_backend_for_a_host_is_looked_up_once_with_moto_s_answer(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    hosts = ["dynamodb.us-east-1.amazonaws.com", "sagemaker.us-east-1.amazonaws.com",
             "states.us-east-1.amazonaws.com", "s3", None]  # fmt: skip
    dispatcher = DomainDispatcherApplication(create_app=lambda backend: None)  # type: ignore[arg-type,return-value]
    moto_speed.install()
    try:
        original = moto_speed._original["get_backend_for_host"]
        expected = {host: original(dispatcher, host) for host in hosts}
        assert expected["dynamodb.us-east-1.amazonaws.com"] == "dynamodb"
        calls: list[str | None] = []

        def counted(self: Any, host: str | None) -> Any:
            calls.append(host)
            return original(self, host)

        # A sandbox of another test in this process may share the cache: start from none.
        monkeypatch.setattr(moto_speed, "_backend_for_host", {})
        monkeypatch.setitem(moto_speed._original, "get_backend_for_host", counted)
        for _ in range(3):
            assert {host: dispatcher.get_backend_for_host(host) for host in hosts} == expected
        assert sorted(calls, key=str) == sorted(hosts, key=str)
    finally:
        moto_speed.uninstall()


def test_installs_nest_and_each_uninstall_gives_back_what_it_found() -> None:
    """A sandbox and a test may both install in one process: the inner uninstall keeps the
    fixes the outer one still needs."""
    before = DomainDispatcherApplication.get_backend_for_host
    moto_speed.install()
    patched = DomainDispatcherApplication.get_backend_for_host
    moto_speed.install()
    moto_speed.uninstall()
    assert DomainDispatcherApplication.get_backend_for_host is patched
    assert patched is moto_speed._cached_backend_for_host
    moto_speed.uninstall()
    assert DomainDispatcherApplication.get_backend_for_host is before


def _query_pages(ddb: Any, pk: str, *, forward: bool, limit: int) -> list[list[str]]:
    pages, start = [], None
    while True:
        kwargs: dict[str, Any] = {
            "TableName": TABLE,
            "KeyConditionExpression": "pk = :pk AND begins_with(sk, :gen)",
            "ExpressionAttributeValues": {":pk": {"S": pk}, ":gen": {"S": "GEN#"}},
            "ScanIndexForward": forward,
            "Limit": limit,
        }
        if start:
            kwargs["ExclusiveStartKey"] = start
        answer = ddb.query(**kwargs)
        pages.append([item["sk"]["S"] for item in answer["Items"]])
        start = answer.get("LastEvaluatedKey")
        if not start:
            return pages


def test_a_query_reads_its_partition_only_with_moto_s_answer(ddb: Any) -> None:
    from moto.dynamodb.models.table import Table

    # Given many partitions, each with items in and out of the key condition
    for p in range(40):
        for sk in ("PROFILE", "GEN#0000000003", "GEN#0000000001", "GEN#0000000002", "COPY"):
            ddb.put_item(TableName=TABLE, Item={"pk": {"S": f"p{p:03d}"}, "sk": {"S": sk}})
    whole_table = 0
    original = moto_speed._original["all_items"]

    def counting(self: Any) -> Any:
        nonlocal whole_table
        whole_table += 1
        return original(self)

    moto_speed._original["all_items"] = counting
    try:
        # When a partition is queried, forwards and backwards, a page at a time
        fast = [_query_pages(ddb, "p007", forward=f, limit=2) for f in (True, False)]
        missing = _query_pages(ddb, "nobody", forward=True, limit=2)
    finally:
        moto_speed._original["all_items"] = original
    # Then the table was never listed whole
    assert whole_table == 0
    # and the answers are moto's own
    moto_speed.uninstall()
    try:
        plain = [_query_pages(ddb, "p007", forward=f, limit=2) for f in (True, False)]
        assert Table.all_items is original
    finally:
        moto_speed.install()
    assert (
        fast
        == plain
        == [
            [["GEN#0000000001", "GEN#0000000002"], ["GEN#0000000003"]],
            [["GEN#0000000003", "GEN#0000000002"], ["GEN#0000000001"]],
        ]
    )
    assert missing == [[]]
