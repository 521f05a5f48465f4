"""`open-efs`: let the DataSync security group reach every mount target of an EFS on 2049."""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from studio_recovery.cli.args import domain_id, efs_id
from studio_recovery.cli.context import Aws, Context
from studio_recovery.cli.errors import NotFound
from studio_recovery.cli.exit_codes import ExitCode
from studio_recovery.dal.sagemaker import SageMakerGateway

NFS_PORT = 2049
RULE_DESCRIPTION = "studio-recovery: DataSync to EFS (NFS)"


@dataclass(frozen=True)
class MountTarget:
    """One mount target of a file system and what reaching it needs."""

    mount_target_id: str
    subnet_id: str
    availability_zone: str | None
    vpc_id: str | None
    security_group_ids: tuple[str, ...]


def register(subparsers: Any, parents: list[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "open-efs",
        parents=parents,
        help="allow NFS (TCP 2049) from the DataSync security group to an EFS",
        description=(
            "Add an ingress rule TCP 2049 from the DataSync security group to every security "
            "group of every mount target of the file system. Running it again changes nothing."
        ),
    )
    target = parser.add_mutually_exclusive_group(required=True)
    target.add_argument("--domain-id", type=domain_id, help="the domain whose home EFS to open")
    target.add_argument("--efs-id", type=efs_id, help="the EFS file system to open")
    parser.set_defaults(run=run)


def run(context: Context) -> int:
    args = context.args
    datasync_group = context.resources.require("datasync_security_group_id")
    file_system = args.efs_id or home_efs_of_domain(context.aws, args.domain_id)
    targets = mount_targets(context.aws, file_system)
    if not targets:
        raise NotFound(f"{file_system} has no mount targets: DataSync cannot reach it")
    groups = sorted({group for target in targets for group in target.security_group_ids})
    results = [
        {"security_group_id": group, "result": open_group(context.aws, group, datasync_group)}
        for group in groups
    ]
    _show(context, file_system, datasync_group, results)
    return ExitCode.OK


def home_efs_of_domain(aws: Aws, domain: str) -> str:
    """The domain's home EFS id (DescribeDomain, through the library's gateway)."""
    described = SageMakerGateway(aws.client("sagemaker")).describe_domain(domain)
    if not described.efs_id:
        raise NotFound(f"domain {domain} has no home EFS file system")
    return described.efs_id


def mount_targets(aws: Aws, file_system: str) -> list[MountTarget]:
    """Every mount target of `file_system`, with its security groups."""
    efs = aws.client("efs")
    found: list[MountTarget] = []
    for page in efs.get_paginator("describe_mount_targets").paginate(FileSystemId=file_system):
        for target in page["MountTargets"]:
            groups = efs.describe_mount_target_security_groups(
                MountTargetId=target["MountTargetId"]
            )["SecurityGroups"]
            found.append(
                MountTarget(
                    mount_target_id=target["MountTargetId"],
                    subnet_id=target["SubnetId"],
                    availability_zone=target.get("AvailabilityZoneName"),
                    vpc_id=target.get("VpcId"),
                    security_group_ids=tuple(groups),
                )
            )
    return found


def allows_nfs_from(group: dict[str, Any], source_group: str) -> bool:
    """True when `group` (DescribeSecurityGroups item) lets `source_group` in on TCP 2049."""
    for permission in group.get("IpPermissions", []):
        protocol = str(permission.get("IpProtocol"))
        if protocol == "-1":
            ports_ok = True
        else:
            low, high = permission.get("FromPort"), permission.get("ToPort")
            ports_ok = protocol in {"tcp", "6"} and low is not None and high is not None
            ports_ok = ports_ok and int(low) <= NFS_PORT <= int(high)
        sources = {pair.get("GroupId") for pair in permission.get("UserIdGroupPairs", [])}
        if ports_ok and source_group in sources:
            return True
    return False


def open_group(aws: Aws, group_id: str, source_group: str) -> str:
    """Add the NFS rule to `group_id` unless present: "opened" or "already open"."""
    ec2 = aws.client("ec2")
    group = ec2.describe_security_groups(GroupIds=[group_id])["SecurityGroups"][0]
    if allows_nfs_from(group, source_group):
        return "already open"
    try:
        ec2.authorize_security_group_ingress(
            GroupId=group_id,
            IpPermissions=[
                {
                    "IpProtocol": "tcp",
                    "FromPort": NFS_PORT,
                    "ToPort": NFS_PORT,
                    "UserIdGroupPairs": [
                        {"GroupId": source_group, "Description": RULE_DESCRIPTION}
                    ],
                }
            ],
        )
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") == "InvalidPermission.Duplicate":
            return "already open"
        raise
    return "opened"


def _show(
    context: Context, file_system: str, datasync_group: str, results: list[dict[str, str]]
) -> None:
    out = context.out
    if out.json_mode:
        out.json(
            {
                "efs_id": file_system,
                "datasync_security_group_id": datasync_group,
                "security_groups": results,
                "changed": any(row["result"] == "opened" for row in results),
            }
        )
        return
    out.table(
        f"NFS (TCP {NFS_PORT}) from {datasync_group} to the mount targets of {file_system}",
        ["security group", "result"],
        [(row["security_group_id"], row["result"]) for row in results],
    )
    if all(row["result"] == "already open" for row in results):
        out.line("Nothing changed: every mount target is already open to DataSync.")
