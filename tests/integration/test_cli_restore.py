"""`studio-recovery restore` (by hand, with and without --wait)."""

from __future__ import annotations

import time
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
TARGET = ["--domain", "demo", "--user", "alice"]
FAST = ["--poll-seconds", "0.05", "--timeout", "60"]


@pytest.fixture
def restores(registry_table: Any) -> RestoreRepository:
    return RestoreRepository(
        registry_table.name, boto3.resource("dynamodb", region_name="us-east-1")
    )


@pytest.fixture
def alice_three_times(home: Home) -> None:
    home(ALICE, "200001")
    home(ALICE, "200004", days=1)
    home(ALICE, "200009", days=2)


def _executions(arn: str) -> list[Any]:
    sfn = boto3.client("stepfunctions", region_name="us-east-1")
    return list(sfn.list_executions(stateMachineArn=arn)["executions"])


@pytest.mark.usefixtures("alice_three_times")
def test_restore_starts_from_the_latest_earlier_generation(
    run_cli: RunCli,
    table_args: list[str],
    state_machine: Callable[..., str],
    restores: RestoreRepository,
    registry: RegistryRepository,
) -> None:
    machine = state_machine()

    result = run_cli(
        *table_args, "--state-machine-arn", machine, "restore", *TARGET, "--json"
    )

    assert result.code == ExitCode.OK, result.err
    started = result.json()
    assert started["started"] is True
    assert started["source"] == "generation 2 (uid 200004)"
    assert [e["name"] for e in _executions(machine)] == [started["restore_id"]]
    item = restores.get_restore(ALICE, started["restore_id"])
    assert item is not None
    assert item.trigger == "manual"
    assert item.source is not None and item.source.uid == "200004"
    assert item.target.uid == "200009"
    assert item.execution_arn == started["execution_arn"]
    profile = registry.get_profile(ALICE)
    assert profile is not None and profile.restore_id == started["restore_id"]
    (row,) = run_cli(*table_args, "status", "--json").json()
    assert row["last_restore_status"] == "PENDING"
    assert row["restore_id"] == started["restore_id"]
    assert row["bytes_written"] is None  # no counters until it has finished


@pytest.mark.usefixtures("alice_three_times")
def test_restore_from_a_chosen_generation_and_wait_for_success(
    run_cli: RunCli,
    table_args: list[str],
    state_machine: Callable[..., str],
    restores: RestoreRepository,
) -> None:
    machine = state_machine()

    result = run_cli(
        *table_args,
        "--state-machine-arn",
        machine,
        "restore",
        *TARGET,
        "--from-generation",
        "1",
        "--wait",
        *FAST,
    )

    assert result.code == ExitCode.OK, result.err
    assert "from generation 1 (uid 200001)" in result.out
    assert "SUCCEEDED" in result.out
    (execution,) = _executions(machine)
    item = restores.get_restore(ALICE, execution["name"])
    assert item is not None and item.source is not None and item.source.generation == 1


@pytest.mark.usefixtures("alice_three_times")
def test_restore_that_fails_exits_7_with_the_cause(
    run_cli: RunCli, table_args: list[str], state_machine: Callable[..., str]
) -> None:
    from tests.integration.cli_fixtures import FAILING_MACHINE

    machine = state_machine(FAILING_MACHINE)

    result = run_cli(
        *table_args,
        "--state-machine-arn",
        machine,
        "restore",
        *TARGET,
        "--wait",
        *FAST,
        "--json",
    )

    assert result.code == ExitCode.RESTORE_FAILED
    assert "DataSync execution ERROR" in result.err
    assert result.err.count("\n") == 1
    assert result.json()["execution_status"] == "FAILED"


@pytest.mark.usefixtures("alice_three_times")
def test_restoring_twice_by_hand_starts_two_executions(
    run_cli: RunCli, table_args: list[str], idle_state_machine: str
) -> None:
    machine = idle_state_machine
    first = run_cli(
        *table_args, "--state-machine-arn", machine, "restore", *TARGET, "--json"
    )
    time.sleep(1.1)  # the manual restore id includes the request time (whole seconds)
    second = run_cli(
        *table_args, "--state-machine-arn", machine, "restore", *TARGET, "--json"
    )

    assert first.code == second.code == ExitCode.OK
    assert first.json()["restore_id"] != second.json()["restore_id"]
    assert len(_executions(machine)) == 2


def test_restore_errors(
    run_cli: RunCli,
    home: Home,
    registry: RegistryRepository,
    table_args: list[str],
    state_machine: Callable[..., str],
    no_aws_session: list[Any],
) -> None:
    machine = state_machine()
    args = [*table_args, "--state-machine-arn", machine, "restore"]
    # malformed: nothing called
    assert (
        run_cli(*args, "--domain", "demo", "--user", "bad name").code == ExitCode.USAGE
    )
    assert run_cli(*args, *TARGET, "--from-generation", "0").code == ExitCode.USAGE
    assert no_aws_session == []
    # unknown profile
    assert run_cli(*args, *TARGET).code == ExitCode.NOT_FOUND
    # a profile with a single home directory has nothing to restore from
    home(ALICE, "200001")
    lonely = run_cli(*args, *TARGET)
    assert lonely.code == ExitCode.NOT_FOUND
    assert "no earlier home directory" in lonely.err
    home(ALICE, "200002", days=1)
    assert run_cli(*args, *TARGET, "--from-generation", "2").code == ExitCode.USAGE
    assert run_cli(*args, *TARGET, "--from-generation", "7").code == ExitCode.USAGE
    # a generation found empty is not a source
    registry.mark_generation_empty(ALICE, 1)
    empty = run_cli(*args, *TARGET, "--from-generation", "1")
    assert empty.code == ExitCode.CONFLICT
    assert _executions(machine) == []


@pytest.mark.usefixtures("alice_three_times")
def test_restore_denied_names_start_execution(
    run_cli: RunCli,
    table_args: list[str],
    state_machine: Callable[..., str],
    deny: Callable[..., None],
) -> None:
    machine = state_machine()
    deny("states:StartExecution")

    result = run_cli(*table_args, "--state-machine-arn", machine, "restore", *TARGET)

    assert result.code == ExitCode.ACCESS_DENIED
    assert "states:StartExecution" in result.err
    assert _executions(machine) == []


def test_restore_unreachable(run_cli: RunCli, unreachable: list[str]) -> None:
    result = run_cli(
        *unreachable,
        "--registry-table",
        "t",
        "--state-machine-arn",
        "arn:aws:states:us-east-1:123456789012:stateMachine:sm",
        "restore",
        *TARGET,
    )

    assert result.code == ExitCode.UNREACHABLE
