"""6. Cost of backups to S3 per user per month, measured where the sandbox can, modelled
where it cannot.

Measured on the applied module: one user with a scaled-down home (`FILES` files of
`FILE_KIB` KiB in `DIRS` directories) is backed up by the schedule (the backup function
invoked with a Scheduled Event), then 2% of its files are rewritten and the schedule runs
again. For each backup: the object versions written under the prefix, the bytes and files
DataSync reports; for the incremental one also every request the workflow made (state
transitions, Lambda invocations and seconds, DynamoDB units), priced like section 3.

Modelled (bench/backup_cost.py): a 5 GB home at public us-east-1 prices, with the objects
written per changed file and the workflow's dollars per backup taken from the
measurement. The sandbox's DataSync reads and writes S3 in-process, so its LIST/HEAD
requests cannot be counted here: they are assumptions, printed beside the figures.
"""

from __future__ import annotations

import os
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from studio_sandbox import posix
from studio_sandbox.harness.scenario import (
    BackupBucket,
    Home,
    Registry,
    backup_prefix_of,
    run_backup_schedule,
    wait_for_schedule_run,
)

from bench import backup_cost, prices
from bench.deploy import Deployed
from bench.probes import OBSERVER_CONFIG, PROBES
from bench.report import Goal, Results, Row
from bench.restores import _transitions, open_domain

SECTION = "6 backup cost"
DOMAIN = "bench-backup"
FILES = 250
DIRS = 25
FILE_KIB = 16
DAILY_CHANGE = 0.02
LAMBDA_MEMORY_GB = 256 / 1024  # lambda_memory_size default
Log = Callable[[str], None]


def run(results: Results, env: Deployed, log: Log) -> None:
    function = env.outputs.get("backup_function_name")
    bucket_name = env.outputs.get("backup_bucket_name")
    if not function or not bucket_name:
        raise RuntimeError(
            "the applied module has no backups: backup_function_name unset"
        )
    home = _scaled_home(env)
    bucket = BackupBucket(env.endpoint, str(bucket_name))
    prefix = backup_prefix_of(DOMAIN, home)

    first = _backup(env, str(function), log, "first (full)")
    written_first = bucket.version_count(prefix)
    changed = _rewrite(home, round(FILES * DAILY_CHANGE))
    time.sleep(1.1)  # the second run's backup id carries a later second
    with PROBES.counting_window():
        second = _backup(env, str(function), log, "incremental")
        by_operation = PROBES.by_operation()
        invocations = dict(PROBES.invocations)
        seconds = dict(PROBES.invocation_seconds)
    written_second = bucket.version_count(prefix) - written_first

    workflow = _workflow_cost(env, second, by_operation, invocations, seconds)
    per_changed = written_second / max(1, len(changed))
    bytes_changed = len(changed) * FILE_KIB * 1024
    model = backup_cost.BackupAssumptions(
        daily_change=DAILY_CHANGE,
        objects_per_changed_file=per_changed,
        workflow_dollars_per_backup=workflow.dollars(),
    )
    defaults = backup_cost.monthly_cost(model)
    standard = backup_cost.monthly_cost(backup_cost.with_standard(model))
    log(
        f"backup: first wrote {written_first} objects, incremental {written_second} for "
        f"{len(changed)} changed files; ${defaults.monthly:.3f}/user/month "
        f"(STANDARD only: ${standard.monthly:.3f})"
    )
    results.details["backup_cost"] = {
        "measured": {
            "scaled_home": {"files": FILES, "dirs": DIRS, "file_kib": FILE_KIB},
            "first": _summary(first, written_first),
            "incremental": {
                **_summary(second, written_second),
                "changed_files": len(changed),
                "bytes_changed": bytes_changed,
            },
            "requests_by_operation": by_operation,
            "lambda_invocations": invocations,
            "workflow_per_backup": workflow.as_dict(),
        },
        "assumptions": model.describe(),
        "module_defaults": defaults.as_dict(),
        "storage_class_standard": standard.as_dict(),
        "prices_as_of": prices.PRICES_AS_OF,
    }
    _rows(results, model, defaults, standard, second, per_changed, bytes_changed)


# --------------------------------------------------------------------------- steps


def _scaled_home(env: Deployed) -> Home:
    """A domain opened to DataSync, one user whose home holds FILES files in DIRS dirs."""
    studio, domain_id = open_domain(env, DOMAIN)
    studio.create(domain_id, "user", "backup-user")
    home = studio.open_app(domain_id, "user", "backup-user")
    for index in range(FILES):
        path = home.path / f"dir-{index % DIRS:02d}" / f"file-{index:04d}.bin"
        path.parent.mkdir(exist_ok=True)
        path.write_bytes(os.urandom(FILE_KIB * 1024))
    for dirpath, dirnames, filenames in os.walk(home.path):
        for name in dirnames + filenames:
            posix.set_owner(Path(dirpath) / name, home.uid, 100)
    _wait_recorded(env, home)
    return home


def _wait_recorded(env: Deployed, home: Home, timeout: float = 60) -> None:
    registry = Registry(env.endpoint, env.outputs["registry_table_name"])
    registry.wait_for_generation(DOMAIN, home.kind, home.name, 1, timeout)


def _rewrite(home: Home, count: int) -> list[str]:
    """Rewrite `count` files in place with new bytes of the same size (a day's change)."""
    changed = []
    for index in range(count):
        rel = f"dir-{index % DIRS:02d}/file-{index:04d}.bin"
        (home.path / rel).write_bytes(os.urandom(FILE_KIB * 1024))
        changed.append(rel)
    return changed


def _backup(env: Deployed, function: str, log: Log, label: str) -> dict[str, Any]:
    """Run the schedule; the one backup it started (this sandbox has one user)."""
    started = time.monotonic()
    # The benchmark's own calls (EventBridge's part, the waiting) are not counted.
    run = run_backup_schedule(env.endpoint, function, config=OBSERVER_CONFIG)
    items = wait_for_schedule_run(
        env.endpoint, env.outputs["registry_table_name"], run, config=OBSERVER_CONFIG
    )
    mine = [i for i in items if f"PROFILE#{DOMAIN}#" in str(i["pk"])]
    if len(mine) != 1 or mine[0].get("status") != "SUCCEEDED":
        raise RuntimeError(f"{label} backup did not succeed: {mine}")
    log(f"backup: {label} backup SUCCEEDED in {time.monotonic() - started:.1f} s")
    return mine[0]


def _summary(item: dict[str, Any], written: int) -> dict[str, Any]:
    return {
        "objects_written": written,
        "files_transferred": int(item.get("files_transferred", 0)),
        "bytes_written": int(item.get("bytes_written", 0)),
        "total_duration_ms": int(item.get("total_duration_ms", 0)),
    }


def _workflow_cost(
    env: Deployed,
    item: dict[str, Any],
    by_operation: dict[str, int],
    invocations: dict[str, int],
    seconds: dict[str, float],
) -> prices.RestoreCost:
    """What one backup's workflow costs besides DataSync and S3 (section 3's units)."""
    transitions, _polls, _types = _transitions(env, str(item["execution_arn"]))
    by_service = Counter[str]()
    for key, count in by_operation.items():
        by_service[key.split(":", 1)[0]] += count
    writes, reads = prices.dynamodb_units(by_operation)
    return prices.RestoreCost(
        transitions=transitions,
        lambda_invocations=sum(invocations.values()),
        lambda_gb_seconds=sum(seconds.values()) * LAMBDA_MEMORY_GB,
        datasync_calls=by_service.get("datasync", 0),
        sagemaker_calls=by_service.get("sagemaker", 0),
        dynamodb_writes=writes,
        dynamodb_reads=reads,
        gb_copied=0.0,  # DataSync is priced by the model, per GB changed
    )


# --------------------------------------------------------------------------- rows


def _rows(
    results: Results,
    model: backup_cost.BackupAssumptions,
    defaults: backup_cost.BackupCost,
    standard: backup_cost.BackupCost,
    incremental: dict[str, Any],
    per_changed: float,
    bytes_changed: int,
) -> None:
    home = (
        f"{model.home_gb:g} GB home, {model.daily_change:.0%} rewritten daily, "
        f"{model.files:,} files of {model.mean_file_kib:g} KiB"
    )
    requests = defaults.requests_per_backup
    add = results.add
    add(Row(SECTION, "objects written per changed file (incremental backup, measured)",
            per_changed, 1.0, "", Goal("max", 1.0, "<= 1"),
            note=f"{FILES} files of {FILE_KIB} KiB, {DAILY_CHANGE:.0%} rewritten; baseline: the "
            "model", ratio_kind="none"))  # fmt: skip
    sent = int(incremental.get("bytes_written", 0))
    add(Row(SECTION, "bytes sent by the incremental backup / bytes changed (measured)",
            sent / bytes_changed, 1.0, "", Goal("max", 1.0, "<= 1"),
            note=f"{sent:,} of {bytes_changed:,} bytes", ratio_kind="none"))  # fmt: skip
    add(Row(SECTION, "workflow per backup: Step Functions, Lambda, DynamoDB (measured)",
            model.workflow_dollars_per_backup, None, "$",
            note="the same workflow as a restore", ratio_kind="none"))  # fmt: skip
    add(Row(SECTION, "S3 storage per user per month", defaults.storage, standard.storage, "$",
            note=f"{home}; 35 d of earlier versions; baseline: storage_class STANDARD",
            ratio_kind="none"))  # fmt: skip
    add(Row(SECTION, "S3 requests per user per month", defaults.requests, standard.requests,
            "$", note=(
                f"per daily backup {requests['LIST']:.0f} LIST, "
                f"{requests['HEAD_cold'] + requests['HEAD_hot']:,.0f} HEAD (1 per object), "
                f"{requests['PUT']:,.0f} PUT, {requests['verify']:,.0f} verify reads; "
                "baseline: STANDARD"), ratio_kind="none"))  # fmt: skip
    add(Row(SECTION, "DataSync per user per month", defaults.datasync, None, "$",
            note=f"{model.changed_gb * model.backups_per_month:g} GB copied at "
            f"${prices.DATASYNC_PER_GB}/GB", ratio_kind="none"))  # fmt: skip
    add(Row(SECTION, "workflow per user per month", defaults.workflow, None, "$",
            note=f"{model.backups_per_month} backups", ratio_kind="none"))  # fmt: skip
    add(Row(SECTION, "total per user per month (module defaults)", defaults.monthly,
            standard.monthly, "$",
            note="defaults: daily, STANDARD_IA after 30 d; baseline: storage_class STANDARD",
            ratio_kind="none"))  # fmt: skip
    add(Row(SECTION, "first backup, once per user", defaults.first_backup, None, "$",
            note="full copy and PUTs, later the lifecycle transitions", ratio_kind="none"))  # fmt: skip
