"""Small helpers shared by the measurements: clients, a VPC, domains, tables."""

from __future__ import annotations

import uuid
from typing import Any

import boto3
from studio_sandbox.server import state

from bench.probes import OBSERVER_CONFIG


def client(
    service: str, endpoint: str, *, observer: bool = False, **config: Any
) -> Any:
    """A boto3 client of the sandbox (observer clients are not counted by the probes)."""
    from botocore.config import Config

    cfg = OBSERVER_CONFIG if observer else Config(**config) if config else None
    factory: Any = boto3.client  # the stubs' per-service overloads need a literal name
    return factory(service, endpoint_url=endpoint, region_name=state.REGION, config=cfg)


def make_vpc(endpoint: str) -> tuple[str, list[str]]:
    """A VPC with two subnets in two zones (a Studio domain needs them)."""
    ec2 = client("ec2", endpoint)
    vpc_id = ec2.create_vpc(CidrBlock="10.77.0.0/16")["Vpc"]["VpcId"]
    subnets = [
        ec2.create_subnet(
            VpcId=vpc_id, CidrBlock=f"10.77.{i}.0/24", AvailabilityZone=zone
        )["Subnet"]["SubnetId"]
        for i, zone in enumerate(("us-east-1a", "us-east-1b"))
    ]
    return vpc_id, subnets


def create_table(endpoint: str, prefix: str) -> str:
    """A fresh registry-shaped table (`pk`, `sk`), on demand; returns its name."""
    name = f"{prefix}-{uuid.uuid4().hex[:8]}"
    ddb = client("dynamodb", endpoint)
    ddb.create_table(
        TableName=name,
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
    return name
