"""`studio-recovery status` and `history`."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any

import boto3
import pytest
from studio_recovery.cli.commands.status import COLUMNS
from studio_recovery.cli.exit_codes import ExitCode
from studio_recovery.dal.registry import RestoreRepository
from studio_recovery.models.registry import Generation, ProfileKey
from studio_recovery.models.restore import (
    HomeLocation,
    RestoreItem,
    RestoreOutcome,
    TransferStats,
)

if TYPE_CHECKING:
    from tests.integration.cli_fixtures import Home, RunCli

pytest_plugins = ("tests.integration.cli_fixtures",)

ALICE = ProfileKey(domain_name="demo", kind="user", name="alice")
LAB = ProfileKey(domain_name="demo", kind="space", name="lab")
OTHER = ProfileKey(domain_name="other", kind="user", name="carol")


@pytest.fixture
def restores(registry_table: Any) -> RestoreRepository:
    return RestoreRepository(
        registry_table.name, boto3.resource("dynamodb", region_name="us-east-1")
    )


def finished_restore(
    restores: RestoreRepository, target: Generation, source: Generation, restore_id: str
) -> None:
    """A restore of `source` into `target` that copied 3 MiB in 12 files in 65 s."""
    started = target.created_at + timedelta(minutes=1)
    ended = started + timedelta(seconds=65)
    restores.create_restore(
        RestoreItem(
            restore_id=restore_id,
            trigger="auto",
            status="RUNNING",
            source=HomeLocation.of(source),
            target=HomeLocation.of(target),
            execution_arn=f"arn:aws:states:us-east-1:123456789012:execution:sm:{restore_id}",
            started_at=started,
        )
    )
    outcome = RestoreOutcome(
        status="SUCCEEDED",
        reason="copied",
        stats=TransferStats(
            bytes_written=3 * 1024 * 1024,
            bytes_file_transferred=3 * 1024 * 1024,
            files_transferred=12,
            total_duration_ms=65_000,
        ),
    )
    restores.finish(target.key, restore_id, outcome, ended)
    restores.set_profile_restore(
        target.key,
        target.generation,
        restore_id=restore_id,
        status="SUCCEEDED",
        reason="copied",
        started_at=started,
        ended_at=ended,
        outcome=outcome,
    )


@pytest.fixture
def recorded(home: Home, restores: RestoreRepository) -> None:
    """alice recreated once and restored; space lab never recreated; carol in another domain."""
    first = home(ALICE, "200001")
    second = home(ALICE, "200007", days=3)
    finished_restore(restores, second, first, "alice-g2-0123456789ab")
    home(LAB, "200002")
    home(OTHER, "300001", domain_id="d-other0000000", efs_id="fs-0fedcba987654321")


@pytest.mark.usefixtures("recorded")
def test_status_table_has_every_column_and_row(
    run_cli: RunCli, table_args: list[str]
) -> None:
    result = run_cli(*table_args, "status")

    assert result.code == ExitCode.OK
    header = next(line for line in result.out.splitlines() if "previous uid" in line)
    cells = [cell.strip() for cell in header.strip("┃│ ").replace("┃", "│").split("│")]
    assert cells == list(COLUMNS)
    alice = next(line for line in result.out.splitlines() if "alice" in line)
    for expected in (
        "demo",
        "user",
        "200007",
        "200001",
        "on",
        "SUCCEEDED",
        "3.0 MiB",
        "12",
        "1m 05s",
    ):
        assert expected in alice
    assert any("lab" in line and "space" in line for line in result.out.splitlines())
    assert "carol" in result.out


@pytest.mark.usefixtures("recorded")
def test_status_of_one_domain_as_json(run_cli: RunCli, table_args: list[str]) -> None:
    result = run_cli(*table_args, "status", "--domain", "demo", "--json")

    assert result.code == ExitCode.OK
    rows = result.json()
    assert [(r["kind"], r["name"]) for r in rows] == [
        ("space", "lab"),
        ("user", "alice"),
    ]
    alice = rows[1]
    assert alice["uid"] == "200007"
    assert alice["previous_uid"] == "200001"
    assert alice["replication"] is True
    assert alice["last_restore_status"] == "SUCCEEDED"
    assert alice["bytes_written"] == 3 * 1024 * 1024
    assert alice["files_transferred"] == 12
    assert alice["total_duration_ms"] == 65_000
    assert alice["when"] == "2026-11-04T09:02:05Z"
    assert rows[0]["previous_uid"] is None
    assert rows[0]["last_restore_status"] is None


def test_status_of_an_empty_registry_says_so(
    run_cli: RunCli, table_args: list[str]
) -> None:
    result = run_cli(*table_args, "status")

    assert result.code == ExitCode.OK
    assert "No profiles or spaces recorded" in result.out
    assert run_cli(*table_args, "status", "--json").json() == []


def test_status_rejects_a_malformed_domain(
    run_cli: RunCli, table_args: list[str], no_aws_session: list[Any]
) -> None:
    assert run_cli(*table_args, "status", "--domain", "no_such!").code == ExitCode.USAGE
    assert no_aws_session == []


def test_status_denied_names_the_scan(
    run_cli: RunCli, table_args: list[str], deny: Any
) -> None:
    deny("dynamodb:Scan")

    result = run_cli(*table_args, "status")

    assert result.code == ExitCode.ACCESS_DENIED
    assert "dynamodb:Scan" in result.err


def test_status_unreachable(run_cli: RunCli, unreachable: list[str]) -> None:
    result = run_cli(*unreachable, "--registry-table", "t", "status", "--json")

    assert result.code == ExitCode.UNREACHABLE
    assert result.out == ""


@pytest.mark.usefixtures("recorded")
def test_history_lists_generations_and_restores_oldest_first(
    run_cli: RunCli, table_args: list[str]
) -> None:
    result = run_cli(*table_args, "history", "--domain", "demo", "--user", "alice")

    assert result.code == ExitCode.OK
    lines = result.out.splitlines()
    first = next(i for i, line in enumerate(lines) if "200001" in line)
    second = next(i for i, line in enumerate(lines) if "200007" in line)
    assert first < second
    assert "alice-g2-0123456789ab" in result.out
    assert "SUCCEEDED" in result.out
    row = next(line for line in lines if "alice-g2-0123456789ab" in line)
    assert "g2" in row and "g1" in row and "1 of 1" in row  # into, from, step

    as_json = run_cli(
        *table_args, "history", "--domain", "demo", "--user", "alice", "--json"
    )
    data = as_json.json()
    assert [g["uid"] for g in data["generations"]] == ["200001", "200007"]
    assert [r["restore_id"] for r in data["restores"]] == ["alice-g2-0123456789ab"]
    assert data["restores"][0]["source"]["generation"] == 1
    assert data["profile"]["key"] == "demo/user/alice"
    assert data["copy_request"] is None


@pytest.mark.usefixtures("recorded")
def test_history_of_a_space_is_not_the_user_of_the_same_name(
    run_cli: RunCli, table_args: list[str]
) -> None:
    assert run_cli(
        *table_args, "history", "--domain", "demo", "--user", "lab"
    ).code == (ExitCode.NOT_FOUND)
    data = run_cli(
        *table_args, "history", "--domain", "demo", "--space", "lab", "--json"
    ).json()
    assert [g["uid"] for g in data["generations"]] == ["200002"]
    assert data["restores"] == []


def test_history_errors(
    run_cli: RunCli, table_args: list[str], no_aws_session: list[Any]
) -> None:
    bad = run_cli(*table_args, "history", "--domain", "demo", "--user", "x" * 70)
    assert bad.code == ExitCode.USAGE
    assert no_aws_session == []
    missing = run_cli(*table_args, "history", "--domain", "demo", "--user", "ghost")
    assert missing.code == ExitCode.NOT_FOUND
    assert "ghost" in missing.err
