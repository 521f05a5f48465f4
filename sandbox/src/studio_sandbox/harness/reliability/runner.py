"""`make reliability`: fault injection, load and invariants, one table row per scenario.

This module runs the scenarios on one environment and prints the table (`main`).
"""

from __future__ import annotations

import argparse
import json
import logging
import shutil
import sys
import tempfile
import time
from dataclasses import asdict
from pathlib import Path

from studio_sandbox import faults
from studio_sandbox.datasync import models as datasync_models
from studio_sandbox.harness.reliability.env import (
    Env,
    Scenario,
    environment,
)
from studio_sandbox.harness.reliability.invariants import Row, check
from studio_sandbox.harness.reliability.scenarios import crashes, restorers, scenarios
from studio_sandbox.harness.reliability.steps import (
    progress,
    recreate_all,
    seed_targets,
    settle,
    wait_terminal,
)
from studio_sandbox.harness.scenario import (
    ScenarioError,
)

LOG = logging.getLogger(__name__)


# --------------------------------------------------------------------------- running


def run_scenario(env: Env, scenario: Scenario, index: int) -> Row:
    """Seed, fault, recreate, wait, settle, check: one table row."""
    row = Row(scenario.name)
    started = time.monotonic()
    try:
        targets = seed_targets(env, scenario, index)
        progress(started, f"{len(targets)} profiles and spaces created with a home")
        settle(env, time.time() - 3600, timeout=60)
        since = time.time()
        events_before = env.tap.sent
        fired_before = faults.registry.injected + len(crashes)
        env.quota.reset()
        scenario.arm(env, targets)
        if scenario.recreate is not None:
            scenario.recreate(env, targets)
        else:
            recreate_all(env, targets)
        progress(started, "deleted and created again")
        scenario.during(env, targets)
        wait_terminal(env, targets, scenario.timeout, started)
        row.faults_fired = faults.registry.injected + len(crashes) - fired_before
        _disarm(env)
        settle(env, since)
        row.events_sent = env.tap.sent - events_before
        check(env, scenario, targets, since, row)
    except Exception as error:  # a scenario that cannot finish is a failed row, not a crash
        LOG.exception("scenario %s", scenario.name)
        row.problems.append(f"scenario error: {type(error).__name__}: {error}")
    finally:
        _disarm(env)
    row.seconds = round(time.monotonic() - started, 1)
    return row


def _disarm(env: Env) -> None:
    faults.clear()
    datasync_models.reset_faults()
    while restorers:
        restorers.pop()()
    env.tap.release()
    env.tap.recording = False


COLUMNS = (
    ("scenario", 38),
    ("events sent", 6),
    ("restores exp/done", 9),
    ("lost", 4),
    ("dup", 3),
    ("wrong src", 5),
    ("clobbered", 5),
    ("leftovers", 9),
    ("failures visible", 8),
    ("time s", 6),
)


def table(rows: list[Row]) -> str:
    """The Markdown table of the run (one row per scenario)."""
    header = "| " + " | ".join(name for name, _ in COLUMNS) + " | ok |"
    lines = [header, "|" + "---|" * (len(COLUMNS) + 1)]
    for row in rows:
        cells = [
            row.scenario,
            str(row.events_sent),
            f"{row.restores_expected}/{row.restores_done}",
            str(row.lost),
            str(row.duplicated),
            str(row.wrong_source),
            str(row.files_clobbered),
            f"{row.leftovers} (peak {row.peak_tasks} tasks, {row.stream_backlog} stuck)",
            f"{row.failures_visible}/{row.failures}",
            f"{row.seconds:.0f}",
            "yes" if row.ok else "NO",
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def run(
    zip_path: Path,
    data_dir: Path,
    examples_dir: Path,
    *,
    full: bool,
    load: int,
    only: list[str] | None = None,
) -> list[Row]:
    rows: list[Row] = []
    with environment(data_dir, zip_path, examples_dir) as env:
        for index, scenario in enumerate(scenarios(full, load)):
            if only and not any(word in scenario.name for word in only):
                continue
            print(f"-- {scenario.name}", flush=True)
            row = run_scenario(env, scenario, index)
            print(f"   {row.seconds:.0f} s, {'ok' if row.ok else row.problems}", flush=True)
            # the row's table line at once, so that a run cut short still shows its rows
            print(f"   {table([row]).splitlines()[-1]}", flush=True)
            rows.append(row)
    return rows


def main(argv: list[str] | None = None) -> int:
    summary = (__doc__ or "").split("\n")[0]
    parser = argparse.ArgumentParser(prog="studio-recovery-reliability", description=summary)
    parser.add_argument("--full", action="store_true", help="the full run (longer, more load)")
    parser.add_argument("--load", type=int, default=None, help="profiles of the load scenario")
    parser.add_argument("--only", action="append", help="run scenarios whose name has this")
    parser.add_argument("--json", type=Path, help="write the rows as JSON here")
    parser.add_argument("--zip", type=Path, default=Path("build/lambda.zip"), help="Lambda zip")
    parser.add_argument(
        "--examples-dir",
        type=Path,
        default=Path("examples"),
        help="the repository's examples directory (its `sandbox` root is applied)",
    )
    args = parser.parse_args(argv)
    load = args.load if args.load is not None else (1000 if args.full else 16)
    data_dir = Path(tempfile.mkdtemp(prefix="studio-recovery-reliability-"))
    try:
        rows = run(args.zip, data_dir, args.examples_dir, full=args.full, load=load, only=args.only)
    except ScenarioError as error:
        print(f"RELIABILITY RUN FAILED: {error}", file=sys.stderr)
        return 1
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)
    print()
    print(table(rows))
    for row in rows:
        for problem in row.problems:
            print(f"{row.scenario}: {problem}")
    if args.json:
        args.json.write_text(json.dumps([asdict(r) for r in rows], indent=2))
    return 0 if all(row.ok for row in rows) else 1
