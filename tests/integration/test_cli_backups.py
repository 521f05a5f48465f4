"""`studio-recovery backups` and `studio-recovery restore --from-backup TIME`."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import boto3
import pytest
from studio_recovery.cli.exit_codes import ExitCode
from studio_recovery.dal.registry import RegistryRepository, RestoreRepository
from studio_recovery.models.registry import ProfileKey
from studio_recovery.models.restore import (
    BackupLocation,
    HomeLocation,
    RestoreItem,
    RestoreStatus,
    Trigger,
    make_backup_id,
)

from tests.integration.cli_fixtures import SUCCEEDING_MACHINE, T0

if TYPE_CHECKING:
    from tests.integration.cli_fixtures import Home, RunCli

pytest_plugins = ("tests.integration.cli_fixtures",)

ALICE = ProfileKey(domain_name="demo", kind="user", name="alice")
TARGET = ["--domain", "demo", "--user", "alice"]
BUCKET = "studio-recovery-backups-123456789012-us-east-1"


@pytest.fixture
def succeeding_machine(aws_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> str:
    """A state machine moto really runs, ending SUCCEEDED (named apart from the
    `state_machine` fixtures of the CLI and restore fixture modules, which clash)."""
    from moto.core.config import default_user_config

    monkeypatch.setitem(
        default_user_config["stepfunctions"], "execute_state_machine", True
    )
    sfn = boto3.client("stepfunctions", region_name="us-east-1")
    return str(
        sfn.create_state_machine(
            name="studio-recovery-backup-restore",
            definition=json.dumps(SUCCEEDING_MACHINE),
            roleArn="arn:aws:iam::123456789012:role/workflow",
        )["stateMachineArn"]
    )


@pytest.fixture
def restores(registry_table: Any) -> RestoreRepository:
    return RestoreRepository(
        registry_table.name, boto3.resource("dynamodb", region_name="us-east-1")
    )


def add_backup(
    restores: RestoreRepository,
    registry: RegistryRepository,
    generation: int,
    hours: int,
    status: RestoreStatus = "SUCCEEDED",
    trigger: Trigger = "scheduled",
    reason: str | None = None,
) -> RestoreItem:
    """A backup of alice's `generation`, started `hours` after T0, ended 10 minutes later."""
    found = registry.get_generation(ALICE, generation)
    assert found is not None
    home = HomeLocation.of(found)
    started = T0 + timedelta(hours=hours)
    item = RestoreItem(
        restore_id=make_backup_id(home, started, trigger),
        trigger=trigger,
        status=status,
        reason=reason,
        source=home,
        target=BackupLocation.of(home, BUCKET),
        started_at=started,
        ended_at=started + timedelta(minutes=10),
        files_transferred=40 + hours,
        bytes_written=2048 * hours,
    )
    assert restores.create_restore(item)
    return item


@pytest.fixture
def alice_backed_up(
    home: Home, registry: RegistryRepository, restores: RestoreRepository
) -> list[RestoreItem]:
    """alice: generation 1 (two backups, one failed), generation 2 (one), generation 3 now."""
    home(ALICE, "200001")
    first = add_backup(restores, registry, 1, hours=2)
    failed = add_backup(
        restores, registry, 1, hours=5, status="FAILED", reason="DataSync ERROR"
    )
    home(ALICE, "200004", days=1)
    second = add_backup(restores, registry, 2, hours=30, trigger="deletion")
    home(ALICE, "200009", days=2)
    return [first, failed, second]


def _executions(arn: str) -> list[Any]:
    sfn = boto3.client("stepfunctions", region_name="us-east-1")
    return list(sfn.list_executions(stateMachineArn=arn)["executions"])


def _input(arn: str) -> dict[str, Any]:
    sfn = boto3.client("stepfunctions", region_name="us-east-1")
    (execution,) = _executions(arn)
    described = sfn.describe_execution(executionArn=execution["executionArn"])
    result: dict[str, Any] = json.loads(described["input"])
    return result


# ------------------------------------------------------------------------- backups


def test_backups_lists_every_backup_oldest_first(
    run_cli: RunCli, table_args: list[str], alice_backed_up: list[RestoreItem]
) -> None:
    first, failed, second = alice_backed_up

    as_json = run_cli(*table_args, "backups", *TARGET, "--json")
    as_table = run_cli(*table_args, "backups", *TARGET)

    assert as_json.code == as_table.code == ExitCode.OK, as_json.err
    rows = as_json.json()
    assert [r["backup_id"] for r in rows] == [
        b.restore_id for b in (first, failed, second)
    ]
    assert rows[0] == {
        "backup_id": first.restore_id,
        "started_at": "2026-11-01T11:00:00Z",
        "ended_at": "2026-11-01T11:10:00Z",
        "trigger": "scheduled",
        "status": "SUCCEEDED",
        "generation": 1,
        "efs_id": "fs-0123456789abcdef0",
        "uid": "200001",
        "files_transferred": 42,
        "bytes_written": 4096,
        "reason": None,
        "execution_arn": None,
        "home": "efs",
        "owner": None,
        "backup_prefix": None,
    }
    assert (rows[1]["status"], rows[1]["reason"]) == ("FAILED", "DataSync ERROR")
    assert (rows[2]["trigger"], rows[2]["generation"]) == ("deletion", 2)
    for backup in alice_backed_up:
        assert backup.restore_id in as_table.out
    assert "DataSync ERROR" in as_table.out and "4.0 KiB" in as_table.out


def test_backups_of_a_profile_without_any(
    run_cli: RunCli, table_args: list[str], home: Home
) -> None:
    assert run_cli(*table_args, "backups", *TARGET).code == ExitCode.NOT_FOUND
    home(ALICE, "200001")
    none = run_cli(*table_args, "backups", *TARGET)
    assert none.code == ExitCode.OK
    assert "no backups yet" in none.out
    assert run_cli(*table_args, "backups", *TARGET, "--json").json() == []


# ------------------------------------------------------------- restore --from-backup


@pytest.mark.parametrize(
    ("when", "expected"),
    [
        ("2026-11-01T14:00:00Z", 0),  # after the failed one: the success before it
        ("2026-11-01T11:00:00Z", 0),  # exactly at a start counts
        ("2026-11-05", 2),  # a date: the end of that day; any generation
        ("2026-11-02T15:00:00+00:00", 2),
    ],
)
def test_restore_from_the_latest_successful_backup_at_or_before_a_time(
    run_cli: RunCli,
    table_args: list[str],
    idle_state_machine: str,
    restores: RestoreRepository,
    alice_backed_up: list[RestoreItem],
    when: str,
    expected: int,
) -> None:
    chosen = alice_backed_up[expected]
    machine = idle_state_machine

    result = run_cli(
        *table_args,
        "--state-machine-arn",
        machine,
        "restore",
        *TARGET,
        "--from-backup",
        when,
    )

    assert result.code == ExitCode.OK, result.err
    assert (
        f"Using backup {chosen.restore_id} (generation {chosen.target.generation}"
        in (result.out)
    )
    execution_input = _input(machine)
    assert execution_input["trigger"] == "manual"
    assert execution_input["source"]["bucket"] == BUCKET
    assert execution_input["source"]["backup_id"] == chosen.restore_id
    assert chosen.ended_at is not None
    assert execution_input["source"]["as_of"] == chosen.ended_at.strftime(
        "%Y-%m-%dT%H:%M:%SZ"
    )
    assert (
        execution_input["target"]["uid"],
        execution_input["target"]["generation"],
    ) == (
        "200009",
        3,
    )
    item = restores.get_restore(ALICE, execution_input["restore_id"])
    assert item is not None and item.trigger == "manual" and item.status == "PENDING"


def test_restore_from_a_backup_named_by_id_and_wait(
    run_cli: RunCli,
    table_args: list[str],
    succeeding_machine: str,
    alice_backed_up: list[RestoreItem],
) -> None:
    first = alice_backed_up[0]
    machine = succeeding_machine

    result = run_cli(
        *table_args,
        "--state-machine-arn",
        machine,
        "restore",
        *TARGET,
        "--from-backup",
        first.restore_id,
        "--wait",
        "--poll-seconds",
        "0.05",
        "--json",
    )

    assert result.code == ExitCode.OK, result.err
    assert result.json()["execution_status"] == "SUCCEEDED"
    assert _input(machine)["source"]["backup_id"] == first.restore_id


def test_restore_from_backup_errors(
    run_cli: RunCli,
    table_args: list[str],
    idle_state_machine: str,
    alice_backed_up: list[RestoreItem],
    no_aws_session: list[Any],
) -> None:
    failed = alice_backed_up[1]
    args = [*table_args, "--state-machine-arn", idle_state_machine, "restore", *TARGET]
    # malformed: nothing called
    assert run_cli(*args, "--from-backup", "last tuesday").code == ExitCode.USAGE
    both = run_cli(*args, "--from-backup", "2026-11-05", "--from-generation", "1")
    assert both.code == ExitCode.USAGE
    assert no_aws_session == []
    # nothing at or before the time: one line, not found
    early = run_cli(*args, "--from-backup", "2026-11-01T10:00:00Z")
    assert early.code == ExitCode.NOT_FOUND
    assert early.err.count("\n") == 1
    assert "no successful backup at or before 2026-11-01T10:00:00Z" in early.err
    # a backup id that did not succeed, or does not exist
    assert run_cli(*args, "--from-backup", failed.restore_id).code == ExitCode.NOT_FOUND
    unknown = run_cli(*args, "--from-backup", "alice-b20990101000000-0123456789ab")
    assert unknown.code == ExitCode.NOT_FOUND
    assert "no successful backup alice-b20990101000000-0123456789ab" in unknown.err
    assert _executions(idle_state_machine) == []


def test_restore_from_backup_of_a_deleted_profile_is_refused(
    run_cli: RunCli,
    table_args: list[str],
    idle_state_machine: str,
    registry: RegistryRepository,
    alice_backed_up: list[RestoreItem],
) -> None:
    registry.mark_deleted(ALICE, "d-abc123", T0 + timedelta(days=3))
    result = run_cli(
        *table_args,
        "--state-machine-arn",
        idle_state_machine,
        "restore",
        *TARGET,
        "--from-backup",
        "2026-11-05",
    )
    assert result.code == ExitCode.NOT_FOUND
    assert "recreate it, then restore" in result.err
    assert _executions(idle_state_machine) == []
