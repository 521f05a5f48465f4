"""`studio-recovery open-efs`: NFS from the DataSync security group to every mount target."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import boto3
from botocore.stub import Stubber
from studio_recovery.cli.exit_codes import ExitCode

if TYPE_CHECKING:
    from tests.integration.cli_fixtures import Network, RunCli

pytest_plugins = ("tests.integration.cli_fixtures",)


def _nfs_sources(group_id: str) -> list[str]:
    ec2 = boto3.client("ec2", region_name="us-east-1")
    group = ec2.describe_security_groups(GroupIds=[group_id])["SecurityGroups"][0]
    return [
        pair["GroupId"]
        for permission in group["IpPermissions"]
        if permission.get("FromPort") == 2049 and permission.get("ToPort") == 2049
        for pair in permission.get("UserIdGroupPairs", [])
    ]


def test_open_efs_adds_the_rule_once_and_the_second_run_changes_nothing(
    run_cli: RunCli, network: Network
) -> None:
    args = [
        "--region",
        "us-east-1",
        "--datasync-security-group-id",
        network.datasync_group_id,
    ]

    first = run_cli(*args, "open-efs", "--efs-id", network.efs_id)

    assert first.code == ExitCode.OK
    assert network.efs_group_id in first.out
    assert "opened" in first.out
    assert _nfs_sources(network.efs_group_id) == [network.datasync_group_id]

    second = run_cli(*args, "open-efs", "--efs-id", network.efs_id, "--json")

    assert second.code == ExitCode.OK
    assert second.json() == {
        "efs_id": network.efs_id,
        "datasync_security_group_id": network.datasync_group_id,
        "security_groups": [
            {"security_group_id": network.efs_group_id, "result": "already open"}
        ],
        "changed": False,
    }
    assert _nfs_sources(network.efs_group_id) == [network.datasync_group_id]

    third = run_cli(*args, "open-efs", "--efs-id", network.efs_id)
    assert "already open" in third.out
    assert "Nothing changed" in third.out


def test_open_efs_by_domain_id_reads_the_domain_home_volume(
    run_cli: RunCli, network: Network, stub_client: Callable[[str, Any], None]
) -> None:
    sagemaker = boto3.client("sagemaker", region_name="us-east-1")
    stubber = Stubber(sagemaker)
    stubber.add_response(
        "describe_domain",
        {
            "DomainId": "d-abc123",
            "DomainName": "demo",
            "HomeEfsFileSystemId": network.efs_id,
        },
        {"DomainId": "d-abc123"},
    )
    stubber.activate()
    stub_client("sagemaker", sagemaker)

    result = run_cli(
        "--region",
        "us-east-1",
        "--datasync-security-group-id",
        network.datasync_group_id,
        "open-efs",
        "--domain-id",
        "d-abc123",
    )

    assert result.code == ExitCode.OK, result.err
    assert _nfs_sources(network.efs_group_id) == [network.datasync_group_id]
    stubber.assert_no_pending_responses()


def test_open_efs_of_an_unknown_file_system_is_not_found(
    run_cli: RunCli, network: Network
) -> None:
    result = run_cli(
        "--region",
        "us-east-1",
        "--datasync-security-group-id",
        network.datasync_group_id,
        "open-efs",
        "--efs-id",
        "fs-00000000000000000",
    )

    assert result.code == ExitCode.NOT_FOUND
    assert result.err.count("\n") == 1


def test_open_efs_of_an_unknown_domain_is_not_found(
    run_cli: RunCli, network: Network, stub_client: Callable[[str, Any], None]
) -> None:
    sagemaker = boto3.client("sagemaker", region_name="us-east-1")
    stubber = Stubber(sagemaker)
    stubber.add_client_error(
        "describe_domain",
        "ResourceNotFound",
        "Cannot find Domain",
        expected_params=None,
    )
    stubber.activate()
    stub_client("sagemaker", sagemaker)

    result = run_cli(
        "--region",
        "us-east-1",
        "--datasync-security-group-id",
        network.datasync_group_id,
        "open-efs",
        "--domain-id",
        "d-nope00000000",
    )

    assert result.code == ExitCode.NOT_FOUND
    assert "d-nope00000000" in result.err


def test_open_efs_denied_names_the_ec2_action(
    run_cli: RunCli, network: Network, deny: Callable[..., None]
) -> None:
    deny("ec2:AuthorizeSecurityGroupIngress")

    result = run_cli(
        "--region",
        "us-east-1",
        "--datasync-security-group-id",
        network.datasync_group_id,
        "open-efs",
        "--efs-id",
        network.efs_id,
    )

    assert result.code == ExitCode.ACCESS_DENIED
    assert "ec2:AuthorizeSecurityGroupIngress" in result.err
    assert _nfs_sources(network.efs_group_id) == []


def test_open_efs_needs_the_datasync_group(run_cli: RunCli, network: Network) -> None:
    result = run_cli("--region", "us-east-1", "open-efs", "--efs-id", network.efs_id)

    assert result.code == ExitCode.USAGE
    assert "--datasync-security-group-id" in result.err


def test_open_efs_rejects_malformed_ids_before_any_call(
    run_cli: RunCli, no_aws_session: list[Any]
) -> None:
    for argv in (["--efs-id", "fs-XYZ"], ["--domain-id", "domain-1"], []):
        result = run_cli("--region", "us-east-1", "open-efs", *argv)
        assert result.code == ExitCode.USAGE
    assert no_aws_session == []


def test_open_efs_unreachable_endpoint(run_cli: RunCli, unreachable: list[str]) -> None:
    result = run_cli(
        *unreachable,
        "--datasync-security-group-id",
        "sg-0123456789abcdef0",
        "open-efs",
        "--efs-id",
        "fs-0123456789abcdef0",
    )

    assert result.code == ExitCode.UNREACHABLE
