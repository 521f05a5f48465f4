"""Shared fixtures for integration tests: moto in-process (`mock_aws`) and the two tables.

- `aws_env`: fake credentials, region us-east-1, the functions' environment variables, and
  an active `mock_aws()`; yields the environment it set.
- `registry_table`: the registry table (pk/sk strings, stream NEW_AND_OLD_IMAGES), as a
  boto3 `Table` resource (`.name` is its name).
- `idempotency_table`: the Powertools idempotency table (hash key `id`, TTL `expiration`).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws
from studio_recovery.config import load_settings

REGISTRY_TABLE_NAME = "studio-recovery-registry"
IDEMPOTENCY_TABLE_NAME = "studio-recovery-idempotency"
REGION = "us-east-1"


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    """Environment of a Lambda function in the test account, with moto intercepting AWS."""
    env = {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SECURITY_TOKEN": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_REGION": REGION,
        "REGISTRY_TABLE_NAME": REGISTRY_TABLE_NAME,
        "IDEMPOTENCY_TABLE_NAME": IDEMPOTENCY_TABLE_NAME,
        "POWERTOOLS_SERVICE_NAME": "studio-recovery",
        "POWERTOOLS_METRICS_NAMESPACE": "StudioRecovery",
        "POWERTOOLS_TRACE_DISABLED": "true",
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    load_settings.cache_clear()
    with mock_aws():
        yield env
    load_settings.cache_clear()


@pytest.fixture
def registry_table(aws_env: dict[str, str]) -> Any:
    """The registry table as docs/internals.md section 1 describes it."""
    dynamodb = boto3.resource("dynamodb", region_name=REGION)
    return dynamodb.create_table(
        TableName=aws_env["REGISTRY_TABLE_NAME"],
        KeySchema=[
            {"AttributeName": "pk", "KeyType": "HASH"},
            {"AttributeName": "sk", "KeyType": "RANGE"},
        ],
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
        ],
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification={
            "StreamEnabled": True,
            "StreamViewType": "NEW_AND_OLD_IMAGES",
        },
    )


@pytest.fixture
def idempotency_table(aws_env: dict[str, str]) -> Any:
    """The Powertools idempotency table (docs/internals.md section 2)."""
    dynamodb = boto3.resource("dynamodb", region_name=REGION)
    table = dynamodb.create_table(
        TableName=aws_env["IDEMPOTENCY_TABLE_NAME"],
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    dynamodb.meta.client.update_time_to_live(
        TableName=table.name,
        TimeToLiveSpecification={"Enabled": True, "AttributeName": "expiration"},
    )
    return table
