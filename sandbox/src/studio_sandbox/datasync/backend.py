"""DataSync in the sandbox: the backend that keeps EFS/S3 locations, tasks and executions.

moto 5.2 has no EFS locations, and its executions only cycle a status. This backend
validates what AWS validates (the EFS location's network path, access point and TLS, the
task quota, the options), and starts each execution in a background thread that really
copies (:mod:`.copier`, :mod:`.s3_locations`).

Sandbox choices where AWS is silent or not reproducible: a second StartTaskExecution while
one runs is refused; DeleteTask cancels a running execution; executions stay describable
after their task is deleted.
"""

from __future__ import annotations

import ipaddress
import logging
import threading
from typing import Any

from moto.datasync import models as ds_models
from moto.datasync.exceptions import InvalidRequestException
from moto.ec2 import models as ec2_models

from studio_sandbox import efs
from studio_sandbox.datasync import reports, s3_locations
from studio_sandbox.datasync.copier import Runner
from studio_sandbox.datasync.models import (
    ACTIVE_STATUSES,
    DEFAULT_OPTIONS,
    NFS_PORT,
    TASK_QUOTA,
    EfsLocation,
    Execution,
    Location,
    S3Location,
    SyncTask,
    merge_options,
    new_id,
    normalise_subdirectory,
    parse_arn,
)

LOG = logging.getLogger(__name__)


enforce_nfs_rules = True
"""CreateLocationEfs runs AWS's location access test: the location's security groups and
the mount target's must let NFS through. Set to False to skip it."""

# --------------------------------------------------------------------------- backend


class SandboxDataSyncBackend(ds_models.DataSyncBackend):
    """moto's DataSync backend plus EFS locations, tasks and real executions.

    moto's own SMB/... locations stay in `self.locations`; S3 locations (see
    :mod:`.s3_locations`) live in `s3_locations`, tasks and executions served here in
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
        _, _, fs_id = parse_arn(fs_arn, "elasticfilesystem", "file-system", "EfsFilesystemArn")
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
            arn=self._arn(f"location/{new_id('loc')}"),
            region=self.region_name,
            file_system_id=fs_id,
            efs_filesystem_arn=str(fs_arn),
            subdirectory=normalise_subdirectory(params.get("Subdirectory")),
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
        _, _, subnet_id = parse_arn(ec2_config.get("SubnetArn"), "ec2", "subnet", "SubnetArn")
        try:
            subnet = ec2.get_subnet(subnet_id)
        except InvalidSubnetIdError:
            raise InvalidRequestException(f"Subnet {subnet_id} does not exist.") from None
        groups = ec2_config.get("SecurityGroupArns") or []
        if not 1 <= len(groups) <= 5:
            raise InvalidRequestException("Ec2Config.SecurityGroupArns must list 1 to 5 groups.")
        for group_arn in groups:
            _, _, group_id = parse_arn(group_arn, "ec2", "security-group", "SecurityGroupArn")
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
            parse_arn(role_arn, "iam", "role", "FileSystemAccessRoleArn")
        if access_point_arn is None:
            return
        _, _, ap_id = parse_arn(
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
        location = s3_locations.new_location(
            params, self._arn(f"location/{new_id('loc')}"), self.account_id, self.region_name
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
            if not any(arn in known for known in self.all_locations()):
                raise InvalidRequestException(f"Location {arn} is not found.")
        options = merge_options(DEFAULT_OPTIONS, params.get("Options"))
        manifest_config = self._manifest_config(params.get("ManifestConfig"))
        report_config = self._report_config(params.get("TaskReportConfig"))
        with self.lock:
            if len(self.sync_tasks) >= TASK_QUOTA:
                raise InvalidRequestException(
                    f"You have reached the maximum number of tasks ({TASK_QUOTA}) for this "
                    f"account in {self.region_name}. Delete tasks you no longer need or "
                    "request a quota increase."
                )
            task = SyncTask(
                arn=self._arn(f"task/{new_id('task')}"),
                name=params.get("Name"),
                source_location_arn=source,
                destination_location_arn=destination,
                options=options,
                excludes=params.get("Excludes") or [],
                includes=params.get("Includes") or [],
                cloud_watch_log_group_arn=params.get("CloudWatchLogGroupArn"),
                manifest_config=manifest_config,
                task_report_config=report_config,
                tags=params.get("Tags") or [],
            )
            self.sync_tasks[task.arn] = task
        return task

    def all_locations(self) -> tuple[dict[str, Any], ...]:
        return (self.locations, self.efs_locations, self.s3_locations)

    def _manifest_config(self, config: Any) -> dict[str, Any] | None:
        if config is None:
            return None
        return s3_locations.validate_manifest_config(config, self.account_id)

    def _report_config(self, config: Any) -> dict[str, Any] | None:
        checked = reports.validate_report_config(config)
        if checked is not None:
            role = checked["Destination"]["S3"].get("BucketAccessRoleArn")
            what = "TaskReportConfig.Destination.S3.BucketAccessRoleArn"
            s3_locations.check_role(self.account_id, role, what)
        return checked

    def sync_task(self, task_arn: str) -> SyncTask:
        task = self.sync_tasks.get(task_arn)
        if task is None:
            raise InvalidRequestException(f"Sync task {task_arn} is not found.")
        return task

    def update_sync_task(self, task_arn: str, params: dict[str, Any]) -> None:
        task = self.sync_task(task_arn)
        if params.get("Options") is not None:
            task.options = merge_options(task.options, params["Options"])
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
        if current is not None and current.status in ACTIVE_STATUSES:
            current.cancel_event.set()
        with self.lock:
            del self.sync_tasks[task_arn]

    # ---- executions

    def start_execution(self, task_arn: str, overrides: dict[str, Any]) -> Execution:
        task = self.sync_task(task_arn)
        with self.lock:
            current = self.executions.get(task.current_execution_arn or "")
            if current is not None and current.status in ACTIVE_STATUSES:
                raise InvalidRequestException(
                    f"Task {task_arn} already has an execution in progress "
                    f"({current.arn}). Only one execution of a task can run at a time."
                )
            execution = Execution(
                arn=f"{task_arn}/execution/{new_id('exec')}",
                task_arn=task_arn,
                options=merge_options(task.options, overrides.get("OverrideOptions")),
                excludes=overrides.get("Excludes") or task.excludes,
                includes=overrides.get("Includes") or task.includes,
                manifest_config=task.manifest_config,
                task_report_config=task.task_report_config,
            )
            if overrides.get("TaskReportConfig") is not None:
                execution.task_report_config = self._report_config(overrides["TaskReportConfig"])
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

    def _runner(self, task: SyncTask, execution: Execution) -> Runner:
        """The runner for the task's pair of locations (EFS or S3 on either side)."""
        source = self.location(task.source_location_arn)
        destination = self.location(task.destination_location_arn)
        if isinstance(source, EfsLocation) and isinstance(destination, EfsLocation):
            if execution.manifest_config is not None:
                raise InvalidRequestException(
                    "The sandbox supports ManifestConfig only on tasks whose source is S3."
                )
            return Runner(execution, source, destination, self.account_id, self.region_name)
        return s3_locations.runner(
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
            if execution.done_event.is_set() or execution.status not in ACTIVE_STATUSES:
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
