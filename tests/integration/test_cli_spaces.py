"""`map-space`, `space-backups` and `attach-space-backup` (EBS spaces) on moto: the admin maps a
recreated space to the earlier one, the real space agent restores from it through boto3, and
the CLI shows the backups and the restore report."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import boto3
import pytest
from botocore.stub import Stubber
from studio_recovery.cli import context as cli_context
from studio_recovery.cli.exit_codes import ExitCode

from tests.space_agent import load_agent

if TYPE_CHECKING:
    from tests.integration.cli_fixtures import RunCli

pytest_plugins = ("tests.integration.cli_fixtures",)

BUCKET = "sr-test-backups-123456789012-us-east-1"
AGENT = (
    Path(__file__).parents[2] / "modules" / "space_backup" / "agent" / "space_agent.py"
)


@pytest.fixture
def bucket(aws_env: dict[str, str]) -> Any:
    s3 = boto3.client("s3", region_name="us-east-1")
    s3.create_bucket(Bucket=BUCKET)
    s3.put_bucket_versioning(
        Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"}
    )
    return s3


def test_a_mapped_space_restores_the_earlier_one_and_the_cli_shows_it(
    run_cli: RunCli, bucket: Any, tmp_path: Path
) -> None:
    agent = load_agent()
    store = agent.S3Store(bucket, BUCKET)
    old = agent.Space("d-abc123", "analysis", "alice")
    # given a backup of alice's space "analysis" (the real agent, boto3 on moto)
    first = tmp_path / "old"
    (first / "nb").mkdir(parents=True)
    (first / "nb" / "a.ipynb").write_bytes(b"{}")
    agent.backup(store, old, str(first), [], None)
    base = ["--region", "us-east-1", "--backup-bucket", BUCKET]

    # when the admin maps the new space "analysis-2" to it
    mapped = run_cli(
        *base,
        "map-space",
        "--domain-id",
        "d-abc123",
        "--owner",
        "alice",
        "--space",
        "analysis-2",
        "--from-space",
        "analysis",
    )
    assert mapped.code == ExitCode.OK, mapped.err
    # and the new space's agent starts
    new_home = tmp_path / "new"
    new_home.mkdir()
    report = agent.restore_once(
        store, agent.Space("d-abc123", "analysis-2", "alice"), str(new_home)
    )

    # then the file is back and the CLI lists the restore report
    assert (new_home / "nb" / "a.ipynb").read_bytes() == b"{}"
    assert report["source_prefix"] == "spaces/private/alice/d-abc123/analysis/"
    shown = run_cli(
        *base,
        "--json",
        "space-backups",
        "--domain-id",
        "d-abc123",
        "--owner",
        "alice",
        "--space",
        "analysis-2",
    )
    assert shown.code == ExitCode.OK, shown.err
    assert [r["status"] for r in shown.json()["restores"]] == ["SUCCEEDED"]
    assert shown.json()["restores"][0]["files"] == 1
    history = run_cli(
        *base,
        "--json",
        "space-backups",
        "--domain-id",
        "d-abc123",
        "--owner",
        "alice",
        "--space",
        "analysis",
    )
    assert len(history.json()["backups"]) == 1


def test_map_space_refuses_a_space_without_backup(run_cli: RunCli, bucket: Any) -> None:
    result = run_cli(
        "--region",
        "us-east-1",
        "--backup-bucket",
        BUCKET,
        "map-space",
        "--domain-id",
        "d-abc123",
        "--owner",
        "alice",
        "--space",
        "new",
        "--from-space",
        "never-backed-up",
    )
    assert result.code == ExitCode.NOT_FOUND
    assert "no backup" in result.err
    listed = bucket.list_objects_v2(Bucket=BUCKET)
    assert listed.get("KeyCount", 0) == 0


def test_attach_adds_the_configurations_as_default_and_keeps_another_default(
    run_cli: RunCli, aws_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    jl = "arn:aws:sagemaker:us-east-1:123456789012:studio-lifecycle-config/sr-space-backup-jupyterlab"
    ce = "arn:aws:sagemaker:us-east-1:123456789012:studio-lifecycle-config/sr-space-backup-codeeditor"
    other = (
        "arn:aws:sagemaker:us-east-1:123456789012:studio-lifecycle-config/team-setup"
    )
    client = boto3.client("sagemaker", region_name="us-east-1")
    stub = Stubber(client)
    stub.add_response(
        "describe_domain",
        {
            "DomainId": "d-abc123",
            "DefaultUserSettings": {
                "ExecutionRole": "arn:aws:iam::123456789012:role/exec",
                "CodeEditorAppSettings": {
                    "LifecycleConfigArns": [other],
                    "DefaultResourceSpec": {"LifecycleConfigArn": other},
                },
            },
        },
        {"DomainId": "d-abc123"},
    )
    stub.add_response(
        "update_domain",
        {"DomainArn": "arn:aws:sagemaker:us-east-1:123456789012:domain/d-abc123"},
        {
            "DomainId": "d-abc123",
            "DefaultUserSettings": {
                "JupyterLabAppSettings": {
                    "LifecycleConfigArns": [jl],
                    "DefaultResourceSpec": {"LifecycleConfigArn": jl},
                },
                "CodeEditorAppSettings": {
                    "LifecycleConfigArns": [other, ce],
                    "DefaultResourceSpec": {"LifecycleConfigArn": other},
                },
            },
            "DefaultSpaceSettings": {
                "JupyterLabAppSettings": {
                    "LifecycleConfigArns": [jl],
                    "DefaultResourceSpec": {"LifecycleConfigArn": jl},
                },
            },
            "DomainSettingsForUpdate": {
                "ExecutionRoleIdentityConfig": "USER_PROFILE_NAME"
            },
        },
    )
    stub.activate()
    monkeypatch.setattr(
        cli_context.Aws, "client", lambda self, service, config=None: client
    )
    result = run_cli(
        "--region",
        "us-east-1",
        "--json",
        "--space-lifecycle-config-arns",
        f"JupyterLab={jl},CodeEditor={ce}",
        "attach-space-backup",
        "--domain-id",
        "d-abc123",
        "--source-identity",
    )
    assert result.code == ExitCode.OK, result.err
    stub.assert_no_pending_responses()
    notes = result.json()["notes"]
    assert len(notes) == 1
    assert "CodeEditor" in notes[0]
    assert other in notes[0]


def test_copy_space_backup_into_another_owners_new_space(
    run_cli: RunCli, bucket: Any, tmp_path: Path
) -> None:
    agent = load_agent()
    store = agent.S3Store(bucket, BUCKET)
    alice = agent.Space("d-abc123", "analysis", "alice")
    home = tmp_path / "alice"
    (home / "data").mkdir(parents=True)
    (home / "data" / "x.csv").write_bytes(b"a,b\n1,2\n")
    (home / "run.sh").write_bytes(b"#!/bin/sh\n")
    (home / "run.sh").chmod(0o755)
    agent.backup(store, alice, str(home), [], None)
    (home / "data" / "x.csv").write_bytes(
        b"a,b\n1,2\n3,4\n"
    )  # a later version stays alice's
    latest = agent.backup(
        store, alice, str(home), [], store.get_json(alice.prefix + "manifest.json")
    )
    base = ["--region", "us-east-1", "--backup-bucket", BUCKET]
    copy_args = [
        "copy-space-backup", "--from-domain-id", "d-abc123", "--from-owner", "alice",
        "--from-space", "analysis", "--domain-id", "d-new456", "--owner", "bob", "--space", "work",
    ]  # fmt: skip

    copied = run_cli(*base, "--json", *copy_args)
    assert copied.code == ExitCode.OK, copied.err
    assert copied.json()["files"] == 2
    bob_home = tmp_path / "bob"
    bob_home.mkdir()
    report = agent.restore_once(
        store, agent.Space("d-new456", "work", "bob"), str(bob_home)
    )
    assert report["status"] == "SUCCEEDED"
    assert (bob_home / "data" / "x.csv").read_bytes() == b"a,b\n1,2\n3,4\n"
    assert (bob_home / "run.sh").stat().st_mode & 0o777 == 0o755
    bob_manifest = store.get_json("spaces/private/bob/d-new456/work/manifest.json")
    assert bob_manifest["copied_from"] == alice.prefix
    assert (
        bob_manifest["entries"]["data/x.csv"]["sha256"]
        == (latest.manifest["entries"]["data/x.csv"]["sha256"])
    )

    again = run_cli(*base, *copy_args)
    assert again.code == ExitCode.CONFLICT
    assert "has backups of its own" in again.err
