"""The CLI as a whole: help, exit codes, configuration, credentials, the sandbox mount."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from studio_recovery.cli import main as cli_main
from studio_recovery.cli.context import resolve_resources
from studio_recovery.cli.errors import UsageError
from studio_recovery.cli.exit_codes import ExitCode

if TYPE_CHECKING:
    from tests.integration.cli_fixtures import Home, RunCli

pytest_plugins = ("tests.integration.cli_fixtures",)

VENV_BIN = Path(sys.executable).parent


def test_help_lists_every_command_and_every_exit_code(run_cli: RunCli) -> None:
    result = run_cli("--help")

    assert result.code == ExitCode.OK
    for command in (
        "opt-out",
        "opt-in",
        "copy",
        "open-efs",
        "status",
        "history",
        "restore",
        "seed",
        "doctor",
        "sandbox",
    ):
        assert f"    {command} " in result.out
    for code in ExitCode:
        assert f"  {code.value}  " in result.out
    assert len({int(code) for code in ExitCode}) == len(ExitCode)


def test_global_options_work_before_and_after_the_command(
    run_cli: RunCli, home: Home, registry_table: Any
) -> None:
    from studio_recovery.models.registry import ProfileKey

    home(ProfileKey(domain_name="demo", kind="user", name="alice"), "200001")
    table = ["--registry-table", registry_table.name]

    before = run_cli("--region", "us-east-1", *table, "status", "--json")
    after = run_cli("status", "--json", "--region", "us-east-1", *table)

    assert before.code == after.code == ExitCode.OK
    assert before.json() == after.json()
    assert [row["name"] for row in after.json()] == ["alice"]


def test_tf_output_values_are_read_and_flags_override_them(
    tmp_path: Path, tf_output: Any
) -> None:
    path = tf_output(
        {
            "registry_table_name": "from-terraform",
            "state_machine_arn": "arn:aws:states:us-east-1:123456789012:stateMachine:sm",
            "event_rule_names": ["a", "b"],
            "trail_arn": None,
        }
    )

    resources = resolve_resources(
        path, {"registry_table_name": "from-flag", "trail_arn": None}
    )

    assert resources.registry_table_name == "from-flag"
    assert (
        resources.state_machine_arn
        == "arn:aws:states:us-east-1:123456789012:stateMachine:sm"
    )
    assert resources.event_rule_names == ("a", "b")
    assert resources.trail_arn is None
    with pytest.raises(UsageError, match="--seeder-function"):
        resources.require("seeder_function_name")


def test_a_broken_tf_output_file_is_a_usage_error(
    run_cli: RunCli, tmp_path: Path, aws_env: dict[str, str]
) -> None:
    broken = tmp_path / "broken.json"
    broken.write_text("{not json", encoding="utf-8")

    missing = run_cli("--tf-output", str(tmp_path / "nope.json"), "status")
    invalid = run_cli("--tf-output", str(broken), "status")

    assert missing.code == invalid.code == ExitCode.USAGE
    assert "cannot read --tf-output" in missing.err
    assert "is not JSON" in invalid.err


def test_no_credentials_exit_4(
    run_cli: RunCli, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    for name in (
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_PROFILE",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.delenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", raising=False)

    result = run_cli("--region", "us-east-1", "--registry-table", "t", "status")

    assert result.code == ExitCode.ACCESS_DENIED
    assert "no AWS credentials" in result.err


def test_the_sandbox_endpoint_needs_no_region_or_credentials(
    run_cli: RunCli, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    for name in (
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_REGION",
        "AWS_DEFAULT_REGION",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")

    result = run_cli(
        "--endpoint-url", "http://127.0.0.1:9", "--registry-table", "t", "status"
    )

    assert result.code == ExitCode.UNREACHABLE  # it got as far as connecting


def test_no_region_is_a_usage_error(
    run_cli: RunCli, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    for name in ("AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))

    result = run_cli("--registry-table", "t", "status")

    assert result.code == ExitCode.USAGE
    assert "--region" in result.err


def test_an_unexpected_error_is_one_line_and_debug_shows_the_traceback(
    run_cli: RunCli, monkeypatch: pytest.MonkeyPatch, aws_env: dict[str, str]
) -> None:
    def explode(context: Any) -> int:
        raise RuntimeError("boom")

    monkeypatch.setattr("studio_recovery.cli.commands.status.run", explode)

    plain = run_cli("--region", "us-east-1", "status")
    debug = run_cli("--region", "us-east-1", "status", "--debug")

    assert plain.code == debug.code == ExitCode.AWS_ERROR
    assert (
        plain.err
        == "studio-recovery: error: unexpected RuntimeError: boom (rerun with --debug)\n"
    )
    assert "Traceback" in debug.err


class _Execed(Exception):
    """Stands in for os.execv, which never returns."""


def test_sandbox_commands_are_handed_to_the_sandbox(
    run_cli: RunCli, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[tuple[str, list[str]]] = []

    def fake_execv(path: str, argv: list[str]) -> None:
        seen.append((path, argv))
        raise _Execed

    monkeypatch.setattr(cli_main.os, "execv", fake_execv)

    with pytest.raises(_Execed):
        run_cli("sandbox", "up", "--port", "4599")

    assert seen == [
        (
            sys.executable,
            [sys.executable, "-m", "studio_sandbox", "up", "--port", "4599"],
        )
    ]


def test_without_the_sandbox_installed_sandbox_says_what_to_install(
    run_cli: RunCli, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_find_spec = importlib.util.find_spec

    def find_spec(name: str, *args: Any) -> Any:
        return None if name == "studio_sandbox" else real_find_spec(name, *args)

    monkeypatch.setattr(cli_main.importlib.util, "find_spec", find_spec)

    result = run_cli("sandbox", "up")

    assert result.code == ExitCode.USAGE
    assert "the sandbox is not installed" in result.err
    assert "pip install -e sandbox" in result.err


def test_the_sandbox_subcommand_runs_the_installed_sandbox(tmp_path: Path) -> None:
    result = subprocess.run(
        [
            str(VENV_BIN / "studio-recovery"),
            "sandbox",
            "status",
            "--data-dir",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        check=False,
    )

    assert result.returncode == 1
    assert result.stdout == "sandbox is not running\n"


def test_the_cli_does_not_import_the_sandbox_or_moto() -> None:
    code = (
        "import sys, studio_recovery.cli.main as m; "
        "m.build_parser(); "
        "print(sorted(n for n in sys.modules if n.startswith(('moto', 'studio_sandbox'))))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], check=True, capture_output=True, text=True
    ).stdout

    assert out.strip() == "[]"


def test_the_installed_command_reports_one_line_and_exit_5(tmp_path: Path) -> None:
    result = subprocess.run(
        [
            str(VENV_BIN / "studio-recovery"),
            "--endpoint-url",
            "http://127.0.0.1:9",
            "--registry-table",
            "t",
            "status",
        ],
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin", "AWS_MAX_ATTEMPTS": "1", "HOME": str(tmp_path)},
        check=False,
    )

    assert result.returncode == ExitCode.UNREACHABLE
    assert result.stdout == ""
    assert result.stderr.startswith(
        "studio-recovery: error: cannot reach the AWS endpoint"
    )
    assert result.stderr.count("\n") == 1


def test_main_is_the_declared_entry_point() -> None:
    assert callable(cli_main.main)
    pyproject = Path(__file__).parents[2] / "lambda_src" / "pyproject.toml"
    assert 'studio-recovery = "studio_recovery.cli.main:main"' in pyproject.read_text()
