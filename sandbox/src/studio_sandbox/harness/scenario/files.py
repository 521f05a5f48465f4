"""Files in a home: sample trees written as their owner, snapshots, restored-tree comparison."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from studio_sandbox import posix
from studio_sandbox.harness.scenario.studio import Home

# --------------------------------------------------------------------------- files


@dataclass(frozen=True)
class FileRecord:
    """What a restore must keep of one entry: content digest, mode, link target."""

    kind: Literal["file", "dir", "symlink"]
    mode: int
    size: int
    content: bytes | None
    link: str | None


def write_sample_home(home: Home, *, big_file_mb: int = 10) -> None:
    """The demo's files: nested dirs, a symlink, an empty file, a big file, a private file."""
    root = home.path
    files = {
        "notebooks/analysis.ipynb": b'{"cells": [], "nbformat": 4}\n',
        "notebooks/experiments/2026/run-01/metrics.csv": b"epoch,loss\n1,0.93\n2,0.71\n",
        "data/empty.txt": b"",
        f"data/{home.name}.txt": f"i do not want to lose this file ({home.name})\n".encode(),
        "data/weights.bin": os.urandom(big_file_mb * 1024 * 1024),
        ".ssh/id_ed25519": b"-----BEGIN OPENSSH PRIVATE KEY-----\nsandbox\n",
    }
    for rel, data in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    (root / "latest-run").symlink_to("notebooks/experiments/2026/run-01")
    os.chmod(root / ".ssh", 0o700)
    os.chmod(root / ".ssh/id_ed25519", 0o600)
    os.chmod(root / "notebooks/experiments/2026/run-01/metrics.csv", 0o640)
    for path in walk(root):
        posix.set_owner(path, home.uid, 100)


def write_as_owner(home: Home, rel_path: str, data: bytes) -> Path:
    """Write a file as the home's owner would from Studio: new directories are theirs too."""
    path = home.path / rel_path
    missing = [p for p in path.parents if home.path in p.parents and not p.exists()]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    for created in [*missing, path]:
        if created.exists():
            posix.set_owner(created, home.uid, 100)
    return path


def walk(root: Path) -> Iterator[Path]:
    for dirpath, dirnames, filenames in os.walk(root):
        for name in sorted(dirnames + filenames):
            path = Path(dirpath) / name
            if not posix.is_sidecar(path):
                yield path


def snapshot(root: Path) -> dict[str, FileRecord]:
    """Every entry under `root`, relative, with what a restore must preserve."""
    records: dict[str, FileRecord] = {}
    for path in walk(root):
        rel = path.relative_to(root).as_posix()
        if path.is_symlink():
            records[rel] = FileRecord("symlink", 0, 0, None, os.readlink(path))
        elif path.is_dir():
            records[rel] = FileRecord("dir", posix.stat_mode(path), 0, None, None)
        else:
            data = path.read_bytes()
            records[rel] = FileRecord("file", posix.stat_mode(path), len(data), data, None)
    return records


def compare_restored(
    before: dict[str, FileRecord], home: Home, *, kept: dict[str, bytes] | None = None
) -> list[str]:
    """Mismatches between the old home's snapshot and the new home (empty list: all good).

    Every old entry must be in the new home, byte for byte with its permissions, owned by the
    new uid; entries named in `kept` are files the new owner wrote first and must keep.
    """
    kept = kept or {}
    problems: list[str] = []
    for rel, old in sorted(before.items()):
        path = home.path / rel
        if rel in kept:
            if path.read_bytes() != kept[rel]:
                problems.append(f"{rel}: the new owner's file was overwritten")
            continue
        if not path.exists() and not path.is_symlink():
            problems.append(f"{rel}: missing")
            continue
        if old.kind == "symlink":
            if not path.is_symlink() or os.readlink(path) != old.link:
                problems.append(f"{rel}: symlink not restored as a symlink to {old.link}")
            continue
        if old.kind == "file" and path.read_bytes() != old.content:
            problems.append(f"{rel}: content differs")
        if posix.stat_mode(path) != old.mode:
            problems.append(f"{rel}: mode {posix.stat_mode(path):o}, expected {old.mode:o}")
        uid, _gid = posix.stat_owner(path)
        if uid != home.uid:
            problems.append(f"{rel}: owned by {uid}, expected the new uid {home.uid}")
    return problems


def write_small_home(home: Home, files: int = 3) -> None:
    """A few small files owned by the home's uid (for runs with many profiles)."""
    for index in range(files):
        path = home.path / "work" / f"file-{index}.txt"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(f"{home.name} file {index}\n".encode())
    for path in walk(home.path):
        posix.set_owner(path, home.uid, 100)
