"""POSIX ownership and permissions for the sandbox's EFS directories.

On EFS, every file has a numeric owner (uid:gid) and mode bits, and SageMaker Studio relies
on them: a home directory belongs to the profile's uid. The sandbox reproduces that with
real `chown`/`chmod` when it runs as root. When it does not, it cannot give a file away, so
it records the owner (and the mode, which must stay readable by the sandbox itself) in a
sidecar file, `.sandbox-owners.json`, at the root of each file system, keyed by the path
relative to that root. :func:`stat_owner` and :func:`stat_mode` read either source, so tests
and the demo check "owned by the new uid" the same way in both cases.

The sidecar is sandbox bookkeeping, not data: :func:`is_sidecar` tells copies to skip it.
"""

from __future__ import annotations

import json
import os
import stat
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypedDict

SIDECAR = ".sandbox-owners.json"

#: True when ownership is applied with real chown (the process is root). Tests may flip it
#: to exercise the sidecar store.
use_real_ownership: bool = hasattr(os, "geteuid") and os.geteuid() == 0

_lock = threading.RLock()
_cache: dict[Path, dict[str, _Entry]] = {}
_deferred: set[Path] = set()
_batch_depth = 0


class _Entry(TypedDict, total=False):
    uid: int
    gid: int
    mode: int


def is_sidecar(path: str | Path) -> bool:
    """True for the sidecar metadata file, which copies must leave out."""
    return Path(path).name.startswith(SIDECAR)


def init_root(root: Path) -> None:
    """Mark `root` as the top of a file system: its sidecar (if any) lives there."""
    root.mkdir(parents=True, exist_ok=True)
    sidecar = root / SIDECAR
    with _lock:
        if not sidecar.exists():
            _cache.pop(sidecar, None)  # a new file system must not inherit stale entries
            sidecar.write_text("{}", encoding="utf-8")


def forget_root(root: Path) -> None:
    """Drop the cached sidecar of a file system that is being removed."""
    with _lock:
        _cache.pop(root / SIDECAR, None)
        _deferred.discard(root / SIDECAR)


def set_owner(path: Path, uid: int, gid: int) -> None:
    """Make `path` (never followed if a symlink) belong to `uid:gid`."""
    if use_real_ownership:
        os.lchown(path, uid, gid)
        return
    _update(path, uid=uid, gid=gid)


def set_mode(path: Path, mode: int) -> None:
    """Give `path` the permission bits `mode` (symlinks have none: ignored)."""
    mode = stat.S_IMODE(mode)
    if path.is_symlink():
        return
    if use_real_ownership:
        os.chmod(path, mode)
        return
    # The sandbox must still read and traverse what it stores: keep owner rwx on disk,
    # remember the real bits in the sidecar.
    readable = mode | (stat.S_IRWXU if path.is_dir() else stat.S_IRUSR | stat.S_IWUSR)
    os.chmod(path, readable)
    _update(path, mode=mode)


def stat_owner(path: Path) -> tuple[int, int]:
    """The `(uid, gid)` that owns `path`, from the file system or the sidecar."""
    entry = _entry(path)
    info = os.lstat(path)
    return entry.get("uid", info.st_uid), entry.get("gid", info.st_gid)


def stat_mode(path: Path) -> int:
    """The permission bits of `path` (`0o700`, ...), from the file system or the sidecar."""
    entry = _entry(path)
    if "mode" in entry:
        return entry["mode"]
    return stat.S_IMODE(os.lstat(path).st_mode)


def forget(path: Path) -> None:
    """Drop the sidecar entries of `path` and everything under it (after deleting it)."""
    if use_real_ownership:
        return
    located = _locate(path)
    if located is None:
        return
    sidecar, key = located
    with _lock:
        entries = _load(sidecar)
        prefix = key + "/"
        for name in [k for k in entries if k == key or k.startswith(prefix)]:
            del entries[name]
        _save(sidecar)


@contextmanager
def batch() -> Iterator[None]:
    """Defer sidecar writes until the block ends (for copies of many files)."""
    global _batch_depth
    with _lock:
        _batch_depth += 1
    try:
        yield
    finally:
        with _lock:
            _batch_depth -= 1
            if _batch_depth == 0:
                for sidecar in list(_deferred):
                    _write(sidecar)
                _deferred.clear()


def _update(path: Path, **values: int) -> None:
    located = _locate(path)
    if located is None:
        raise FileNotFoundError(f"no sandbox file system above {path}")
    sidecar, key = located
    with _lock:
        entries = _load(sidecar)
        entry = entries.setdefault(key, {})
        entry.update(values)  # type: ignore[typeddict-item]
        _save(sidecar)


def _entry(path: Path) -> _Entry:
    if use_real_ownership:
        return {}
    located = _locate(path)
    if located is None:
        return {}
    sidecar, key = located
    with _lock:
        return dict(_load(sidecar).get(key, {}))  # type: ignore[return-value]


def _locate(path: Path) -> tuple[Path, str] | None:
    """The sidecar governing `path` and the key of `path` in it."""
    absolute = Path(os.path.abspath(path))
    for parent in [absolute, *absolute.parents]:
        sidecar = parent / SIDECAR
        if sidecar.is_file():
            relative = absolute.relative_to(parent).as_posix()
            return sidecar, "/" if relative == "." else "/" + relative
    return None


def _load(sidecar: Path) -> dict[str, _Entry]:
    if sidecar not in _cache:
        try:
            _cache[sidecar] = json.loads(sidecar.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            _cache[sidecar] = {}
    return _cache[sidecar]


def _save(sidecar: Path) -> None:
    if _batch_depth:
        _deferred.add(sidecar)
    else:
        _write(sidecar)


def _write(sidecar: Path) -> None:
    if not sidecar.parent.is_dir():
        _cache.pop(sidecar, None)
        return
    tmp = sidecar.with_name(sidecar.name + ".tmp")
    tmp.write_text(json.dumps(_cache.get(sidecar, {}), sort_keys=True), encoding="utf-8")
    tmp.replace(sidecar)
