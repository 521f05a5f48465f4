"""DataSync in the sandbox: reading a tree (entries, include/exclude filters, checksums)."""

from __future__ import annotations

import fnmatch
import hashlib
import os
import stat
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import BinaryIO

from studio_sandbox import posix
from studio_sandbox.datasync.models import (
    Entry,
)


def read_entry(path: Path, rel: str) -> Entry | None:
    info = os.lstat(path)
    uid, gid = posix.stat_owner(path)
    mode = posix.stat_mode(path)
    if stat.S_ISLNK(info.st_mode):
        kind, link = "symlink", os.readlink(path)
    elif stat.S_ISDIR(info.st_mode):
        kind, link = "dir", None
    elif stat.S_ISREG(info.st_mode):
        kind, link = "file", None
    else:
        return None  # devices, sockets, fifos: PreserveDevices NONE
    size = info.st_size if kind == "file" else 0
    inode = (info.st_dev, info.st_ino) if kind == "file" and info.st_nlink > 1 else None
    return Entry(rel, kind, size, mode, uid, gid, info.st_mtime_ns, info.st_atime_ns, link, inode)


def scan(root: Path, keep: Callable[[str, bool], bool]) -> dict[str, Entry]:
    """Every entry under `root` (root included), minus the sidecar and filtered paths."""
    found: dict[str, Entry] = {}
    top = read_entry(root, "")
    if top is None:
        return found
    found[""] = top
    for dirpath, dirnames, filenames in os.walk(root):
        base = Path(dirpath)
        rel_base = base.relative_to(root).as_posix()
        prefix = "" if rel_base == "." else rel_base + "/"
        kept_dirs = []
        for name in sorted(dirnames + filenames):
            if posix.is_sidecar(name):
                continue
            rel = prefix + name
            path = base / name
            is_dir = path.is_dir() and not path.is_symlink()
            if not keep(rel, is_dir):
                continue
            entry = read_entry(path, rel)
            if entry is not None:
                found[rel] = entry
                if entry.kind == "dir":
                    kept_dirs.append(name)
        dirnames[:] = kept_dirs
    return found


def path_filter(
    excludes: list[dict[str, str]], includes: list[dict[str, str]]
) -> Callable[[str, bool], bool]:
    def patterns(filters: list[dict[str, str]]) -> list[str]:
        return [p for f in filters for p in str(f.get("Value", "")).split("|") if p]

    exclude, include = patterns(excludes), patterns(includes)

    def matches(path: str, pats: Iterable[str]) -> bool:
        return any(
            fnmatch.fnmatchcase(path, p) or path.startswith(p.rstrip("*/") + "/") for p in pats
        )

    def keep(rel: str, is_dir: bool) -> bool:
        path = "/" + rel
        if matches(path, exclude):
            return False
        if include and not is_dir:
            return matches(path, include)
        return True

    return keep


def sha256(source: Path | BinaryIO) -> str:
    """The SHA-256 of a file, or of what is left to read in an open binary stream."""
    if isinstance(source, Path):
        with source.open("rb") as handle:
            return sha256(handle)
    digest = hashlib.sha256()
    for chunk in iter(lambda: source.read(1 << 20), b""):
        digest.update(chunk)
    return digest.hexdigest()
