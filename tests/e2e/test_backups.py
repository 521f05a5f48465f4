"""Issue 9's backups to S3, end to end on the sandbox with the real module applied.

The schedule is run as EventBridge runs it: the deployed backup function is invoked with a
Scheduled Event. Each scenario checks the objects in the backup bucket (bytes, owner and
permissions in their metadata), the registry rows, the notifications where a backup fails,
and that no DataSync task, location or access point is left behind.

A schedule run backs up every live profile with replication on, those of the other tests
too: a scenario looks only at its own profiles' backups, and waits for every backup of the
run before it checks what is left over.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import boto3
import pytest
from studio_sandbox.datasync import models as datasync_models
from studio_sandbox.harness.scenario import (
    snapshot,
    write_as_owner,
)

from tests.e2e.conftest import Deployed
from tests.e2e.flows import (
    SAMPLE_MB,
    assert_backed_up,
    assert_succeeded,
    backup_bucket,
    backup_now,
    backup_of,
    finish_schedule,
    new_domain,
    recreate,
    restore_fields,
    run_schedule,
    seed,
)

NO_LEFTOVERS = {"tasks": [], "locations": [], "access_points": []}


def test_schedule_backs_up_every_profile_then_only_what_changed(
    deployed: Deployed, unique: Callable[[str], str]
) -> None:
    domain = unique("sched")
    domain_id = new_domain(deployed, domain)
    profiles = [
        seed(deployed, domain, domain_id, "user", "ada"),
        seed(deployed, domain, domain_id, "user", "ben"),
        seed(deployed, domain, domain_id, "space", "lab"),
    ]
    rows_before = [restore_fields(deployed, p) for p in profiles]
    bucket = backup_bucket(deployed)

    first = run_schedule(deployed)
    items = finish_schedule(deployed, first)

    assert first.result["started"] >= len(profiles), first.result
    prefixes = {}
    for seeded in profiles:
        item = backup_of(items, domain, seeded.kind, seeded.name)
        prefixes[seeded.name] = assert_backed_up(
            deployed, seeded, item, trigger="scheduled"
        )
        files = sum(1 for r in seeded.before.values() if r.kind == "file")
        assert int(item["files_transferred"]) >= files, item
        assert int(item["bytes_written"]) >= SAMPLE_MB * 1024 * 1024, item
    assert [restore_fields(deployed, p) for p in profiles] == rows_before

    changed, text = profiles[0], b"ada changed this line after the first backup\n"
    write_as_owner(changed.home, "data/ada.txt", text)
    second = run_schedule(deployed)
    items = finish_schedule(deployed, second)

    item = backup_of(items, domain, "user", "ada")
    assert item["status"] == "SUCCEEDED", item
    # Only the changed file was sent again, not the 1 MB one beside it.
    assert int(item["bytes_written"]) == len(text), item
    assert int(item["files_transferred"]) >= 1, item
    versions = bucket.versions(prefixes["ada"])
    assert len(versions["data/ada.txt"]) == 2, versions["data/ada.txt"]
    assert bucket.read(prefixes["ada"], "data/ada.txt").data == text
    once = {key: len(v) for key, v in versions.items() if key != "data/ada.txt"}
    assert set(once.values()) == {1}, once
    for seeded in profiles[1:]:
        item = backup_of(items, domain, seeded.kind, seeded.name)
        assert item["status"] == "SUCCEEDED", item
        sent = (int(item["files_transferred"]), int(item["bytes_written"]))
        assert sent == (0, 0), item
        counts = {k: len(v) for k, v in bucket.versions(prefixes[seeded.name]).items()}
        assert set(counts.values()) == {1}, counts


def test_deleting_a_profile_backs_it_up(
    deployed: Deployed, unique: Callable[[str], str]
) -> None:
    domain = unique("delbackup")
    domain_id = new_domain(deployed, domain)
    seeded = seed(deployed, domain, domain_id, "user", "cleo")
    row_before = restore_fields(deployed, seeded)

    deployed.studio.delete(domain_id, "user", "cleo")

    item = deployed.registry.wait_for_backup(
        domain, "user", "cleo", trigger="deletion", generation=1
    )
    assert_backed_up(deployed, seeded, item, trigger="deletion")
    assert int(item["source"]["generation"]) == 1, item["source"]
    profile = deployed.registry.profile(domain, "user", "cleo")
    assert profile is not None and profile.get("deleted_at"), profile
    assert restore_fields(deployed, seeded) == row_before
    assert len(deployed.registry.backups(domain, "user", "cleo")) == 1
    assert deployed.leftovers() == NO_LEFTOVERS


def test_domain_deleted_with_its_volume_is_restored_from_the_backups(
    deployed: Deployed, unique: Callable[[str], str]
) -> None:
    domain = unique("volgone")
    domain_id = new_domain(deployed, domain)
    profiles = [
        seed(deployed, domain, domain_id, "user", "dora"),
        seed(deployed, domain, domain_id, "space", "studio"),
    ]
    finish_schedule(deployed, run_schedule(deployed))
    old_efs = deployed.studio.domain_efs(domain_id)
    last_backup = {}
    for seeded in profiles:
        deployed.studio.delete(domain_id, seeded.kind, seeded.name)
        item = deployed.registry.wait_for_backup(
            domain, seeded.kind, seeded.name, trigger="deletion", generation=1
        )
        assert_backed_up(deployed, seeded, item, trigger="deletion")
        last_backup[seeded.name] = item["restore_id"]

    deployed.studio.delete_domain(domain_id, retain=False)
    _assert_volume_gone(deployed, old_efs)
    new_id = new_domain(deployed, domain)
    homes = {}
    for seeded in profiles:
        deployed.studio.create(new_id, seeded.kind, seeded.name)
        homes[seeded.name] = deployed.studio.open_app(new_id, seeded.kind, seeded.name)

    for seeded in profiles:
        home = homes[seeded.name]
        assert home.efs_id != old_efs  # uids restart in a new domain: 200000 again
        item = assert_succeeded(
            deployed, domain, seeded.kind, seeded.name, 2, seeded.before, home
        )
        source = item["source"]
        assert source["bucket"] == backup_bucket(deployed).bucket, source
        assert source["backup_id"] == last_backup[seeded.name], source
        assert (source["efs_id"], source["uid"]) == (old_efs, str(seeded.home.uid))
        assert item["target"]["uid"] == str(home.uid), item["target"]
        # the latest backup is the prefix's current state: read as it is, nothing staged
        assert backup_bucket(deployed).keys(f"staging/{item['restore_id']}/") == []


def test_admin_restores_a_chosen_older_backup(
    deployed: Deployed, unique: Callable[[str], str]
) -> None:
    domain = unique("older")
    seeded = seed(deployed, domain, new_domain(deployed, domain), "user", "eve")
    bucket = backup_bucket(deployed)
    first = backup_now(deployed, seeded)
    prefix = assert_backed_up(deployed, seeded, first, trigger="scheduled")

    time.sleep(1.1)  # backup 2 starts in a later second than backup 1 ended
    write_as_owner(seeded.home, "data/eve.txt", b"eve's second thoughts\n")
    write_as_owner(seeded.home, "data/after-backup-1.txt", b"not in backup 1\n")
    second = backup_now(deployed, seeded)
    assert second["status"] == "SUCCEEDED", second
    assert len(bucket.versions(prefix)["data/eve.txt"]) == 2

    code, output = deployed.admin("opt-out", "--domain", domain, "--user", "eve")
    assert code == 0, output
    home = recreate(deployed, seeded)
    skipped = deployed.registry.wait_for_restore(domain, "user", "eve", 2)
    assert skipped["status"] == "SKIPPED", skipped
    assert snapshot(home.path) == {}
    triggers = [b["trigger"] for b in deployed.registry.backups(domain, "user", "eve")]
    assert triggers == ["scheduled", "scheduled"], "opted out: no deletion backup"

    code, output = deployed.admin(
        "restore", "--domain", domain, "--user", "eve",
        "--from-backup", str(first["ended_at"]),
    )  # fmt: skip

    assert code == 0, output
    assert first["restore_id"] in output, output
    # An older backup's versions, folder objects included, are staged under
    # staging/<restore id>/ and read without a manifest (a manifest lists files only: "You
    # can't specify only a directory or folder"), so its directories come back with their
    # own modes, as the latest backup's do (docs/internals.md section 7)
    assert seeded.before[".ssh"].mode == 0o700  # not DataSync's default 0755
    item = assert_succeeded(
        deployed, domain, "user", "eve", 2, seeded.before, home, trigger="manual"
    )
    assert item["source"]["backup_id"] == first["restore_id"], item["source"]
    assert not (home.path / "data/after-backup-1.txt").exists()
    # ... and the staged copy is gone once the restore ended: no version, no marker
    staged = bucket.versions(f"staging/{item['restore_id']}/")
    assert all(not entries for entries in staged.values()), staged
    assert bucket.keys("manifests/") == []


def test_failed_backup_is_reported_and_the_next_schedule_retries_it(
    deployed: Deployed, unique: Callable[[str], str]
) -> None:
    domain = unique("bkfail")
    seeded = seed(deployed, domain, new_domain(deployed, domain), "user", "finn")
    row_before = restore_fields(deployed, seeded)
    datasync_models.faults.error = ("InternalError", "the backup disk is full")

    failed = backup_of(
        finish_schedule(deployed, run_schedule(deployed)), domain, "user", "finn"
    )

    assert failed["status"] == "FAILED", failed
    assert "the backup disk is full" in str(failed.get("reason", "")), failed
    assert deployed.execution_status(str(failed["execution_arn"])) == "FAILED"
    message = deployed.notifications.wait_for(domain, "finn", failed["restore_id"])
    assert "backup" in message.lower() and "the backup disk is full" in message, message
    assert restore_fields(deployed, seeded) == row_before

    datasync_models.reset_faults()
    retried = backup_now(deployed, seeded)

    assert retried["restore_id"] != failed["restore_id"]
    assert_backed_up(deployed, seeded, retried, trigger="scheduled")
    statuses = [b["status"] for b in deployed.registry.backups(domain, "user", "finn")]
    assert statuses == ["FAILED", "SUCCEEDED"], statuses


# --------------------------------------------------------------------------- helpers


def _assert_volume_gone(deployed: Deployed, efs_id: str) -> None:
    efs = boto3.client("efs", endpoint_url=deployed.endpoint)
    deadline = datetime.now(UTC) + timedelta(seconds=30)
    while datetime.now(UTC) < deadline:
        ids = [fs["FileSystemId"] for fs in efs.describe_file_systems()["FileSystems"]]
        if efs_id not in ids:
            return
        time.sleep(0.5)
    pytest.fail(f"{efs_id} still exists after its domain was deleted with Delete")
