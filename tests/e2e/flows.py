"""Steps the end-to-end scenarios share: seed a home, recreate it, check a restore."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from studio_recovery.sandbox.scenario import (
    TERMINAL_STATUSES,
    FileRecord,
    Home,
    Kind,
    compare_restored,
    snapshot,
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
