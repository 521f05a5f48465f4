"""`status`, `history`, `backups` and `restore` on EBS spaces (modules/space_backup), on moto:
the real space agent backs a space up twice and restores it into a recreated space, the
space-report function records the report, and the EFS commands show the space beside the
EFS homes of the same domain."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import boto3
import pytest
from studio_recovery.cli.exit_codes import ExitCode
from studio_recovery.dal.space_reports import SpaceReports
from studio_recovery.handlers.space_report import record_report
from studio_recovery.models.registry import to_iso

from tests.integration.cli_fixtures import user
from tests.space_agent import load_agent

if TYPE_CHECKING:
    from tests.integration.cli_fixtures import Home, RunCli

pytest_plugins = ("tests.integration.cli_fixtures",)

BUCKET = "sr-test-backups-123456789012-us-east-1"
PREFIX = "spaces/private/alice/d-abc123/nb/"


def _record_reports(registry_table: Any) -> None:
    """The space-report function on every report in the bucket (as S3's events would)."""
    s3 = boto3.client("s3", region_name="us-east-1")
    for item in s3.list_objects_v2(Bucket=BUCKET, Prefix=PREFIX + "restores/")[
        "Contents"
    ]:
        event = {
            "source": "aws.s3",
            "detail-type": "Object Created",
            "detail": {"bucket": {"name": BUCKET}, "object": {"key": item["Key"]}},
        }
        record_report(event, SpaceReports(s3, registry_table))


@pytest.fixture
def recorded(registry_table: Any, home: Home, tmp_path: Path) -> list[str]:
    """alice's EFS home in domain demo (d-abc123); her private EBS space nb backed up twice,
    deleted, recreated with one file of hers, restored on its first start and reported.
    Returns the manifest's version ids, oldest first."""
    s3 = boto3.client("s3", region_name="us-east-1")
    s3.create_bucket(Bucket=BUCKET)
    s3.put_bucket_versioning(
        Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"}
    )
    home(user("alice"), "200001")
    agent = load_agent()
    store = agent.S3Store(s3, BUCKET)
    nb = agent.Space("d-abc123", "nb", "alice")
    old = tmp_path / "old"
    old.mkdir()
    (old / "a.py").write_bytes(b"print(1)\n")
    versions = []
    agent.backup(store, nb, str(old), [], None)
    versions.append(
        s3.head_object(Bucket=BUCKET, Key=PREFIX + "manifest.json")["VersionId"]
    )
    (old / "b.py").write_bytes(b"print(2)\n")
    agent.backup(store, nb, str(old), [], None)
    versions.append(
        s3.head_object(Bucket=BUCKET, Key=PREFIX + "manifest.json")["VersionId"]
    )
    new = tmp_path / "new"
    new.mkdir()
    (new / "b.py").write_bytes(b"mine\n")
    agent.restore_once(store, nb, str(new))
    _record_reports(registry_table)
    return versions


@pytest.mark.usefixtures("recorded")
def test_status_shows_the_ebs_space_beside_the_efs_homes(
    run_cli: RunCli, table_args: list[str]
) -> None:
    rows = run_cli(*table_args, "--json", "status", "--domain", "demo").json()

    assert [(r["kind"], r["name"], r["home"]) for r in rows] == [
        ("space", "nb", "ebs"),
        ("user", "alice", "efs"),
    ]
    nb = rows[0]
    assert nb["domain"] == "demo"
    assert nb["owner"] == "alice"
    assert nb["backup_prefix"] == PREFIX
    assert nb["last_restore_status"] == "SUCCEEDED"
    assert nb["files_transferred"] == 1
    assert nb["bytes_written"] == len(b"print(1)\n")
    assert "kept 1" in nb["last_restore_reason"]
    table = run_cli(*table_args, "status").out
    line = next(line for line in table.splitlines() if "nb (alice)" in line)
    assert "ebs" in line
    assert "SUCCEEDED" in line


@pytest.mark.usefixtures("recorded")
def test_status_of_another_domain_leaves_the_space_out(
    run_cli: RunCli, table_args: list[str], home: Home
) -> None:
    home(user("carol", "other"), "300001", domain_id="d-other0000000")

    rows = run_cli(*table_args, "--json", "status", "--domain", "other").json()

    assert [r["name"] for r in rows] == ["carol"]


@pytest.mark.usefixtures("recorded")
def test_history_of_an_ebs_space_shows_its_home_and_restores(
    run_cli: RunCli, table_args: list[str]
) -> None:
    result = run_cli(
        *table_args, "--json", "history", "--domain", "demo", "--space", "nb"
    )

    assert result.code == ExitCode.OK, result.err
    shown = result.json()
    assert shown["profile"] is None
    (nb,) = shown["ebs_spaces"]
    assert (nb["owner"], nb["home"], nb["backup_prefix"]) == ("alice", "ebs", PREFIX)
    assert [(r["status"], r["files"], r["kept_count"]) for r in nb["restores"]] == [
        ("SUCCEEDED", 1, 1)
    ]
    text = run_cli(*table_args, "history", "--domain", "d-abc123", "--space", "nb").out
    assert f"backups under {PREFIX}" in text
    assert "first start" in text
    assert "kept 1, missing 0" in text


def test_backups_of_an_ebs_space_are_its_manifest_versions(
    run_cli: RunCli, table_args: list[str], recorded: list[str]
) -> None:
    base = [*table_args, "--backup-bucket", BUCKET]

    result = run_cli(*base, "--json", "backups", "--domain", "demo", "--space", "nb")

    assert result.code == ExitCode.OK, result.err
    rows = result.json()
    assert [r["backup_id"] for r in rows] == recorded
    assert len(recorded) == 2
    assert {(r["home"], r["owner"], r["backup_prefix"]) for r in rows} == {
        ("ebs", "alice", PREFIX)
    }
    assert [r["reason"] for r in rows] == [None, "latest"]
    table = run_cli(*base, "backups", "--domain", "demo", "--space", "nb").out
    assert recorded[1] in table
    assert "ebs (alice)" in table


@pytest.mark.usefixtures("recorded")
def test_backups_of_an_ebs_space_need_the_bucket(
    run_cli: RunCli, table_args: list[str]
) -> None:
    result = run_cli(*table_args, "backups", "--domain", "demo", "--space", "nb")

    assert result.code == ExitCode.USAGE
    assert "--backup-bucket" in result.err


def test_restore_of_an_ebs_space_asks_its_agent_for_the_chosen_backup(
    run_cli: RunCli,
    table_args: list[str],
    recorded: list[str],
    tmp_path: Path,
    registry_table: Any,
) -> None:
    s3 = boto3.client("s3", region_name="us-east-1")
    agent = load_agent()
    store = agent.S3Store(s3, BUCKET)
    nb = agent.Space("d-abc123", "nb", "alice")
    new = tmp_path / "new"  # the recreated space, restored on its first start
    time.sleep(1.1)  # the backups list whole seconds: the newer ones are in a later one
    agent.Agent(store, nb, str(new), []).tick()  # its first backup
    (new / "c.py").write_bytes(b"print(3)\n")
    agent.backup(store, nb, str(new), [], None)  # its latest
    versions = s3.list_object_versions(Bucket=BUCKET, Prefix=PREFIX + "manifest.json")
    chosen = next(v for v in versions["Versions"] if v["VersionId"] == recorded[1])
    (new / "a.py").unlink()  # the user lost a file since
    base = [*table_args, "--backup-bucket", BUCKET]

    result = run_cli(
        *base,
        "restore",
        "--domain",
        "demo",
        "--space",
        "nb",
        "--from-backup",
        to_iso(chosen["LastModified"]),
    )

    assert result.code == ExitCode.OK, result.err
    assert recorded[1] in result.out
    assert "next start" in result.out
    request = json.loads(
        s3.get_object(Bucket=BUCKET, Key=PREFIX + "restore-request.json")["Body"].read()
    )
    assert request["manifest_version_id"] == recorded[1]
    # the agent's next interval serves it: a.py back, b.py (the user's) kept
    agent.Agent(store, nb, str(new), []).tick()
    assert (new / "a.py").read_bytes() == b"print(1)\n"
    assert (new / "b.py").read_bytes() == b"mine\n"
    listed = s3.list_objects_v2(Bucket=BUCKET, Prefix=PREFIX + "restore-request.json")
    assert listed["KeyCount"] == 0
    _record_reports(registry_table)
    shown = run_cli(
        *table_args, "--json", "history", "--domain", "demo", "--space", "nb"
    ).json()
    (space,) = shown["ebs_spaces"]
    assert [(r["status"], r["files"], r["kept_count"]) for r in space["restores"]] == [
        ("SUCCEEDED", 1, 1),
        ("SUCCEEDED", 1, 1),
    ]


def test_restore_of_an_ebs_space_without_time_asks_for_its_latest_backup(
    run_cli: RunCli, table_args: list[str], recorded: list[str]
) -> None:
    base = [*table_args, "--backup-bucket", BUCKET]

    result = run_cli(*base, "--json", "restore", "--domain", "demo", "--space", "nb")

    assert result.code == ExitCode.OK, result.err
    assert result.json()["manifest_version_id"] == recorded[-1]


@pytest.mark.usefixtures("recorded")
@pytest.mark.parametrize(
    ("extra", "code", "says"),
    [
        (["--from-backup", "2001-01-01"], ExitCode.NOT_FOUND, "no backup at or before"),
        (["--wait"], ExitCode.USAGE, "without --wait"),
        (["--from-generation", "1"], ExitCode.USAGE, "no generations"),
    ],
)
def test_restore_of_an_ebs_space_refuses_what_it_cannot_do(
    run_cli: RunCli, table_args: list[str], extra: list[str], code: int, says: str
) -> None:
    base = [*table_args, "--backup-bucket", BUCKET]

    result = run_cli(*base, "restore", "--domain", "demo", "--space", "nb", *extra)

    assert result.code == code
    assert says in result.err
    s3 = boto3.client("s3", region_name="us-east-1")
    listed = s3.list_objects_v2(Bucket=BUCKET, Prefix=PREFIX + "restore-request.json")
    assert listed["KeyCount"] == 0


@pytest.mark.usefixtures("recorded")
def test_an_unknown_space_is_still_not_found(
    run_cli: RunCli, table_args: list[str]
) -> None:
    result = run_cli(*table_args, "history", "--domain", "demo", "--space", "other")

    assert result.code == ExitCode.NOT_FOUND
    assert "not in the registry" in result.err
