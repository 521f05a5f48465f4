"""1. Seeding: our seeder (logic.seeding + the real DAL) against the original sample's
sequential seeder, with latency injected on every SageMaker call; and how our time grows
with the number of profiles.

The domains are created through the SageMaker API; their profiles and spaces directly in
the sandbox's SageMaker backend (in-process, no CloudTrail event): through the API, 5,000
creations would cost more time than the measurement itself.
"""

from __future__ import annotations

import json
import os
import time
import urllib.request
from dataclasses import dataclass
from typing import Any

import boto3
from studio_sandbox.harness.scenario import Studio

from bench import baseline_seeder
from bench.report import Goal, Results, Row
from bench.sandbox_setup import client, create_table, make_vpc

SECTION = "1 seeding"
DEFAULT_CONCURRENCY = 8  # SEED_CONCURRENCY's default (docs/internals.md)


@dataclass(frozen=True)
class SeedingPlan:
    domains: int = 10
    per_domain: int = 500  # half user profiles, half spaces
    latency_ms: float = 20.0
    growth_domains: tuple[int, ...] = (1, 2, 10)
    baseline_domains: int = 1
    """The baseline runs once the sandbox holds this many domains, over all of them."""


def _sandbox_ceiling(
    endpoint: str, users: int, calls: int = 400, threads: int = DEFAULT_CONCURRENCY
) -> float:
    """DescribeUserProfile calls per second the sandbox serves with no injected latency,
    `threads` at a time: the most any seeder can reach here."""
    from concurrent.futures import ThreadPoolExecutor

    sagemaker = boto3.client("sagemaker", endpoint_url=endpoint, config=_pool(threads))
    domain_id = _sample_domains(endpoint, 1)[0]
    names = [f"user-{2 * (i % users):04d}" for i in range(calls)]
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=threads) as pool:
        list(pool.map(lambda n: sagemaker.describe_user_profile(DomainId=domain_id,
                                                                UserProfileName=n), names))  # fmt: skip
    return calls / (time.perf_counter() - started)


def _sample_domains(endpoint: str, count: int) -> list[str]:
    sagemaker = client("sagemaker", endpoint)
    domains = sagemaker.list_domains().get("Domains", [])
    return sorted(d["DomainId"] for d in domains)[:count]


def _bench_call(endpoint: str, route: str, body: dict[str, Any]) -> dict[str, Any]:
    request = urllib.request.Request(
        f"{endpoint}/_bench/{route}", data=json.dumps(body).encode(), method="POST"
    )
    with urllib.request.urlopen(request, timeout=120) as reply:
        answer: dict[str, Any] = json.loads(reply.read())
        return answer


def _add_domains(
    studio: Studio, endpoint: str, first: int, count: int, per_domain: int
) -> None:
    for index in range(first, first + count):
        domain_id = studio.create_domain(f"bench-{index:02d}")
        _bench_call(endpoint, "homes", {"domain_id": domain_id, "count": per_domain})


def _run_ours(endpoint: str, concurrency: int) -> tuple[float, int, str]:
    from studio_recovery.dal.aws_errors import RETRY_CONFIG
    from studio_recovery.dal.registry import RegistryRepository
    from studio_recovery.dal.sagemaker import SageMakerGateway
    from studio_recovery.logic.seeding import seed

    table = create_table(endpoint, "bench-ours")
    sagemaker = boto3.client(
        "sagemaker",
        endpoint_url=endpoint,
        config=RETRY_CONFIG.merge(_pool(concurrency)),
    )
    registry = RegistryRepository(
        table, boto3.resource("dynamodb", endpoint_url=endpoint, config=RETRY_CONFIG)
    )
    started = time.perf_counter()
    report = seed(
        SageMakerGateway(sagemaker), registry, concurrency=concurrency, run_id="bench"
    )
    elapsed = time.perf_counter() - started
    return elapsed, report.recorded, table


def _pool(concurrency: int) -> Any:
    from botocore.config import Config

    return Config(max_pool_connections=max(10, concurrency + 2))


def _run_baseline(
    endpoint: str, domain_ids: list[str] | None = None
) -> tuple[float, int]:
    table_name = create_table(endpoint, "bench-sample")
    table = boto3.resource("dynamodb", endpoint_url=endpoint).Table(table_name)
    sagemaker = client("sagemaker", endpoint)
    started = time.perf_counter()
    written = baseline_seeder.seed_like_the_sample(sagemaker, table, domain_ids)
    return time.perf_counter() - started, written


def run(results: Results, endpoint: str, plan: SeedingPlan, log: Any) -> None:
    from studio_recovery.observability import logger

    logger.setLevel("WARNING")
    vpc_id, subnets = make_vpc(endpoint)
    studio = Studio(endpoint, vpc_id, subnets)
    _bench_call(endpoint, "latency", {"service": "sagemaker", "ms": plan.latency_ms})
    growth: list[dict[str, Any]] = []
    created = 0
    ours_full: tuple[float, int, str] | None = None
    try:
        for domains in plan.growth_domains:
            _add_domains(studio, endpoint, created, domains - created, plan.per_domain)
            created = domains
            elapsed, recorded, table = _run_ours(endpoint, DEFAULT_CONCURRENCY)
            profiles = domains * plan.per_domain
            log(
                f"seeding: ours {profiles} profiles in {elapsed:.1f} s ({recorded} recorded)"
            )
            growth.append(
                {"profiles": profiles, "seconds": elapsed, "recorded": recorded,
                 "ms_per_profile": 1000 * elapsed / profiles,
                 "load_average_1min": os.getloadavg()[0]}
            )  # fmt: skip
            if domains == plan.domains:
                ours_full = (elapsed, recorded, table)
            if domains == plan.baseline_domains:
                sample = _sample_domains(endpoint, domains)
                base_measured_s, base_rows = _run_baseline(endpoint, sample)
                base_load = os.getloadavg()[0]
                log(
                    f"seeding: sample-style {base_rows} rows in {base_measured_s:.1f} s"
                )
        if ours_full is None or base_rows == 0:
            raise RuntimeError(
                "the growth series must include the baseline and full sizes"
            )
    finally:
        _bench_call(endpoint, "latency", {"service": "sagemaker", "ms": 0})
    ceiling = _sandbox_ceiling(endpoint, users=(plan.per_domain + 1) // 2)
    log(f"seeding: sandbox ceiling {ceiling:.0f} DescribeUserProfile/s (no latency)")
    total = plan.domains * plan.per_domain
    scale = total / base_rows
    base_s = base_measured_s * scale
    ours_s, recorded, table = ours_full
    results.details["seeding"] = {
        "domains": plan.domains,
        "per_domain": plan.per_domain,
        "latency_ms_per_sagemaker_call": plan.latency_ms,
        "concurrency": DEFAULT_CONCURRENCY,
        "ours_seconds": ours_s,
        "ours_recorded": recorded,
        "baseline_seconds": base_s,
        "baseline_measured_seconds": base_measured_s,
        "baseline_measured_rows": base_rows,
        "baseline_scale": scale,
        "baseline_load_average_1min": base_load,
        "growth": growth,
        "sandbox_describes_per_second_no_latency": ceiling,
    }
    note = f"{plan.domains} domains x {plan.per_domain}, {plan.latency_ms:g} ms/SageMaker call"
    if scale != 1:
        note += f"; baseline measured on {base_rows:,} and scaled x{scale:g} (sequential: linear)"
    # Ours is CPU-bound here, the baseline mostly waits: other work on the machine slows
    # ours far more, so the load stands beside the ratio.
    note += f"; 1-min load {growth[-1]['load_average_1min']:.1f} (ours), {base_load:.1f} (baseline)"
    results.add(
        Row(SECTION, f"seed {total:,} profiles+spaces", ours_s, base_s, "s",
            Goal("higher", 10, ">= 10x faster"), note)
    )  # fmt: skip
    results.add(
        Row(SECTION, "profiles recorded (of all listed)", recorded, total, "",
            Goal("higher", 1, "all recorded"), "ours", ratio_kind="ours/baseline")
    )  # fmt: skip
    results.add(
        Row(SECTION, "ours: profiles per second vs the sandbox's ceiling", total / ours_s,
            ceiling, "/s", note="ceiling: DescribeUserProfile/s, 8 threads, no latency",
            ratio_kind="ours/baseline")
    )  # fmt: skip
    first = growth[0]
    for point in growth:
        results.add(
            Row(SECTION, f"ms per profile at {point['profiles']:,}", point["ms_per_profile"],
                first["ms_per_profile"], "ms",
                Goal("max", 2 * first["ms_per_profile"], "<= 2x the smallest (~linear)"),
                "baseline: ours at the smallest size", ratio_kind="ours/baseline")
        )  # fmt: skip
