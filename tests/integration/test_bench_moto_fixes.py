"""bench/moto_fixes.py: TransactWriteItems without a whole-table copy per item keeps
moto's all-or-nothing behaviour."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from bench import moto_fixes


@pytest.fixture
def table(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(name, value)
    moto_fixes.install()
    try:
        with mock_aws():
            ddb = boto3.client("dynamodb")
            ddb.create_table(
                TableName="t",
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
            yield ddb
    finally:
        moto_fixes.uninstall()


def _put(pk: str, value: str, *, new: bool = True) -> dict[str, Any]:
    put: dict[str, Any] = {
        "TableName": "t",
        "Item": {"pk": {"S": pk}, "sk": {"S": "A"}, "v": {"S": value}},
    }
    if new:
        put["ConditionExpression"] = "attribute_not_exists(pk)"
    return {"Put": put}


def _items(ddb: Any) -> dict[str, str]:
    return {i["pk"]["S"]: i["v"]["S"] for i in ddb.scan(TableName="t")["Items"]}


def test_a_successful_transaction_writes_every_item(table: Any) -> None:
    table.transact_write_items(TransactItems=[_put("a", "1"), _put("b", "1")])
    assert _items(table) == {"a": "1", "b": "1"}


def test_a_failed_transaction_leaves_the_table_as_it_was(table: Any) -> None:
    # given
    table.transact_write_items(TransactItems=[_put("a", "old"), _put("c", "old")])
    # when: a and b are written, then the condition on c fails
    with pytest.raises(ClientError) as failure:
        table.transact_write_items(
            TransactItems=[
                _put("a", "new", new=False),
                _put("b", "new"),
                _put("c", "new"),
            ]
        )
    # then
    assert failure.value.response["Error"]["Code"] == "TransactionCanceledException"
    assert _items(table) == {"a": "old", "c": "old"}
