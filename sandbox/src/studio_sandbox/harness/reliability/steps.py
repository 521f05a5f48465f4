"""The steps of one scenario: seed homes, delete and recreate, wait for the restores, settle."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from studio_sandbox.harness.reliability.env import (
    OWN_FILE,
    Env,
    Scenario,
    Target,
)
from studio_sandbox.harness.scenario import (
    TERMINAL_STATUSES,
    Kind,
    ScenarioError,
    admin,
    write_as_owner,
    write_small_home,
)

# --------------------------------------------------------------------------- steps


def open_efs(env: Env, domain_id: str) -> None:
    code, output = admin(env.endpoint, env.tf_output, "open-efs", "--domain-id", domain_id)
    if code != 0:
        raise ScenarioError(f"open-efs {domain_id} exited {code}: {output}")


def _seed_one(env: Env, domain_name: str, domain_id: str, kind: Kind, name: str) -> Target:
    env.studio.create(domain_id, kind, name)
    home = env.studio.open_app(domain_id, kind, name)
    write_small_home(home)
    env.registry.wait_for_generation(domain_name, kind, name, 1, timeout=120)
    files = {
        path.relative_to(home.path).as_posix(): path.read_bytes()
        for path in home.path.rglob("*")
        if path.is_file()
    }
    return Target(domain_name, domain_id, kind, name, home, files=files)


def seed_targets(env: Env, scenario: Scenario, index: int) -> list[Target]:
    tag = f"r{env.stamp}-{index}"
    domains = []
    for d in range(scenario.domains):
        name = f"{tag}-d{d}"
        domain_id = env.studio.create_domain(name)
        open_efs(env, domain_id)
        domains.append((name, domain_id))
    jobs = []
    for p in range(scenario.profiles):
        domain_name, domain_id = domains[p % len(domains)]
        kind: Kind = "user" if p % 2 == 0 else "space"
        jobs.append((domain_name, domain_id, kind, f"{kind[0]}{p}"))
    with ThreadPoolExecutor(max_workers=6) as pool:
        return list(pool.map(lambda job: _seed_one(env, *job), jobs))


def _recreate_one(env: Env, target: Target, *, delete: bool) -> None:
    if delete:
        env.studio.delete(target.domain_id, target.kind, target.name)
    env.studio.create(target.domain_id, target.kind, target.name)
    target.new = env.studio.open_app(target.domain_id, target.kind, target.name)
    target.own_bytes = f"{target.name}'s own work, written first\n".encode()
    write_as_owner(target.new, OWN_FILE, target.own_bytes)


def recreate_all(env: Env, targets: list[Target], *, delete: bool = True) -> None:
    with ThreadPoolExecutor(max_workers=6) as pool:
        if delete:  # all deleted first, then all created: "at once"
            list(pool.map(lambda t: env.studio.delete(t.domain_id, t.kind, t.name), targets))
        list(pool.map(lambda t: _recreate_one(env, t, delete=False), targets))


def restores_of(env: Env, target: Target) -> list[dict[str, Any]]:
    return [
        item
        for item in env.registry.restores(target.domain_name, target.kind, target.name)
        if int((item.get("target") or {}).get("generation", -1)) >= 2
    ]


def progress(started: float, what: str) -> None:
    print(f"   [{time.monotonic() - started:6.0f} s] {what}", flush=True)


def wait_terminal(env: Env, targets: list[Target], timeout: float, started: float) -> None:
    deadline = time.monotonic() + timeout
    waiting = list(targets)
    shown = time.monotonic()
    while waiting and time.monotonic() < deadline:
        waiting = [
            t
            for t in waiting
            if not any(i.get("status") in TERMINAL_STATUSES for i in restores_of(env, t))
        ]
        if waiting and time.monotonic() - shown >= 30:
            progress(started, f"{len(targets) - len(waiting)}/{len(targets)} restores ended")
            shown = time.monotonic()
        time.sleep(1)


def executions_since(env: Env, since: float) -> list[dict[str, Any]]:
    sfn = env.client("stepfunctions")
    found: list[dict[str, Any]] = []
    pages = sfn.get_paginator("list_executions").paginate(
        stateMachineArn=env.outputs["state_machine_arn"]
    )
    for page in pages:
        for execution in page.get("executions", []):
            if execution["startDate"].timestamp() >= since - 1:
                found.append(execution)
    return found


def settle(env: Env, since: float, timeout: float = 120) -> None:
    """Wait until no execution of this scenario runs and the stream is read to its end."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        running = [e for e in executions_since(env, since) if e["status"] == "RUNNING"]
        if not running and env.stream_backlog() == 0:
            return
        time.sleep(1)
