"""Issue 14 items 2, 3 and 5 end to end: "restored" decided from the DataSync task report.

- a copy that misses files is PARTIAL with the missing list, never SUCCEEDED;
- each conflict shape keeps the user's version, restores the rest and is named in the
  registry, `history` and the SNS message;
- hard links stay hard links; modes, mtimes, symlinks, unicode and long names stay.

Every file is checked byte for byte with owner and mode (`compare_restored`).
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from typing import Any

from studio_sandbox import posix
from studio_sandbox.datasync import models as datasync_models
from studio_sandbox.harness.scenario import (
    TERMINAL_STATUSES,
    FileRecord,
    Home,
    compare_restored,
    snapshot,
)

from tests.e2e.conftest import Deployed
from tests.e2e.flows import Seeded, new_domain, recreate, seed, wait_restore

MISSING = "notebooks/experiments/2026/run-01/metrics.csv"


def _history(
    deployed: Deployed, domain: str, name: str
) -> tuple[str, dict[str, object]]:
    code, text = deployed.admin("history", "--domain", domain, "--user", name)
    assert code == 0, text
    code, raw = deployed.admin("--json", "history", "--domain", domain, "--user", name)
    assert code == 0, raw
    return text, json.loads(raw)


def _as_user(home: Home, *paths: str) -> None:
    for rel in paths:
        posix.set_owner(home.path / rel, home.uid, 100)


def _runs_into(
    deployed: Deployed, domain: str, name: str, count: int, timeout: float = 240
) -> list[dict[str, Any]]:
    """The restore items into generation 2 once `count` of them have ended, oldest first."""
    deadline = time.monotonic() + timeout
    while True:
        runs = [
            item
            for item in deployed.registry.restores(domain, "user", name)
            if int((item.get("target") or {}).get("generation", -1)) == 2
        ]
        ended = [item for item in runs if item.get("status") in TERMINAL_STATUSES]
        if len(ended) >= count:
            return sorted(ended, key=lambda item: str(item["started_at"]))
        assert time.monotonic() < deadline, (
            f"{len(ended)} of {count} runs ended: {runs}"
        )
        time.sleep(0.5)


def test_a_copy_that_misses_a_file_is_partial_with_the_list(
    deployed: Deployed, unique: Callable[[str], str]
) -> None:
    domain = unique("partial")
    seeded = seed(deployed, domain, new_domain(deployed, domain), "user", "erin")
    datasync_models.faults.fail_paths = (
        MISSING,
    )  # an I/O error on this file, every run

    home = recreate(deployed, seeded)

    # The step runs again once by itself; the file fails again, so the restore is PARTIAL.
    first, item = _runs_into(deployed, domain, "erin", 2)
    assert first["status"] == "PARTIAL" and "runs again" in first["reason"], first
    assert item["restore_id"] in first["reason"]
    assert deployed.execution_status(str(first["execution_arn"])) == "SUCCEEDED"
    assert item["status"] == "PARTIAL", item
    assert item["missing_paths"] == [f"/{MISSING}"]
    assert int(item["missing_count"]) == 1
    assert (
        "1 of " in item["reason"]
        and "entries missing from the new home" in item["reason"]
    )
    assert deployed.execution_status(str(item["execution_arn"])) == "FAILED"
    time.sleep(2)  # no third run is started
    assert len(_runs_into(deployed, domain, "erin", 2)) == 2
    profile = deployed.registry.profile(domain, "user", "erin")
    assert profile is not None and profile["replication_status"] == "PARTIAL"
    assert int(profile["missing_count"]) == 1
    # Everything else is in the new home, byte for byte, mode and owner.
    rest = {rel: record for rel, record in seeded.before.items() if rel != MISSING}
    assert compare_restored(rest, home) == []
    assert not (home.path / MISSING).exists()
    message = deployed.notifications.wait_for(domain, "erin", "PARTIAL")
    assert f"/{MISSING}" in message and "Missing from the new home (1)" in message
    text, data = _history(deployed, domain, "erin")
    assert "PARTIAL" in text and f"/{MISSING}" in text
    restores = data["restores"]
    assert isinstance(restores, list)
    assert restores[-1]["missing_paths"] == [f"/{MISSING}"]
    assert deployed.leftovers() == {"tasks": [], "locations": [], "access_points": []}


def test_a_transient_miss_is_completed_by_the_automatic_retry(
    deployed: Deployed, unique: Callable[[str], str]
) -> None:
    domain = unique("retry")
    seeded = seed(deployed, domain, new_domain(deployed, domain), "user", "finn")
    # an I/O error on this file in the first run only
    datasync_models.faults.fail_paths = (MISSING,)
    datasync_models.faults.fail_paths_runs = 1

    home = recreate(deployed, seeded)

    first, retry = _runs_into(deployed, domain, "finn", 2)
    assert first["status"] == "PARTIAL" and first["missing_paths"] == [f"/{MISSING}"]
    assert retry["restore_id"] in first["reason"]
    assert retry["status"] == "SUCCEEDED", retry
    assert int(retry["missing_count"]) == 0
    assert deployed.execution_status(str(first["execution_arn"])) == "SUCCEEDED"
    assert deployed.execution_status(str(retry["execution_arn"])) == "SUCCEEDED"
    profile = deployed.registry.profile(domain, "user", "finn")
    assert profile is not None and profile["replication_status"] == "SUCCEEDED"
    assert int(profile.get("missing_count", 0)) == 0
    # every file, the one that failed first included, byte for byte with owner and mode
    assert compare_restored(seeded.before, home) == []
    assert deployed.leftovers() == {"tasks": [], "locations": [], "access_points": []}


def test_each_conflict_keeps_the_users_version_and_is_named(
    deployed: Deployed, unique: Callable[[str], str]
) -> None:
    domain = unique("conflict")
    seeded = seed(deployed, domain, new_domain(deployed, domain), "user", "finn")
    # The three shapes, in the old home's terms: "notebooks" is a directory, the user will
    # make it a file; "data/weights.bin" is a file, the user makes it a directory;
    # "data/finn.txt" is a file, the user writes their own.
    datasync_models.faults.phase_delay = 1.0  # time for the user to write first
    home = recreate(deployed, seeded)
    (home.path / "notebooks").write_bytes(b"finn's own notes file\n")
    (home.path / "data/weights.bin").mkdir(parents=True)
    (home.path / "data/weights.bin/mine.txt").write_bytes(b"finn's directory\n")
    (home.path / "data/finn.txt").write_bytes(b"finn wrote this first\n")
    _as_user(home, "notebooks", "data", "data/weights.bin", "data/weights.bin/mine.txt")
    _as_user(home, "data/finn.txt")

    rest = _without(seeded.before, "notebooks", "data/weights.bin")
    item = assert_restored(
        deployed,
        domain,
        "finn",
        rest,
        home,
        kept={"data/finn.txt": b"finn wrote this first\n"},
    )

    assert (home.path / "notebooks").read_bytes() == b"finn's own notes file\n"
    assert (
        home.path / "data/weights.bin/mine.txt"
    ).read_bytes() == b"finn's directory\n"
    conflicts = {c["path"]: c for c in item["conflicts"]}
    assert set(conflicts) == {"/notebooks", "/data/weights.bin", "/data/finn.txt"}
    assert conflicts["/notebooks"]["kind"] == "file-over-directory"
    assert int(conflicts["/notebooks"]["blocked"]) == _count_under(
        seeded.before, "notebooks"
    )
    assert conflicts["/data/weights.bin"]["kind"] == "directory-over-file"
    assert conflicts["/data/finn.txt"]["kind"] == "changed-file"
    assert int(item["conflict_count"]) == 3 and int(item["missing_count"]) == 0
    message = deployed.notifications.wait_for(domain, "finn", "/data/weights.bin")
    for path in conflicts:
        assert path in message
    text, _ = _history(deployed, domain, "finn")
    assert "3 conflicts" in text
    for path in conflicts:
        assert path in text


def test_hard_links_unicode_long_names_and_times_survive(
    deployed: Deployed, unique: Callable[[str], str]
) -> None:
    domain = unique("links")
    domain_id = new_domain(deployed, domain)
    deployed.studio.create(domain_id, "user", "gail")
    old = deployed.studio.open_app(domain_id, "user", "gail")
    long_name = "n" * 200 + ".txt"
    files = {
        "shared/original.bin": b"one inode, two names\n",
        "données/été ☀.txt": "unicode content é\n".encode(),
        f"deep/{long_name}": b"a long name\n",
    }
    for rel, data in files.items():
        (old.path / rel).parent.mkdir(parents=True, exist_ok=True)
        (old.path / rel).write_bytes(data)
    os.link(old.path / "shared/original.bin", old.path / "shared/hard-link.bin")
    (old.path / "to-original").symlink_to("shared/original.bin")
    os.chmod(old.path / "shared/original.bin", 0o640)
    os.utime(old.path / "données/été ☀.txt", (1_600_000_000, 1_600_000_000))
    for path in [old.path / p for p in ("shared", "données", "deep", *files)]:
        posix.set_owner(path, old.uid, 100)
    posix.set_owner(old.path / "shared/hard-link.bin", old.uid, 100)
    posix.set_owner(old.path / "to-original", old.uid, 100)
    deployed.registry.wait_for_generation(domain, "user", "gail", 1)
    before = snapshot(old.path)
    home = recreate(deployed, Seeded(domain, domain_id, "user", "gail", old, before))

    item = assert_restored(deployed, domain, "gail", before, home)
    assert int(item["conflict_count"]) == 0
    one = os.stat(home.path / "shared/original.bin")
    two = os.stat(home.path / "shared/hard-link.bin")
    assert (one.st_dev, one.st_ino) == (two.st_dev, two.st_ino) and one.st_nlink == 2
    assert os.readlink(home.path / "to-original") == "shared/original.bin"
    assert int(os.stat(home.path / "données/été ☀.txt").st_mtime) == 1_600_000_000
    assert posix.stat_mode(home.path / "shared/hard-link.bin") == 0o640


def assert_restored(
    deployed: Deployed,
    domain: str,
    name: str,
    before: dict[str, FileRecord],
    home: Home,
    kept: dict[str, bytes] | None = None,
) -> dict[str, Any]:
    """SUCCEEDED (registry, profile row, execution), nothing missing, every entry of
    `before` in the new home byte for byte with mode and owner, nothing left behind."""
    item = wait_restore(deployed, domain, "user", name, 2, timeout=180)
    assert item["status"] == "SUCCEEDED", item
    assert int(item["missing_count"]) == 0 and item["missing_paths"] == []
    assert deployed.execution_status(str(item["execution_arn"])) == "SUCCEEDED"
    profile = deployed.registry.profile(domain, "user", name)
    assert profile is not None and profile["replication_status"] == "SUCCEEDED"
    assert compare_restored(before, home, kept=kept) == []
    assert deployed.leftovers() == {"tasks": [], "locations": [], "access_points": []}
    return item


def _without(before: dict[str, FileRecord], *roots: str) -> dict[str, FileRecord]:
    return {
        rel: record
        for rel, record in before.items()
        if not any(rel == root or rel.startswith(root + "/") for root in roots)
    }


def _count_under(before: dict[str, FileRecord], root: str) -> int:
    return sum(1 for rel in before if rel.startswith(root + "/"))
