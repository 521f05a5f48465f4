"""Issue 14 item 1: a restore reads every earlier home of the same person, newest first.

Each scenario drives Studio as people do (recreations, homes never opened, opt-out and
back, a name given to someone else and back, a volume deleted with its domain), then checks
every file of the new home byte for byte with its mode and the new owner, the registry rows
of every generation involved, exactly the executions expected, and that no DataSync task,
location, access point or concurrency slot is left behind.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from studio_sandbox import posix
from studio_sandbox.datasync import models as datasync_models
from studio_sandbox.harness.scenario import (
    FileRecord,
    Home,
    compare_restored,
    create_sso_domain,
    create_sso_user,
    snapshot,
    write_as_owner,
    write_sample_home,
)

from tests.e2e.conftest import Deployed
from tests.e2e.flows import (
    SAMPLE_MB,
    Seeded,
    assert_succeeded,
    new_domain,
    recreate,
    seed,
)

NO_LEFTOVERS = {"tasks": [], "locations": [], "access_points": []}
BUSY = {"PENDING", "RUNNING"}


def wait_whole_restore(
    deployed: Deployed, domain: str, name: str, generation: int, timeout: float = 180
) -> dict[str, Any]:
    """The profile row once the restore into `generation` ended (every step)."""
    deadline = time.monotonic() + timeout
    while True:
        row = deployed.registry.profile(domain, "user", name) or {}
        steps = steps_into(deployed, domain, name, generation)
        if (
            int(row.get("generation", 0)) == generation
            and row.get("replication_status") not in (None, *BUSY)
            and steps
            and all(step["status"] not in BUSY for step in steps)
        ):
            return row
        if time.monotonic() > deadline:
            raise AssertionError(
                f"restore into generation {generation} of {name} not over: row {row}, "
                f"steps {[(s['restore_id'], s['status'], s.get('reason')) for s in steps]}"
            )
        time.sleep(0.5)


def steps_into(
    deployed: Deployed, domain: str, name: str, generation: int
) -> list[dict[str, Any]]:
    """The restore items into `generation` of user `name`, by step."""
    items = [
        item
        for item in deployed.registry.restores(domain, "user", name)
        if int(item["target"]["generation"]) == generation
    ]
    return sorted(items, key=lambda item: int(item.get("step", 1)))


def executions_of(deployed: Deployed, name: str) -> dict[str, str]:
    """Restore executions of profile `name` (every test uses its own names): name -> status."""
    sfn = deployed.client("stepfunctions")
    pages = sfn.get_paginator("list_executions").paginate(
        stateMachineArn=deployed.outputs["state_machine_arn"]
    )
    return {
        e["name"]: e["status"]
        for page in pages
        for e in page["executions"]
        if e["name"].startswith(f"{name}-g")
    }


def assert_nothing_left(deployed: Deployed, timeout: float = 30) -> None:
    """No DataSync task, location or access point, and no slot held, once the deletion
    backups the recreations started (they share the workflow) had time to end."""
    assert deployed.leftovers() == NO_LEFTOVERS
    table = deployed.client("dynamodb")
    deadline = time.monotonic() + timeout
    while True:
        item = table.get_item(
            TableName=deployed.outputs["registry_table_name"],
            Key={"pk": {"S": "SEMAPHORE"}, "sk": {"S": "DATASYNC"}},
        ).get("Item", {})
        holders = item.get("holders", {}).get("M", {})
        if not holders:
            return
        assert time.monotonic() < deadline, f"slots still held: {holders}"
        time.sleep(0.5)


def assert_steps(
    deployed: Deployed,
    domain: str,
    name: str,
    generation: int,
    expected: list[tuple[int, str]],
) -> list[dict[str, Any]]:
    """The restore into `generation` ran exactly these (source generation, status) steps,
    each its own SUCCEEDED execution, chained by `head`."""
    steps = steps_into(deployed, domain, name, generation)
    assert [(int(s["source"]["generation"]), s["status"]) for s in steps] == expected, [
        (s["source"], s["status"], s.get("reason")) for s in steps
    ]
    head = steps[0]["restore_id"]
    for number, step in enumerate(steps, start=1):
        assert int(step.get("step", 1)) == number, step
        assert step.get("head", head if number > 1 else None) == (
            None if number == 1 else head
        ), step
        assert deployed.execution_status(str(step["execution_arn"])) == "SUCCEEDED"
    return steps


def union(*snapshots: dict[str, FileRecord]) -> dict[str, FileRecord]:
    """What the new home must hold: each path's newest version (newest snapshot first)."""
    merged: dict[str, FileRecord] = {}
    for snap in snapshots:
        for rel, record in snap.items():
            merged.setdefault(rel, record)
    return merged


def edit_second_home(home: Home) -> dict[str, FileRecord]:
    """What a person does in the middle home: a new file, and one restored file changed."""
    write_as_owner(home, "data/written-in-gen2.txt", b"only the second home had this\n")
    changed = home.path / f"data/{home.name}.txt"
    changed.write_bytes(b"changed in the second home: this version must win\n")
    posix.set_owner(changed, home.uid, 100)
    return snapshot(home.path)


def test_double_recreation_of_a_quiet_home_gets_both_homes(
    deployed: Deployed, unique: Callable[[str], str]
) -> None:
    domain = unique("dbl")
    seeded = seed(deployed, domain, new_domain(deployed, domain), "user", "quinn")
    second = recreate(deployed, seeded)
    assert_succeeded(deployed, domain, "user", "quinn", 2, seeded.before, second)
    in_second = edit_second_home(second)

    third = recreate(deployed, seeded, generation=3)

    row = wait_whole_restore(deployed, domain, "quinn", 3)
    assert row["replication_status"] == "SUCCEEDED", row
    assert "2 steps" in row["replication_reason"], row
    assert_steps(deployed, domain, "quinn", 3, [(2, "SUCCEEDED"), (1, "SUCCEEDED")])
    assert compare_restored(union(in_second, seeded.before), third) == []
    assert (
        (third.path / "data/quinn.txt")
        .read_bytes()
        .startswith(b"changed in the second")
    )
    assert len(executions_of(deployed, "quinn")) == 3  # 1 into gen 2, 2 into gen 3
    gens = deployed.registry.items(domain, "user", "quinn")
    assert all(
        g.get("has_data") is not False for g in gens if g["sk"].startswith("GEN#")
    )
    assert_nothing_left(deployed)


def test_recreated_again_while_a_big_restore_runs_gets_everything(
    deployed: Deployed, unique: Callable[[str], str]
) -> None:
    domain = unique("busy")
    domain_id = new_domain(deployed, domain)
    deployed.studio.create(domain_id, "user", "rhea")
    first = deployed.studio.open_app(domain_id, "user", "rhea")
    for index in range(3000):
        write_as_owner(
            first, f"many/{index // 100:02d}/file-{index:04d}.txt", b"x%d\n" % index
        )
    before = snapshot(first.path)
    deployed.registry.wait_for_generation(domain, "user", "rhea", 1)
    datasync_models.faults.phase_delay = 3.0  # the first restore is still running...
    deployed.studio.delete(domain_id, "user", "rhea")
    deployed.studio.create(domain_id, "user", "rhea")
    second = deployed.studio.open_app(domain_id, "user", "rhea")
    deployed.registry.wait_for_generation(domain, "user", "rhea", 2)
    write_as_owner(second, "notes/while-restoring.txt", b"written during the restore\n")
    in_second_own = {"notes/while-restoring.txt", "notes"}
    _wait_running(deployed, domain, "rhea", 2)

    deployed.studio.delete(domain_id, "user", "rhea")  # ...when it is recreated again
    deployed.studio.create(domain_id, "user", "rhea")
    third = deployed.studio.open_app(domain_id, "user", "rhea")
    deployed.registry.wait_for_generation(domain, "user", "rhea", 3)
    datasync_models.faults.phase_delay = 0.0

    row = wait_whole_restore(deployed, domain, "rhea", 3, timeout=300)
    assert row["replication_status"] == "SUCCEEDED", row
    [into_second] = steps_into(deployed, domain, "rhea", 2)
    assert into_second["status"] == "SUPERSEDED", into_second
    assert "generation 3" in into_second["reason"], into_second
    steps = assert_steps(
        deployed, domain, "rhea", 3, [(2, "SUCCEEDED"), (1, "SUCCEEDED")]
    )
    assert steps[0].get("waiting_for") == into_second["restore_id"], steps[0]
    second_snapshot = {rel: rec for rel, rec in snapshot(second.path).items()}
    assert set(in_second_own) <= set(second_snapshot)
    assert compare_restored(union(second_snapshot, before), third) == []
    assert sum(1 for r in snapshot(third.path).values() if r.kind == "file") == 3001
    statuses = executions_of(deployed, "rhea")
    assert sorted(statuses.values()) == ["SUCCEEDED"] * 3, statuses
    assert_nothing_left(deployed)


def test_never_opened_middle_home_after_opt_out_and_in_is_passed_over(
    deployed: Deployed, unique: Callable[[str], str]
) -> None:
    domain = unique("never")
    domain_id = new_domain(deployed, domain)
    seeded = seed(deployed, domain, domain_id, "user", "sami")
    code, output = deployed.admin("opt-out", "--domain", domain, "--user", "sami")
    assert code == 0, output
    deployed.studio.delete(domain_id, "user", "sami")
    deployed.studio.create(domain_id, "user", "sami")  # never opened: no directory
    deployed.registry.wait_for_generation(domain, "user", "sami", 2)
    skipped = deployed.registry.wait_for_restore(domain, "user", "sami", 2)
    assert skipped["status"] == "SKIPPED", skipped
    deployed.studio.delete(domain_id, "user", "sami")
    code, output = deployed.admin("opt-in", "--domain", domain, "--user", "sami")
    assert code == 0, output

    deployed.studio.create(domain_id, "user", "sami")
    third = deployed.studio.open_app(domain_id, "user", "sami")
    deployed.registry.wait_for_generation(domain, "user", "sami", 3)

    row = wait_whole_restore(deployed, domain, "sami", 3)
    assert row["replication_status"] == "SUCCEEDED", row
    steps = assert_steps(
        deployed, domain, "sami", 3, [(2, "SOURCE_EMPTY"), (1, "SUCCEEDED")]
    )
    assert "never appeared" in steps[0]["reason"], steps[0]
    assert compare_restored(seeded.before, third) == []
    gen2 = next(
        i
        for i in deployed.registry.items(domain, "user", "sami")
        if i["sk"] == "GEN#000002"
    )
    assert gen2["has_data"] is False, gen2
    assert len(executions_of(deployed, "sami")) == 2
    assert not [
        m for m in deployed.notifications.drain() if "restore of user 'sami'" in m
    ]
    assert_nothing_left(deployed)


def test_name_given_to_someone_else_and_back_restores_the_first_persons_files(
    deployed: Deployed, unique: Callable[[str], str]
) -> None:
    domain = unique("aba")
    domain_id = create_sso_domain(deployed.studio, domain)
    deployed.open_efs(domain_id)
    create_sso_user(deployed.studio, domain_id, "tess", "tess@example.com")
    first = deployed.studio.open_app(domain_id, "user", "tess")
    write_sample_home(first, big_file_mb=SAMPLE_MB)
    tess_files = snapshot(first.path)
    deployed.registry.wait_for_generation(domain, "user", "tess", 1)
    deployed.studio.delete(domain_id, "user", "tess")
    create_sso_user(deployed.studio, domain_id, "tess", "other@example.com")
    other = deployed.studio.open_app(domain_id, "user", "tess")
    write_as_owner(other, "secret-of-the-other-person.txt", b"not for tess\n")
    skipped = deployed.registry.wait_for_restore(domain, "user", "tess", 2)
    assert skipped["status"] == "SKIPPED" and "identity" in skipped["reason"], skipped
    deployed.studio.delete(domain_id, "user", "tess")

    create_sso_user(deployed.studio, domain_id, "tess", "tess@example.com")
    back = deployed.studio.open_app(domain_id, "user", "tess")
    deployed.registry.wait_for_generation(domain, "user", "tess", 3)

    row = wait_whole_restore(deployed, domain, "tess", 3)
    assert row["replication_status"] == "SUCCEEDED", row
    assert_steps(deployed, domain, "tess", 3, [(1, "SUCCEEDED")])
    assert compare_restored(tess_files, back) == []
    assert not (back.path / "secret-of-the-other-person.txt").exists()
    assert set(snapshot(back.path)) == set(tess_files)
    assert len(executions_of(deployed, "tess")) == 1
    assert_nothing_left(deployed)


def test_gone_volume_is_read_from_its_backup_after_the_newer_home(
    deployed: Deployed, unique: Callable[[str], str]
) -> None:
    domain = unique("gonechain")
    domain_id = new_domain(deployed, domain)
    seeded = seed(deployed, domain, domain_id, "user", "uma")
    deployed.studio.delete(domain_id, "user", "uma")
    deployed.registry.wait_for_backup(
        domain, "user", "uma", trigger="deletion", generation=1
    )
    deployed.studio.delete_domain(
        domain_id, retain=False
    )  # generation 1's volume is gone
    new_id = new_domain(deployed, domain)
    deployed.studio.create(new_id, "user", "uma")
    second = deployed.studio.open_app(new_id, "user", "uma")
    wait_whole_restore(deployed, domain, "uma", 2)
    in_second = edit_second_home(second)

    third = recreate(
        deployed, Seeded(domain, new_id, "user", "uma", second, in_second), generation=3
    )

    row = wait_whole_restore(deployed, domain, "uma", 3)
    assert row["replication_status"] == "SUCCEEDED", row
    steps = assert_steps(
        deployed, domain, "uma", 3, [(2, "SUCCEEDED"), (1, "SUCCEEDED")]
    )
    assert "bucket" not in steps[0]["source"] and "bucket" in steps[1]["source"], steps
    assert compare_restored(union(in_second, seeded.before), third) == []
    assert len(executions_of(deployed, "uma")) == 3
    assert_nothing_left(deployed)


def _wait_running(deployed: Deployed, domain: str, name: str, generation: int) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        steps = steps_into(deployed, domain, name, generation)
        if steps and steps[0].get("task_arn") and steps[0]["status"] == "RUNNING":
            return
        time.sleep(0.2)
    raise AssertionError(f"no restore into generation {generation} of {name} ran")
