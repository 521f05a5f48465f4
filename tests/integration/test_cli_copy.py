"""`studio-recovery copy`: admin-requested copies between profiles, in any domain."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import boto3
import pytest
from studio_recovery.cli.exit_codes import ExitCode
from studio_recovery.dal.registry import RegistryRepository, RestoreRepository
from studio_recovery.models.registry import ProfileKey

if TYPE_CHECKING:
    from tests.integration.cli_fixtures import Home, RunCli

pytest_plugins = ("tests.integration.cli_fixtures",)

ALICE = ProfileKey(domain_name="demo", kind="user", name="alice")
BOB = ProfileKey(domain_name="prod", kind="user", name="bob")
FROM_ALICE = ["--from-domain", "demo", "--from-user", "alice"]
TO_BOB = ["--to-domain", "prod", "--to-user", "bob"]


@pytest.fixture
def restores(registry_table: Any) -> RestoreRepository:
    return RestoreRepository(
        registry_table.name, boto3.resource("dynamodb", region_name="us-east-1")
    )


@pytest.fixture
def alice(home: Home) -> None:
    home(ALICE, "200001")
    home(ALICE, "200005", days=1)


def _executions(arn: str) -> list[Any]:
    sfn = boto3.client("stepfunctions", region_name="us-east-1")
    return list(sfn.list_executions(stateMachineArn=arn)["executions"])


@pytest.mark.usefixtures("alice")
def test_copy_to_a_profile_not_created_yet_is_recorded_as_pending(
    run_cli: RunCli,
    table_args: list[str],
    idle_state_machine: str,
    restores: RestoreRepository,
) -> None:
    machine = ["--state-machine-arn", idle_state_machine]

    result = run_cli(*table_args, *machine, "copy", *FROM_ALICE, *TO_BOB)

    assert result.code == ExitCode.OK, result.err
    assert "starts when user bob is created in domain prod" in result.out
    request = restores.get_copy(BOB)
    assert request is not None
    assert request.status == "PENDING"
    assert request.source == ALICE
    assert request.source_generation is None
    assert request.requested_by is not None and request.requested_by.startswith(
        "arn:aws"
    )
    assert _executions(idle_state_machine) == []


@pytest.mark.usefixtures("alice")
def test_a_second_copy_to_the_same_target_is_refused_unless_forced(
    run_cli: RunCli,
    home: Home,
    table_args: list[str],
    idle_state_machine: str,
    restores: RestoreRepository,
) -> None:
    machine = ["--state-machine-arn", idle_state_machine]
    carol = ProfileKey(domain_name="demo", kind="space", name="carol")
    home(carol, "200003")
    assert run_cli(*table_args, *machine, "copy", *FROM_ALICE, *TO_BOB).code == 0

    again = ["copy", "--from-domain", "demo", "--from-space", "carol", *TO_BOB]
    refused = run_cli(*table_args, *machine, *again)
    refused_twice = run_cli(*table_args, *machine, *again)

    for result in (refused, refused_twice):
        assert result.code == ExitCode.CONFLICT
        assert (
            "a copy to prod/user/bob is already pending from demo/user/alice"
            in result.err
        )
        assert "--force" in result.err
    assert restores.get_copy(BOB).source == ALICE  # type: ignore[union-attr]

    forced = run_cli(*table_args, *machine, *again, "--force")

    assert forced.code == ExitCode.OK
    assert restores.get_copy(BOB).source == carol  # type: ignore[union-attr]


@pytest.mark.usefixtures("alice")
def test_copy_to_an_existing_profile_starts_at_once(
    run_cli: RunCli,
    home: Home,
    table_args: list[str],
    idle_state_machine: str,
    restores: RestoreRepository,
    registry: RegistryRepository,
) -> None:
    home(BOB, "300001", domain_id="d-prod00000000", efs_id="fs-0aaaaaaaaaaaaaaa0")
    machine = ["--state-machine-arn", idle_state_machine]

    result = run_cli(
        *table_args,
        *machine,
        "copy",
        *FROM_ALICE,
        *TO_BOB,
        "--from-generation",
        "1",
        "--json",
    )

    assert result.code == ExitCode.OK, result.err
    started = result.json()
    assert started["started"] is True
    assert started["source"] == "demo/user/alice generation 1"
    (execution,) = _executions(idle_state_machine)
    assert execution["name"] == started["restore_id"]
    item = restores.get_restore(BOB, started["restore_id"])
    assert item is not None and item.trigger == "copy"
    assert item.source is not None and (item.source.efs_id, item.source.uid) == (
        "fs-0123456789abcdef0",
        "200001",
    )
    assert (item.target.efs_id, item.target.uid) == ("fs-0aaaaaaaaaaaaaaa0", "300001")
    request = restores.get_copy(BOB)
    assert request is not None and request.status == "STARTED"
    # a started copy no longer blocks a new request
    again = run_cli(*table_args, *machine, "copy", *FROM_ALICE, *TO_BOB)
    assert again.code == ExitCode.OK


def test_copy_refused_when_the_source_has_no_directory_on_record(
    run_cli: RunCli,
    home: Home,
    registry: RegistryRepository,
    table_args: list[str],
    idle_state_machine: str,
    restores: RestoreRepository,
) -> None:
    machine = ["--state-machine-arn", idle_state_machine]
    unknown = run_cli(*table_args, *machine, "copy", *FROM_ALICE, *TO_BOB)
    assert unknown.code == ExitCode.NOT_FOUND
    assert "source demo/user/alice is not in the registry" in unknown.err

    home(ALICE, "200001")
    registry.mark_generation_empty(ALICE, 1)
    empty = run_cli(*table_args, *machine, "copy", *FROM_ALICE, *TO_BOB)
    assert empty.code == ExitCode.NOT_FOUND
    assert "has no home directory with data on record" in empty.err

    missing = run_cli(
        *table_args, *machine, "copy", *FROM_ALICE, *TO_BOB, "--from-generation", "4"
    )
    assert missing.code == ExitCode.NOT_FOUND
    assert restores.get_copy(BOB) is None


@pytest.mark.usefixtures("alice")
def test_copy_into_itself_and_malformed_names_are_usage_errors(
    run_cli: RunCli, table_args: list[str], no_aws_session: list[Any]
) -> None:
    bad = run_cli(
        *table_args, "copy", *FROM_ALICE, "--to-domain", "prod", "--to-user", "b_b"
    )
    assert bad.code == ExitCode.USAGE
    assert no_aws_session == []
    same = run_cli(
        *table_args, "copy", *FROM_ALICE, "--to-domain", "demo", "--to-user", "alice"
    )
    assert same.code == ExitCode.USAGE
    assert "same" in same.err


@pytest.mark.usefixtures("alice")
def test_copy_denied_names_the_put(
    run_cli: RunCli,
    table_args: list[str],
    idle_state_machine: str,
    deny: Callable[..., None],
    restores: RestoreRepository,
) -> None:
    deny("dynamodb:PutItem")

    result = run_cli(
        *table_args,
        "--state-machine-arn",
        idle_state_machine,
        "copy",
        *FROM_ALICE,
        *TO_BOB,
    )

    assert result.code == ExitCode.ACCESS_DENIED
    assert "dynamodb:PutItem" in result.err
    assert restores.get_copy(BOB) is None


def test_copy_unreachable(run_cli: RunCli, unreachable: list[str]) -> None:
    result = run_cli(
        *unreachable, "--registry-table", "t", "copy", *FROM_ALICE, *TO_BOB
    )

    assert result.code == ExitCode.UNREACHABLE
