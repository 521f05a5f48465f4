"""Studio spaces with EBS homes, as a data scientist uses them and the product protects them.

A JupyterLab or Code Editor space keeps `/home/sagemaker-user` on its own EBS volume (in the
sandbox a directory, :meth:`Studio.space_home`). The product's lifecycle configuration runs
the space agent in the space's app: it backs the home up to
`spaces/private/<owner>/<domain>/<space>/` (or `spaces/shared/<domain>/<space>/`) of the
backup bucket and, on the first start of a recreated space, restores it and leaves the
report in `~/.studio-recovery/restore-done.json`. These helpers write a sample home, compare
homes, and wait for the agent's manifest and report.
"""

from __future__ import annotations

import json
import os
import stat
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
from botocore.exceptions import ClientError

from studio_sandbox.harness.scenario.base import ScenarioError

AGENT_STATE = ".studio-recovery"
"""The space agent's own directory in the home (never backed up, never compared)."""
RESTORE_REPORT = f"{AGENT_STATE}/restore-done.json"
NOT_DATA = (AGENT_STATE, "user-default-efs")
"""Top-level entries of a home that are not the user's data: the agent's state, and the
EFS mount of a private space (backed up by the EFS pipeline, not with the space)."""


@dataclass(frozen=True)
class SpaceEntry:
    """One file, directory or symlink of a space home, as a restore must bring it back."""

    kind: str  # "file" | "dir" | "link"
    mode: int
    content: bytes  # a file's bytes, a link's target, b"" for a directory


def space_backup_prefix(domain_id: str, space_name: str, owner: str | None) -> str:
    """Where the agent keeps a space's backups in the bucket."""
    if owner is None:
        return f"spaces/shared/{domain_id}/{space_name}/"
    return f"spaces/private/{owner}/{domain_id}/{space_name}/"


def write_space_home(home: Path) -> None:
    """A data scientist's work: notebooks in nested folders, binary data (5 MB), an
    executable, a private file, an empty file, a symlink, an empty directory."""
    (home / "notebooks" / "experiments" / "2026").mkdir(parents=True, exist_ok=True)
    (home / "notebooks" / "analysis.ipynb").write_text('{"cells": [{"source": "1 + 1"}]}\n')
    data = home / "notebooks" / "experiments" / "2026" / "features.parquet"
    data.write_bytes(os.urandom(5 * 1024 * 1024))
    train = home / "train.sh"
    train.write_text("#!/bin/sh\npython -m train\n")
    train.chmod(0o750)
    secret = home / ".env"
    secret.write_text("API_TOKEN=not-a-real-token\n")
    secret.chmod(0o600)
    (home / "notebooks" / "EMPTY").write_bytes(b"")
    (home / "latest.ipynb").symlink_to("notebooks/analysis.ipynb")
    (home / "scratch").mkdir(exist_ok=True)


def snapshot_space(home: Path) -> dict[str, SpaceEntry]:
    """Every entry below `home` but the agent's state and the EFS mount."""
    found: dict[str, SpaceEntry] = {}
    for path in sorted(home.rglob("*")):
        relative = path.relative_to(home).as_posix()
        if relative.split("/", 1)[0] in NOT_DATA:
            continue
        info = path.lstat()
        mode = stat.S_IMODE(info.st_mode)
        if stat.S_ISLNK(info.st_mode):
            found[relative] = SpaceEntry("link", 0, os.readlink(path).encode())
        elif stat.S_ISDIR(info.st_mode):
            found[relative] = SpaceEntry("dir", mode, b"")
        elif stat.S_ISREG(info.st_mode):
            found[relative] = SpaceEntry("file", mode, path.read_bytes())
    return found


def compare_space(
    before: dict[str, SpaceEntry], home: Path, kept: dict[str, bytes] | None = None
) -> list[str]:
    """What differs between `before` and the home now: a missing or changed entry, a
    mode, an entry that should not be there; `kept` names files the user wrote first,
    which must keep their own content."""
    kept = kept or {}
    after = snapshot_space(home)
    problems: list[str] = []
    for relative, entry in before.items():
        if relative in kept:
            continue
        found = after.get(relative)
        if found is None:
            problems.append(f"{relative}: missing")
        elif found.kind != entry.kind:
            problems.append(f"{relative}: a {found.kind}, was a {entry.kind}")
        elif found.content != entry.content:
            problems.append(f"{relative}: content differs")
        elif found.mode != entry.mode:
            problems.append(f"{relative}: mode {found.mode:o}, was {entry.mode:o}")
    for relative, content in kept.items():
        found = after.get(relative)
        if found is None or found.content != content:
            problems.append(f"{relative}: the user's own file was not kept")
    parents = {str(Path(r).parent) for r in kept}
    extra = sorted(set(after) - set(before) - set(kept) - parents)
    problems.extend(f"{relative}: not in the backed-up home" for relative in extra)
    return problems


def wait_until(what: str, check: Callable[[], Any], timeout: float = 120.0) -> Any:
    """Poll `check` until it returns something true; ScenarioError after `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise ScenarioError(f"{what}: not after {timeout:g} s")
        time.sleep(0.2)


def restore_report(home: Path) -> dict[str, Any] | None:
    """The agent's restore report in the home, once the restore has ended."""
    path = home / RESTORE_REPORT
    try:
        found: dict[str, Any] = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return found


def backup_manifest(endpoint: str, bucket: str, prefix: str) -> dict[str, Any] | None:
    """The space's latest backup manifest in the bucket (the operator's view)."""
    s3: Any = boto3.client("s3", endpoint_url=endpoint)
    try:
        body = s3.get_object(Bucket=bucket, Key=prefix + "manifest.json")["Body"].read()
    except ClientError:
        return None
    found: dict[str, Any] = json.loads(body)
    return found
