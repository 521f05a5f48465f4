"""`doctor`: check what a restore needs; say what is wrong and how to fix it."""

from __future__ import annotations

import argparse
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from typing import Any, Literal

from botocore.exceptions import ClientError

from studio_recovery.cli.args import positive_int
from studio_recovery.cli.commands.efs import MountTarget, allows_nfs_from, mount_targets
from studio_recovery.cli.context import Aws, Context
from studio_recovery.cli.errors import CliError, translate
from studio_recovery.cli.exit_codes import ExitCode

Result = Literal["PASS", "WARN", "FAIL"]
DATASYNC_TASK_QUOTA = 100
"""DataSync tasks per account and region (the default quota)."""
_WARN_SHARE = 0.8


@dataclass(frozen=True)
class Check:
    """One finding: what was checked, the result, what was seen and how to fix it."""

    check: str
    result: Result
    detail: str
    fix: str = ""


def register(subparsers: Any, parents: list[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "doctor",
        parents=parents,
        help="check the trail, rules, EFS access, subnets, DataSync quota and dead letters",
        description=(
            "Check what a restore needs: a trail logging management events, the EventBridge "
            "rules enabled, every recorded EFS open to DataSync from a subnet in a mount "
            "target's AZ, DataSync tasks under the quota, and no messages waiting in the "
            "dead-letter queues. Exits 8 when a check fails."
        ),
    )
    parser.add_argument(
        "--task-quota",
        type=positive_int,
        default=DATASYNC_TASK_QUOTA,
        metavar="N",
        help=f"your DataSync task quota (default {DATASYNC_TASK_QUOTA})",
    )
    parser.set_defaults(run=run)


def run(context: Context) -> int:
    checks: list[Check] = []
    for probe in (
        check_trail,
        check_rules,
        check_efs_access,
        check_datasync_tasks,
        check_dead_letters,
    ):
        checks += guarded(context, probe)
    _show(context, checks)
    failed = any(check.result == "FAIL" for check in checks)
    return ExitCode.CHECK_FAILED if failed else ExitCode.OK


def guarded(context: Context, probe: Callable[[Context], Iterable[Check]]) -> list[Check]:
    """Run one probe; a permission or AWS error becomes a finding, an outage stops doctor."""
    name = (probe.__doc__ or probe.__name__).strip().splitlines()[0].rstrip(".")
    try:
        return list(probe(context))
    except Exception as exc:
        error = translate(exc, context.aws.last_action)
        if error is None or error.code == ExitCode.UNREACHABLE:
            raise
        return [_could_not_check(name, error)]


def _could_not_check(name: str, error: CliError) -> Check:
    if error.code == ExitCode.ACCESS_DENIED:
        return Check(name, "WARN", f"could not check: {error.message}", "grant that permission")
    if error.code == ExitCode.USAGE:
        return Check(name, "WARN", f"could not check: {error.message}", "give the missing name")
    return Check(name, "FAIL", f"could not check: {error.message}", "see the error")


# ------------------------------------------------------------------ trail


def check_trail(context: Context) -> Iterable[Check]:
    """CloudTrail logs management events."""
    cloudtrail = context.aws.client("cloudtrail")
    region = cloudtrail.meta.region_name
    trails = cloudtrail.describe_trails(includeShadowTrails=True).get("trailList", [])
    seen: list[str] = []
    for trail in trails:
        if not (trail.get("IsMultiRegionTrail") or trail.get("HomeRegion") == region):
            continue
        arn = trail["TrailARN"]
        seen.append(trail.get("Name", arn))
        status = cloudtrail.get_trail_status(Name=arn)
        if status.get("IsLogging") and _logs_management_writes(cloudtrail, arn):
            yield Check("trail", "PASS", f"trail {trail.get('Name', arn)} logs management events")
            return
    detail = f"no trail in {region} is logging write management events" + (
        f" (checked: {', '.join(seen)})" if seen else " (no trail found)"
    )
    yield Check(
        "trail",
        "FAIL",
        detail,
        "set create_cloudtrail = true on the module, or turn on logging and write "
        "management events on a trail (aws cloudtrail start-logging --name TRAIL)",
    )


def _logs_management_writes(cloudtrail: Any, arn: str) -> bool:
    selectors = cloudtrail.get_event_selectors(TrailName=arn)
    basic = selectors.get("EventSelectors") or []
    advanced = selectors.get("AdvancedEventSelectors") or []
    if not basic and not advanced:
        return True  # the default selector: all management events
    for selector in basic:
        if selector.get("IncludeManagementEvents", True) and selector.get(
            "ReadWriteType", "All"
        ) in {"All", "WriteOnly"}:
            return True
    for selector in advanced:
        fields = {f.get("Field"): f for f in selector.get("FieldSelectors", [])}
        category = fields.get("eventCategory", {}).get("Equals", [])
        read_only = fields.get("readOnly", {}).get("Equals", [])
        if "Management" in category and "true" not in read_only:
            return True
    return False


# ------------------------------------------------------------------ rules


def check_rules(context: Context) -> Iterable[Check]:
    """EventBridge rules are enabled."""
    names = context.resources.event_rule_names
    if not names:
        yield Check(
            "event rules",
            "WARN",
            "rule names unknown",
            "pass --tf-output FILE or --event-rule-names A,B",
        )
        return
    events = context.aws.client("events")
    for name in names:
        try:
            state = events.describe_rule(Name=name).get("State")
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "ResourceNotFoundException":
                raise
            yield Check(f"rule {name}", "FAIL", "rule does not exist", "terraform apply the module")
            continue
        if state == "ENABLED":
            yield Check(f"rule {name}", "PASS", "enabled")
        else:
            yield Check(
                f"rule {name}", "FAIL", f"state {state}", f"aws events enable-rule --name {name}"
            )


# -------------------------------------------------------------------- EFS


def check_efs_access(context: Context) -> Iterable[Check]:
    """Every recorded EFS is open to DataSync from a subnet in a mount target's AZ."""
    datasync_group = context.resources.datasync_security_group_id
    subnets = datasync_subnets(context)
    volumes: dict[str, bool] = {}  # efs id -> some domain using it is live
    for domain in context.registry().list_domains():
        if domain.efs_id is None:  # created without a home EFS: nothing to check
            continue
        if domain.deleted_at is not None and domain.retention == "Delete":
            continue
        volumes[domain.efs_id] = volumes.get(domain.efs_id, False) or domain.deleted_at is None
    if not volumes:
        yield Check("EFS", "WARN", "no domain in the registry", "run `studio-recovery seed`")
        return
    subnet_info = _describe_subnets(context.aws, subnets)
    for efs, live in sorted(volumes.items()):
        yield from _check_volume(context.aws, efs, live, datasync_group, subnet_info)


def datasync_subnets(context: Context) -> tuple[str, ...]:
    """The DataSync subnets: the flag, else the prepare function's DATASYNC_SUBNET_IDS."""
    if context.resources.datasync_subnet_ids:
        return context.resources.datasync_subnet_ids
    function = context.resources.prepare_function_name
    if not function:
        return ()
    configuration = context.aws.client("lambda").get_function_configuration(FunctionName=function)
    variables = configuration.get("Environment", {}).get("Variables", {})
    raw = str(variables.get("DATASYNC_SUBNET_IDS", ""))
    return tuple(part.strip() for part in raw.split(",") if part.strip())


def _describe_subnets(aws: Aws, subnets: tuple[str, ...]) -> dict[str, dict[str, str]]:
    if not subnets:
        return {}
    described = aws.client("ec2").describe_subnets(SubnetIds=list(subnets))["Subnets"]
    return {s["SubnetId"]: {"az": s["AvailabilityZone"], "vpc": s["VpcId"]} for s in described}


def _check_volume(
    aws: Aws,
    efs: str,
    live: bool,
    datasync_group: str | None,
    subnets: dict[str, dict[str, str]],
) -> Iterable[Check]:
    name = f"EFS {efs}" + ("" if live else " (retained)")
    try:
        targets = mount_targets(aws, efs)
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") != "FileSystemNotFound":
            raise
        result: Result = "FAIL" if live else "WARN"
        yield Check(name, result, "file system not found", "check the domain's home EFS")
        return
    if not targets:
        yield Check(name, "FAIL", "no mount targets", "create a mount target in the EFS's VPC")
        return
    yield _security_group_check(aws, name, efs, targets, datasync_group)
    yield _subnet_check(name, targets, subnets)


def _security_group_check(
    aws: Aws, name: str, efs: str, targets: list[MountTarget], datasync_group: str | None
) -> Check:
    check = f"{name} open to DataSync"
    if not datasync_group:
        return Check(check, "WARN", "DataSync security group unknown", "pass --tf-output FILE")
    groups = sorted({g for target in targets for g in target.security_group_ids})
    described = aws.client("ec2").describe_security_groups(GroupIds=groups)["SecurityGroups"]
    closed = [g["GroupId"] for g in described if not allows_nfs_from(g, datasync_group)]
    if closed:
        return Check(
            check,
            "FAIL",
            f"no TCP 2049 from {datasync_group} on {', '.join(closed)}",
            f"studio-recovery open-efs --efs-id {efs}",
        )
    return Check(check, "PASS", f"TCP 2049 from {datasync_group} on {', '.join(groups)}")


def _subnet_check(
    name: str, targets: list[MountTarget], subnets: dict[str, dict[str, str]]
) -> Check:
    check = f"{name} DataSync subnet"
    zones = sorted({t.availability_zone for t in targets if t.availability_zone})
    vpcs = {t.vpc_id for t in targets if t.vpc_id}
    if not subnets:
        return Check(
            check,
            "WARN",
            "DataSync subnets unknown",
            "pass --tf-output FILE or --datasync-subnet-ids",
        )
    usable = [
        subnet
        for subnet, info in sorted(subnets.items())
        if info["az"] in zones and (not vpcs or info["vpc"] in vpcs)
    ]
    if usable:
        return Check(check, "PASS", f"{', '.join(usable)} in a mount target's AZ")
    return Check(
        check,
        "FAIL",
        f"no DataSync subnet in the VPC {', '.join(sorted(vpcs))} and AZs {', '.join(zones)}",
        f"set datasync_subnet_ids to a subnet in one of: {', '.join(zones)}",
    )


# --------------------------------------------------------------- DataSync


def check_datasync_tasks(context: Context) -> Iterable[Check]:
    """DataSync tasks in use are under the quota."""
    quota: int = context.args.task_quota
    datasync = context.aws.client("datasync")
    in_use = sum(len(page["Tasks"]) for page in datasync.get_paginator("list_tasks").paginate())
    detail = f"{in_use} of {quota} tasks in use"
    fix = "delete tasks no longer needed (aws datasync delete-task) or raise the quota"
    if in_use >= quota:
        yield Check("DataSync tasks", "FAIL", detail, fix)
    elif in_use >= quota * _WARN_SHARE:
        yield Check("DataSync tasks", "WARN", detail, fix)
    else:
        yield Check("DataSync tasks", "PASS", detail)


# -------------------------------------------------------------- dead letters


def check_dead_letters(context: Context) -> Iterable[Check]:
    """No messages wait in the dead-letter queues."""
    queues = {
        "event DLQ": context.resources.event_dead_letter_queue_url,
        "stream failures": context.resources.stream_failure_queue_url,
    }
    known = {label: url for label, url in queues.items() if url}
    if not known:
        yield Check("dead letters", "WARN", "queue URLs unknown", "pass --tf-output FILE")
        return
    sqs = context.aws.client("sqs")
    for label, url in known.items():
        attributes = sqs.get_queue_attributes(
            QueueUrl=url,
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )["Attributes"]
        waiting = sum(int(value) for value in attributes.values())
        if waiting:
            yield Check(
                label,
                "FAIL",
                f"{waiting} message(s) waiting in {url}",
                f"read them (aws sqs receive-message --queue-url {url}), fix the cause, "
                "then redrive or replay them",
            )
        else:
            yield Check(label, "PASS", "empty")


def _show(context: Context, checks: list[Check]) -> None:
    out = context.out
    if out.json_mode:
        out.json(
            {
                "ok": not any(c.result == "FAIL" for c in checks),
                "checks": [asdict(check) for check in checks],
            }
        )
        return
    out.table(
        None,
        ["check", "result", "detail", "how to fix"],
        [(c.check, c.result, c.detail, c.fix) for c in checks],
    )
