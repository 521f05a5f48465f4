"""An installation of the layout before the issue 15 redesign upgrades in place.

Takes the tree of main before the redesign from git, builds its Lambda zip with its own
build script, applies its `examples/sandbox` to the sandbox, then plans this tree's
`examples/sandbox` on the same state. The `moved` blocks must carry every resource over:
no table, bucket or key is deleted or replaced, and nothing else is either.

The old installation uses its own name prefix (the e2e installation of conftest.py keeps
the default one) and is destroyed at the end, so the other tests never see its rules.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tarfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from studio_sandbox.harness.scenario import Terraform
from studio_sandbox.server.app import Sandbox

from tests.deployment import REPO_ROOT, ZIP_PATH, use_offline_terraform_config

PRE_REDESIGN_COMMIT = "a6c2a6d"
"""main before the issue 15 redesign (a6c2a6dfc5c0b1c1...)."""
NAME_PREFIX = "sr-upgrade"
ADDED_SINCE_THE_REDESIGN = re.compile(
    r"^(module\.studio_recovery\.module\.workflow\."
    r"(aws_s3_bucket[a-z_]*\.reports|module\.report_role\..+)"
    r"|module\.studio_recovery\.module\.space_backup\[0\]\..+"
    r"|module\.studio_recovery\.module\.backup\[0\]\.aws_s3_bucket_notification\.this\[0\]"
    r'|module\.studio_recovery\.module\.alarms\.aws_cloudwatch_metric_alarm\.function_errors\["space-report"\]'
    r"|aws_iam_role\.studio_execution)$"
)
"""Resources of features added after that layout, which an upgrade creates as it creates
any new feature's: the task-report bucket and DataSync's role for it (issue 14); the space
backup lifecycle configurations, agent object, policy and report function (with its
errors alarm), the backup bucket's EventBridge notification, and the sandbox's Studio execution role (issue 17).
Nothing else may be created."""
STATEFUL_TYPES = ("aws_dynamodb_table", "aws_kms_key")
STATEFUL_PREFIXES = ("aws_s3_bucket",)


@dataclass(frozen=True)
class Change:
    """One resource change of a saved plan."""

    address: str
    type: str
    actions: tuple[str, ...]
    previous_address: str | None
    changed: tuple[str, ...] = ()

    @property
    def deletes(self) -> bool:
        """Delete, or replace (delete-then-create or create-then-delete)."""
        return "delete" in self.actions

    @property
    def stateful(self) -> bool:
        return self.type in STATEFUL_TYPES or self.type.startswith(STATEFUL_PREFIXES)


def plan_changes(plan: dict[str, Any]) -> list[Change]:
    """The resource changes of `terraform show -json` of a saved plan, no-ops left out."""
    changes = []
    for entry in plan.get("resource_changes", []):
        actions = tuple(entry["change"]["actions"])
        moved = entry.get("previous_address")
        if actions == ("no-op",) and not moved:
            continue
        before = entry["change"].get("before") or {}
        after = entry["change"].get("after") or {}
        changed = tuple(
            sorted(
                key
                for key in set(before) | set(after)
                if before.get(key) != after.get(key)
            )
        )
        changes.append(Change(entry["address"], entry["type"], actions, moved, changed))
    return changes


def summary(changes: list[Change]) -> dict[str, list[str]]:
    """Addresses by what the plan does to them (create, update, delete, replace, move)."""
    kinds: dict[str, list[str]] = {}
    for change in changes:
        if change.actions in (("delete", "create"), ("create", "delete")):
            kind = "replace"
        elif change.actions == ("no-op",):
            kind = "move only"
        else:
            kind = "+".join(change.actions)
        kinds.setdefault(kind, []).append(change.address)
    return {kind: sorted(addresses) for kind, addresses in sorted(kinds.items())}


def _git(*args: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        ["git", "-C", str(REPO_ROOT), *args], capture_output=True, check=False
    )


def pre_redesign_tree(target: Path) -> Path:
    """The pre-redesign commit's tree, extracted under `target` (fails if git lacks it)."""
    found = _git(
        "rev-parse", "--verify", "--quiet", f"{PRE_REDESIGN_COMMIT}^{{commit}}"
    )
    if found.returncode != 0:
        pytest.fail(
            f"commit {PRE_REDESIGN_COMMIT} (main before the issue 15 redesign) is not in "
            f"this clone of {REPO_ROOT}: a shallow clone? Run `git fetch --unshallow`."
        )
    commit = found.stdout.decode().strip()
    archive = target / "old.tar"
    written = _git("archive", "--format=tar", f"--output={archive}", commit)
    assert written.returncode == 0, written.stderr.decode()
    tree = target / "old"
    with tarfile.open(archive) as tar:
        tar.extractall(tree, filter="data")
    return tree


def build_zip(tree: Path) -> Path:
    """The tree's Lambda zip, written by the tree's own build script."""
    zip_path = tree / "build" / "lambda.zip"
    subprocess.run(
        [
            sys.executable,
            "scripts/build_lambda_zip.py",
            "lambda_src/src",
            str(zip_path),
        ],
        cwd=tree,
        check=True,
        capture_output=True,
    )
    return zip_path


def run_terraform(tf: Terraform, *args: str) -> subprocess.CompletedProcess[str]:
    """`terraform` in the workdir of `tf`, with its data dir, state and variables."""
    env = {
        **os.environ,
        "TF_DATA_DIR": str(tf.data_dir / "terraform"),
        "TF_IN_AUTOMATION": "1",
    }
    variables = [f"-var={name}={value}" for name, value in sorted(tf.variables.items())]
    command = ["terraform", f"-chdir={tf.workdir}", *args[:1], "-no-color"]
    if args[0] in ("plan", "destroy"):
        command += ["-input=false", f"-state={tf.state_path}", *variables]
    result = subprocess.run(
        [*command, *args[1:]], check=False, env=env, capture_output=True, text=True
    )
    tail = "\n".join((result.stdout + result.stderr).splitlines()[-40:])
    assert result.returncode == 0, f"terraform {args[0]} failed:\n{tail}"
    return result


@dataclass(frozen=True)
class Upgrade:
    """The new tree's saved plan on the old installation."""

    changes: list[Change]
    state_entries: int
    """`terraform state list` of the old installation (data sources included)."""
    managed_before: int
    managed_after: int

    def report(self) -> str:
        updates = {
            c.address: list(c.changed) for c in self.changes if c.actions == ("update",)
        }
        return (
            f"state list: {self.state_entries} entries; managed resources "
            f"{self.managed_before} before, {self.managed_after} planned after\n"
            f"{json.dumps(summary(self.changes), indent=2)}\n"
            f"updated attributes: {json.dumps(updates, indent=2)}"
        )


def managed_resources(module: dict[str, Any]) -> Iterator[str]:
    """Addresses of the managed resources of a `terraform show -json` module, recursively."""
    for resource in module.get("resources", []):
        if resource["mode"] == "managed":
            yield str(resource["address"])
    for child in module.get("child_modules", []):
        yield from managed_resources(child)


@pytest.fixture(scope="module")
def upgrade(
    sandbox: Sandbox, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Upgrade]:
    """The old layout applied to the sandbox, and this tree's plan on its state."""
    if not ZIP_PATH.is_file():
        pytest.fail(
            f"{ZIP_PATH} is missing: run `make build` (make test does it first)"
        )
    use_offline_terraform_config()
    work = tmp_path_factory.mktemp("upgrade")
    old_tree = pre_redesign_tree(work)
    old_zip = build_zip(old_tree)
    data_dir = work / "state"
    data_dir.mkdir()
    common = {"sandbox_endpoint": sandbox.endpoint_url, "name_prefix": NAME_PREFIX}
    old = Terraform(
        workdir=old_tree / "examples" / "sandbox",
        data_dir=data_dir,
        variables={**common, "lambda_package_path": str(old_zip)},
    )
    old.init()
    try:
        old.apply()
        new = Terraform(
            workdir=REPO_ROOT / "examples" / "sandbox",
            data_dir=data_dir,  # the same state file
            variables={**common, "lambda_package_path": str(ZIP_PATH.resolve())},
        )
        new.init()
        plan_file = work / "upgrade.tfplan"
        run_terraform(new, "plan", f"-out={plan_file}")
        plan = json.loads(run_terraform(new, "show", "-json", str(plan_file)).stdout)
        yield Upgrade(
            changes=plan_changes(plan),
            state_entries=old.resource_count(),
            managed_before=len(
                list(managed_resources(plan["prior_state"]["values"]["root_module"]))
            ),
            managed_after=len(
                list(managed_resources(plan["planned_values"]["root_module"]))
            ),
        )
    finally:
        run_terraform(old, "destroy", "-auto-approve")


def test_upgrade_replaces_no_table_bucket_or_key(upgrade: Upgrade) -> None:
    print(f"\nupgrade plan: {upgrade.report()}")
    stateful = [c for c in upgrade.changes if c.stateful]
    # then no table, bucket or key is deleted or replaced
    assert [f"{c.address} {'/'.join(c.actions)}" for c in stateful if c.deletes] == []
    # and none is created anew beside the old one (a new feature's own bucket aside)
    assert [
        c.address
        for c in stateful
        if "create" in c.actions and not ADDED_SINCE_THE_REDESIGN.match(c.address)
    ] == []


def test_upgrade_deletes_nothing(upgrade: Upgrade) -> None:
    # then nothing at all is deleted or replaced, and nothing is created but the
    # resources of features added since that layout: every other address moved
    assert [
        f"{c.address} {'/'.join(c.actions)}" for c in upgrade.changes if c.deletes
    ] == []
    created = [c.address for c in upgrade.changes if "create" in c.actions]
    assert [a for a in created if not ADDED_SINCE_THE_REDESIGN.match(a)] == []
    assert upgrade.managed_after == upgrade.managed_before + len(created)


def test_the_plan_reader_catches_what_it_must() -> None:
    # given a plan that moves a table, replaces a bucket and deletes a role
    plan = {
        "resource_changes": [
            {
                "address": "module.a.aws_dynamodb_table.this",
                "previous_address": "aws_dynamodb_table.this",
                "type": "aws_dynamodb_table",
                "change": {"actions": ["no-op"]},
            },
            {
                "address": "aws_s3_bucket_policy.this",
                "type": "aws_s3_bucket_policy",
                "change": {"actions": ["delete", "create"]},
            },
            {
                "address": "aws_iam_role.x",
                "type": "aws_iam_role",
                "change": {"actions": ["delete"]},
            },
            {
                "address": "aws_sqs_queue.q",
                "type": "aws_sqs_queue",
                "change": {"actions": ["no-op"]},
            },
        ]
    }
    # when it is read
    changes = plan_changes(plan)
    # then the move is kept, the untouched queue left out, the deletes found
    assert [c.address for c in changes] == [
        "module.a.aws_dynamodb_table.this",
        "aws_s3_bucket_policy.this",
        "aws_iam_role.x",
    ]
    assert [c.address for c in changes if c.stateful and c.deletes] == [
        "aws_s3_bucket_policy.this"
    ]
    assert [c.address for c in changes if c.deletes] == [
        "aws_s3_bucket_policy.this",
        "aws_iam_role.x",
    ]
    assert summary(changes) == {
        "delete": ["aws_iam_role.x"],
        "move only": ["module.a.aws_dynamodb_table.this"],
        "replace": ["aws_s3_bucket_policy.this"],
    }
