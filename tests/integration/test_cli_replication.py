"""`studio-recovery opt-out` / `opt-in`, and the errors every command reports the same way."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pytest
from studio_recovery.cli.exit_codes import ExitCode
from studio_recovery.dal.registry import RegistryRepository
from studio_recovery.models.registry import ProfileKey

if TYPE_CHECKING:
    from tests.integration.cli_fixtures import Home, RunCli

pytest_plugins = ("tests.integration.cli_fixtures",)


def user(name: str) -> ProfileKey:
    return ProfileKey(domain_name="demo", kind="user", name=name)


def space(name: str) -> ProfileKey:
    return ProfileKey(domain_name="demo", kind="space", name=name)


def test_opt_out_then_in_flips_the_flag_and_it_survives_a_recreation(
    run_cli: RunCli, home: Home, registry: RegistryRepository, table_args: list[str]
) -> None:
    # given a user with a home directory
    home(user("alice"), "200001")

    # when the admin opts her out
    result = run_cli(*table_args, "opt-out", "--domain", "demo", "--user", "alice")

    # then the flag is off, and stays off when she is recreated
    assert result.code == ExitCode.OK
    assert "Replication for user alice in domain demo: off" in result.out
    home(user("alice"), "200002", days=1)
    profile = registry.get_profile(user("alice"))
    assert profile is not None
    assert profile.replication is False
    assert profile.generation == 2

    result = run_cli(
        *table_args, "opt-in", "--domain", "demo", "--user", "alice", "--json"
    )
    assert result.code == ExitCode.OK
    assert result.json() == {
        "domain": "demo",
        "kind": "user",
        "name": "alice",
        "replication": True,
        "changed": True,
    }
    assert registry.get_profile(user("alice")).replication is True  # type: ignore[union-attr]


def test_opt_out_of_a_space_leaves_the_user_of_the_same_name_alone(
    run_cli: RunCli, home: Home, registry: RegistryRepository, table_args: list[str]
) -> None:
    home(user("shared"), "200001")
    home(space("shared"), "200002")

    result = run_cli(*table_args, "opt-out", "--domain", "demo", "--space", "shared")

    assert result.code == ExitCode.OK
    assert registry.get_profile(space("shared")).replication is False  # type: ignore[union-attr]
    assert registry.get_profile(user("shared")).replication is True  # type: ignore[union-attr]


def test_opting_out_twice_says_unchanged(
    run_cli: RunCli, home: Home, registry: RegistryRepository, table_args: list[str]
) -> None:
    home(user("bob"), "200001")
    run_cli(*table_args, "opt-out", "--domain", "demo", "--user", "bob")

    result = run_cli(*table_args, "opt-out", "--domain", "demo", "--user", "bob")

    assert result.code == ExitCode.OK
    assert "off (unchanged)" in result.out


def test_unknown_profile_is_not_found_and_nothing_is_written(
    run_cli: RunCli,
    home: Home,
    registry: RegistryRepository,
    table_args: list[str],
    registry_table: Any,
) -> None:
    result = run_cli(*table_args, "opt-out", "--domain", "demo", "--user", "nobody")

    assert result.code == ExitCode.NOT_FOUND
    assert result.err.count("\n") == 1
    assert "user nobody of domain demo is not in the registry" in result.err
    assert registry_table.scan()["Items"] == []


@pytest.mark.parametrize(
    "argv",
    [
        ["opt-out", "--domain", "bad_domain", "--user", "alice"],
        ["opt-in", "--domain", "demo", "--user", "-alice"],
        ["opt-in", "--domain", "demo", "--space", "a" * 64],
        ["opt-out", "--domain", "demo", "--user", "al ice"],
        ["opt-out", "--domain", "demo"],
        ["opt-out", "--domain", "demo", "--user", "a", "--space", "b"],
    ],
)
def test_malformed_arguments_exit_2_before_any_call(
    run_cli: RunCli, table_args: list[str], no_aws_session: list[Any], argv: list[str]
) -> None:
    result = run_cli(*table_args, *argv)

    assert result.code == ExitCode.USAGE
    assert result.err.count("\n") == 1
    assert "error:" in result.err
    assert "Traceback" not in result.err
    assert no_aws_session == []


def test_access_denied_names_the_action_from_the_error(
    run_cli: RunCli,
    home: Home,
    registry: RegistryRepository,
    table_args: list[str],
    deny: Callable[..., None],
) -> None:
    home(user("alice"), "200001")
    deny("dynamodb:UpdateItem")

    result = run_cli(*table_args, "opt-out", "--domain", "demo", "--user", "alice")

    assert result.code == ExitCode.ACCESS_DENIED
    assert "needs permission for dynamodb:UpdateItem" in result.err
    assert result.err.count("\n") == 1
    assert registry.get_profile(user("alice")).replication is True  # type: ignore[union-attr]


def test_access_denied_without_the_action_in_the_message_names_the_call(
    run_cli: RunCli,
    home: Home,
    registry: RegistryRepository,
    table_args: list[str],
    deny: Callable[..., None],
) -> None:
    home(user("alice"), "200001")
    deny("dynamodb:GetItem", name_action=False)

    result = run_cli(*table_args, "opt-in", "--domain", "demo", "--user", "alice")

    assert result.code == ExitCode.ACCESS_DENIED
    assert "needs permission for dynamodb:GetItem" in result.err


def test_unreachable_endpoint_exits_5(run_cli: RunCli, unreachable: list[str]) -> None:
    result = run_cli(
        *unreachable,
        "--registry-table",
        "t",
        "opt-out",
        "--domain",
        "demo",
        "--user",
        "a",
    )

    assert result.code == ExitCode.UNREACHABLE
    assert "cannot reach the AWS endpoint" in result.err
    assert "127.0.0.1:9" in result.err
    assert result.err.count("\n") == 1


def test_missing_table_name_is_a_usage_error(
    run_cli: RunCli, aws_env: dict[str, str]
) -> None:
    result = run_cli(
        "--region", "us-east-1", "opt-out", "--domain", "demo", "--user", "a"
    )

    assert result.code == ExitCode.USAGE
    assert "pass --registry-table or --tf-output FILE" in result.err


def test_missing_table_is_not_found(run_cli: RunCli, aws_env: dict[str, str]) -> None:
    result = run_cli(
        "--region",
        "us-east-1",
        "--registry-table",
        "nope",
        "opt-out",
        "--domain",
        "d",
        "--user",
        "a",
    )

    assert result.code == ExitCode.NOT_FOUND
    assert result.err.count("\n") == 1
