"""1. Seeding at SageMaker's rate limit: on AWS, seeding is bounded by the API's request
rates, not by CPU. The sandbox's per-operation limit (studio_sandbox.sagemaker.throttle,
DEFAULT_RATES: an assumption, no published figure) is switched on and both seeders run
against it: ours as the seeder Lambda builds its client (SageMakerGateway, botocore's
retries), the original sample's sequential one with boto3's default client.

The bound: each operation's calls can go no faster than its bucket, `(calls - burst) /
rate` seconds, and the buckets drain side by side, so no seeder can take less than the
slowest operation's time. Throughput is reported as a fraction of that bound.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import boto3
from studio_sandbox.sagemaker.throttle import DEFAULT_RATES, Rate

from bench import baseline_seeder
from bench.report import Goal, Results, Row
from bench.sandbox_setup import create_table

SECTION = "1 seeding"
GOAL_FRACTION = 0.9


def bound_seconds(calls: dict[str, int], rates: dict[str, Rate]) -> float:
    """The least time in which `calls` (per operation) fit under `rates`."""
    times = [0.0]
    for operation, count in calls.items():
        rate = rates.get(operation) or rates.get("*")
        if rate is not None:
            times.append(max(0.0, count - rate.capacity) / rate.per_second)
    return max(times)


def _set_rates(endpoint: str, rates: dict[str, Rate] | None) -> dict[str, Any]:
    from bench.seeding import _bench_call

    wire = {op: [r.per_second, r.burst] for op, r in (rates or {}).items()}
    return _bench_call(endpoint, "throttle", {"rates": wire or None})


def _counts(endpoint: str) -> dict[str, Any]:
    from bench.seeding import _bench_call

    return _bench_call(endpoint, "throttle", {})


@contextmanager
def _sagemaker_endpoint(endpoint: str) -> Iterator[None]:
    """The product's gateway builds its own client, as in the Lambda: point it here."""
    saved = os.environ.get("AWS_ENDPOINT_URL_SAGEMAKER")
    os.environ["AWS_ENDPOINT_URL_SAGEMAKER"] = endpoint
    try:
        yield
    finally:
        if saved is None:
            os.environ.pop("AWS_ENDPOINT_URL_SAGEMAKER", None)
        else:
            os.environ["AWS_ENDPOINT_URL_SAGEMAKER"] = saved


def _ours(endpoint: str, concurrency: int) -> tuple[float, int, str]:
    """The seeder as the seeder Lambda runs it; (seconds, recorded, failure or '')."""
    from studio_recovery.dal.aws_errors import RETRY_CONFIG
    from studio_recovery.dal.registry import RegistryRepository
    from studio_recovery.dal.sagemaker import SageMakerGateway
    from studio_recovery.logic.seeding import seed

    table = create_table(endpoint, "bench-throttled")
    registry = RegistryRepository(
        table, boto3.resource("dynamodb", endpoint_url=endpoint, config=RETRY_CONFIG)
    )
    with _sagemaker_endpoint(endpoint):
        gateway = SageMakerGateway(threads=concurrency)
    started = time.perf_counter()
    try:
        report = seed(
            gateway, registry, concurrency=concurrency, run_id="bench-throttled"
        )
    except Exception as exc:  # noqa: BLE001 - a call failing for good is the finding
        return time.perf_counter() - started, 0, f"{type(exc).__name__}: {exc}"
    failure = f"{len(report.skipped)} skipped" if report.skipped else ""
    return time.perf_counter() - started, report.recorded, failure


def _baseline(endpoint: str, domain_ids: list[str]) -> tuple[float, int, str]:
    table = boto3.resource("dynamodb", endpoint_url=endpoint).Table(
        create_table(endpoint, "bench-throttled-sample")
    )
    sagemaker = boto3.client("sagemaker", endpoint_url=endpoint)  # boto3's defaults
    started = time.perf_counter()
    try:
        written = baseline_seeder.seed_like_the_sample(sagemaker, table, domain_ids)
    except Exception as exc:  # noqa: BLE001 - a call failing for good is the finding
        return time.perf_counter() - started, 0, f"{type(exc).__name__}: {exc}"
    return time.perf_counter() - started, written, ""


def run(
    results: Results,
    endpoint: str,
    *,
    domain_ids: list[str],
    per_domain: int,
    baseline_domains: int,
    concurrency: int,
    log: Callable[[str], None],
    rates: dict[str, Rate] | None = None,
) -> None:
    """Both seeders over `domain_ids` (already holding `per_domain` homes each) under
    `rates` (default: DEFAULT_RATES); the baseline over the first `baseline_domains`,
    scaled (sequential: linear)."""
    rates = dict(rates or DEFAULT_RATES)
    total = len(domain_ids) * per_domain
    try:
        _set_rates(endpoint, rates)
        ours_s, recorded, failure = _ours(endpoint, concurrency)
        counts = _counts(endpoint)
        log(
            f"seeding: throttled, ours {recorded} in {ours_s:.1f} s {failure}; {counts}"
        )
        _set_rates(endpoint, rates)  # full buckets, counters reset
        sample = sorted(domain_ids)[:baseline_domains]
        base_measured_s, base_rows, base_failure = _baseline(endpoint, sample)
        base_counts = _counts(endpoint)
        log(
            f"seeding: throttled, sample {base_rows} in {base_measured_s:.1f} s {base_failure}"
        )
    finally:
        _set_rates(endpoint, None)
    calls = {op: int(n) for op, n in counts["allowed"].items()}
    bound_s = bound_seconds(calls, rates)
    scale = total / max(1, base_rows)
    base_s = base_measured_s * scale
    bound_rate = total / bound_s if bound_s else float("inf")
    results.details["seeding_throttled"] = {
        "rates": {op: [r.per_second, r.burst] for op, r in rates.items()},
        "rates_are": "an assumption (studio_sandbox.sagemaker.throttle.DEFAULT_RATES)",
        "concurrency": concurrency,
        "profiles": total,
        "ours_seconds": ours_s,
        "ours_recorded": recorded,
        "ours_failure": failure,
        "ours_calls": counts,
        "bound_seconds": bound_s,
        "baseline_seconds": base_s,
        "baseline_measured_seconds": base_measured_s,
        "baseline_measured_rows": base_rows,
        "baseline_failure": base_failure,
        "baseline_calls": base_counts,
    }
    rates_note = ", ".join(
        f"{op} {r.per_second:g}/s" for op, r in sorted(rates.items())
    )
    results.add(
        Row(SECTION, f"throttled: seed {total:,} profiles+spaces at the rate limit",
            ours_s, base_s, "s", Goal("higher", 1, "faster than the original"),
            f"assumed rates {rates_note}; baseline measured on {base_rows:,}, scaled"
            f" x{scale:g}")
    )  # fmt: skip
    results.add(
        Row(SECTION, "throttled: profiles/s as a fraction of the rate limit's bound",
            (total / ours_s) / bound_rate, (total / base_s) / bound_rate, "",
            Goal("min", GOAL_FRACTION, f">= {GOAL_FRACTION:.0%} of the bound"),
            f"bound {bound_rate:.1f} profiles/s ({bound_s:.0f} s: the slowest"
            " operation's calls at its rate); baseline: the original at the same limits",
            ratio_kind="ours/baseline")
    )  # fmt: skip
    results.add(
        Row(SECTION, "throttled: profiles recorded, no call failing for good", recorded,
            total, "", Goal("min", total, "all recorded, no failure"),
            f"ours: {failure or 'no failure'}; {sum(counts['throttled'].values()):,}"
            f" calls throttled and retried; the original: {base_failure or 'no failure'}",
            ratio_kind="ours/baseline")
    )  # fmt: skip
