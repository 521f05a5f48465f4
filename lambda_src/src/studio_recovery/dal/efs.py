"""EFS access points, mount targets and the subnets DataSync can reach a volume from."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import boto3
from botocore.exceptions import ClientError

from studio_recovery.dal.aws_errors import error_code
from studio_recovery.dal.datasync import ADAPTIVE_RETRY_CONFIG, call_with_backoff, tag_list
from studio_recovery.models.aws import AccessPoint, MountTarget, Subnet
from studio_recovery.models.errors import HomeDirectoryTimeout, ResourceNotDeletedError

if TYPE_CHECKING:
    from mypy_boto3_efs.client import EFSClient


class EfsGateway:
    """The EFS and EC2 calls a restore needs."""

    def __init__(
        self, efs_client: EFSClient | Any | None = None, ec2_client: Any | None = None
    ) -> None:
        self._efs: Any = efs_client or boto3.client("efs", config=ADAPTIVE_RETRY_CONFIG)
        self._ec2: Any = ec2_client or boto3.client("ec2", config=ADAPTIVE_RETRY_CONFIG)

    def file_system_arn(self, efs_id: str) -> str:
        """The volume's ARN (DataSync locations name it by ARN)."""
        reply = call_with_backoff(
            "efs describe_file_systems",
            lambda: self._efs.describe_file_systems(FileSystemId=efs_id),
        )
        systems = reply.get("FileSystems", [])
        if not systems:
            raise LookupError(f"EFS file system {efs_id} not found")
        return str(systems[0]["FileSystemArn"])

    def mount_targets(self, efs_id: str) -> list[MountTarget]:
        """The volume's mount targets (availability zone and VPC of each)."""
        reply = call_with_backoff(
            "efs describe_mount_targets",
            lambda: self._efs.describe_mount_targets(FileSystemId=efs_id),
        )
        return [
            MountTarget(
                availability_zone=str(target.get("AvailabilityZoneName", "")),
                vpc_id=str(target.get("VpcId", "")),
            )
            for target in reply.get("MountTargets", [])
            if target.get("LifeCycleState", "available") == "available"
        ]

    def subnets(self, subnet_ids: Sequence[str]) -> list[Subnet]:
        """The configured subnets with their zone, VPC and ARN (in the configured order)."""
        reply = call_with_backoff(
            "ec2 describe_subnets", lambda: self._ec2.describe_subnets(SubnetIds=list(subnet_ids))
        )
        found = {
            str(s["SubnetId"]): Subnet(
                subnet_id=str(s["SubnetId"]),
                arn=str(s["SubnetArn"]),
                availability_zone=str(s["AvailabilityZone"]),
                vpc_id=str(s["VpcId"]),
            )
            for s in reply.get("Subnets", [])
        }
        return [found[subnet_id] for subnet_id in subnet_ids if subnet_id in found]

    def create_access_point(
        self, *, efs_id: str, uid: str, gid: int, client_token: str, tags: Mapping[str, str]
    ) -> AccessPoint:
        """An access point acting as `uid:gid`, rooted at `/<uid>` (created 0700 if absent).

        `client_token` makes a retried call return the same access point.
        """
        request = {
            "ClientToken": client_token,
            "FileSystemId": efs_id,
            "PosixUser": {"Uid": int(uid), "Gid": gid},
            "RootDirectory": {
                "Path": f"/{uid}",
                "CreationInfo": {"OwnerUid": int(uid), "OwnerGid": gid, "Permissions": "0700"},
            },
            "Tags": tag_list(tags),
        }
        reply = call_with_backoff(
            "efs create_access_point", lambda: self._efs.create_access_point(**request)
        )
        return AccessPoint(
            access_point_id=str(reply["AccessPointId"]), arn=str(reply["AccessPointArn"])
        )

    def wait_until_available(
        self,
        access_point_id: str,
        *,
        timeout_seconds: float,
        poll_seconds: float = 2.0,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """Wait, at most `timeout_seconds`, until the access point is `available`.

        The new home directory is created through this access point, so this is the wait
        for the home to appear. Raises HomeDirectoryTimeout when it is still `creating`
        (or went to `error`/`deleting`) when the time is up.
        """
        deadline = clock() + timeout_seconds
        while True:
            state = self._access_point_state(access_point_id)
            if state == "available":
                return
            remaining = deadline - clock()
            if state in {"error", "deleting", "deleted"} or remaining <= 0:
                raise HomeDirectoryTimeout(
                    f"the new home directory did not appear: access point {access_point_id} "
                    f"was {state} after waiting up to {timeout_seconds:g} seconds"
                )
            # The last sleep is cut to the deadline, so the wait lasts the whole timeout and
            # ends with one more look (it used to stop a poll early: 4 s of a 5 s timeout).
            sleep(min(poll_seconds, remaining))

    def _access_point_state(self, access_point_id: str) -> str:
        reply = call_with_backoff(
            "efs describe_access_points",
            lambda: self._efs.describe_access_points(AccessPointId=access_point_id),
        )
        points = reply.get("AccessPoints", [])
        return str(points[0].get("LifeCycleState", "available")) if points else "deleted"

    def delete_access_point(self, access_point_id: str) -> bool:
        """Delete an access point; False when it was already gone."""
        try:
            call_with_backoff(
                "efs delete_access_point",
                lambda: self._efs.delete_access_point(AccessPointId=access_point_id),
            )
        except ClientError as exc:
            if error_code(exc) in {"AccessPointNotFound", "FileSystemNotFound"}:
                return False
            raise ResourceNotDeletedError(
                f"efs delete_access_point {access_point_id}: {error_code(exc)}: {exc}"
            ) from exc
        return True
