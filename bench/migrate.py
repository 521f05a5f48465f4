"""8. Bulk migration (issue 18): `studio-recovery migrate` of N pairs, to the end.

    .venv/bin/python -m bench.run --only migrate [--migrate-pairs 2000]

N user profiles with small homes (3 files each) in one domain, N differently named profiles
in another, a map of N lines. We measure the dry run, then the run (`migrate --map ...`,
the admin's command, in-process) until it exits: wall time, pairs per minute, pairs not
done, and the most transfers running at one moment, read two ways in the background: the
module's slot counter (the registry's semaphore item) and the DataSync tasks alive
(ListTasks). Neither may exceed the module's slots (`max_concurrent_restores`).

The workflow's Wait states (the 10 s DataSync poll) are compressed x0.05, as in the e2e
tests (`WAIT_SCALE`), for both figures: a small home's transfer ends at once in the
sandbox, so without it every pair would measure ten seconds of sleeping, not the product.
On AWS each transfer also takes DataSync's own minutes; the slots bound how many run.

Baseline, in the same run and sandbox: what an admin did before `migrate`, one
`studio-recovery copy --wait` per pair, one after the other, timed on a sample of pairs
and extrapolated to N (labelled so in the table).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path

from studio_sandbox import faults
from studio_sandbox.harness.scenario import Studio, admin, write_small_home

from bench.deploy import Deployed
from bench.report import Goal, Results, Row
from bench.restores import DEFAULT_SLOTS, TaskWatcher, _parallel, _set_slots
from bench.sandbox_setup import client

SECTION = "8 migrate"
DEFAULT_PAIRS = 2000
"""The issue's size."""
BASELINE_SAMPLE = 10
"""Pairs copied one `copy --wait` at a time for the baseline (then extrapolated)."""
WAIT_SCALE = 0.05
"""Step Functions Wait states last x this (tests/e2e/conftest.py uses the same)."""
SEMAPHORE_KEY = {"pk": {"S": "SEMAPHORE"}, "sk": {"S": "DATASYNC"}}
Log = Callable[[str], None]


class SlotWatcher(TaskWatcher):
    """Polls the module's slot counter (the registry's semaphore item) in the background;
    keeps the highest count seen."""

    def __init__(self, endpoint: str, table: str, every: float = 0.25) -> None:
        super().__init__(endpoint, every)
        self.ddb = client("dynamodb", endpoint, observer=True)
        self.table = table

    def count(self) -> int:
        item = self.ddb.get_item(
            TableName=self.table, Key=SEMAPHORE_KEY, ConsistentRead=True
        ).get("Item", {})
        return int(item.get("count", {}).get("N", "0"))


def run(results: Results, env: Deployed, *, pairs: int, sample: int, log: Log,
        data_dir: Path, slots: int = DEFAULT_SLOTS) -> None:  # fmt: skip
    faults.set_wait_scale(WAIT_SCALE)
    try:
        _measure(results, env, pairs=pairs, sample=sample, log=log, data_dir=data_dir,
                 slots=slots)  # fmt: skip
    finally:
        faults.set_wait_scale(1.0)


def _measure(results: Results, env: Deployed, *, pairs: int, sample: int, log: Log,
             data_dir: Path, slots: int) -> None:  # fmt: skip
    outputs = env.outputs
    studio = Studio(env.endpoint, outputs["vpc_id"], list(outputs["subnet_ids"]))
    _set_slots(env, slots)
    old, new = "mig-bench-a", "mig-bench-b"
    old_id, new_id = studio.create_domain(old), studio.create_domain(new)
    for domain_id in (old_id, new_id):
        _admin(env, "open-efs", "--domain-id", domain_id)
    started = time.monotonic()
    total = pairs + sample
    _parallel(range(total), lambda n: _home(studio, old_id, f"u{n}", files=3))
    _parallel(range(total), lambda n: _home(studio, new_id, f"p{n}", files=0))
    _wait_recorded(env, {old: total, new: total})
    set_up = time.monotonic() - started
    log(f"migrate: {total} pairs of profiles created and recorded in {set_up:.0f} s")

    mapping = data_dir / "migrate-map.csv"
    mapping.write_text("".join(f"profile,u{n},profile,p{n}\n" for n in range(pairs)))
    command = (
        "migrate",
        "--from-domain",
        old,
        "--to-domain",
        new,
        "--map",
        str(mapping),
    )
    clock = time.monotonic()
    code, text = _admin(env, *command, "--dry-run", "--json", expect=(0,))
    dry_run = time.monotonic() - clock
    planned = json.loads(text)["summary"]
    log(f"migrate: dry run of {pairs} pairs in {dry_run:.1f} s: {planned}")

    table = outputs["registry_table_name"]
    with (
        SlotWatcher(env.endpoint, table) as slot_watch,
        TaskWatcher(env.endpoint) as tasks,
    ):
        clock = time.monotonic()
        code, text = _admin(
            env, *command, "--json", "--poll-seconds", "2", expect=(0, 7, 9)
        )
        wall = time.monotonic() - clock
    summary = json.loads(text)["summary"]
    failures = summary["pairs"] - summary["done"]
    per_minute = pairs / wall * 60
    log(f"migrate: run of {pairs} pairs in {wall:.0f} s (exit {code}): {summary}; "
        f"most slots {slot_watch.most}, most tasks {tasks.most}")  # fmt: skip

    copy_times = _baseline(env, old, new, range(pairs, pairs + sample), log)
    per_copy = sum(copy_times) / len(copy_times)
    extrapolated = per_copy * pairs
    results.details["migrate"] = {
        "pairs": pairs,
        "slots": slots,
        "set_up_seconds": set_up,
        "dry_run_seconds": dry_run,
        "run_seconds": wall,
        "exit_code": code,
        "summary": summary,
        "most_slots_held": slot_watch.most,
        "most_tasks_alive": tasks.most,
        "baseline_copy_seconds": copy_times,
    }
    note = (
        f"N={pairs}, max_concurrent_restores={slots}, 3 small files per home, "
        f"Wait states x{WAIT_SCALE}"
    )
    baseline_note = (
        f"baseline: one `copy --wait` at a time, {len(copy_times)} pairs timed "
        f"({per_copy:.1f} s each), EXTRAPOLATED to {pairs}"
    )
    results.add(Row(SECTION, f"dry run of {pairs} pairs", dry_run, None, "s", note=note,
                    ratio_kind="none"))  # fmt: skip
    results.add(Row(SECTION, f"run of {pairs} pairs, to the end", wall, extrapolated, "s",
                    note=baseline_note))  # fmt: skip
    results.add(Row(SECTION, "pairs per minute", per_minute, 60 / per_copy, "/min",
                    note="baseline: one copy at a time", ratio_kind="ours/baseline"))  # fmt: skip
    results.add(Row(SECTION, "pairs not done (failed, refused or unfinished)", failures, None,
                    "", Goal("max", 0, "0"), ratio_kind="none"))  # fmt: skip
    results.add(Row(SECTION, "most transfer slots held at once", slot_watch.most, slots, "",
                    Goal("max", slots, f"<= {slots} slots"),
                    note="the registry's slot counter, polled every 0.25 s",
                    ratio_kind="none"))  # fmt: skip
    results.add(Row(SECTION, "most DataSync tasks alive at once", tasks.most, slots, "",
                    Goal("max", slots, f"<= {slots} slots"), note="ListTasks, polled",
                    ratio_kind="none"))  # fmt: skip


def _admin(
    env: Deployed, *args: str, expect: tuple[int, ...] = (0,)
) -> tuple[int, str]:
    code, text = admin(env.endpoint, env.tf_output, *args)
    if code not in expect:
        raise RuntimeError(
            f"studio-recovery {' '.join(args[:1])} exited {code}: {text[-2000:]}"
        )
    return code, text


def _home(studio: Studio, domain_id: str, name: str, *, files: int) -> None:
    studio.create(domain_id, "user", name)
    home = studio.open_app(domain_id, "user", name)
    if files:
        write_small_home(home, files=files)


def _wait_recorded(
    env: Deployed, wanted: dict[str, int], timeout: float = 1800
) -> None:
    """Until each domain has `wanted` generation-1 rows in the registry (one Scan a poll)."""
    ddb = client("dynamodb", env.endpoint, observer=True)
    table = env.outputs["registry_table_name"]
    deadline = time.monotonic() + timeout
    while True:
        counts = dict.fromkeys(wanted, 0)
        pages = ddb.get_paginator("scan").paginate(
            TableName=table,
            FilterExpression="sk = :profile",
            ExpressionAttributeValues={":profile": {"S": "PROFILE"}},
        )
        for page in pages:
            for item in page.get("Items", []):
                domain = item.get("domain_name", {}).get("S")
                if domain in counts:
                    counts[domain] += 1
        if all(counts[d] >= n for d, n in wanted.items()):
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"profiles recorded: {counts}, wanted {wanted}")
        time.sleep(10)  # a Scan of the whole registry: not too often


def _baseline(
    env: Deployed, old: str, new: str, numbers: range, log: Log
) -> list[float]:
    """One `copy --wait` per pair, one after the other: the seconds each took."""
    seconds = []
    for n in numbers:
        clock = time.monotonic()
        _admin(env, "copy", "--from-domain", old, "--from-user", f"u{n}",
               "--to-domain", new, "--to-user", f"p{n}", "--wait", "--poll-seconds", "1")  # fmt: skip
        seconds.append(time.monotonic() - clock)
    log(f"migrate: baseline, {len(seconds)} copies one at a time: "
        f"{', '.join(f'{s:.1f}' for s in seconds)} s")  # fmt: skip
    return seconds
