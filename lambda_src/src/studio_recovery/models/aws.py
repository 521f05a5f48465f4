"""Values the AWS gateways hand to the decisions: subnets, mount targets, access points,
started executions, staged backups, and the ARN helpers they are built with.

Plain frozen dataclasses: the gateways in `dal/` build them from AWS replies, `logic/`
reads them without knowing where they came from.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class MountTarget:
    """Where a volume can be mounted from."""

    availability_zone: str
    vpc_id: str


@dataclass(frozen=True)
class Subnet:
    """A subnet configured for DataSync."""

    subnet_id: str
    arn: str
    availability_zone: str
    vpc_id: str


@dataclass(frozen=True)
class AccessPoint:
    access_point_id: str
    arn: str


@dataclass(frozen=True)
class StartedExecution:
    """A workflow execution as StartExecution left it (`already_started`: it existed)."""

    execution_arn: str
    already_started: bool


@dataclass(frozen=True)
class Staged:
    """A staging prefix of the backup bucket: a restore from an older backup copies the
    versions it reads there (`objects` of them, `bytes` in all) and DataSync reads it."""

    bucket: str
    prefix: str
    objects: int = 0
    bytes: int = 0


def s3_bucket_arn(bucket: str, partition: str = "aws") -> str:
    """`arn:<partition>:s3:::<bucket>` (bucket ARNs name no region or account)."""
    return f"arn:{partition}:s3:::{bucket}"


def partition_of(arn: str) -> str:
    """The partition of an ARN (`aws`, `aws-cn`, `aws-us-gov`, ...)."""
    parts = arn.split(":")
    if len(parts) < 6 or parts[0] != "arn" or not parts[1]:
        raise ValueError(f"not an ARN: {arn!r}")
    return parts[1]
