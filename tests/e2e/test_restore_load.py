"""Many recreations at once against DataSync's 100-task quota, and the cost of one restore.

`make test` recreates E2E_RECREATIONS profiles (default 24: more than the e2e module's 20
transfer slots, so some wait their turn); `RUN_SLOW=1` (`make load`) recreates 300,
as issue 5 asks. Figures are printed and written to build/e2e-figures/.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Self

import pytest
from studio_sandbox import faults, posix
from studio_sandbox.datasync import backend as datasync_backend
from studio_sandbox.harness.scenario import Home, write_small_home

from tests.deployment import REPO_ROOT
from tests.e2e.conftest import E2E_VARIABLES, WAIT_SCALE, Deployed
from tests.e2e.flows import new_domain, wait_restore

RUN_SLOW = os.environ.get("RUN_SLOW") == "1"
RECREATIONS = int(os.environ.get("E2E_RECREATIONS") or (300 if RUN_SLOW else 24))
SLOTS = int(E2E_VARIABLES["max_concurrent_restores"])
FIGURES = REPO_ROOT / "build" / "e2e-figures"


def _progress(started: float, what: str) -> None:
    """A line per step of a long run (shown with `pytest -s`)."""
    print(f"\n[{time.monotonic() - started:7.1f} s] {what}", flush=True)


def _record(name: str, figures: dict[str, Any]) -> None:
    FIGURES.mkdir(parents=True, exist_ok=True)
    (FIGURES / f"{name}.json").write_text(json.dumps(figures, indent=2) + "\n")
    print(f"\n{name}: {json.dumps(figures)}")


class TaskWatcher:
    """Polls ListTasks while a run lasts and keeps the most live tasks seen."""

    def __init__(self, deployed: Deployed) -> None:
        self.datasync = deployed.client("datasync")
        self.max_live = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            tasks = self.datasync.list_tasks(MaxResults=100).get("Tasks", [])
            self.max_live = max(self.max_live, len(tasks))
            self._stop.wait(0.2)

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()


@pytest.fixture
def quota_refusals(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """CreateTask calls the sandbox refused for the task quota, as they happen."""
    refused: list[str] = []
    original = datasync_backend.SandboxDataSyncBackend.create_sync_task

    def counted(self: Any, params: dict[str, Any]) -> Any:
        try:
            return original(self, params)
        except Exception as error:
            if "maximum number of tasks" in str(error):
                refused.append(str(params.get("DestinationLocationArn")))
            raise

    monkeypatch.setattr(
        datasync_backend.SandboxDataSyncBackend, "create_sync_task", counted
    )
    yield refused


def test_many_recreations_at_once_all_complete_within_the_quota(
    deployed: Deployed, unique: Callable[[str], str], quota_refusals: list[str]
) -> None:
    domain = unique("load")
    domain_id = new_domain(deployed, domain)
    names = [f"p{index:03d}" for index in range(RECREATIONS)]
    first: dict[str, Home] = {}
    prepared = time.monotonic()
    for index, name in enumerate(names, 1):
        deployed.studio.create(domain_id, "user", name)
        first[name] = deployed.studio.open_app(domain_id, "user", name)
        write_small_home(first[name])
        if index % 50 == 0:
            _progress(prepared, f"{index}/{RECREATIONS} created with a home")
    for name in names:
        deployed.registry.wait_for_generation(domain, "user", name, 1, timeout=120)
    _progress(prepared, f"{RECREATIONS} recorded")

    started = time.monotonic()
    with TaskWatcher(deployed) as watcher:
        for name in names:
            deployed.studio.delete(domain_id, "user", name)
        _progress(started, f"{RECREATIONS} deleted")
        for index, name in enumerate(names, 1):
            deployed.studio.create(domain_id, "user", name)
            deployed.studio.open_app(domain_id, "user", name)
            if index % 50 == 0:
                _progress(started, f"{index}/{RECREATIONS} recreated")
        items = {}
        for index, name in enumerate(names, 1):
            items[name] = wait_restore(
                deployed, domain, "user", name, 2, timeout=60 + 3 * RECREATIONS
            )
            if index % 50 == 0:
                _progress(started, f"{index}/{RECREATIONS} restores ended")
    elapsed = time.monotonic() - started

    statuses = {name: item["status"] for name, item in items.items()}
    _record(
        f"recreations-{RECREATIONS}",
        {
            "recreations": RECREATIONS,
            "wall_time_s": round(elapsed, 1),
            "max_live_datasync_tasks": watcher.max_live,
            "transfer_slots": SLOTS,
            "quota_refusals": len(quota_refusals),
            "succeeded": sum(1 for s in statuses.values() if s == "SUCCEEDED"),
            "wait_scale": WAIT_SCALE,
        },
    )
    assert [n for n, s in statuses.items() if s != "SUCCEEDED"] == []
    assert 0 < watcher.max_live <= SLOTS < 100
    assert quota_refusals == []
    assert deployed.leftovers() == {"tasks": [], "locations": [], "access_points": []}


# --------------------------------------------------------------------------- cost

ONE_GB = 1024 * 1024 * 1024
# The transition count does not depend on the size, only on the transfer's duration: `make
# test` restores 64 MiB (writing and copying 1 GiB twice takes minutes on a 2-core
# machine); RUN_SLOW=1 (`make load`) restores the full gigabyte.
BIG_HOME_BYTES = ONE_GB if RUN_SLOW else 64 * 1024 * 1024
ORIGINAL_DESCRIBE_POLL_S = 30
MODULE_DEFAULT_POLL_S = 60  # variables.tf poll_interval_seconds default
SANDBOX_POLL_S = 10  # examples/sandbox poll_interval_seconds
POLL_LOOP = {"WaitForTransfer", "CheckTransfer", "TransferStatus", "CountWait"}


def _polls(transfer_seconds: float, interval: int) -> int:
    return max(1, math.ceil(transfer_seconds / interval))


def original_sample_transitions(transfer_seconds: float) -> int:
    """State transitions of the original sample's workflow for the same restore.

    Its structure (DESIGN.md section 5), in the case most favourable to it (the user already
    opened Studio, so the 300 s ListApps loop runs once): ListApps + Choice; CreateLocationEfs
    twice, CreateTask, StartTaskExecution; per 30 s poll a Wait, a DescribeTaskExecution and
    a Choice; the DynamoDB write-back.
    """
    return 2 + 4 + 3 * _polls(transfer_seconds, ORIGINAL_DESCRIBE_POLL_S) + 1


def our_transitions(fixed: int, transfer_seconds: float, interval: int) -> int:
    """Ours: the fixed states, Wait + Check + Choice per poll, CountWait between polls."""
    polls = _polls(transfer_seconds, interval)
    return fixed + 3 * polls + (polls - 1)


def _write_big_home(home: Home) -> str:
    block = os.urandom(min(BIG_HOME_BYTES, 64 * 1024 * 1024))
    digest = hashlib.sha256()
    path = home.path / "data" / "big.bin"
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as out:
        for _ in range(BIG_HOME_BYTES // len(block)):
            out.write(block)
            digest.update(block)
    for entry in (home.path / "data", path):
        posix.set_owner(entry, home.uid, 100)
    return digest.hexdigest()


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as source:
        while chunk := source.read(8 * 1024 * 1024):
            digest.update(chunk)
    return digest.hexdigest()


def test_a_restore_costs_fewer_transitions_than_the_original(
    deployed: Deployed, unique: Callable[[str], str]
) -> None:
    domain = unique("cost")
    domain_id = new_domain(deployed, domain)
    deployed.studio.create(domain_id, "user", "big")
    old = deployed.studio.open_app(domain_id, "user", "big")
    expected = _write_big_home(old)
    deployed.registry.wait_for_generation(domain, "user", "big", 1)
    faults.set_wait_scale(1.0)  # real poll intervals: the count must be the real one
    try:
        deployed.studio.delete(domain_id, "user", "big")
        deployed.studio.create(domain_id, "user", "big")
        home = deployed.studio.open_app(domain_id, "user", "big")
        item = wait_restore(deployed, domain, "user", "big", 2, timeout=300)
    finally:
        faults.set_wait_scale(WAIT_SCALE)

    assert item["status"] == "SUCCEEDED", item
    assert _sha256(home.path / "data" / "big.bin") == expected
    history = deployed.client("stepfunctions").get_execution_history(
        executionArn=item["execution_arn"], maxResults=1000
    )["events"]
    entered = [
        e["stateEnteredEventDetails"]["name"]
        for e in history
        if e["type"].endswith("StateEntered")
    ]
    polls = entered.count("CheckTransfer")
    fixed = sum(1 for name in entered if name not in POLL_LOOP)
    lambdas = sum(
        1
        for e in history
        if e["type"] == "LambdaFunctionScheduled"
        or (e.get("taskScheduledEventDetails") or {}).get("resourceType") == "lambda"
    )
    transfer_s = int(item["total_duration_ms"]) / 1000
    at_default = our_transitions(fixed, transfer_s, MODULE_DEFAULT_POLL_S)
    original = original_sample_transitions(transfer_s)
    _record(
        "one-gigabyte-restore" if RUN_SLOW else "restore-64-mib",
        {
            "bytes_written": int(item["bytes_written"]),
            "transfer_s": transfer_s,
            "history_events": len(history),
            "state_transitions_sandbox_poll_10s": len(entered),
            "polls": polls,
            "fixed_transitions": fixed,
            "state_transitions_module_default_poll_60s": at_default,
            "original_state_transitions_best_case": original,
            "workflow_lambda_invocations": lambdas,
            "original_workflow_lambda_invocations": 0,
        },
    )
    assert int(item["bytes_written"]) >= BIG_HOME_BYTES
    # The model of our workflow is the one the sandbox really ran.
    assert len(entered) == our_transitions(
        fixed, SANDBOX_POLL_S * polls, SANDBOX_POLL_S
    )
    assert lambdas == 2  # prepare and finalize, whatever the transfer's length
    assert at_default < original
    for minutes in (1, 5, 15, 60, 240):  # what a 1 GB EFS-to-EFS transfer takes on AWS
        seconds = 60 * minutes
        assert our_transitions(fixed, seconds, MODULE_DEFAULT_POLL_S) < (
            original_sample_transitions(seconds)
        ), f"{minutes} min"
