"""Issue 18, end to end: `studio-recovery migrate` from an IAM domain to a new IAM Identity
Center domain whose profiles are named differently, on the sandbox with the real module.

The admin proposes a map (--match), edits it, dry-runs it, runs it, stops it with Ctrl-C
half way, runs it again; one target is created only afterwards. Every file of every source
must be in its target byte for byte, and no pair may be copied twice.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from studio_sandbox import posix
from studio_sandbox.datasync import models as datasync_models
from studio_sandbox.harness.scenario import (
    compare_restored,
    create_sso_domain,
    create_sso_user,
    snapshot,
    write_small_home,
)

from tests.e2e.conftest import Deployed
from tests.e2e.flows import Seeded, new_domain, seed, wait_restore

# source (IAM domain) -> target (Identity Center domain); carol's target comes later
USERS = {"alice": "asmith", "bob": "bjones", "carol": "cwhite", "dave": "dlee"}
SPACES = {"lab": "lab-new"}
LATER = "carol"
EXIT_FAILED, EXIT_INCOMPLETE, EXIT_INTERRUPTED = 7, 9, 130
FIGURES = Path(__file__).resolve().parents[2] / "build" / "e2e-figures"


def _cli(deployed: Deployed, *args: str) -> list[str]:
    return [
        sys.executable, "-m", "studio_recovery.cli.main",
        "--endpoint-url", deployed.endpoint, "--tf-output", str(deployed.tf_output), *args,
    ]  # fmt: skip


def _interrupt_when_running(
    command: list[str], timeout: float = 120
) -> tuple[int, str]:
    """Run the CLI in its own process and press Ctrl-C once a pair is running.

    The child gets SIGINT's default disposition: a shell that starts pytest in the
    background makes it ignore SIGINT, Python then installs no KeyboardInterrupt handler,
    and the Ctrl-C this test presses would do nothing."""
    process = subprocess.Popen(  # our own CLI; arguments built here
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
        preexec_fn=_default_sigint,  # noqa: PLW1509 - only resets one signal, no locks
    )
    assert process.stdout is not None
    seen: list[str] = []
    deadline = time.monotonic() + timeout
    for line in process.stdout:
        seen.append(line)
        if " 2 done" in line or time.monotonic() > deadline:
            process.send_signal(signal.SIGINT)
            break
    rest, _ = process.communicate(timeout=60)
    return process.returncode, "".join(seen) + rest


def _default_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def test_migrate_iam_domain_to_identity_center_domain(
    deployed: Deployed, unique: Callable[[str], str], tmp_path: Path
) -> None:
    # Given an IAM domain with users and a space, each with files
    old, new = unique("mig-iam"), unique("mig-sso")
    old_id = new_domain(deployed, old)
    sources: dict[str, Seeded] = {}
    for name in USERS:
        sources[name] = seed(deployed, old, old_id, "user", name)
    for name in SPACES:
        sources[name] = seed(deployed, old, old_id, "space", name)
    # and a new Identity Center domain whose profiles carry other names
    new_id = create_sso_domain(deployed.studio, new)
    deployed.open_efs(new_id)
    homes = {}
    for source, target in USERS.items():
        if source != LATER:
            create_sso_user(deployed.studio, new_id, target, f"{source}@example.com")
            homes[source] = deployed.studio.open_app(new_id, "user", target)
    deployed.studio.create(new_id, "space", SPACES["lab"])
    homes["lab"] = deployed.studio.open_app(new_id, "space", SPACES["lab"])
    for source, home in homes.items():
        deployed.registry.wait_for_generation(new, home.kind, home.name, 1)
    domains = ("--from-domain", old, "--to-domain", new)

    # When the admin asks for a proposed map by Identity Center user name
    proposed = tmp_path / "map.csv"
    code, output = deployed.admin(
        "migrate", *domains, "--match", "--identity-template", "{name}@example.com",
        "--write-map", str(proposed),
    )  # fmt: skip
    assert code == 0, output
    text = proposed.read_text(encoding="utf-8")
    for source, target in USERS.items():
        if source != LATER:
            assert f"profile,{source},profile,{target}\n" in text, text
    assert "# unmatched profile carol" in text and "# unmatched space lab" in text
    # and completes it by hand: carol's target is not created yet, the space is renamed
    with proposed.open("a", encoding="utf-8") as edit:
        edit.write(f"profile,{LATER},profile,{USERS[LATER]}\nspace,lab,space,lab-new\n")

    # Then the dry run shows every pair, where its data is and what will happen
    code, output = deployed.admin(
        "migrate", *domains, "--map", str(proposed), "--dry-run"
    )
    assert code == 0, output
    rows = _rows(output)
    assert len(rows) == len(USERS) + len(SPACES)
    for source, row in rows.items():
        seeded = sources[source]
        assert f"EFS {seeded.home.efs_id}:/{seeded.home.uid}" in row, row
        if source == LATER:
            assert "not created yet" in row and "copy when created" in row, row
        else:
            assert "exists, nothing restored yet" in row and "copy now" in row, row
    assert "5 pairs: 0 done, 0 running, 5 waiting, 0 failed" in output
    # the README shows the map and this table
    FIGURES.mkdir(parents=True, exist_ok=True)
    (FIGURES / "migrate-map.csv").write_text(proposed.read_text(), encoding="utf-8")
    (FIGURES / "migrate-dry-run.txt").write_text(output, encoding="utf-8")

    # When it runs one pair at a time and is interrupted once the first is done
    run = [
        "migrate",
        *domains,
        "--map",
        str(proposed),
        "--parallel",
        "1",
        "--poll-seconds",
        "0.5",
    ]
    code, output = _interrupt_when_running(_cli(deployed, *run))
    assert code == EXIT_INTERRUPTED, output
    assert "Interrupted" in output and "Run the same command again" in output

    # and is run again: it goes on, and stops only for the target that does not exist
    code, output = deployed.admin(*run)
    assert code == EXIT_INCOMPLETE, output
    assert "5 pairs: 4 done, 0 running, 1 waiting, 0 failed" in output

    # When the last target is created, it is restored on creation
    create_sso_user(deployed.studio, new_id, USERS[LATER], f"{LATER}@example.com")
    homes[LATER] = deployed.studio.open_app(new_id, "user", USERS[LATER])
    wait_restore(deployed, new, "user", USERS[LATER], 1, trigger="copy", timeout=180)

    # Then every pair is done, every file is in its target, and no pair was copied twice
    code, output = deployed.admin(
        "migrate", *domains, "--map", str(proposed), "--status"
    )
    assert code == 0, output
    assert "5 pairs: 5 done, 0 running, 0 waiting, 0 failed" in output
    for source, home in homes.items():
        assert compare_restored(sources[source].before, home) == [], source
        copies = deployed.registry.restores(new, home.kind, home.name)
        assert [c["status"] for c in copies] == ["SUCCEEDED"], (source, copies)
        assert copies[0]["trigger"] == "copy"
        assert copies[0]["source"]["name"] == source
    assert deployed.leftovers() == {"tasks": [], "locations": [], "access_points": []}


def _rows(output: str) -> dict[str, str]:
    """Table rows of the plan by source name (`profile alice` -> `alice`)."""
    rows: dict[str, str] = {}
    for line in output.splitlines():
        cells = [c.strip() for c in line.split("│")]
        if len(cells) > 3 and cells[1].isdigit():
            rows[cells[2].split()[-1]] = line
    return rows


PAIRS = int(os.environ.get("E2E_MIGRATE_PAIRS") or 24)
"""Pairs of the scale run: 24 in `make test` (more than the e2e module's 20 transfer
slots); `E2E_MIGRATE_PAIRS=2000` for the measured run of issue 18."""


def test_migrate_many_pairs_runs_to_completion(
    deployed: Deployed, unique: Callable[[str], str], tmp_path: Path
) -> None:
    # Given PAIRS IAM users with a few files each, and PAIRS differently named targets
    started = time.monotonic()
    old, new = unique("mig-many-a"), unique("mig-many-b")
    old_id, new_id = new_domain(deployed, old), new_domain(deployed, new)
    sources, targets = {}, {}
    for n in range(PAIRS):
        deployed.studio.create(old_id, "user", f"u{n}")
        sources[n] = deployed.studio.open_app(old_id, "user", f"u{n}")
        write_small_home(sources[n])
        deployed.studio.create(new_id, "user", f"p{n}")
        targets[n] = deployed.studio.open_app(new_id, "user", f"p{n}")
    for n in range(PAIRS):
        deployed.registry.wait_for_generation(old, "user", f"u{n}", 1, timeout=120)
        deployed.registry.wait_for_generation(new, "user", f"p{n}", 1, timeout=120)
    before = {n: snapshot(home.path) for n, home in sources.items()}
    mapping = tmp_path / "map.csv"
    mapping.write_text("".join(f"profile,u{n},profile,p{n}\n" for n in range(PAIRS)))
    command = [
        "migrate",
        "--from-domain",
        old,
        "--to-domain",
        new,
        "--map",
        str(mapping),
    ]
    set_up = time.monotonic() - started

    # When the admin dry-runs it, then runs it
    clock = time.monotonic()
    code, output = deployed.admin(*command, "--dry-run", "--json")
    dry_run = time.monotonic() - clock
    assert code == 0, output
    clock = time.monotonic()
    code, output = deployed.admin(*command, "--poll-seconds", "1")
    run = time.monotonic() - clock

    # Then every pair is done once, every file in its target
    assert code == 0, output
    assert f"{PAIRS} pairs: {PAIRS} done, 0 running, 0 waiting, 0 failed" in output
    for n, home in targets.items():
        assert compare_restored(before[n], home) == [], n
        copies = deployed.registry.restores(new, "user", f"p{n}")
        assert [c["status"] for c in copies] == ["SUCCEEDED"], (n, copies)
    figures = f"migrate {PAIRS} pairs: set-up {set_up:.0f} s, dry run {dry_run:.1f} s, run {run:.0f} s"
    print(f"\n{figures}", flush=True)  # the measured numbers (pytest -s shows them)
    FIGURES.mkdir(parents=True, exist_ok=True)
    (FIGURES / f"migrate-{PAIRS}-pairs.txt").write_text(
        figures + "\n", encoding="utf-8"
    )


BROKEN = "work/broken/data.csv"
"""A file of bob's that fails to transfer while the fault is on (an I/O error)."""


def test_a_failed_pair_is_retried_when_migrate_runs_again(
    deployed: Deployed, unique: Callable[[str], str], tmp_path: Path
) -> None:
    # Given two pairs, and a file of bob's that DataSync cannot read, in every run
    old, new = unique("mig-retry-a"), unique("mig-retry-b")
    old_id, new_id = new_domain(deployed, old), new_domain(deployed, new)
    sources = {
        name: seed(deployed, old, old_id, "user", name) for name in ("amy", "bob")
    }
    broken = sources["bob"].home.path / BROKEN
    broken.parent.mkdir(parents=True, exist_ok=True)
    broken.write_text("bob's numbers\n", encoding="utf-8")
    for path in (broken.parent, broken):
        posix.set_owner(path, sources["bob"].home.uid, 100)
    before = snapshot(sources["bob"].home.path)
    homes = {}
    for name in sources:
        deployed.studio.create(new_id, "user", f"{name}-new")
        homes[name] = deployed.studio.open_app(new_id, "user", f"{name}-new")
        deployed.registry.wait_for_generation(new, "user", f"{name}-new", 1)
    mapping = tmp_path / "map.csv"
    mapping.write_text("profile,amy,profile,amy-new\nprofile,bob,profile,bob-new\n")
    run = ["migrate", "--from-domain", old, "--to-domain", new, "--map", str(mapping),
           "--poll-seconds", "0.5"]  # fmt: skip
    datasync_models.faults.fail_paths = (BROKEN,)

    # When the migration runs: bob's copy misses the file, its own retry too
    code, output = deployed.admin(*run)

    # Then amy is done, bob failed with the reason, and the exit code says so
    assert code == EXIT_FAILED, output
    assert "2 pairs: 1 done, 0 running, 0 waiting, 1 failed" in output
    assert "PARTIAL" in output and "Run the same command again to retry" in output
    first = deployed.registry.restores(new, "user", "bob-new")
    assert [c["status"] for c in first] == ["PARTIAL", "PARTIAL"], first
    assert not (homes["bob"].path / BROKEN).exists()

    # When the cause is gone and the admin runs the same command again
    datasync_models.reset_faults()
    code, output = deployed.admin(*run, "--dry-run")
    assert code == 0 and "retry" in output and "attempt 2" in output, output
    code, output = deployed.admin(*run)

    # Then bob's pair is retried (a new attempt) and done; amy's is not copied again
    assert code == 0, output
    assert "2 pairs: 2 done, 0 running, 0 waiting, 0 failed" in output
    copies = deployed.registry.restores(new, "user", "bob-new")
    assert sorted(c["status"] for c in copies) == ["PARTIAL", "PARTIAL", "SUCCEEDED"]
    assert len({c["restore_id"] for c in copies}) == 3
    assert compare_restored(before, homes["bob"]) == []
    assert compare_restored(sources["amy"].before, homes["amy"]) == []
    assert [
        c["status"] for c in deployed.registry.restores(new, "user", "amy-new")
    ] == ["SUCCEEDED"]
    assert deployed.leftovers() == {"tasks": [], "locations": [], "access_points": []}
