"""The space agent's logic (modules/space_backup/agent/space_agent.py) on an in-memory store:
incremental backups, restores that never overwrite, reports, markers, the final backup."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import stat
import threading
from pathlib import Path
from typing import IO, Any

import pytest

from tests.space_agent import load_agent

AGENT_PATH = (
    Path(__file__).parents[2] / "modules" / "space_backup" / "agent" / "space_agent.py"
)


agent = load_agent()
ALICE = agent.Space("d-abc123", "notebooks", "alice")


class MemoryStore:
    """Versioned objects in memory, with the calls counted."""

    def __init__(self) -> None:
        self.versions: dict[str, list[tuple[str, bytes]]] = {}
        self.current: dict[
            str, str | None
        ] = {}  # key -> current version id (None: deleted)
        self.puts: list[str] = []
        self.fail_download: set[str] = set()
        self.corrupt: set[str] = set()

    def _put(self, key: str, data: bytes) -> str:
        version = f"v{sum(len(v) for v in self.versions.values()) + 1}"
        self.versions.setdefault(key, []).append((version, data))
        self.current[key] = version
        self.puts.append(key)
        return version

    def get_json(self, key: str, version_id: str | None = None) -> Any | None:
        if version_id is not None:
            return json.loads(dict(self.versions[key])[version_id])  # KeyError: no such
        version = self.current.get(key)
        if version is None:
            return None
        return json.loads(dict(self.versions[key])[version])

    def put_json(self, key: str, value: Any) -> str:
        return self._put(key, json.dumps(value).encode())

    def put_file(self, key: str, body: IO[bytes], length: int) -> str:
        data = body.read()
        assert len(data) == length
        return self._put(key, data)

    def download(self, key: str, version_id: str | None, out: Any) -> None:
        if key in self.fail_download:
            raise OSError("connection reset")
        data = dict(self.versions[key])[version_id or self.current[key]]
        out.write(data + b"x" if key in self.corrupt else data)

    def delete(self, key: str) -> None:
        self.current[key] = None

    def reports(self, space: Any) -> list[dict[str, Any]]:
        prefix = space.prefix + "restores/"
        return [self.get_json(k) for k in sorted(self.current) if k.startswith(prefix)]


def write(
    home: Path, rel: str, data: bytes, mode: int = 0o644, mtime: int = 1_600_000_000
) -> Path:
    path = home / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    path.chmod(mode)
    os.utime(path, (mtime, mtime))
    return path


def tree(home: Path) -> dict[str, tuple[bytes | str, int, int]]:
    """Every file and link under home (state dir aside): content or target, mode, mtime."""
    out: dict[str, tuple[bytes | str, int, int]] = {}
    for path in sorted(home.rglob("*")):
        rel = path.relative_to(home).as_posix()
        if rel.startswith(agent.STATE_DIR):
            continue
        st = path.lstat()
        if stat.S_ISLNK(st.st_mode):
            out[rel] = (os.readlink(path), 0, 0)
        elif stat.S_ISREG(st.st_mode):
            out[rel] = (path.read_bytes(), stat.S_IMODE(st.st_mode), st.st_mtime_ns)
    return out


@pytest.fixture
def store() -> MemoryStore:
    return MemoryStore()


def test_space_prefixes_put_the_owner_in_a_fixed_segment() -> None:
    assert ALICE.prefix == "spaces/private/alice/d-abc123/notebooks/"
    assert agent.Space("d-1", "team", None).prefix == "spaces/shared/d-1/team/"
    with pytest.raises(ValueError, match="not a space name"):
        ALICE.renamed("../bob")


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("project/node_modules/x.js", True),
        (".cache/pip/wheel", True),
        (".conda/envs/py/lib/a.py", True),
        (".conda/pkgs.txt", False),
        ("user-default-efs/data.csv", True),
        (".studio-recovery/agent.lock", True),
        ("src/cache.py", False),
        ("notebooks/a.ipynb", False),
    ],
)
def test_exclusions_match_components_and_paths(path: str, expected: bool) -> None:
    assert agent.excluded(path, ["node_modules", ".cache", ".conda/envs"]) is expected


def test_backup_then_restore_brings_back_bytes_modes_mtimes_and_links(
    tmp_path: Path, store: MemoryStore
) -> None:
    # given a home with files, an executable, an empty directory, a link and a cache
    old, new = tmp_path / "old", tmp_path / "new"
    write(old, "notebooks/a.ipynb", b'{"cells": []}')
    write(old, "bin/run.sh", b"#!/bin/sh\necho hi\n", mode=0o755, mtime=1_500_000_000)
    write(old, "data/blob.bin", os.urandom(200_000), mode=0o600)
    (old / "empty").mkdir()
    (old / "latest").symlink_to("notebooks/a.ipynb")
    write(old, ".cache/pip/huge.whl", b"rebuildable")
    # when it is backed up and restored into an empty home
    agent.backup(store, ALICE, str(old), [".cache"], None)
    new.mkdir()
    report = agent.restore_once(store, ALICE, str(new))
    # then every file is back, byte for byte, with its mode and mtime, the cache is not
    expected = {k: v for k, v in tree(old).items() if not k.startswith(".cache")}
    assert tree(new) == expected
    assert (new / "empty").is_dir()
    assert report is not None
    assert report["status"] == "SUCCEEDED"
    assert report["files"] == 4
    assert report["bytes"] == sum(
        len(v[0]) for k, v in expected.items() if k != "latest"
    )
    assert store.reports(ALICE) == [report]
    assert (new / agent.STATE_DIR / agent.MARKER).exists()


def test_restore_never_overwrites_and_lists_what_it_kept(
    tmp_path: Path, store: MemoryStore
) -> None:
    old, new = tmp_path / "old", tmp_path / "new"
    write(old, "a.txt", b"from the backup")
    write(old, "b.txt", b"only in the backup")
    agent.backup(store, ALICE, str(old), [], None)
    write(new, "a.txt", b"the user's own, written first")
    report = agent.restore_once(store, ALICE, str(new))
    assert (new / "a.txt").read_bytes() == b"the user's own, written first"
    assert (new / "b.txt").read_bytes() == b"only in the backup"
    assert report is not None
    assert report["status"] == "SUCCEEDED"
    assert report["kept"] == ["a.txt"]
    assert report["files"] == 1


def test_a_file_appearing_during_the_download_is_kept(
    tmp_path: Path, store: MemoryStore
) -> None:
    old, new = tmp_path / "old", tmp_path / "new"
    write(old, "race.txt", b"backup")
    agent.backup(store, ALICE, str(old), [], None)
    new.mkdir()
    real_download = store.download

    def user_writes_meanwhile(key: str, version_id: str | None, out: Any) -> None:
        (new / "race.txt").write_bytes(b"user")
        real_download(key, version_id, out)

    store.download = user_writes_meanwhile  # type: ignore[method-assign]
    report = agent.restore_once(store, ALICE, str(new))
    assert (new / "race.txt").read_bytes() == b"user"
    assert report is not None
    assert report["kept"] == ["race.txt"]
    assert not [p for p in new.iterdir() if "studio-recovery-" in p.name]


def test_a_corrupt_or_failed_download_is_partial_and_retried(
    tmp_path: Path, store: MemoryStore
) -> None:
    old, new = tmp_path / "old", tmp_path / "new"
    write(old, "good.txt", b"good")
    write(old, "bad.txt", b"bad")
    write(old, "lost.txt", b"lost")
    agent.backup(store, ALICE, str(old), [], None)
    store.corrupt.add(ALICE.prefix + "files/bad.txt")
    store.fail_download.add(ALICE.prefix + "files/lost.txt")
    new.mkdir()
    first = agent.restore_once(store, ALICE, str(new))
    assert first is not None
    assert first["status"] == "PARTIAL"
    assert sorted(m["path"] for m in first["missing"]) == ["bad.txt", "lost.txt"]
    assert not (new / "bad.txt").exists()
    assert not (new / agent.STATE_DIR / agent.MARKER).exists()
    # the next attempt (next interval or next start) adds only what is missing
    store.corrupt.clear()
    store.fail_download.clear()
    second = agent.restore_once(store, ALICE, str(new))
    assert second is not None
    assert second["status"] == "SUCCEEDED"
    assert second["files"] == 2
    assert second["kept"] == ["good.txt"]
    assert tree(new) == tree(old)
    assert agent.restore_once(store, ALICE, str(new)) is None  # marker: done


def test_no_backup_is_nothing_to_restore_and_marks_the_space(
    tmp_path: Path, store: MemoryStore
) -> None:
    report = agent.restore_once(store, ALICE, str(tmp_path))
    assert report is not None
    assert report["status"] == "NOTHING_TO_RESTORE"
    assert agent.restore_once(store, ALICE, str(tmp_path)) is None


def test_an_admin_mapping_restores_the_earlier_space_of_the_same_owner(
    tmp_path: Path, store: MemoryStore
) -> None:
    old, new = tmp_path / "old", tmp_path / "new"
    write(old, "work.py", b"print(1)\n")
    agent.backup(store, ALICE, str(old), [], None)
    renamed = agent.Space("d-abc123", "notebooks-2", "alice")
    store.put_json(renamed.prefix + "restore-source.json", {"space_name": "notebooks"})
    new.mkdir()
    report = agent.restore_once(store, renamed, str(new))
    assert report is not None
    assert report["source_prefix"] == ALICE.prefix
    assert (new / "work.py").read_bytes() == b"print(1)\n"
    assert store.reports(renamed) == [report]


def test_manifest_paths_that_leave_the_home_are_refused(
    tmp_path: Path, store: MemoryStore
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    home = tmp_path / "home"
    home.mkdir()
    (home / "escape").symlink_to(outside)
    data = b"x"
    sha = hashlib.sha256(data).hexdigest()
    entry = {"type": "file", "mode": 0o644, "mtime_ns": 0, "size": 1, "sha256": sha}
    for rel in ("../evil", "escape/evil", "/etc/evil"):
        store._put(ALICE.prefix + "files/" + rel, data)
    store.put_json(
        ALICE.prefix + "manifest.json",
        {"entries": {"../evil": entry, "escape/evil": entry, "/etc/evil": entry}},
    )
    report = agent.restore_once(store, ALICE, str(home))
    assert report is not None
    assert report["status"] == "PARTIAL"
    assert {m["reason"] for m in report["missing"]} == {"path outside the home"}
    assert list(outside.iterdir()) == []


def test_backups_are_incremental_and_removed_files_leave_the_current_view(
    tmp_path: Path, store: MemoryStore
) -> None:
    home = tmp_path / "home"
    write(home, "a.txt", b"a")
    write(home, "b.txt", b"b")
    first = agent.backup(store, ALICE, str(home), [], None)
    assert first.uploaded == 2
    store.puts.clear()
    write(home, "a.txt", b"a changed", mtime=1_700_000_000)
    (home / "b.txt").unlink()
    second = agent.backup(store, ALICE, str(home), [], first.manifest)
    assert store.puts == [ALICE.prefix + "files/a.txt", ALICE.prefix + "manifest.json"]
    assert second.deleted == 1
    assert store.current[ALICE.prefix + "files/b.txt"] is None
    assert sorted(second.manifest["entries"]) == ["a.txt"]


def test_the_agent_backs_up_only_after_the_restore_completed(
    tmp_path: Path, store: MemoryStore
) -> None:
    old, new = tmp_path / "old", tmp_path / "new"
    write(old, "keep.txt", b"precious")
    agent.backup(store, ALICE, str(old), [], None)
    manifest_before = store.get_json(ALICE.prefix + "manifest.json")
    store.fail_download.add(ALICE.prefix + "files/keep.txt")
    new.mkdir()
    a = agent.Agent(store, ALICE, str(new), [])
    a.tick()
    assert not a.restored
    assert store.get_json(ALICE.prefix + "manifest.json") == manifest_before
    store.fail_download.clear()
    a.tick()
    assert a.restored
    assert (new / "keep.txt").read_bytes() == b"precious"
    assert (
        store.get_json(ALICE.prefix + "manifest.json")["entries"]["keep.txt"]["type"]
        == "file"
    )


def _request(
    store: MemoryStore, version_id: str, request_id: str = "r1"
) -> dict[str, Any]:
    """What `studio-recovery restore` writes (CLI side: tests/integration)."""
    request = {"request_id": request_id, "manifest_version_id": version_id}
    store.put_json(ALICE.prefix + agent.REQUEST, request)
    return request


def test_an_admin_request_restores_the_chosen_backup_into_the_running_space(
    tmp_path: Path, store: MemoryStore
) -> None:
    home = tmp_path / "home"
    home.mkdir()
    a = agent.Agent(store, ALICE, str(home), [])
    a.tick()  # first start: nothing to restore, then a backup of the empty home
    write(home, "notes.txt", b"monday")
    write(home, "data.csv", b"1,2")
    a.tick()
    monday = store.current[ALICE.prefix + "manifest.json"]
    write(home, "notes.txt", b"tuesday", mtime=1_600_000_100)
    (home / "data.csv").unlink()
    a.tick()
    _request(store, monday)

    a.tick()

    # the deleted file is back; the user's newer notes.txt is kept, never overwritten
    assert (home / "data.csv").read_bytes() == b"1,2"
    assert (home / "notes.txt").read_bytes() == b"tuesday"
    report = store.reports(ALICE)[-1]
    assert report["status"] == "SUCCEEDED"
    assert (report["manifest_version_id"], report["request_id"]) == (monday, "r1")
    assert (report["files"], report["kept"]) == (1, ["notes.txt"])
    assert store.get_json(ALICE.prefix + agent.REQUEST) is None  # served once
    reports = len(store.reports(ALICE))
    a.tick()
    assert len(store.reports(ALICE)) == reports
    # and the backup after it holds the restored file again
    assert "data.csv" in store.get_json(ALICE.prefix + "manifest.json")["entries"]


def test_a_request_before_the_first_start_replaces_the_latest_backup(
    tmp_path: Path, store: MemoryStore
) -> None:
    old, new = tmp_path / "old", tmp_path / "new"
    write(old, "a.txt", b"old a")
    agent.backup(store, ALICE, str(old), [], None)
    first = store.current[ALICE.prefix + "manifest.json"]
    write(old, "a.txt", b"newer a", mtime=1_600_000_100)
    agent.backup(store, ALICE, str(old), [], None)
    _request(store, first)
    new.mkdir()

    a = agent.Agent(store, ALICE, str(new), [])
    a.tick()

    assert (new / "a.txt").read_bytes() == b"old a"
    assert a.restored
    (report,) = store.reports(ALICE)
    assert report["manifest_version_id"] == first
    assert store.get_json(ALICE.prefix + agent.REQUEST) is None


def test_a_failed_requested_restore_is_reported_and_retried(
    tmp_path: Path, store: MemoryStore
) -> None:
    old, new = tmp_path / "old", tmp_path / "new"
    write(old, "a.txt", b"a")
    agent.backup(store, ALICE, str(old), [], None)
    version = store.current[ALICE.prefix + "manifest.json"]
    new.mkdir()
    a = agent.Agent(store, ALICE, str(new), [])
    (new / "a.txt").write_bytes(b"mine")
    a.tick()  # first start: a.txt kept
    (new / "a.txt").unlink()
    request = _request(store, version)
    store.fail_download.add(ALICE.prefix + "files/a.txt")

    a.tick()

    assert store.reports(ALICE)[-1]["status"] == "PARTIAL"
    assert store.get_json(ALICE.prefix + agent.REQUEST) == request  # still pending
    store.fail_download.clear()
    a.tick()
    assert (new / "a.txt").read_bytes() == b"a"
    assert store.reports(ALICE)[-1]["status"] == "SUCCEEDED"
    assert store.get_json(ALICE.prefix + agent.REQUEST) is None


def test_a_request_replaced_meanwhile_is_not_removed(
    tmp_path: Path, store: MemoryStore
) -> None:
    home = tmp_path / "home"
    write(home, "a.txt", b"a")
    agent.backup(store, ALICE, str(home), [], None)
    version = store.current[ALICE.prefix + "manifest.json"]
    served = _request(store, version, "r1")
    newer = _request(store, version, "r2")

    agent.restore_once(store, ALICE, str(home), served)

    assert store.get_json(ALICE.prefix + agent.REQUEST) == newer


def test_sigterm_runs_one_final_backup_and_stops(
    tmp_path: Path, store: MemoryStore
) -> None:
    home = tmp_path / "home"
    home.mkdir()
    a = agent.Agent(store, ALICE, str(home), [])
    done = threading.Event()

    def run() -> None:
        a.run(interval=3600)
        done.set()

    # signal handlers can only be installed in the main thread: run there, signal from a timer
    def later() -> None:
        write(home, "last.txt", b"written just before the shutdown")
        os.kill(os.getpid(), signal.SIGTERM)

    previous = signal.getsignal(signal.SIGTERM)
    timer = threading.Timer(0.3, later)
    timer.start()
    try:
        run()
    finally:
        signal.signal(signal.SIGTERM, previous)
        signal.signal(signal.SIGINT, signal.default_int_handler)
    assert done.is_set()
    manifest = store.get_json(ALICE.prefix + "manifest.json")
    assert "last.txt" in manifest["entries"]


def test_read_space_uses_the_metadata_file_and_describe_space(tmp_path: Path) -> None:
    metadata = tmp_path / "resource-metadata.json"
    metadata.write_text(
        json.dumps({"DomainId": "d-1", "SpaceName": "s", "AppType": "JupyterLab"})
    )
    calls: list[dict[str, str]] = []

    def describe(**kwargs: str) -> dict[str, Any]:
        calls.append(kwargs)
        return {
            "SpaceSharingSettings": {"SharingType": "Private"},
            "OwnershipSettings": {"OwnerUserProfileName": "bob"},
        }

    assert agent.read_space(str(metadata), describe) == agent.Space("d-1", "s", "bob")
    assert calls == [{"DomainId": "d-1", "SpaceName": "s"}]

    def shared(**_: str) -> dict[str, Any]:
        return {
            "SpaceSharingSettings": {"SharingType": "Shared"},
            "OwnershipSettings": {"OwnerUserProfileName": "bob"},
        }

    assert agent.read_space(str(metadata), shared).owner is None


@pytest.mark.parametrize("owner", ["alice", None])
def test_the_agent_and_the_library_agree_on_the_bucket_layout(
    owner: str | None,
) -> None:
    from studio_recovery.logic.space_backups import SpaceRef

    space = agent.Space("d-1", "s", owner)
    ref = SpaceRef("d-1", "s", owner)
    assert ref.prefix == space.prefix
    assert ref.manifest_key == space.prefix + "manifest.json"
    assert ref.mapping_key == space.prefix + "restore-source.json"
    assert ref.restores_prefix == space.prefix + "restores/"
    assert ref.request_key == space.prefix + agent.REQUEST


def test_with_lifecycle_config_is_idempotent_and_never_replaces_another_default() -> (
    None
):
    from studio_recovery.logic.space_backups import with_lifecycle_config

    arns = {"JupyterLab": "arn:jl", "CodeEditor": "arn:ce"}
    first, notes = with_lifecycle_config({}, arns)
    again, _ = with_lifecycle_config(first, arns)
    assert first == again
    assert notes == []
    assert (
        first["JupyterLabAppSettings"]["DefaultResourceSpec"]["LifecycleConfigArn"]
        == "arn:jl"
    )
    theirs = {
        "JupyterLabAppSettings": {
            "DefaultResourceSpec": {"LifecycleConfigArn": "arn:x"}
        }
    }
    kept, notes = with_lifecycle_config(theirs, {"JupyterLab": "arn:jl"})
    assert (
        kept["JupyterLabAppSettings"]["DefaultResourceSpec"]["LifecycleConfigArn"]
        == "arn:x"
    )
    assert kept["JupyterLabAppSettings"]["LifecycleConfigArns"] == ["arn:jl"]
    assert len(notes) == 1
