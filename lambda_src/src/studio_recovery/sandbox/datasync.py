"""DataSync in the sandbox: EFS locations, tasks, and executions that really copy.

moto 5.2 has no EFS locations, and its executions only cycle a status. This extension
serves the calls the product makes (CreateLocationEfs, DescribeLocationEfs, DeleteLocation,
ListLocations, CreateTask, DescribeTask, UpdateTask, DeleteTask, ListTasks,
StartTaskExecution, DescribeTaskExecution, CancelTaskExecution, ListTaskExecutions, tags),
validates what AWS validates, and runs each execution in a background thread that copies
between the locations' directories, honouring the task options:

- `OverwriteMode` NEVER never touches an existing destination entry;
- `PreserveDeletedFiles` REMOVE deletes destination entries missing at the source;
- `TransferMode` CHANGED skips entries whose size and mtime (and kept metadata) match;
- `PosixPermissions`, `Uid`, `Gid`, `Mtime`, `Atime` decide which metadata is copied;
- a location with an access point writes as its POSIX user (files belong to it),
  so `Uid`/`Gid` cannot change the owner there (as on a real mount);
- `VerifyMode` re-reads what was written.

Sandbox choices where AWS is silent or not reproducible: a second StartTaskExecution while
one runs is refused; DeleteTask cancels a running execution; executions stay describable
after their task is deleted. :data:`faults` makes executions fail or hang for reliability
tests.
"""

from __future__ import annotations

import fnmatch
import hashlib
import ipaddress
import logging
import os
import re
import shutil
import stat
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

from moto.datasync import models as ds_models
from moto.datasync import responses as ds_responses
from moto.datasync.exceptions import InvalidRequestException
from moto.ec2 import models as ec2_models
from moto.moto_api._internal import mock_random

from studio_recovery.sandbox import efs, posix

if TYPE_CHECKING:
    from studio_recovery.sandbox.datasync_s3 import S3Location

LOG = logging.getLogger(__name__)

NFS_PORT = 2049

enforce_nfs_rules = True
"""CreateLocationEfs runs AWS's location access test: the location's security groups and
the mount target's must let NFS through. Set to False to skip it."""

TASK_QUOTA = 100
"""DataSync tasks per account per region (the AWS default quota)."""

DEFAULT_OPTIONS: dict[str, Any] = {
    "VerifyMode": "POINT_IN_TIME_CONSISTENT",
    "OverwriteMode": "ALWAYS",
    "Atime": "BEST_EFFORT",
    "Mtime": "PRESERVE",
    "Uid": "INT_VALUE",
    "Gid": "INT_VALUE",
    "PreserveDeletedFiles": "PRESERVE",
    "PreserveDevices": "NONE",
    "PosixPermissions": "PRESERVE",
    "BytesPerSecond": -1,
    "TaskQueueing": "ENABLED",
    "LogLevel": "OFF",
    "TransferMode": "CHANGED",
    "SecurityDescriptorCopyFlags": "NONE",
    "ObjectTags": "PRESERVE",
}

_ALLOWED: dict[str, tuple[str, ...]] = {
    "VerifyMode": ("POINT_IN_TIME_CONSISTENT", "ONLY_FILES_TRANSFERRED", "NONE"),
    "OverwriteMode": ("ALWAYS", "NEVER"),
    "Atime": ("NONE", "BEST_EFFORT"),
    "Mtime": ("NONE", "PRESERVE"),
    "Uid": ("NONE", "INT_VALUE", "NAME", "BOTH"),
    "Gid": ("NONE", "INT_VALUE", "NAME", "BOTH"),
    "PreserveDeletedFiles": ("PRESERVE", "REMOVE"),
    "PreserveDevices": ("NONE", "PRESERVE"),
    "PosixPermissions": ("NONE", "PRESERVE"),
    "TaskQueueing": ("ENABLED", "DISABLED"),
    "LogLevel": ("OFF", "BASIC", "TRANSFER"),
    "TransferMode": ("CHANGED", "ALL"),
    "SecurityDescriptorCopyFlags": ("NONE", "OWNER_DACL", "OWNER_DACL_SACL"),
    "ObjectTags": ("PRESERVE", "NONE"),
}

_SUBDIRECTORY = re.compile(r"^[a-zA-Z0-9_\-+./()\s]*$")
_ARN = re.compile(
    r"^arn:aws[a-z-]*:(?P<service>[a-z0-9-]+):(?P<region>[a-z0-9-]*):"
    r"(?P<account>\d*):(?P<resource>.+)$"
)
_ACTIVE = ("QUEUED", "LAUNCHING", "PREPARING", "TRANSFERRING", "VERIFYING", "CANCELLING")
_WRITER_UID = 0  # DataSync writes to EFS as root when no access point imposes a user
_WRITER_GID = 0


# --------------------------------------------------------------------------- faults


@dataclass
class Faults:
    """Module-level switches that make executions misbehave, for reliability tests.

    `error`: `(ErrorCode, ErrorDetail)` with which every execution ends in ERROR (nothing is
    copied). `hang`: executions stay TRANSFERRING until cancelled. `phase_delay`: seconds
    spent in each status, so callers can watch the transitions.
    """

    error: tuple[str, str] | None = None
    hang: bool = False
    phase_delay: float = 0.0


faults = Faults()


def reset_faults() -> None:
    """Back to well-behaved executions."""
    faults.error = None
    faults.hang = False
    faults.phase_delay = 0.0


# --------------------------------------------------------------------------- models


def _hex_id(prefix: str) -> str:
    return f"{prefix}-{mock_random.get_random_hex(17)}"


def _parse_arn(arn: Any, service: str, kind: str, what: str) -> tuple[str, str, str]:
    """`(region, account, id)` of an ARN like `arn:aws:<service>:...:<kind>/<id>`."""
    match = _ARN.match(arn) if isinstance(arn, str) else None
    resource = match.group("resource") if match else ""
    if not match or match.group("service") != service or not resource.startswith(kind + "/"):
        raise InvalidRequestException(f"Invalid {what}: {arn!r}")
    return match.group("region"), match.group("account"), resource[len(kind) + 1 :]


def _normalise_subdirectory(subdirectory: Any) -> str:
    value = subdirectory if subdirectory is not None else "/"
    if not isinstance(value, str) or len(value) > 4096 or not _SUBDIRECTORY.match(value):
        raise InvalidRequestException(f"Invalid Subdirectory: {subdirectory!r}")
    parts = [p for p in value.split("/") if p not in ("", ".")]
    if ".." in parts:
        raise InvalidRequestException(f"Invalid Subdirectory: {subdirectory!r}")
    return "/" + "/".join(parts) + ("/" if parts else "")


@dataclass
class EfsLocation:
    """A DataSync location on an EFS file system (optionally through an access point)."""

    arn: str
    region: str
    file_system_id: str
    efs_filesystem_arn: str
    subdirectory: str
    ec2_config: dict[str, Any]
    access_point_arn: str | None
    file_system_access_role_arn: str | None
    in_transit_encryption: str
    tags: list[dict[str, str]] = field(default_factory=list)
    creation_time: float = field(default_factory=time.time)
    typ: str = "EFS"

    @property
    def uri(self) -> str:
        return f"efs://{self.region}.{self.file_system_id}{self.subdirectory}"

    @property
    def access_point_id(self) -> str | None:
        return self.access_point_arn.rsplit("/", 1)[-1] if self.access_point_arn else None

    def describe(self) -> dict[str, Any]:
        reply: dict[str, Any] = {
            "LocationArn": self.arn,
            "LocationUri": self.uri,
            "Ec2Config": self.ec2_config,
            "CreationTime": self.creation_time,
            "InTransitEncryption": self.in_transit_encryption,
        }
        if self.access_point_arn:
            reply["AccessPointArn"] = self.access_point_arn
        if self.file_system_access_role_arn:
            reply["FileSystemAccessRoleArn"] = self.file_system_access_role_arn
        return reply


if TYPE_CHECKING:
    from typing import TypeAlias

    Location: TypeAlias = EfsLocation | S3Location  # either end of a task


@dataclass
class SyncTask:
    """A DataSync task: two locations and the options of every execution."""

    arn: str
    name: str | None
    source_location_arn: str
    destination_location_arn: str
    options: dict[str, Any]
    excludes: list[dict[str, str]]
    includes: list[dict[str, str]]
    cloud_watch_log_group_arn: str | None
    manifest_config: dict[str, Any] | None = None
    tags: list[dict[str, str]] = field(default_factory=list)
    creation_time: float = field(default_factory=time.time)
    current_execution_arn: str | None = None
    executions: list[str] = field(default_factory=list)

    def status(self, backend: SandboxDataSyncBackend) -> str:
        current = backend.executions.get(self.current_execution_arn or "")
        running = current is not None and current.status in _ACTIVE
        return "RUNNING" if running else "AVAILABLE"

    def describe(self, backend: SandboxDataSyncBackend) -> dict[str, Any]:
        reply: dict[str, Any] = {
            "TaskArn": self.arn,
            "Status": self.status(backend),
            "SourceLocationArn": self.source_location_arn,
            "DestinationLocationArn": self.destination_location_arn,
            "Options": self.options,
            "Excludes": self.excludes,
            "Includes": self.includes,
            "CreationTime": self.creation_time,
            "TaskMode": "BASIC",
            "SourceNetworkInterfaceArns": [],
            "DestinationNetworkInterfaceArns": [],
        }
        for key, value in (
            ("Name", self.name),
            ("CloudWatchLogGroupArn", self.cloud_watch_log_group_arn),
            ("CurrentTaskExecutionArn", self.current_execution_arn),
            ("ManifestConfig", self.manifest_config),
        ):
            if value:
                reply[key] = value
        return reply


@dataclass
class Counters:
    """What an execution reports about its progress."""

    estimated_files: int = 0
    estimated_bytes: int = 0
    estimated_deletes: int = 0
    listed_at_source: int = 0
    listed_at_destination: int = 0
    prepared: int = 0
    files_transferred: int = 0
    bytes_written: int = 0
    files_skipped: int = 0
    files_deleted: int = 0
    files_verified: int = 0
    files_failed: int = 0


@dataclass
class Execution:
    """One run of a task, copied for real by a background thread."""

    arn: str
    task_arn: str
    options: dict[str, Any]
    excludes: list[dict[str, str]]
    includes: list[dict[str, str]]
    manifest_config: dict[str, Any] | None = None
    status: str = "QUEUED"
    start_time: float = field(default_factory=time.time)
    counters: Counters = field(default_factory=Counters)
    result: dict[str, Any] = field(
        default_factory=lambda: {
            "PrepareStatus": "PENDING",
            "TransferStatus": "PENDING",
            "VerifyStatus": "PENDING",
        }
    )
    cancel_event: threading.Event = field(default_factory=threading.Event)
    done_event: threading.Event = field(default_factory=threading.Event)
    status_lock: threading.Lock = field(default_factory=threading.Lock)

    def describe(self) -> dict[str, Any]:
        c = self.counters
        manifest = {"ManifestConfig": self.manifest_config} if self.manifest_config else {}
        return manifest | {
            "TaskExecutionArn": self.arn,
            "Status": self.status,
            "Options": self.options,
            "Excludes": self.excludes,
            "Includes": self.includes,
            "StartTime": self.start_time,
            "EstimatedFilesToTransfer": c.estimated_files,
            "EstimatedBytesToTransfer": c.estimated_bytes,
            "EstimatedFilesToDelete": c.estimated_deletes,
            "FilesTransferred": c.files_transferred,
            "BytesWritten": c.bytes_written,
            "BytesTransferred": c.bytes_written,
            "BytesCompressed": c.bytes_written,
            "FilesDeleted": c.files_deleted,
            "FilesSkipped": c.files_skipped,
            "FilesVerified": c.files_verified,
            "FilesPrepared": c.prepared,
            "FilesListed": {
                "AtSource": c.listed_at_source,
                "AtDestinationForDelete": c.listed_at_destination,
            },
            "FilesFailed": {
                "Prepare": 0,
                "Transfer": c.files_failed,
                "Verify": 0,
                "Delete": 0,
            },
            "Result": dict(self.result),
            "TaskMode": "BASIC",
        }


# --------------------------------------------------------------------------- backend


class SandboxDataSyncBackend(ds_models.DataSyncBackend):
    """moto's DataSync backend plus EFS locations, tasks and real executions.

    moto's own SMB/... locations stay in `self.locations`; S3 locations (see
    :mod:`datasync_s3`) live in `s3_locations`, tasks and executions served here in
    `sync_tasks` and `executions`.
    """

    @property
    def _url_module(self) -> Any:
        """moto finds a service's URLs next to its backend's module: point it at moto's."""
        from moto.datasync import urls

        return urls

    def __init__(self, region_name: str, account_id: str) -> None:
        super().__init__(region_name, account_id)
        self.lock = threading.RLock()
        self.efs_locations: dict[str, EfsLocation] = {}
        self.s3_locations: dict[str, S3Location] = {}
        self.sync_tasks: dict[str, SyncTask] = {}
        self.executions: dict[str, Execution] = {}

    # ---- locations

    def create_location_efs(self, params: dict[str, Any]) -> EfsLocation:
        fs_arn = params.get("EfsFilesystemArn")
        _, _, fs_id = _parse_arn(fs_arn, "elasticfilesystem", "file-system", "EfsFilesystemArn")
        efs_backend = efs.backend(self.account_id, self.region_name)
        file_system = efs_backend.file_systems_by_id.get(fs_id)
        if file_system is None:
            raise InvalidRequestException(
                f"Unable to find EFS file system {fs_id} in region {self.region_name}."
            )
        ec2_config = params.get("Ec2Config") or {}
        self._check_network(file_system, ec2_config)
        access_point_arn = params.get("AccessPointArn")
        role_arn = params.get("FileSystemAccessRoleArn")
        encryption = params.get("InTransitEncryption") or "NONE"
        self._check_access(efs_backend, fs_id, access_point_arn, role_arn, encryption)
        location = EfsLocation(
            arn=self._arn(f"location/{_hex_id('loc')}"),
            region=self.region_name,
            file_system_id=fs_id,
            efs_filesystem_arn=str(fs_arn),
            subdirectory=_normalise_subdirectory(params.get("Subdirectory")),
            ec2_config=ec2_config,
            access_point_arn=access_point_arn,
            file_system_access_role_arn=role_arn,
            in_transit_encryption=encryption,
            tags=params.get("Tags") or [],
        )
        with self.lock:
            self.efs_locations[location.arn] = location
        return location

    def _check_network(self, file_system: Any, ec2_config: dict[str, Any]) -> None:
        from moto.ec2.exceptions import InvalidSubnetIdError

        ec2 = ec2_models.ec2_backends[self.account_id][self.region_name]
        _, _, subnet_id = _parse_arn(ec2_config.get("SubnetArn"), "ec2", "subnet", "SubnetArn")
        try:
            subnet = ec2.get_subnet(subnet_id)
        except InvalidSubnetIdError:
            raise InvalidRequestException(f"Subnet {subnet_id} does not exist.") from None
        groups = ec2_config.get("SecurityGroupArns") or []
        if not 1 <= len(groups) <= 5:
            raise InvalidRequestException("Ec2Config.SecurityGroupArns must list 1 to 5 groups.")
        for group_arn in groups:
            _, _, group_id = _parse_arn(group_arn, "ec2", "security-group", "SecurityGroupArn")
            group = ec2.get_security_group_from_id(group_id)
            if group is None:
                raise InvalidRequestException(f"Security group {group_id} does not exist.")
            if group.vpc_id != subnet.vpc_id:
                raise InvalidRequestException(
                    f"Security group {group_id} is not in the VPC of subnet {subnet_id}."
                )
        mount_targets = list(file_system.iter_mount_targets())
        fs_id = file_system.file_system_id
        if not mount_targets:
            raise InvalidRequestException(
                f"EFS file system {fs_id} has no mount targets. Create a mount target in "
                f"the Availability Zone of subnet {subnet_id}."
            )
        if all(mt.vpc_id != subnet.vpc_id for mt in mount_targets):
            raise InvalidRequestException(
                f"The subnet {subnet_id} is not in the VPC of EFS file system {fs_id} "
                f"({mount_targets[0].vpc_id})."
            )
        zones = sorted({mt.availability_zone_name for mt in mount_targets})
        if subnet.availability_zone not in zones:
            raise InvalidRequestException(
                f"EFS file system {fs_id} has no mount target in Availability Zone "
                f"{subnet.availability_zone} of subnet {subnet_id}. Mount targets exist in: "
                f"{', '.join(zones)}."
            )
        if enforce_nfs_rules:
            zone = subnet.availability_zone
            target = next(mt for mt in mount_targets if mt.availability_zone_name == zone)
            _check_nfs_path(ec2, subnet, [_group_id(arn) for arn in groups], target)

    @staticmethod
    def _check_access(
        efs_backend: Any,
        fs_id: str,
        access_point_arn: str | None,
        role_arn: str | None,
        encryption: str,
    ) -> None:
        if encryption not in ("NONE", "TLS1_2"):
            raise InvalidRequestException(f"Invalid InTransitEncryption: {encryption!r}")
        if role_arn is not None:
            _parse_arn(role_arn, "iam", "role", "FileSystemAccessRoleArn")
        if access_point_arn is None:
            return
        _, _, ap_id = _parse_arn(
            access_point_arn, "elasticfilesystem", "access-point", "AccessPointArn"
        )
        access_point = efs_backend.access_points.get(ap_id)
        if access_point is None:
            raise InvalidRequestException(f"Access point {ap_id} does not exist.")
        if access_point.file_system_id != fs_id:
            raise InvalidRequestException(
                f"Access point {ap_id} belongs to file system {access_point.file_system_id}, "
                f"not {fs_id}."
            )
        if encryption != "TLS1_2":
            raise InvalidRequestException(
                "InTransitEncryption must be TLS1_2 when an access point is specified: "
                "EFS access points require TLS."
            )

    def create_location_s3(self, params: dict[str, Any]) -> S3Location:
        from studio_recovery.sandbox import datasync_s3

        location = datasync_s3.new_location(
            params, self._arn(f"location/{_hex_id('loc')}"), self.account_id, self.region_name
        )
        with self.lock:
            self.s3_locations[location.arn] = location
        return location

    def s3_location(self, location_arn: str) -> S3Location:
        location = self.s3_locations.get(location_arn)
        if location is None:
            self.efs_location(location_arn)  # the error for a missing or EFS location
            raise InvalidRequestException(f"Invalid Location type: {location_arn}")
        return location

    def location(self, location_arn: str) -> Location:
        """The EFS or S3 location `location_arn` (an executions' end)."""
        s3_location = self.s3_locations.get(location_arn)
        return s3_location if s3_location is not None else self.efs_location(location_arn)

    def efs_location(self, location_arn: str) -> EfsLocation:
        location = self.efs_locations.get(location_arn)
        if location is None:
            if location_arn in self.s3_locations:
                raise InvalidRequestException("Invalid Location type: S3")
            other = self.locations.get(location_arn)
            if other is not None:
                raise InvalidRequestException(f"Invalid Location type: {other.typ}")
            raise InvalidRequestException(f"Location {location_arn} is not found.")
        return location

    def delete_location(self, location_arn: str) -> None:
        with self.lock:
            if (
                self.efs_locations.pop(location_arn, None) is None
                and self.s3_locations.pop(location_arn, None) is None
            ):
                if location_arn not in self.locations:
                    raise InvalidRequestException(f"Location {location_arn} is not found.")
                del self.locations[location_arn]

    # ---- tasks

    def create_sync_task(self, params: dict[str, Any]) -> SyncTask:
        source = str(params.get("SourceLocationArn") or "")
        destination = str(params.get("DestinationLocationArn") or "")
        for arn in (source, destination):
            if not any(arn in known for known in self._all_locations()):
                raise InvalidRequestException(f"Location {arn} is not found.")
        options = _merge_options(DEFAULT_OPTIONS, params.get("Options"))
        manifest_config = self._manifest_config(params.get("ManifestConfig"))
        with self.lock:
            if len(self.sync_tasks) >= TASK_QUOTA:
                raise InvalidRequestException(
                    f"You have reached the maximum number of tasks ({TASK_QUOTA}) for this "
                    f"account in {self.region_name}. Delete tasks you no longer need or "
                    "request a quota increase."
                )
            task = SyncTask(
                arn=self._arn(f"task/{_hex_id('task')}"),
                name=params.get("Name"),
                source_location_arn=source,
                destination_location_arn=destination,
                options=options,
                excludes=params.get("Excludes") or [],
                includes=params.get("Includes") or [],
                cloud_watch_log_group_arn=params.get("CloudWatchLogGroupArn"),
                manifest_config=manifest_config,
                tags=params.get("Tags") or [],
            )
            self.sync_tasks[task.arn] = task
        return task

    def _all_locations(self) -> tuple[dict[str, Any], ...]:
        return (self.locations, self.efs_locations, self.s3_locations)

    def _manifest_config(self, config: Any) -> dict[str, Any] | None:
        if config is None:
            return None
        from studio_recovery.sandbox import datasync_s3

        return datasync_s3.validate_manifest_config(config, self.account_id)

    def sync_task(self, task_arn: str) -> SyncTask:
        task = self.sync_tasks.get(task_arn)
        if task is None:
            raise InvalidRequestException(f"Sync task {task_arn} is not found.")
        return task

    def update_sync_task(self, task_arn: str, params: dict[str, Any]) -> None:
        task = self.sync_task(task_arn)
        if params.get("Options") is not None:
            task.options = _merge_options(task.options, params["Options"])
        if params.get("ManifestConfig") is not None:
            task.manifest_config = self._manifest_config(params["ManifestConfig"]) or None
        for key, attr in (
            ("Name", "name"),
            ("Excludes", "excludes"),
            ("Includes", "includes"),
            ("CloudWatchLogGroupArn", "cloud_watch_log_group_arn"),
        ):
            if params.get(key) is not None:
                setattr(task, attr, params[key])

    def delete_task(self, task_arn: str) -> None:
        task = self.sync_task(task_arn)
        current = self.executions.get(task.current_execution_arn or "")
        if current is not None and current.status in _ACTIVE:
            current.cancel_event.set()
        with self.lock:
            del self.sync_tasks[task_arn]

    # ---- executions

    def start_execution(self, task_arn: str, overrides: dict[str, Any]) -> Execution:
        task = self.sync_task(task_arn)
        with self.lock:
            current = self.executions.get(task.current_execution_arn or "")
            if current is not None and current.status in _ACTIVE:
                raise InvalidRequestException(
                    f"Task {task_arn} already has an execution in progress "
                    f"({current.arn}). Only one execution of a task can run at a time."
                )
            execution = Execution(
                arn=f"{task_arn}/execution/{_hex_id('exec')}",
                task_arn=task_arn,
                options=_merge_options(task.options, overrides.get("OverrideOptions")),
                excludes=overrides.get("Excludes") or task.excludes,
                includes=overrides.get("Includes") or task.includes,
                manifest_config=task.manifest_config,
            )
            if "ManifestConfig" in overrides:  # an empty one removes the task's
                execution.manifest_config = self._manifest_config(
                    overrides["ManifestConfig"] or None
                )
            runner = self._runner(task, execution)
            self.executions[execution.arn] = execution
            task.current_execution_arn = execution.arn
            task.executions.append(execution.arn)
        threading.Thread(
            target=runner.run, name=f"datasync-{execution.arn[-21:]}", daemon=True
        ).start()
        return execution

    def _runner(self, task: SyncTask, execution: Execution) -> _Runner:
        """The runner for the task's pair of locations (EFS or S3 on either side)."""
        source = self.location(task.source_location_arn)
        destination = self.location(task.destination_location_arn)
        if isinstance(source, EfsLocation) and isinstance(destination, EfsLocation):
            if execution.manifest_config is not None:
                raise InvalidRequestException(
                    "The sandbox supports ManifestConfig only on tasks whose source is S3."
                )
            return _Runner(execution, source, destination, self.account_id, self.region_name)
        from studio_recovery.sandbox import datasync_s3

        return datasync_s3.runner(
            execution,
            source,
            destination,
            execution.manifest_config,
            self.account_id,
            self.region_name,
        )

    def execution(self, execution_arn: str) -> Execution:
        execution = self.executions.get(execution_arn)
        if execution is None:
            raise InvalidRequestException(f"Sync task execution {execution_arn} is not found.")
        return execution

    def cancel_execution(self, execution_arn: str) -> None:
        execution = self.execution(execution_arn)
        with execution.status_lock:
            if execution.done_event.is_set() or execution.status not in _ACTIVE:
                raise InvalidRequestException(
                    f"Sync task execution cannot be cancelled in its current status: "
                    f"{execution.status}"
                )
            execution.status = "CANCELLING"
            execution.cancel_event.set()

    def _arn(self, resource: str) -> str:
        return f"arn:aws:datasync:{self.region_name}:{self.account_id}:{resource}"

    def resource_tags(self, resource_arn: str) -> list[dict[str, str]]:
        resource: EfsLocation | S3Location | SyncTask | None = (
            self.efs_locations.get(resource_arn)
            or self.s3_locations.get(resource_arn)
            or self.sync_tasks.get(resource_arn)
        )
        if resource is None:
            raise InvalidRequestException(f"Resource {resource_arn} is not found.")
        return resource.tags


def _group_id(group_arn: str) -> str:
    return group_arn.rsplit("/", 1)[-1]


def _allows_nfs(rule: Any) -> bool:
    protocol = rule.ip_protocol
    return protocol == "-1" or (
        protocol == "tcp"
        and rule.from_port is not None
        and rule.from_port <= NFS_PORT <= rule.to_port
    )


def _rule_reaches(rule: Any, group_ids: set[str], network: ipaddress.IPv4Network) -> bool:
    """Whether `rule` lets NFS through to/from one of `group_ids` or the `network`."""
    if not _allows_nfs(rule):
        return False
    if rule.source_group.get("GroupId") in group_ids:
        return True
    cidr = rule.ip_range.get("CidrIp")
    return bool(cidr) and network.subnet_of(ipaddress.IPv4Network(cidr, strict=False))


def _check_nfs_path(ec2: Any, subnet: Any, location_group_ids: list[str], target: Any) -> None:
    """The location access test: NFS from the location's groups to the mount target."""
    target_group_ids = list(target.security_groups or [])
    if not target_group_ids:  # a mount target without groups gets the VPC's default group
        default = ec2.get_security_group_by_name_or_id("default", target.vpc_id)
        target_group_ids = [default.id] if default is not None else []
    target_groups = [ec2.get_security_group_from_id(g) for g in target_group_ids]
    location_groups = [ec2.get_security_group_from_id(g) for g in location_group_ids]
    source_net = ipaddress.IPv4Network(subnet.cidr_block, strict=False)
    target_net = ipaddress.IPv4Network(f"{target.ip_address}/32")
    ingress = any(
        _rule_reaches(rule, set(location_group_ids), source_net)
        for group in target_groups
        if group is not None
        for rule in group.ingress_rules
    )
    egress = any(
        _rule_reaches(rule, set(target_group_ids), target_net)
        for group in location_groups
        if group is not None
        for rule in group.egress_rules
    )
    if not (ingress and egress):
        missing = "inbound" if not ingress else "outbound"
        raise InvalidRequestException(
            "DataSync location access test failed: could not perform mount. Details: "
            f"mount.nfs4: Connection timed out. The {missing} rules of the security groups "
            f"do not allow NFS (TCP {NFS_PORT}) between the location's security groups "
            f"({', '.join(location_group_ids)}) and mount target {target.mount_target_id} "
            f"({', '.join(target_group_ids) or 'no security group'})."
        )


def _merge_options(base: dict[str, Any], changes: dict[str, Any] | None) -> dict[str, Any]:
    merged = dict(base)
    for key, value in (changes or {}).items():
        allowed = _ALLOWED.get(key)
        if allowed is not None and value not in allowed:
            raise InvalidRequestException(
                f"Invalid value {value!r} for Options.{key}; expected one of {', '.join(allowed)}."
            )
        merged[key] = value
    if merged["PreserveDeletedFiles"] == "REMOVE" and merged["TransferMode"] == "ALL":
        raise InvalidRequestException(
            "PreserveDeletedFiles REMOVE cannot be used with TransferMode ALL."
        )
    return merged


# --------------------------------------------------------------------------- copying


@dataclass(frozen=True)
class Entry:
    """One file, directory or symlink of a tree, relative to the tree's root ('' = root)."""

    rel: str
    kind: str  # "dir" | "file" | "symlink"
    size: int
    mode: int
    uid: int
    gid: int
    mtime_ns: int
    atime_ns: int
    link: str | None = None

    @property
    def depth(self) -> int:
        return 0 if not self.rel else self.rel.count("/") + 1


class ExecutionFailed(Exception):
    """Ends an execution in ERROR with `Result.ErrorCode`/`ErrorDetail`."""

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail


class Cancelled(Exception):
    """The execution was cancelled."""


def _entry(path: Path, rel: str) -> Entry | None:
    info = os.lstat(path)
    uid, gid = posix.stat_owner(path)
    mode = posix.stat_mode(path)
    if stat.S_ISLNK(info.st_mode):
        kind, link = "symlink", os.readlink(path)
    elif stat.S_ISDIR(info.st_mode):
        kind, link = "dir", None
    elif stat.S_ISREG(info.st_mode):
        kind, link = "file", None
    else:
        return None  # devices, sockets, fifos: PreserveDevices NONE
    size = info.st_size if kind == "file" else 0
    return Entry(rel, kind, size, mode, uid, gid, info.st_mtime_ns, info.st_atime_ns, link)


def _scan(root: Path, keep: Callable[[str, bool], bool]) -> dict[str, Entry]:
    """Every entry under `root` (root included), minus the sidecar and filtered paths."""
    found: dict[str, Entry] = {}
    top = _entry(root, "")
    if top is None:
        return found
    found[""] = top
    for dirpath, dirnames, filenames in os.walk(root):
        base = Path(dirpath)
        rel_base = base.relative_to(root).as_posix()
        prefix = "" if rel_base == "." else rel_base + "/"
        kept_dirs = []
        for name in sorted(dirnames + filenames):
            if posix.is_sidecar(name):
                continue
            rel = prefix + name
            path = base / name
            is_dir = path.is_dir() and not path.is_symlink()
            if not keep(rel, is_dir):
                continue
            entry = _entry(path, rel)
            if entry is not None:
                found[rel] = entry
                if entry.kind == "dir":
                    kept_dirs.append(name)
        dirnames[:] = kept_dirs
    return found


def _filter(
    excludes: list[dict[str, str]], includes: list[dict[str, str]]
) -> Callable[[str, bool], bool]:
    def patterns(filters: list[dict[str, str]]) -> list[str]:
        return [p for f in filters for p in str(f.get("Value", "")).split("|") if p]

    exclude, include = patterns(excludes), patterns(includes)

    def matches(path: str, pats: Iterable[str]) -> bool:
        return any(
            fnmatch.fnmatchcase(path, p) or path.startswith(p.rstrip("*/") + "/") for p in pats
        )

    def keep(rel: str, is_dir: bool) -> bool:
        path = "/" + rel
        if matches(path, exclude):
            return False
        if include and not is_dir:
            return matches(path, include)
        return True

    return keep


def _sha256(source: Path | BinaryIO) -> str:
    """The SHA-256 of a file, or of what is left to read in an open binary stream."""
    if isinstance(source, Path):
        with source.open("rb") as handle:
            return _sha256(handle)
    digest = hashlib.sha256()
    for chunk in iter(lambda: source.read(1 << 20), b""):
        digest.update(chunk)
    return digest.hexdigest()


@dataclass
class _Plan:
    transfer: list[Entry]
    metadata_only: set[str]
    delete: list[Entry]
    skipped: int


def _efs(location: Location) -> EfsLocation:
    if not isinstance(location, EfsLocation):
        raise ExecutionFailed("InvalidLocation", f"{location.arn} is not an EFS location.")
    return location


class _Runner:
    """Runs one execution: QUEUED -> LAUNCHING -> PREPARING -> TRANSFERRING -> VERIFYING."""

    def __init__(
        self,
        execution: Execution,
        source: Location,
        destination: Location,
        account_id: str,
        region: str,
    ) -> None:
        self.execution = execution
        self.source = source
        self.destination = destination
        self.account_id = account_id
        self.region = region
        self.options = execution.options
        self.mount: efs.AccessPointMount | None = None
        self.source_root = Path()  # the EFS side(s), set by `_mount`
        self.destination_root = Path()
        self.phase = "Prepare"  # the Result.<phase>Status an error is reported under
        self.dir_metadata: list[tuple[Path, Entry]] = []

    # ---- driver

    def run(self) -> None:
        """Run every phase; the final status is published last, with the durations set."""
        execution = self.execution
        started = time.monotonic()
        self.phase = "Prepare"
        final = "ERROR"
        try:
            self._run_phases()
            final = "SUCCESS"
        except Cancelled:
            self._fail("OpCancelled", "The task execution was cancelled.")
        except ExecutionFailed as failure:
            self._fail(failure.code, failure.detail)
        except OSError as error:
            self._fail("OpFailed", f"{type(error).__name__}: {error}")
        except Exception as error:  # a sandbox bug must still end the execution, loudly
            LOG.exception("DataSync execution %s failed unexpectedly", execution.arn)
            self._fail("InternalError", f"{type(error).__name__}: {error}")
        finally:
            execution.result["TotalDuration"] = int((time.monotonic() - started) * 1000)
            with execution.status_lock:
                execution.status = final
                execution.done_event.set()

    def _run_phases(self) -> None:
        self._enter("LAUNCHING")
        self._mount()
        phase_start = time.monotonic()
        self._enter("PREPARING")
        plan, source_entries = self._prepare()
        self._finish_phase(phase_start)
        self.phase, phase_start = "Transfer", time.monotonic()
        self._enter("TRANSFERRING")
        self._inject_faults()
        with posix.batch():
            self._transfer(plan)
        self._finish_phase(phase_start)
        self.phase, phase_start = "Verify", time.monotonic()
        self._enter("VERIFYING")
        self._verify(plan, source_entries)
        self._finish_phase(phase_start)

    def _enter(self, status: str) -> None:
        with self.execution.status_lock:
            self._check_cancel()
            self.execution.status = status
        if faults.phase_delay and self.execution.cancel_event.wait(faults.phase_delay):
            raise Cancelled
        self._check_cancel()

    def _check_cancel(self) -> None:
        if self.execution.cancel_event.is_set():
            raise Cancelled

    def _finish_phase(self, started: float) -> None:
        result = self.execution.result
        result[f"{self.phase}Duration"] = int((time.monotonic() - started) * 1000)
        result[f"{self.phase}Status"] = "SUCCESS"

    def _fail(self, code: str, detail: str) -> None:
        result = self.execution.result
        result[f"{self.phase}Status"] = "ERROR"
        result["ErrorCode"] = code
        result["ErrorDetail"] = detail

    def _inject_faults(self) -> None:
        if faults.hang:
            self.execution.cancel_event.wait()
            raise Cancelled
        if faults.error is not None:
            raise ExecutionFailed(*faults.error)

    # ---- locations

    def _mount(self) -> None:
        self.source_root = self._mount_source(_efs(self.source))
        self.destination_root = self._location_root(_efs(self.destination), for_write=True)

    def _mount_source(self, source: EfsLocation) -> Path:
        root = self._location_root(source, for_write=False)
        if not root.is_dir():
            raise ExecutionFailed(
                "SourceNotFound",
                f"Source location {source.uri} does not exist: mount.nfs4: mounting "
                f"{source.file_system_id}:{source.subdirectory} failed, reason "
                "given by server: No such file or directory",
            )
        return root

    def _location_root(self, location: EfsLocation, *, for_write: bool) -> Path:
        ap_id = location.access_point_id
        if ap_id is None:
            base = efs.file_system_path(location.file_system_id)
            if not base.is_dir():
                raise ExecutionFailed(
                    "LocationNotFound", f"EFS file system {location.file_system_id} is gone."
                )
            root = efs.resolve_under(base, location.subdirectory)
            if for_write and not root.is_dir():
                self._make_writer_dirs(base, root)
            return root
        try:
            mount = efs.mount_access_point(ap_id, account_id=self.account_id, region=self.region)
        except efs.AccessPointMountError as error:
            raise ExecutionFailed("AccessPointMountFailed", str(error)) from error
        except Exception as error:  # moto's AccessPointNotFound
            raise ExecutionFailed("AccessPointMountFailed", f"{ap_id}: {error}") from error
        root = efs.resolve_under(mount.root, location.subdirectory)
        if for_write:
            self.mount = mount
            if not root.is_dir():
                mount.make_dirs(root)
        return root

    @staticmethod
    def _make_writer_dirs(base: Path, root: Path) -> None:
        missing = []
        current = root
        while not current.exists() and current != base:
            missing.append(current)
            current = current.parent
        for path in reversed(missing):
            path.mkdir()
            posix.set_owner(path, _WRITER_UID, _WRITER_GID)

    # ---- prepare

    def _list_source(self, keep: Callable[[str, bool], bool]) -> dict[str, Entry]:
        return _scan(self.source_root, keep)

    def _list_destination(self, keep: Callable[[str, bool], bool]) -> dict[str, Entry]:
        return _scan(self.destination_root, keep)

    def _prepare(self) -> tuple[_Plan, dict[str, Entry]]:
        keep = _filter(self.execution.excludes, self.execution.includes)
        source = self._list_source(keep)
        destination = self._list_destination(keep)
        plan = _Plan(transfer=[], metadata_only=set(), delete=[], skipped=0)
        for rel in sorted(source, key=lambda r: (r.count("/"), r) if r else (-1, "")):
            decision = self._decide(source[rel], destination.get(rel))
            if decision == "skip":
                plan.skipped += 1
                continue
            if decision == "metadata":
                plan.metadata_only.add(rel)
            plan.transfer.append(source[rel])
        if self.options["PreserveDeletedFiles"] == "REMOVE":
            plan.delete = sorted(
                (e for rel, e in destination.items() if rel and rel not in source),
                key=lambda e: -e.depth,
            )
        c = self.execution.counters
        c.listed_at_source = len(source)
        c.listed_at_destination = len(destination) if plan.delete else 0
        c.estimated_files = len(plan.transfer)
        c.estimated_bytes = sum(
            e.size for e in plan.transfer if e.kind == "file" and e.rel not in plan.metadata_only
        )
        c.estimated_deletes = len(plan.delete)
        c.prepared = len(plan.transfer)
        c.files_skipped = plan.skipped
        return plan, source

    def _decide(self, src: Entry, dst: Entry | None) -> str:
        """'copy', 'metadata' (data unchanged, metadata differs) or 'skip'."""
        if dst is None:
            return "copy"
        never = self.options["OverwriteMode"] == "NEVER"
        if src.rel == "":
            # The location root exists by construction: only its metadata can change.
            return "skip" if never or self._same_metadata(src, dst) else "metadata"
        if never:
            return "skip"
        if self.options["TransferMode"] == "ALL" or src.kind != dst.kind:
            return "copy"
        if src.kind == "file" and (src.size != dst.size or not self._same_mtime(src, dst)):
            return "copy"
        if src.kind == "symlink" and src.link != dst.link:
            return "copy"
        return "skip" if self._same_metadata(src, dst) else "metadata"

    def _same_mtime(self, src: Entry, dst: Entry) -> bool:
        return self.options["Mtime"] == "NONE" or src.mtime_ns // 10**9 == dst.mtime_ns // 10**9

    def _same_metadata(self, src: Entry, dst: Entry) -> bool:
        uid, gid = self._owner_for(src)
        if src.kind == "symlink":
            return (uid is None or uid == dst.uid) and (gid is None or gid == dst.gid)
        same_mode = self.options["PosixPermissions"] == "NONE" or src.mode == dst.mode
        same_owner = (uid is None or uid == dst.uid) and (gid is None or gid == dst.gid)
        same_time = src.kind == "dir" or self._same_mtime(src, dst)
        return same_mode and same_owner and same_time

    def _owner_for(self, src: Entry) -> tuple[int | None, int | None]:
        """Who should own the copy of `src` (None: whoever writes it)."""
        if self.mount is not None and self.mount.uid is not None:
            return self.mount.uid, self.mount.gid
        uid = src.uid if self.options["Uid"] != "NONE" else None
        gid = src.gid if self.options["Gid"] != "NONE" else None
        return uid, gid

    # ---- transfer

    def _transfer(self, plan: _Plan) -> None:
        destination_root = self.destination_root
        for entry in plan.delete:
            self._check_cancel()
            self._delete(destination_root / entry.rel)
            self.execution.counters.files_deleted += 1
        for entry in plan.transfer:
            self._check_cancel()
            target = destination_root / entry.rel if entry.rel else destination_root
            if entry.rel in plan.metadata_only:
                self._apply_metadata(target, entry, created=False)
            else:
                self._copy_entry(entry, target)
            self.execution.counters.files_transferred += 1
        # Directory times and modes last: writing children changes a directory's mtime,
        # and a read-only directory mode would stop the copy into it.
        for path, entry in sorted(self.dir_metadata, key=lambda item: -item[1].depth):
            self._apply_metadata(path, entry, created=False, directory_pass=True)

    def _delete(self, path: Path) -> None:
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        elif path.exists() or path.is_symlink():
            path.unlink()
        posix.forget(path)

    def _copy_entry(self, entry: Entry, target: Path) -> None:
        if entry.kind == "dir":
            if target.is_symlink() or (target.exists() and not target.is_dir()):
                self._delete(target)
            created = not target.exists()
            if created:
                self._check_writable(target.parent)
                target.mkdir()
                posix.forget(target)
            self._apply_metadata(target, entry, created=created)
            return
        if target.is_symlink() or target.exists():
            self._delete(target)
        self._check_writable(target.parent)
        if entry.kind == "symlink":
            os.symlink(entry.link or "", target)
        else:
            self._copy_bytes(entry, target)
        self._apply_metadata(target, entry, created=True)

    def _copy_bytes(self, entry: Entry, target: Path) -> None:
        counters = self.execution.counters
        with self._open_source(entry) as reader, target.open("wb") as writer:
            for chunk in iter(lambda: reader.read(1 << 20), b""):
                self._check_cancel()
                writer.write(chunk)
                counters.bytes_written += len(chunk)

    def _open_source(self, entry: Entry) -> BinaryIO:
        """The bytes of the source file `entry`."""
        return (self.source_root / entry.rel).open("rb")

    def _check_writable(self, directory: Path) -> None:
        if self.mount is None:
            return
        try:
            self.mount.check_writable(directory)
        except PermissionError as error:
            self.execution.counters.files_failed += 1
            raise ExecutionFailed("PermissionDenied", str(error)) from error

    def _apply_metadata(
        self, path: Path, entry: Entry, *, created: bool, directory_pass: bool = False
    ) -> None:
        """Owner now; for directories, mode and times in a last pass (see `_transfer`)."""
        if not created and not directory_pass:
            self._check_may_change(path)
        uid, gid = self._owner_for(entry)
        self._set_owner(path, uid, gid, created=created)
        if entry.kind == "dir" and not directory_pass:
            self.dir_metadata.append((path, entry))
            return
        if entry.kind != "symlink" and self.options["PosixPermissions"] == "PRESERVE":
            posix.set_mode(path, entry.mode)
        self._set_times(path, entry)

    def _check_may_change(self, path: Path) -> None:
        """Through an access point, only the owner may change an entry (else EPERM)."""
        if self.mount is None or self.mount.uid in (None, 0):
            return
        owner, _ = posix.stat_owner(path)
        if owner != self.mount.uid:
            self.execution.counters.files_failed += 1
            raise ExecutionFailed(
                "PermissionDenied",
                f"Operation not permitted: uid {self.mount.uid} cannot change the metadata "
                f"of {path.name or '/'} owned by uid {owner}",
            )

    def _set_owner(self, path: Path, uid: int | None, gid: int | None, *, created: bool) -> None:
        """Apply the wanted owner; an unset side is the writer's on new entries, else kept."""
        if created:
            writer_uid, writer_gid = _WRITER_UID, _WRITER_GID
            if self.mount is not None and self.mount.uid is not None:
                writer_uid, writer_gid = self.mount.uid, self.mount.gid or 0
        else:
            writer_uid, writer_gid = posix.stat_owner(path)
        posix.set_owner(
            path, writer_uid if uid is None else uid, writer_gid if gid is None else gid
        )

    def _set_times(self, path: Path, entry: Entry) -> None:
        if self.options["Mtime"] != "PRESERVE":
            return
        info = os.lstat(path)
        atime = entry.atime_ns if self.options["Atime"] == "BEST_EFFORT" else info.st_atime_ns
        os.utime(path, ns=(atime, entry.mtime_ns), follow_symlinks=False)

    # ---- verify

    def _verify(self, plan: _Plan, source_entries: dict[str, Entry]) -> None:
        mode = self.options["VerifyMode"]
        if mode == "NONE":
            self.execution.result["VerifyStatus"] = "SUCCESS"
            return
        if mode == "ONLY_FILES_TRANSFERRED":
            to_check = [e for e in plan.transfer if e.rel not in plan.metadata_only]
        else:
            kept = self.options["OverwriteMode"] == "NEVER"
            transferred = {e.rel for e in plan.transfer}
            to_check = [e for e in source_entries.values() if not kept or e.rel in transferred]
        for entry in to_check:
            self._check_cancel()
            self._verify_entry(entry)
            self.execution.counters.files_verified += 1

    def _verify_entry(self, entry: Entry) -> None:
        target = self.destination_root / entry.rel if entry.rel else self.destination_root
        ok = target.exists() or target.is_symlink()
        if ok and entry.kind == "file":
            with self._open_source(entry) as source:
                ok = _sha256(source) == _sha256(target)
        elif ok and entry.kind == "symlink":
            ok = target.is_symlink() and os.readlink(target) == entry.link
        if not ok:
            raise ExecutionFailed(
                "VerificationFailed",
                f"Verification failed: /{entry.rel} differs between source and destination.",
            )


# --------------------------------------------------------------------------- API handlers


def _backend(response: Any) -> SandboxDataSyncBackend:
    backend = ds_models.datasync_backends[response.current_account][response.region]
    assert isinstance(backend, SandboxDataSyncBackend), "datasync.patch() was not called"
    return backend


def _json(value: Any) -> str:
    import json

    return json.dumps(value)


def _params(response: Any) -> dict[str, Any]:
    import json

    body = response.body
    if isinstance(body, bytes):
        body = body.decode("utf-8")
    try:
        parsed = json.loads(body or "{}")
    except ValueError:
        return {}
    return parsed if isinstance(parsed, dict) else {}


def _page(items: list[Any], params: dict[str, Any]) -> tuple[list[Any], str | None]:
    try:
        start = int(params.get("NextToken") or 0)
    except ValueError:
        raise InvalidRequestException("Invalid NextToken.") from None
    size = int(params.get("MaxResults") or 100)
    page = items[start : start + size]
    return page, str(start + size) if start + size < len(items) else None


def _matches(value: str, operator: str, wanted: list[str]) -> bool:
    checks: dict[str, Callable[[], bool]] = {
        "Equals": lambda: value in wanted,
        "In": lambda: value in wanted,
        "NotEquals": lambda: value not in wanted,
        "Contains": lambda: any(w in value for w in wanted),
        "NotContains": lambda: all(w not in value for w in wanted),
        "BeginsWith": lambda: any(value.startswith(w) for w in wanted),
    }
    check = checks.get(operator)
    if check is None:
        raise InvalidRequestException(f"Unsupported filter operator: {operator}")
    return check()


def create_location_efs(self: Any) -> str:
    location = _backend(self).create_location_efs(_params(self))
    return _json({"LocationArn": location.arn})


def describe_location_efs(self: Any) -> str:
    location = _backend(self).efs_location(_params(self).get("LocationArn", ""))
    return _json(location.describe())


def create_location_s3(self: Any) -> str:
    location = _backend(self).create_location_s3(_params(self))
    return _json({"LocationArn": location.arn})


def describe_location_s3(self: Any) -> str:
    location = _backend(self).s3_location(_params(self).get("LocationArn", ""))
    return _json(location.describe())


def delete_location(self: Any) -> str:
    _backend(self).delete_location(_params(self).get("LocationArn", ""))
    return _json({})


def list_locations(self: Any) -> str:
    params = _params(self)
    backend = _backend(self)
    rows = [
        {"LocationArn": arn, "LocationUri": location.uri, "LocationType": location.typ}
        for known in backend._all_locations()
        for arn, location in list(known.items())
    ]
    for flt in params.get("Filters") or []:
        key = {"LocationUri": "LocationUri", "LocationType": "LocationType"}.get(flt.get("Name"))
        if key is None:
            continue
        rows = [
            r
            for r in rows
            if _matches(r[key], flt.get("Operator", "Equals"), flt.get("Values", []))
        ]
    page, token = _page(rows, params)
    for row in page:
        row.pop("LocationType")
    reply: dict[str, Any] = {"Locations": page}
    if token:
        reply["NextToken"] = token
    return _json(reply)


def create_task(self: Any) -> str:
    task = _backend(self).create_sync_task(_params(self))
    return _json({"TaskArn": task.arn})


def describe_task(self: Any) -> str:
    backend = _backend(self)
    return _json(backend.sync_task(_params(self).get("TaskArn", "")).describe(backend))


def update_task(self: Any) -> str:
    params = _params(self)
    _backend(self).update_sync_task(params.get("TaskArn", ""), params)
    return _json({})


def delete_task(self: Any) -> str:
    _backend(self).delete_task(_params(self).get("TaskArn", ""))
    return _json({})


def list_tasks(self: Any) -> str:
    backend = _backend(self)
    params = _params(self)
    tasks = list(backend.sync_tasks.values())
    for flt in params.get("Filters") or []:
        if flt.get("Name") == "LocationId":
            wanted = flt.get("Values", [])
            operator = flt.get("Operator", "Equals")
            tasks = [
                t
                for t in tasks
                if _matches(t.source_location_arn, operator, wanted)
                or _matches(t.destination_location_arn, operator, wanted)
            ]
    rows = [
        {"TaskArn": t.arn, "Status": t.status(backend), "Name": t.name or "", "TaskMode": "BASIC"}
        for t in tasks
    ]
    page, token = _page(rows, params)
    reply: dict[str, Any] = {"Tasks": page}
    if token:
        reply["NextToken"] = token
    return _json(reply)


def start_task_execution(self: Any) -> str:
    params = _params(self)
    execution = _backend(self).start_execution(params.get("TaskArn", ""), params)
    return _json({"TaskExecutionArn": execution.arn})


def describe_task_execution(self: Any) -> str:
    execution = _backend(self).execution(_params(self).get("TaskExecutionArn", ""))
    return _json(execution.describe())


def cancel_task_execution(self: Any) -> str:
    _backend(self).cancel_execution(_params(self).get("TaskExecutionArn", ""))
    return _json({})


def list_task_executions(self: Any) -> str:
    backend = _backend(self)
    params = _params(self)
    task_arn = params.get("TaskArn")
    executions = [
        e for e in list(backend.executions.values()) if not task_arn or e.task_arn == task_arn
    ]
    rows = [
        {"TaskExecutionArn": e.arn, "Status": e.status, "TaskMode": "BASIC"} for e in executions
    ]
    page, token = _page(rows, params)
    reply: dict[str, Any] = {"TaskExecutions": page}
    if token:
        reply["NextToken"] = token
    return _json(reply)


def list_tags_for_resource(self: Any) -> str:
    tags = _backend(self).resource_tags(_params(self).get("ResourceArn", ""))
    return _json({"Tags": tags})


def tag_resource(self: Any) -> str:
    params = _params(self)
    tags = _backend(self).resource_tags(params.get("ResourceArn", ""))
    new = {t["Key"]: t.get("Value", "") for t in params.get("Tags") or []}
    tags[:] = [t for t in tags if t["Key"] not in new] + [
        {"Key": k, "Value": v} for k, v in new.items()
    ]
    return _json({})


def untag_resource(self: Any) -> str:
    params = _params(self)
    tags = _backend(self).resource_tags(params.get("ResourceArn", ""))
    keys = set(params.get("Keys") or [])
    tags[:] = [t for t in tags if t["Key"] not in keys]
    return _json({})


_HANDLERS: tuple[Callable[[Any], str], ...] = (
    create_location_efs,
    describe_location_efs,
    create_location_s3,
    describe_location_s3,
    delete_location,
    list_locations,
    create_task,
    describe_task,
    update_task,
    delete_task,
    list_tasks,
    start_task_execution,
    describe_task_execution,
    cancel_task_execution,
    list_task_executions,
    list_tags_for_resource,
    tag_resource,
    untag_resource,
)


_REPLACED: dict[str, Any] = {}


def patch() -> None:
    """Serve DataSync with :class:`SandboxDataSyncBackend` and the handlers above (idempotent)."""
    efs.patch()
    backends = ds_models.datasync_backends
    if backends.backend is not SandboxDataSyncBackend:
        backends.backend = SandboxDataSyncBackend
        backends.clear()
    for handler in _HANDLERS:
        _replace(ds_responses.DataSyncResponse, handler.__name__, handler)


def unpatch() -> None:
    """Give DataSync back to moto (and forget every sandbox location, task and execution)."""
    backends = ds_models.datasync_backends
    if backends.backend is SandboxDataSyncBackend:
        backends.backend = ds_models.DataSyncBackend
        backends.clear()
    _restore(ds_responses.DataSyncResponse)
    efs.unpatch()


def _replace(cls: type, name: str, handler: Callable[[Any], str]) -> None:
    current = cls.__dict__.get(name)
    if current is not handler:
        _REPLACED.setdefault(name, current)
        setattr(cls, name, handler)


def _restore(cls: type) -> None:
    for name, original in _REPLACED.items():
        if original is None:
            delattr(cls, name)
        else:
            setattr(cls, name, original)
    _REPLACED.clear()
