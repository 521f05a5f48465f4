"""IAM is enforced on the sandbox: every policy of the module is needed, statement by statement.

Each case removes one statement from one deployed role policy (through IAM, after apply, as
an operator could), runs the scenario that needs it, and expects the call to be refused
with AccessDenied naming the action, on the role's session; the scenario does not succeed.
The statement is put back afterwards. The positive side (every scenario green with
enforcement on) is the rest of tests/e2e.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

import pytest
from studio_sandbox import iam
from studio_sandbox.datasync import models as datasync_models
from studio_sandbox.harness.scenario import (
    TERMINAL_STATUSES,
    wait_for_schedule_run,
    write_as_owner,
)
from studio_sandbox.iam import enforce

from tests.e2e.conftest import Deployed
from tests.e2e.flows import (
    backup_bucket,
    backup_now,
    new_domain,
    recreate,
    run_schedule,
    seed,
    wait_restore,
)


@dataclass(frozen=True)
class Case:
    role_suffix: str  # the module role whose inline policy loses the statement
    sid: str
    action: str  # what the refused call must name
    # "restore", "failing_restore", "backup", "from_backup" or "older_backup"
    scenario: str
    restore_fails: bool = True  # the restore ends FAILED (else: it never succeeds)
    leaves_staging: bool = False  # older_backup: restored, but its staged copy is left


CASES = [
    Case("-prepare", "CreateDataSyncTasks", "datasync:CreateTask", "restore"),
    Case("-prepare", "CreateDataSyncNetworkInterfaces", "ec2:CreateNetworkInterface", "restore"),
    Case("-prepare", "LetDataSyncUseItsNetworkInterfaces", "ec2:CreateNetworkInterfacePermission", "restore"),
    Case("-prepare", "PassEfsAccessRoleToDataSync", "iam:PassRole", "restore"),
    Case("-prepare", "CreateTaggedAccessPointsOnStudioVolumes", "elasticfilesystem:CreateAccessPoint", "restore"),
    Case("-workflow", "StartOwnDataSyncTasks", "datasync:StartTaskExecution", "restore"),
    Case("-datasync-efs", "MountStudioVolumes", "elasticfilesystem:ClientMount", "restore"),
    Case("-stream", "ReadRegistryStream", "dynamodb:", "restore", restore_fails=False),
    Case("-stream", "StartRestores", "states:StartExecution", "restore", restore_fails=False),
    Case("-event", "ReadWriteRegistry", "dynamodb:", "restore", restore_fails=False),
    Case("-finalize", "NotifyFailures", "sns:Publish", "failing_restore"),
    Case("-datasync-s3", "ReadWriteHomeBackups", "s3:PutObject", "backup"),
    Case("-prepare", "ListBackupVersions", "s3:ListBucketVersions", "from_backup"),
    # A restore from an older backup (`restore --from-backup TIME`) stages its versions
    Case("-prepare", "ReadBackupVersions", "s3:GetObjectVersion", "older_backup"),
    Case("-prepare", "WriteRestoreStaging", "s3:PutObject", "older_backup"),
    Case("-prepare", "ListRestoreStaging", "s3:ListBucketVersions", "older_backup"),
    Case("-datasync-s3", "ReadRestoreStaging", "s3:GetObject", "older_backup"),
    Case("-finalize", "DeleteRestoreStaging", "s3:DeleteObjectVersion", "older_backup", restore_fails=False, leaves_staging=True),
]  # fmt: skip


def _role(deployed: Deployed, suffix: str) -> str:
    iam_client = deployed.client("iam")
    names = [
        role["RoleName"]
        for page in iam_client.get_paginator("list_roles").paginate()
        for role in page["Roles"]
        if role["RoleName"].startswith("studio-recovery")
        and role["RoleName"].endswith(suffix)
    ]
    assert len(names) == 1, f"one module role ending in {suffix}: {names}"
    return names[0]


@contextmanager
def without_statement(deployed: Deployed, role: str, sid: str) -> Iterator[None]:
    """The role's inline policies without statement `sid`, for the block's duration."""
    iam_client = deployed.client("iam")
    saved: dict[str, str] = {}
    for name in iam_client.list_role_policies(RoleName=role)["PolicyNames"]:
        raw: Any = iam_client.get_role_policy(RoleName=role, PolicyName=name)[
            "PolicyDocument"
        ]
        document = json.loads(unquote(raw)) if isinstance(raw, str) else raw
        statements = document["Statement"]
        statements = [statements] if isinstance(statements, dict) else statements
        kept = [s for s in statements if s.get("Sid") != sid]
        if len(kept) == len(statements):
            continue
        saved[name] = json.dumps(document)
        if kept:
            iam_client.put_role_policy(
                RoleName=role,
                PolicyName=name,
                PolicyDocument=json.dumps({**document, "Statement": kept}),
            )
        else:  # IAM refuses a policy without statements: the policy goes instead
            iam_client.delete_role_policy(RoleName=role, PolicyName=name)
    assert saved, f"{role} has no statement {sid}"
    try:
        yield
    finally:
        for name, text in saved.items():
            iam_client.put_role_policy(
                RoleName=role, PolicyName=name, PolicyDocument=text
            )


def _wait_for_denial(seen: int, role: str, action: str, timeout: float = 120) -> str:
    deadline = time.monotonic() + timeout
    needle = f"is not authorized to perform: {action}"
    while time.monotonic() < deadline:
        for text in enforce.denials()[seen:]:
            if f"assumed-role/{role}/" in text and needle in text:
                return text
        time.sleep(0.5)
    raise AssertionError(
        f"no call of {role} was refused {action!r} within {timeout:.0f} s; "
        f"refused: {enforce.denials()[seen:][-5:]}"
    )


def _settle(deployed: Deployed, domain: str, kind: str, name: str) -> None:
    """With the statement back, a retried restore may still run: let it end, then nothing
    of it may be left."""
    appear = (
        time.monotonic() + 15
    )  # a delayed restore (stream read again) starts by then
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        items = deployed.registry.restores(domain, kind, name)
        if (items or time.monotonic() > appear) and all(
            i.get("status") in TERMINAL_STATUSES for i in items
        ):
            break
        time.sleep(1)
    assert deployed.leftovers(timeout=60) == {
        "tasks": [],
        "locations": [],
        "access_points": [],
    }


def _restore_scenario(
    deployed: Deployed, unique: Callable[[str], str], case: Case, role: str
) -> None:
    domain = unique("iamdeny")
    seeded = seed(deployed, domain, new_domain(deployed, domain), "user", "ines")
    seen = len(enforce.denials())
    with without_statement(deployed, role, case.sid):
        # recreated as in flows.recreate, without waiting for generation 2: the event
        # function may be the one refused
        deployed.studio.delete(seeded.domain_id, "user", "ines")
        deployed.studio.create(seeded.domain_id, "user", "ines")
        deployed.studio.open_app(seeded.domain_id, "user", "ines")
        denial = _wait_for_denial(seen, role, case.action)
        assert "arn:aws:sts::" in denial
        deadline = time.monotonic() + (90 if case.restore_fails else 10)
        finished: dict[str, Any] = {}
        while time.monotonic() < deadline and not finished:
            for item in deployed.registry.restores(domain, "user", "ines"):
                if item.get("status") in ("SUCCEEDED", "FAILED"):
                    finished = item
            time.sleep(0.5)
    assert finished.get("status") != "SUCCEEDED", finished
    _settle(deployed, domain, "user", "ines")
    if case.restore_fails:
        assert finished.get("status") == "FAILED", (
            f"the restore did not fail: {finished}"
        )
        assert case.action in str(finished.get("reason", "")), finished


def _failing_restore_scenario(
    deployed: Deployed, unique: Callable[[str], str], case: Case, role: str
) -> None:
    """A transfer that fails: finalize records it, then cannot tell anyone."""
    domain = unique("iamnotify")
    seeded = seed(deployed, domain, new_domain(deployed, domain), "user", "lea")
    datasync_models.faults.error = ("InternalError", "the sandbox lost the disk")
    seen = len(enforce.denials())
    with without_statement(deployed, role, case.sid):
        deployed.studio.delete(seeded.domain_id, "user", "lea")
        deployed.studio.create(seeded.domain_id, "user", "lea")
        deployed.studio.open_app(seeded.domain_id, "user", "lea")
        _wait_for_denial(seen, role, case.action)
        item = deployed.registry.wait_for_restore(domain, "user", "lea", 2, 120)
    assert item["status"] == "FAILED", item
    _settle(deployed, domain, "user", "lea")


def _backup_scenario(
    deployed: Deployed, unique: Callable[[str], str], case: Case, role: str
) -> None:
    domain = unique("iambackup")
    seed(deployed, domain, new_domain(deployed, domain), "user", "jon")
    seen = len(enforce.denials())
    with without_statement(deployed, role, case.sid):
        run = run_schedule(deployed)
        _wait_for_denial(seen, role, case.action)
        items = wait_for_schedule_run(
            deployed.endpoint, deployed.outputs["registry_table_name"], run
        )
    assert deployed.leftovers(timeout=60) == {
        "tasks": [],
        "locations": [],
        "access_points": [],
    }
    mine = [i for i in items if domain in json.dumps(i, default=str)]
    assert mine, f"the schedule run started no backup of {domain}: {items}"
    assert all(i.get("status") != "SUCCEEDED" for i in mine), mine


def _from_backup_scenario(
    deployed: Deployed, unique: Callable[[str], str], case: Case, role: str
) -> None:
    """A domain deleted with its volume: the new profile is restored from its backup."""
    domain = unique("iamvol")
    domain_id = new_domain(deployed, domain)
    seed(deployed, domain, domain_id, "user", "kai")
    deployed.studio.delete(domain_id, "user", "kai")  # backs it up (trigger: deletion)
    deployed.registry.wait_for_backup(
        domain, "user", "kai", trigger="deletion", generation=1
    )
    deployed.studio.delete_domain(domain_id, retain=False)
    seen = len(enforce.denials())
    with without_statement(deployed, role, case.sid):
        new_id = new_domain(deployed, domain)
        deployed.studio.create(new_id, "user", "kai")
        deployed.studio.open_app(new_id, "user", "kai")
        _wait_for_denial(seen, role, case.action)
        item = deployed.registry.wait_for_restore(domain, "user", "kai", 2, 120)
    assert item["status"] == "FAILED", item
    _settle(deployed, domain, "user", "kai")


def _older_backup_scenario(
    deployed: Deployed, unique: Callable[[str], str], case: Case, role: str
) -> None:
    """An admin restores an older backup: its versions are staged, read, the copy deleted."""
    domain = unique("iamold")
    seeded = seed(deployed, domain, new_domain(deployed, domain), "user", "mo")
    first = backup_now(deployed, seeded)
    assert first["status"] == "SUCCEEDED", first
    time.sleep(1.1)  # the second backup starts in a later second than the first ended
    write_as_owner(seeded.home, "later.txt", b"not in the first backup\n")
    assert backup_now(deployed, seeded)["status"] == "SUCCEEDED"
    code, output = deployed.admin("opt-out", "--domain", domain, "--user", "mo")
    assert code == 0, output
    recreate(deployed, seeded)
    assert wait_restore(deployed, domain, "user", "mo", 2)["status"] == "SKIPPED"
    seen = len(enforce.denials())
    with without_statement(deployed, role, case.sid):
        code, output = deployed.admin(
            "restore", "--domain", domain, "--user", "mo",
            "--from-backup", str(first["ended_at"]),
        )  # fmt: skip
        assert code == 0, output
        _wait_for_denial(seen, role, case.action)
        item = wait_restore(deployed, domain, "user", "mo", 2, "manual", 120)
    staged = backup_bucket(deployed).keys(f"staging/{item['restore_id']}/")
    if case.leaves_staging:
        # the files came back; the copy left behind is named, notified, and expires
        assert item["status"] == "SUCCEEDED", item
        assert staged, "the staged copy should be left behind"
        assert f"staging/{item['restore_id']}/" in str(item.get("reason", "")), item
        deployed.notifications.wait_for(domain, "mo", item["restore_id"])
        return
    assert item["status"] == "FAILED", item
    assert case.action in str(item.get("reason", "")), item
    assert staged == [], staged
    _settle(deployed, domain, "user", "mo")


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c.role_suffix[1:]}-{c.sid}")
def test_each_statement_is_needed(
    deployed: Deployed, unique: Callable[[str], str], case: Case
) -> None:
    assert iam.enforcing(), "the e2e sandbox must enforce IAM"
    role = _role(deployed, case.role_suffix)
    scenario = {
        "restore": _restore_scenario,
        "backup": _backup_scenario,
        "from_backup": _from_backup_scenario,
        "older_backup": _older_backup_scenario,
        "failing_restore": _failing_restore_scenario,
    }[case.scenario]
    scenario(deployed, unique, case, role)
