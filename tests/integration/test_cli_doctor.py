"""`studio-recovery doctor`: each check PASS / WARN / FAIL, with how to fix it."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import boto3
import pytest
from studio_recovery.cli.exit_codes import ExitCode
from studio_recovery.dal.registry import RegistryRepository
from studio_recovery.models.registry import Domain

if TYPE_CHECKING:
    from tests.integration.cli_fixtures import Network, RunCli

pytest_plugins = ("tests.integration.cli_fixtures",)

REGION = "us-east-1"


@pytest.fixture
def installed(
    aws_env: dict[str, str],
    network: Network,
    registry: RegistryRepository,
    registry_table: Any,
    tf_output: Callable[[dict[str, Any]], Any],
) -> dict[str, Any]:
    """A healthy installation: trail, enabled rules, EFS open, empty queues."""
    s3 = boto3.client("s3", region_name=REGION)
    s3.create_bucket(Bucket="trail-logs")
    cloudtrail = boto3.client("cloudtrail", region_name=REGION)
    trail = cloudtrail.create_trail(Name="studio", S3BucketName="trail-logs")[
        "TrailARN"
    ]
    cloudtrail.start_logging(Name="studio")
    events = boto3.client("events", region_name=REGION)
    rules = ["studio-recovery-sagemaker", "studio-recovery-aborted"]
    for rule in rules:
        events.put_rule(Name=rule, EventPattern='{"source": ["aws.sagemaker"]}')
    sqs = boto3.client("sqs", region_name=REGION)
    dlq = sqs.create_queue(QueueName="event-dlq")["QueueUrl"]
    failures = sqs.create_queue(QueueName="stream-failures")["QueueUrl"]
    boto3.client("ec2", region_name=REGION).authorize_security_group_ingress(
        GroupId=network.efs_group_id,
        IpPermissions=[
            {
                "IpProtocol": "tcp",
                "FromPort": 2049,
                "ToPort": 2049,
                "UserIdGroupPairs": [{"GroupId": network.datasync_group_id}],
            }
        ],
    )
    registry.put_domain(
        Domain(
            domain_id="d-abc123",
            domain_name="demo",
            efs_id=network.efs_id,
            created_at="2026-11-01T09:00:00Z",  # type: ignore[arg-type]
        )
    )
    outputs = {
        "registry_table_name": registry_table.name,
        "datasync_security_group_id": network.datasync_group_id,
        "event_rule_names": rules,
        "event_dead_letter_queue_url": dlq,
        "stream_failure_queue_url": failures,
        "trail_arn": trail,
    }
    path = tf_output(outputs)
    return {
        **outputs,
        "args": ["--region", REGION, "--tf-output", str(path)],
        "subnets": ["--datasync-subnet-ids", network.subnet_ids[0]],
    }


def _by_check(result: Any) -> dict[str, dict[str, str]]:
    return {check["check"]: check for check in result.json()["checks"]}


def test_doctor_passes_on_a_healthy_installation(
    run_cli: RunCli, installed: dict[str, Any], network: Network
) -> None:
    result = run_cli(*installed["args"], *installed["subnets"], "doctor", "--json")

    assert result.code == ExitCode.OK, result.out
    checks = _by_check(result)
    assert result.json()["ok"] is True
    assert {c["result"] for c in checks.values()} == {"PASS"}
    assert set(checks) == {
        "trail",
        "rule studio-recovery-sagemaker",
        "rule studio-recovery-aborted",
        f"EFS {network.efs_id} open to DataSync",
        f"EFS {network.efs_id} DataSync subnet",
        "DataSync tasks",
        "event DLQ",
        "stream failures",
    }
    assert checks["DataSync tasks"]["detail"] == "0 of 100 tasks in use"

    table = run_cli(*installed["args"], *installed["subnets"], "doctor")
    assert table.code == ExitCode.OK
    assert "PASS" in table.out
    assert "FAIL" not in table.out


def test_doctor_finds_each_problem_and_says_how_to_fix_it(
    run_cli: RunCli, installed: dict[str, Any], network: Network
) -> None:
    # given: logging stopped, a rule disabled, the EFS closed again, a subnet in another
    # AZ than any mount target, and a message in the dead-letter queue
    boto3.client("cloudtrail", region_name=REGION).stop_logging(Name="studio")
    events = boto3.client("events", region_name=REGION)
    events.disable_rule(Name="studio-recovery-aborted")
    boto3.client("ec2", region_name=REGION).revoke_security_group_ingress(
        GroupId=network.efs_group_id,
        IpPermissions=[
            {
                "IpProtocol": "tcp",
                "FromPort": 2049,
                "ToPort": 2049,
                "UserIdGroupPairs": [{"GroupId": network.datasync_group_id}],
            }
        ],
    )
    ec2 = boto3.client("ec2", region_name=REGION)
    far = ec2.create_subnet(
        VpcId=network.vpc_id, CidrBlock="10.1.9.0/24", AvailabilityZone=f"{REGION}c"
    )["Subnet"]["SubnetId"]
    boto3.client("sqs", region_name=REGION).send_message(
        QueueUrl=installed["event_dead_letter_queue_url"], MessageBody="{}"
    )

    result = run_cli(
        *installed["args"], "--datasync-subnet-ids", far, "doctor", "--json"
    )

    assert result.code == ExitCode.CHECK_FAILED
    checks = _by_check(result)
    failed = {name for name, check in checks.items() if check["result"] == "FAIL"}
    assert failed == {
        "trail",
        "rule studio-recovery-aborted",
        f"EFS {network.efs_id} open to DataSync",
        f"EFS {network.efs_id} DataSync subnet",
        "event DLQ",
    }
    assert "create_cloudtrail" in checks["trail"]["fix"]
    assert checks["rule studio-recovery-aborted"]["fix"] == (
        "aws events enable-rule --name studio-recovery-aborted"
    )
    assert checks[f"EFS {network.efs_id} open to DataSync"]["fix"] == (
        f"studio-recovery open-efs --efs-id {network.efs_id}"
    )
    assert "us-east-1a" in checks[f"EFS {network.efs_id} DataSync subnet"]["fix"]
    assert "1 message(s) waiting" in checks["event DLQ"]["detail"]
    assert checks["stream failures"]["result"] == "PASS"


def test_doctor_without_names_warns_instead_of_failing(
    run_cli: RunCli, aws_env: dict[str, str]
) -> None:
    result = run_cli("--region", REGION, "doctor", "--json")

    checks = _by_check(result)
    assert checks["event rules"]["result"] == "WARN"
    assert checks["dead letters"]["result"] == "WARN"
    assert checks["trail"]["result"] == "FAIL"  # there is no trail in this account
    assert result.code == ExitCode.CHECK_FAILED


def test_a_denied_check_is_a_warning_naming_the_action(
    run_cli: RunCli, installed: dict[str, Any], deny: Callable[..., None]
) -> None:
    deny("datasync:ListTasks")

    result = run_cli(*installed["args"], *installed["subnets"], "doctor", "--json")

    assert result.code == ExitCode.OK
    (check,) = [c for c in result.json()["checks"] if c["result"] != "PASS"]
    assert check["result"] == "WARN"
    assert "datasync:ListTasks" in check["detail"]


def test_doctor_unreachable_exits_5(run_cli: RunCli, unreachable: list[str]) -> None:
    result = run_cli(*unreachable, "doctor")

    assert result.code == ExitCode.UNREACHABLE
    assert result.err.count("\n") == 1
