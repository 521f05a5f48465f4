"""Values the AWS gateways hand to the decisions: subnets, mount targets, access points,
started executions, written manifests, and the ARN helpers they are built with.

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
class Manifest:
    """A manifest as written: where it is, and how many objects it lists."""

    bucket: str
    key: str
    version_id: str | None
    entries: int


def s3_bucket_arn(bucket: str, partition: str = "aws") -> str:
    """`arn:<partition>:s3:::<bucket>` (bucket ARNs name no region or account)."""
    return f"arn:{partition}:s3:::{bucket}"


def partition_of(arn: str) -> str:
    """The partition of an ARN (`aws`, `aws-cn`, `aws-us-gov`, ...)."""
    parts = arn.split(":")
    if len(parts) < 6 or parts[0] != "arn" or not parts[1]:
        raise ValueError(f"not an ARN: {arn!r}")
    return parts[1]
