"""EBS spaces on the sandbox, IAM enforced: the module's lifecycle configuration runs in real
JupyterLab apps, backs the space's EBS home up (periodically and on shutdown), and restores
it into a recreated space; one user's space credentials cannot reach another's backups.

The space agent is modules/space_backup/agent/space_agent.py, fetched by the rendered
lifecycle script from the bucket exactly as in Studio; the tests only create domains,
profiles and spaces, start and stop apps, and write files into the homes.
"""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Callable
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from studio_sandbox.harness.scenario.spaces import (
    restore_report,
    space_backup_prefix,
    wait_until,
)

from tests.e2e.conftest import Deployed

STATE = ".studio-recovery"


# --------------------------------------------------------------------------- helpers


def new_domain(deployed: Deployed, name: str, *, home_efs: bool = True) -> str:
    """A domain whose sessions carry the profile name as source identity, with the space
    backup lifecycle configurations attached by the admin CLI."""
    role = deployed.outputs["studio_execution_role_arn"]
    extra: dict[str, Any] = (
        {} if home_efs else {"HomeEfsFileSystemCreation": "Disabled"}
    )
    reply = deployed.studio.sagemaker.create_domain(
        DomainName=name,
        AuthMode="IAM",
        DefaultUserSettings={"ExecutionRole": role},
        DefaultSpaceSettings={"ExecutionRole": role},
        DomainSettings={"ExecutionRoleIdentityConfig": "USER_PROFILE_NAME"},
        SubnetIds=deployed.studio.subnet_ids,
        VpcId=deployed.studio.vpc_id,
        AppNetworkAccessType="VpcOnly",
        **extra,
    )
    domain_id = deployed.studio.wait_in_service(str(reply["DomainId"]))
    code, output = deployed.admin("attach-space-backup", "--domain-id", domain_id)
    assert code == 0, output
    return domain_id


def new_space(
    deployed: Deployed,
    domain_id: str,
    name: str,
    owner: str | None,
    app_type: str = "JupyterLab",
) -> Path:
    sharing = "Private" if owner else "Shared"
    deployed.studio.sagemaker.create_space(
        DomainId=domain_id,
        SpaceName=name,
        SpaceSettings={"AppType": app_type},
        SpaceSharingSettings={"SharingType": sharing},
        **({"OwnershipSettings": {"OwnerUserProfileName": owner}} if owner else {}),
    )
    return deployed.studio.space_home(domain_id, name)


def new_profile(deployed: Deployed, domain_id: str, name: str) -> None:
    deployed.studio.sagemaker.create_user_profile(
        DomainId=domain_id, UserProfileName=name
    )


def start(
    deployed: Deployed, domain_id: str, space: str, app_type: str = "JupyterLab"
) -> None:
    status = deployed.studio.start_app(domain_id, space, app_type)
    if status != "InService":
        log = (
            deployed.studio.app_directory(domain_id, space, app_type) / "lifecycle.log"
        )
        pytest.fail(
            f"app of {space} {status}: {log.read_text() if log.exists() else ''}"
        )


def s3_json(deployed: Deployed, key: str) -> Any:
    s3 = deployed.client("s3")
    try:
        body = s3.get_object(Bucket=deployed.outputs["backup_bucket_name"], Key=key)[
            "Body"
        ]
    except ClientError:
        return None
    return json.loads(body.read())


def write_work(home: Path) -> None:
    """A home with text, binary, an executable, nested folders, a link, and a cache."""
    (home / "notebooks" / "deep" / "er").mkdir(parents=True)
    (home / "notebooks" / "analysis.ipynb").write_text('{"cells": [1, 2, 3]}')
    (home / "notebooks" / "deep" / "er" / "data.bin").write_bytes(os.urandom(300_000))
    script = home / "run.sh"
    script.write_text("#!/bin/sh\necho train\n")
    script.chmod(0o750)
    secret = home / "notes.txt"
    secret.write_text("mine only")
    secret.chmod(0o600)
    os.utime(secret, (1_600_000_000, 1_600_000_000))
    (home / "latest").symlink_to("notebooks/analysis.ipynb")
    (home / "node_modules" / "pkg").mkdir(parents=True)
    (home / "node_modules" / "pkg" / "index.js").write_text("rebuildable")


def snapshot(home: Path) -> dict[str, tuple[Any, int, int]]:
    """Every file and link below home (agent state and excluded caches aside)."""
    found: dict[str, tuple[Any, int, int]] = {}
    for path in sorted(home.rglob("*")):
        rel = path.relative_to(home).as_posix()
        if rel.split("/")[0] in (STATE, "node_modules", "user-default-efs"):
            continue
        st = path.lstat()
        if stat.S_ISLNK(st.st_mode):
            found[rel] = (os.readlink(path), 0, 0)
        elif stat.S_ISREG(st.st_mode):
            found[rel] = (path.read_bytes(), stat.S_IMODE(st.st_mode), st.st_mtime_ns)
    return found


def app_credentials(home: Path) -> dict[str, str]:
    """The execution role credentials a running app of this space holds (its processes'
    environment): what code in that space can use."""
    for environ in Path("/proc").glob("[0-9]*/environ"):
        try:
            raw = environ.read_bytes()
        except OSError:
            continue
        env = dict(
            item.split("=", 1)
            for item in raw.decode(errors="replace").split("\0")
            if "=" in item
        )
        if env.get("HOME") == str(home) and "AWS_SESSION_TOKEN" in env:
            return env
    raise AssertionError(f"no running app process with HOME={home}")


def backed_up(deployed: Deployed, where: str, *paths: str) -> Callable[[], bool]:
    def check() -> bool:
        manifest = s3_json(deployed, where + "manifest.json") or {}
        return all(p in manifest.get("entries", {}) for p in paths)

    return check


# --------------------------------------------------------------------------- tests


def test_private_space_is_backed_up_on_shutdown_and_restored_into_its_recreation(
    deployed: Deployed, unique: Callable[[str], str]
) -> None:
    domain_id = new_domain(deployed, unique("ebs-private"))
    new_profile(deployed, domain_id, "alice")
    home = new_space(deployed, domain_id, "nb", "alice")
    where = space_backup_prefix(domain_id, "nb", "alice")

    # given a running space whose first backup is done
    start(deployed, domain_id, "nb")
    first = wait_until(
        "the first backup", lambda: s3_json(deployed, where + "manifest.json")
    )
    assert (
        wait_until("restore marker", lambda: restore_report(home))["status"]
        == "NOTHING_TO_RESTORE"
    )
    # when the user works, and the app stops before the next interval (60 s)
    write_work(home)
    before = snapshot(home)
    deployed.studio.stop_app(domain_id, "nb")
    # then the shutdown backup has every file, and not the excluded cache
    manifest = s3_json(deployed, where + "manifest.json")
    assert manifest["created_at"] > first["created_at"]
    assert set(manifest["entries"]) >= set(before)
    assert not [p for p in manifest["entries"] if p.startswith("node_modules")]

    # when the space is deleted (its EBS volume with it) and created again
    deployed.studio.delete(domain_id, "space", "nb")
    home = new_space(deployed, domain_id, "nb", "alice")
    assert not (home / "notebooks").exists()
    (home / "notes.txt").write_text("written first by the user")
    start(deployed, domain_id, "nb")
    report = wait_until("the restore", lambda: restore_report(home))

    # then every file is back byte for byte with its mode and mtime, the user's kept
    after = snapshot(home)
    assert (home / "notes.txt").read_text() == "written first by the user"
    expected = {k: v for k, v in before.items() if k != "notes.txt"}
    assert {k: v for k, v in after.items() if k != "notes.txt"} == expected
    assert report["status"] == "SUCCEEDED"
    assert report["kept"] == ["notes.txt"]
    assert report["files"] == len(expected)
    assert report["bytes"] == sum(
        len(v[0]) for k, v in expected.items() if k != "latest"
    )
    # and the report is in S3 for the admin
    code, output = deployed.admin(
        "--json",
        "space-backups",
        "--domain-id",
        domain_id,
        "--owner",
        "alice",
        "--space",
        "nb",
    )
    assert code == 0, output
    shown = json.loads(output)
    assert [r["status"] for r in shown["restores"]] == [
        "NOTHING_TO_RESTORE",
        "SUCCEEDED",
    ]
    assert len(shown["backups"]) >= 2
    # and the registry records the restore for the space, with where its home lives
    table = boto3.resource("dynamodb", endpoint_url=deployed.endpoint).Table(
        deployed.outputs["registry_table_name"]
    )
    row = wait_until(
        "the restore in the registry",
        lambda: (
            (
                table.get_item(
                    Key={"pk": f"SPACE#{domain_id}#alice#nb", "sk": "SPACE"}
                ).get("Item")
                or {}
            )
            .get("last_restore", {})
            .get("status")
            == "SUCCEEDED"
            and table.get_item(
                Key={"pk": f"SPACE#{domain_id}#alice#nb", "sk": "SPACE"}
            )["Item"]
        ),
        timeout=30,
    )
    assert row["home"] == {"type": "ebs", "backup_prefix": where}
    assert (row["last_restore"]["files"], row["last_restore"]["bytes"]) == (
        report["files"],
        report["bytes"],
    )
    deployed.studio.stop_app(domain_id, "nb")


def test_one_users_space_credentials_cannot_reach_another_users_backups(
    deployed: Deployed, unique: Callable[[str], str]
) -> None:
    domain_id = new_domain(deployed, unique("ebs-isolation"))
    for user in ("alice", "bob"):
        new_profile(deployed, domain_id, user)
    homes = {
        u: new_space(deployed, domain_id, f"{u}-space", u) for u in ("alice", "bob")
    }
    for user in ("alice", "bob"):
        start(deployed, domain_id, f"{user}-space")
    bob = space_backup_prefix(domain_id, "bob-space", "bob")
    alice = space_backup_prefix(domain_id, "alice-space", "alice")
    wait_until("bob's backup", lambda: s3_json(deployed, bob + "manifest.json"))
    wait_until("alice's backup", lambda: s3_json(deployed, alice + "manifest.json"))

    env = app_credentials(homes["alice"])
    s3 = boto3.client(
        "s3",
        endpoint_url=deployed.endpoint,
        aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
        aws_session_token=env["AWS_SESSION_TOKEN"],
        region_name="us-east-1",
    )
    bucket = deployed.outputs["backup_bucket_name"]
    # alice's own backups: yes
    assert s3.get_object(Bucket=bucket, Key=alice + "manifest.json")["Body"].read()
    # bob's: no read, no write, no listing
    refused = [
        lambda: s3.get_object(Bucket=bucket, Key=bob + "manifest.json"),
        lambda: s3.put_object(Bucket=bucket, Key=bob + "files/planted.txt", Body=b"x"),
        lambda: s3.list_objects_v2(Bucket=bucket, Prefix=bob),
        lambda: s3.put_object(
            Bucket=bucket, Key=bob + "restore-source.json", Body=b'{"space_name": "x"}'
        ),
    ]
    for call in refused:
        with pytest.raises(ClientError) as error:
            call()
        assert error.value.response["Error"]["Code"] == "AccessDenied"
    # and no version history can be destroyed, not even one's own
    with pytest.raises(ClientError) as error:
        s3.delete_object(Bucket=bucket, Key=alice + "manifest.json", VersionId="any")
    assert error.value.response["Error"]["Code"] == "AccessDenied"
    for user in ("alice", "bob"):
        deployed.studio.stop_app(domain_id, f"{user}-space")


def test_shared_space_is_restored_into_its_recreation(
    deployed: Deployed, unique: Callable[[str], str]
) -> None:
    domain_id = new_domain(deployed, unique("ebs-shared"))
    new_profile(deployed, domain_id, "carol")
    home = new_space(deployed, domain_id, "team", None)
    where = space_backup_prefix(domain_id, "team", None)
    start(deployed, domain_id, "team")
    wait_until("the first backup", lambda: s3_json(deployed, where + "manifest.json"))
    write_work(home)
    before = snapshot(home)
    deployed.studio.stop_app(domain_id, "team")
    assert backed_up(deployed, where, *before)()

    deployed.studio.delete(domain_id, "space", "team")
    home = new_space(deployed, domain_id, "team", None)
    start(deployed, domain_id, "team")
    report = wait_until("the restore", lambda: restore_report(home))
    assert report["status"] == "SUCCEEDED"
    assert snapshot(home) == before
    deployed.studio.stop_app(domain_id, "team")


def test_renamed_space_mapped_by_the_admin_in_a_domain_without_home_efs(
    deployed: Deployed, unique: Callable[[str], str]
) -> None:
    domain_id = new_domain(deployed, unique("ebs-noefs"), home_efs=False)
    new_profile(deployed, domain_id, "dave")
    home = new_space(deployed, domain_id, "old-name", "dave")
    where = space_backup_prefix(domain_id, "old-name", "dave")
    start(deployed, domain_id, "old-name")
    wait_until("the first backup", lambda: s3_json(deployed, where + "manifest.json"))
    write_work(home)
    before = snapshot(home)
    deployed.studio.stop_app(domain_id, "old-name")
    deployed.studio.delete(domain_id, "space", "old-name")

    # the user's new space has another name: the admin maps it to the old one
    code, output = deployed.admin(
        "map-space", "--domain-id", domain_id, "--owner", "dave",
        "--space", "new-name", "--from-space", "old-name",
    )  # fmt: skip
    assert code == 0, output
    home = new_space(deployed, domain_id, "new-name", "dave")
    start(deployed, domain_id, "new-name")
    report = wait_until("the restore", lambda: restore_report(home))
    assert report["status"] == "SUCCEEDED"
    assert report["source_prefix"] == where
    assert snapshot(home) == before
    deployed.studio.stop_app(domain_id, "new-name")


def test_code_editor_space_is_restored_into_its_recreation_and_on_the_admins_request(
    deployed: Deployed, unique: Callable[[str], str]
) -> None:
    domain_name = unique("ebs-code")
    domain_id = new_domain(deployed, domain_name, home_efs=False)  # the space: EBS only
    new_profile(deployed, domain_id, "erin")
    home = new_space(deployed, domain_id, "code", "erin", "CodeEditor")
    where = space_backup_prefix(domain_id, "code", "erin")
    start(deployed, domain_id, "code", "CodeEditor")
    wait_until("the first backup", lambda: s3_json(deployed, where + "manifest.json"))
    write_work(home)
    before = snapshot(home)
    deployed.studio.stop_app(domain_id, "code", "CodeEditor")
    assert backed_up(deployed, where, *before)()
    bucket = deployed.outputs["backup_bucket_name"]
    s3 = deployed.client("s3")
    on_stop = s3.head_object(Bucket=bucket, Key=where + "manifest.json")["VersionId"]

    deployed.studio.delete(domain_id, "space", "code")
    home = new_space(deployed, domain_id, "code", "erin", "CodeEditor")
    start(deployed, domain_id, "code", "CodeEditor")
    report = wait_until("the restore", lambda: restore_report(home))
    assert report["status"] == "SUCCEEDED"
    assert snapshot(home) == before

    # the user loses a file and edits another; the admin restores the backup of the stop
    # (once the registry recorded the space's first restore)
    def listed() -> str | None:
        code, output = deployed.admin(
            "--json", "backups", "--domain", domain_name, "--space", "code"
        )
        return output if code == 0 else None

    backups = json.loads(wait_until("the space in the registry", listed, timeout=30))
    # the backup of the stop, by its time: the recreated space's own came seconds later
    chosen = next(b for b in backups if b["backup_id"] == on_stop)
    (home / "run.sh").unlink()
    (home / "notebooks" / "analysis.ipynb").write_text("edited since")
    code, output = deployed.admin(
        "restore", "--domain", domain_name, "--space", "code",
        "--from-backup", chosen["started_at"],
    )  # fmt: skip
    assert code == 0, output
    assert "Requested the restore" in output
    served = wait_until(
        "the requested restore (next interval: 60 s)",
        lambda: [
            s3_json(deployed, item["Key"])
            for item in s3.list_objects_v2(Bucket=bucket, Prefix=where + "restores/")[
                "Contents"
            ]
            if (s3_json(deployed, item["Key"]) or {}).get("request_id")
        ],
        timeout=150,
    )
    assert served[0]["status"] == "SUCCEEDED"
    assert (home / "run.sh").read_bytes() == before["run.sh"][0]
    assert (home / "notebooks" / "analysis.ipynb").read_text() == "edited since"
    wait_until(
        "the served request removed",
        lambda: s3_json(deployed, where + "restore-request.json") is None,
        timeout=10,
    )
    deployed.studio.stop_app(domain_id, "code", "CodeEditor")
