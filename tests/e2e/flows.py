"""Steps the end-to-end scenarios share: seed a home, recreate it, check a restore."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from studio_sandbox.harness.scenario import (
    TERMINAL_STATUSES,
    BackupBucket,
    FileRecord,
    Home,
    Kind,
    ScheduleRun,
    backup_prefix_of,
    compare_backed_up,
    compare_restored,
    run_backup_schedule,
    snapshot,
    wait_for_schedule_run,
    write_sample_home,
)

from tests.e2e.conftest import Deployed

SAMPLE_MB = 1


@dataclass
class Seeded:
    """A profile or space whose first home holds the sample files."""

    domain_name: str
    domain_id: str
    kind: Kind
    name: str
    home: Home
    before: dict[str, FileRecord]


def new_domain(deployed: Deployed, name: str) -> str:
    """A domain, opened to DataSync as the admin must after each creation."""
    domain_id = deployed.studio.create_domain(name)
    deployed.open_efs(domain_id)
    return domain_id


def seed(
    deployed: Deployed, domain_name: str, domain_id: str, kind: Kind, name: str
) -> Seeded:
    """Create the profile, open Studio, write the sample files, wait for generation 1."""
    deployed.studio.create(domain_id, kind, name)
    home = deployed.studio.open_app(domain_id, kind, name)
    write_sample_home(home, big_file_mb=SAMPLE_MB)
    deployed.registry.wait_for_generation(domain_name, kind, name, 1)
    return Seeded(domain_name, domain_id, kind, name, home, snapshot(home.path))


def recreate(deployed: Deployed, seeded: Seeded, generation: int = 2) -> Home:
    """Delete the profile and create it again; Studio makes the new home."""
    deployed.studio.delete(seeded.domain_id, seeded.kind, seeded.name)
    deployed.studio.create(seeded.domain_id, seeded.kind, seeded.name)
    home = deployed.studio.open_app(seeded.domain_id, seeded.kind, seeded.name)
    deployed.registry.wait_for_generation(
        seeded.domain_name, seeded.kind, seeded.name, generation
    )
    return home


def assert_succeeded(
    deployed: Deployed,
    domain_name: str,
    kind: Kind,
    name: str,
    generation: int,
    before: dict[str, FileRecord],
    home: Home,
    *,
    kept: dict[str, bytes] | None = None,
    trigger: str | None = None,
    timeout: float = 180,
) -> dict[str, Any]:
    """The restore into `generation` succeeded, recorded, files right, nothing left over."""
    item = wait_restore(deployed, domain_name, kind, name, generation, trigger, timeout)
    assert item["status"] == "SUCCEEDED", item
    assert deployed.execution_status(str(item["execution_arn"])) == "SUCCEEDED"
    assert compare_restored(before, home, kept=kept) == []
    file_count = sum(1 for record in before.values() if record.kind == "file")
    assert int(item["files_transferred"]) >= file_count
    assert int(item["bytes_written"]) >= SAMPLE_MB * 1024 * 1024
    assert int(item["total_duration_ms"]) >= 0
    profile = deployed.registry.profile(domain_name, kind, name)
    assert profile is not None
    assert profile["replication_status"] == "SUCCEEDED"
    assert profile["execution_arn"] == item["execution_arn"]
    for key in ("bytes_written", "files_transferred", "total_duration_ms"):
        assert int(profile[key]) == int(item[key]), key
    assert deployed.leftovers() == {"tasks": [], "locations": [], "access_points": []}
    return item


def wait_restore(
    deployed: Deployed,
    domain_name: str,
    kind: Kind,
    name: str,
    generation: int,
    trigger: str | None = None,
    timeout: float = 120,
) -> dict[str, Any]:
    """The finished restore into `generation` (of `trigger` when given)."""
    deadline = time.monotonic() + timeout
    while True:
        for item in deployed.registry.restores(domain_name, kind, name):
            if int((item.get("target") or {}).get("generation", -1)) != generation:
                continue
            if trigger and item.get("trigger") != trigger:
                continue
            if item.get("status") in TERMINAL_STATUSES:
                return item
        if time.monotonic() > deadline:
            seen = [
                (i.get("restore_id"), i.get("status"), i.get("reason"))
                for i in deployed.registry.restores(domain_name, kind, name)
            ]
            row = deployed.registry.profile(domain_name, kind, name) or {}
            raise AssertionError(
                f"{kind} {name} in {domain_name}: no finished {trigger or ''} restore into "
                f"generation {generation} within {timeout:.0f} s; restores {seen}; profile "
                f"generation {row.get('generation')} status {row.get('replication_status')}; "
                f"DataSync leftovers {deployed.leftovers(timeout=0)}"
            )
        time.sleep(0.5)


def assert_failed_loudly(
    deployed: Deployed,
    domain_name: str,
    kind: Kind,
    name: str,
    generation: int,
    *,
    cause: str,
    execution_status: str = "FAILED",
    timeout: float = 120,
) -> dict[str, Any]:
    """FAILED execution, FAILED registry rows with the reason, an SNS message, no leftovers."""
    item = deployed.registry.wait_for_restore(
        domain_name, kind, name, generation, timeout
    )
    assert item["status"] == "FAILED", item
    assert cause.lower() in str(item.get("reason", "")).lower(), item
    assert deployed.execution_status(str(item["execution_arn"])) == execution_status
    profile = deployed.registry.profile(domain_name, kind, name)
    assert profile is not None
    assert profile["replication_status"] == "FAILED"
    assert profile.get("replication_reason"), profile
    message = deployed.notifications.wait_for(domain_name, name)
    assert cause.lower() in message.lower(), message
    assert deployed.leftovers() == {"tasks": [], "locations": [], "access_points": []}
    return item


# --------------------------------------------------------------------------- backups

RESTORE_FIELDS = (
    "replication_status",
    "replication_reason",
    "restore_id",
    "execution_arn",
    "bytes_written",
    "files_transferred",
    "restore_started_at",
    "restore_ended_at",
)
"""The profile row's record of its last restore: a backup must never change it."""


def backup_bucket(deployed: Deployed) -> BackupBucket:
    """The module's backup bucket (the `backup_bucket_name` output)."""
    name = deployed.outputs.get("backup_bucket_name")
    assert name, f"the module has no backup bucket: outputs {sorted(deployed.outputs)}"
    return BackupBucket(deployed.endpoint, str(name))


_last_run = [0]


def run_schedule(deployed: Deployed) -> ScheduleRun:
    """Fire the backup schedule now, as EventBridge would; every run gets its own second
    (a backup id carries the run's time to the second)."""
    while int(time.time()) <= _last_run[0]:
        time.sleep(0.1)
    _last_run[0] = int(time.time())
    function = deployed.outputs.get("backup_function_name")
    assert function, (
        f"the module has no backup function: outputs {sorted(deployed.outputs)}"
    )
    run = run_backup_schedule(deployed.endpoint, str(function))
    assert run.result.get("started", 0) >= 0, run.result
    return run


def finish_schedule(deployed: Deployed, run: ScheduleRun) -> list[dict[str, Any]]:
    """Every backup the run started, once they all ended; no DataSync resource left."""
    items = wait_for_schedule_run(
        deployed.endpoint, deployed.outputs["registry_table_name"], run
    )
    assert deployed.leftovers() == {"tasks": [], "locations": [], "access_points": []}
    return items


def backup_of(
    items: list[dict[str, Any]], domain_name: str, kind: Kind, name: str
) -> dict[str, Any]:
    """The one backup among `items` of that profile."""
    pk = f"PROFILE#{domain_name}#{kind}#{name}"
    mine = [item for item in items if item["pk"] == pk]
    assert len(mine) == 1, f"{kind} {name}: {len(mine)} backups in this run: {mine}"
    return mine[0]


def assert_backed_up(
    deployed: Deployed,
    seeded: Seeded,
    item: dict[str, Any],
    *,
    trigger: str,
    before: dict[str, FileRecord] | None = None,
) -> str:
    """The backup SUCCEEDED, is recorded as a backup of this directory, and its prefix
    holds every file with its bytes, owner and permissions; returns the prefix."""
    assert item["status"] == "SUCCEEDED", item
    assert item["entity"] == "backup", item
    assert item["sk"] == f"BACKUP#{item['restore_id']}", item
    assert item["trigger"] == trigger, item
    assert deployed.execution_status(str(item["execution_arn"])) == "SUCCEEDED"
    bucket = backup_bucket(deployed)
    prefix = backup_prefix_of(seeded.domain_name, seeded.home)
    target = item["target"]
    assert target["bucket"] == bucket.bucket, target
    assert (target["efs_id"], str(target["uid"])) == (
        seeded.home.efs_id,
        str(seeded.home.uid),
    ), target
    assert item["source"]["uid"] == str(seeded.home.uid), item["source"]
    snapshot_ = before if before is not None else seeded.before
    assert compare_backed_up(snapshot_, bucket, prefix, seeded.home.uid) == []
    assert item.get("ended_at"), item
    return prefix


def backup_now(deployed: Deployed, seeded: Seeded) -> dict[str, Any]:
    """Run the schedule, wait for it; this profile's backup of that run."""
    items = finish_schedule(deployed, run_schedule(deployed))
    return backup_of(items, seeded.domain_name, seeded.kind, seeded.name)


def restore_fields(deployed: Deployed, seeded: Seeded) -> dict[str, Any]:
    row = deployed.registry.profile(seeded.domain_name, seeded.kind, seeded.name) or {}
    return {key: row.get(key) for key in RESTORE_FIELDS}
