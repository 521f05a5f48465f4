"""Fixtures for the CLI tests (`test_cli_*.py` load them with `pytest_plugins`).

They build on `aws_env` / `registry_table` from this directory's conftest (moto in-process)
and run the CLI in-process through `studio_recovery.cli.main.main`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.awsrequest import AWSResponse
from botocore.compat import HTTPHeaders
from studio_recovery.cli import context as cli_context
from studio_recovery.cli.main import main
from studio_recovery.dal.registry import RegistryRepository
from studio_recovery.models.registry import Generation, ProfileKey

REGION = "us-east-1"
ACCOUNT = "123456789012"
T0 = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)


@dataclass(frozen=True)
class CliResult:
    """What one CLI run printed and returned."""

    code: int
    out: str
    err: str

    def json(self) -> Any:
        return json.loads(self.out)


RunCli = Callable[..., CliResult]


@pytest.fixture
def run_cli(capsys: pytest.CaptureFixture[str]) -> RunCli:
    """Run `studio-recovery <argv>` in-process; returns its exit code and output."""

    def run(*argv: str) -> CliResult:
        capsys.readouterr()
        code = main(list(argv))
        captured = capsys.readouterr()
        return CliResult(code=int(code), out=captured.out, err=captured.err)

    return run


@pytest.fixture
def registry(registry_table: Any) -> RegistryRepository:
    """The library's repository on the test registry table."""
    return RegistryRepository(
        registry_table.name, boto3.resource("dynamodb", region_name=REGION)
    )


Home = Callable[..., Generation]


@pytest.fixture
def home(registry: RegistryRepository) -> Home:
    """`home(key, uid, days=0, ...)`: record a home directory of `key` through the library."""

    def record(key: ProfileKey, uid: str, **kwargs: Any) -> Generation:
        return record_home(registry, key, uid, **kwargs)

    return record


@pytest.fixture
def table_args(registry_table: Any) -> list[str]:
    """The global options naming the test registry table."""
    return ["--region", REGION, "--registry-table", registry_table.name]


def record_home(
    registry: RegistryRepository,
    key: ProfileKey,
    uid: str,
    *,
    domain_id: str = "d-abc123",
    efs_id: str = "fs-0123456789abcdef0",
    days: int = 0,
) -> Generation:
    """Record a home directory of `key` (a new generation) through the library."""
    return registry.record_generation(
        key,
        domain_id=domain_id,
        efs_id=efs_id,
        uid=uid,
        created_at=T0 + timedelta(days=days),
    )


def user(name: str, domain: str = "demo") -> ProfileKey:
    return ProfileKey(domain_name=domain, kind="user", name=name)


def space(name: str, domain: str = "demo") -> ProfileKey:
    return ProfileKey(domain_name=domain, kind="space", name=name)


@pytest.fixture
def no_aws_session(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Record every boto3 session the CLI creates (a test asserts there were none)."""
    created: list[Any] = []
    real = cli_context.Aws._new_session

    def spy(self: cli_context.Aws) -> Any:
        created.append(self)
        return real(self)

    monkeypatch.setattr(cli_context.Aws, "_new_session", spy)
    return created


@pytest.fixture
def deny(monkeypatch: pytest.MonkeyPatch) -> Callable[..., None]:
    """`deny("dynamodb:GetItem")`: that call answers AccessDeniedException, as IAM would.

    With `name_action=False` the message does not name the action (the CLI must then name
    it from the call it made).
    """

    def install(action: str, *, name_action: bool = True) -> None:
        service, operation = action.split(":")
        message = (
            f"User: arn:aws:iam::{ACCOUNT}:user/admin is not authorized to perform: {action} "
            f"on resource: arn:aws:{service}:{REGION}:{ACCOUNT}:thing"
            if name_action
            else "Access denied"
        )

        def answer(model: Any, **_: Any) -> Any:
            if model.name != operation:
                return None
            body = {
                "Error": {"Code": "AccessDeniedException", "Message": message},
                "ResponseMetadata": {"HTTPStatusCode": 400},
            }
            return AWSResponse("https://aws.test", 400, HTTPHeaders(), None), body

        real_client, real_resource = cli_context.Aws.client, cli_context.Aws.resource

        def client(self: Any, name: str, config: Any = None) -> Any:
            made = real_client(self, name, config)
            made.meta.events.register_first("before-call", answer)
            return made

        def resource(self: Any, name: str) -> Any:
            made = real_resource(self, name)
            made.meta.client.meta.events.register_first("before-call", answer)
            return made

        monkeypatch.setattr(cli_context.Aws, "client", client)
        monkeypatch.setattr(cli_context.Aws, "resource", resource)

    return install


@pytest.fixture
def stub_client(monkeypatch: pytest.MonkeyPatch) -> Callable[[str, Any], None]:
    """`stub_client("lambda", fake)`: the CLI's `Aws.client("lambda")` returns `fake`."""
    fakes: dict[str, Any] = {}
    real_client = cli_context.Aws.client

    def client(self: Any, name: str, config: Any = None) -> Any:
        if name in fakes:
            return fakes[name]
        return real_client(self, name, config)

    monkeypatch.setattr(cli_context.Aws, "client", client)

    def install(name: str, fake: Any) -> None:
        fakes[name] = fake

    return install


@dataclass(frozen=True)
class Network:
    """A VPC with two subnets, an EFS with one mount target per subnet, and the
    DataSync security group."""

    vpc_id: str
    subnet_ids: tuple[str, str]
    zones: tuple[str, str]
    efs_id: str
    efs_group_id: str
    datasync_group_id: str


@pytest.fixture
def network(aws_env: dict[str, str]) -> Network:
    ec2 = boto3.client("ec2", region_name=REGION)
    efs = boto3.client("efs", region_name=REGION)
    vpc = ec2.create_vpc(CidrBlock="10.1.0.0/16")["Vpc"]["VpcId"]
    zones = (f"{REGION}a", f"{REGION}b")
    subnets = tuple(
        ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.1.{i}.0/24", AvailabilityZone=zone)[
            "Subnet"
        ]["SubnetId"]
        for i, zone in enumerate(zones)
    )
    efs_group = ec2.create_security_group(
        GroupName="efs", Description="efs", VpcId=vpc
    )["GroupId"]
    datasync_group = ec2.create_security_group(
        GroupName="datasync", Description="datasync", VpcId=vpc
    )["GroupId"]
    file_system = efs.create_file_system(CreationToken="home")["FileSystemId"]
    for subnet in subnets:
        efs.create_mount_target(
            FileSystemId=file_system, SubnetId=subnet, SecurityGroups=[efs_group]
        )
    return Network(
        vpc_id=vpc,
        subnet_ids=(subnets[0], subnets[1]),
        zones=zones,
        efs_id=file_system,
        efs_group_id=efs_group,
        datasync_group_id=datasync_group,
    )


@pytest.fixture
def tf_output(tmp_path: Path) -> Callable[[dict[str, Any]], Path]:
    """Write a `terraform output -json` file with these values; returns its path."""

    def write(values: dict[str, Any]) -> Path:
        path = tmp_path / "outputs.json"
        body = {
            key: {"sensitive": False, "type": "string", "value": value}
            for key, value in values.items()
        }
        path.write_text(json.dumps(body), encoding="utf-8")
        return path

    return write


@pytest.fixture
def unreachable(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Global options pointing every client at a closed loopback port (no moto)."""
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(name, "testing")
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    yield ["--region", REGION, "--endpoint-url", "http://127.0.0.1:9"]


SUCCEEDING_MACHINE = {
    "StartAt": "Finalize",
    "States": {
        "Finalize": {
            "Type": "Pass",
            "Result": {
                "status": "SUCCEEDED",
                "reason": "copied",
                "follow_up_restore_id": None,
            },
            "End": True,
        }
    },
}
FAILING_MACHINE = {
    "StartAt": "Failed",
    "States": {
        "Failed": {
            "Type": "Fail",
            "Error": "RestoreFailed",
            "Cause": "DataSync execution ERROR",
        }
    },
}


@pytest.fixture
def state_machine(
    aws_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> Callable[..., str]:
    """`state_machine(definition)`: a state machine moto really runs; returns its ARN.

    moto's executing backend cannot start a second execution of one machine (it deep-copies
    a lock): use `idle_state_machine` for tests that start several.
    """
    from moto.core.config import default_user_config

    monkeypatch.setitem(
        default_user_config["stepfunctions"], "execute_state_machine", True
    )
    return _machine_factory()


@pytest.fixture
def idle_state_machine(aws_env: dict[str, str]) -> str:
    """A state machine whose executions stay RUNNING (moto's default backend)."""
    return _machine_factory()()


def _machine_factory() -> Callable[..., str]:
    counter = iter(range(100))

    def create(definition: dict[str, Any] = SUCCEEDING_MACHINE) -> str:
        sfn = boto3.client("stepfunctions", region_name=REGION)
        return str(
            sfn.create_state_machine(
                name=f"studio-recovery-restore-{next(counter)}",
                definition=json.dumps(definition),
                roleArn=f"arn:aws:iam::{ACCOUNT}:role/workflow",
            )["stateMachineArn"]
        )

    return create
