"""`make bench`: run every measurement on the offline sandbox, print one table, write
bench/results.json and docs/performance.md.

    .venv/bin/python -m bench.run [--only coldstart,seeding,deploy,restore,backup] [--quick]
    .venv/bin/python -m bench.run --only latency   # or demo, migrate: parts run only when named
    .venv/bin/python -m bench.run --only migrate [--migrate-pairs 2000]

Each figure stands beside its baseline measured in the same run: this machine is noisy,
so the ratios, not the absolute times, are the result. A missed goal is marked
`GOAL MISSED` in the table and listed in the JSON; the exit code is 0 unless a part could
not run at all (a missed goal is a finding, not a crash). A run of some parts only
(`--only`) replaces their sections in the JSON file and keeps the others' rows. The page
docs/performance.md (`--doc`) is rewritten from the results, except by a `--quick` run.
"""

from __future__ import annotations

import argparse
import logging
import os
import platform
import shlex
import shutil
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import report
from bench.report import Results

REPO = Path(__file__).resolve().parents[1]
PARTS = ("coldstart", "seeding", "deploy", "restore", "backup")
"""The default run's parts; `demo` (bench/demo_time.py, ~6 min), `latency`
(bench/restore_latency.py, ~4 min: DataSync phases and polls at AWS's pace, real time) and
`migrate` (bench/migrate.py, 2,000 pairs: the better part of an hour on 2 cores) run only
when named."""
ALL_PARTS = (*PARTS, "demo", "latency", "migrate")


def log(text: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {text}", file=sys.stderr, flush=True)


def _quiet() -> None:
    for name in ("werkzeug", "moto", "botocore", "urllib3", "studio_sandbox"):
        logging.getLogger(name).setLevel(logging.CRITICAL)


def _part(results: Results, name: str, body: Callable[[], None]) -> None:
    started = time.monotonic()
    log(f"{name}: starting")
    try:
        body()
    except Exception as exc:  # noqa: BLE001 - one failed part must not hide the others
        results.errors.append(f"{name}: {type(exc).__name__}: {exc}")
        log(f"{name}: FAILED\n{traceback.format_exc()}")
    results.meta.setdefault("part_seconds", {})[name] = round(
        time.monotonic() - started, 1
    )
    log(f"{name}: done in {time.monotonic() - started:.0f} s")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="bench", description=(__doc__ or "").split("\n")[0]
    )
    parser.add_argument("--only", default=",".join(PARTS), help="comma-separated parts")
    parser.add_argument(
        "--quick", action="store_true", help="small sizes, to try the code"
    )
    parser.add_argument("--zip", type=Path, default=REPO / "build" / "lambda.zip")
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results.json")
    parser.add_argument(
        "--doc",
        type=Path,
        default=None,
        help="the page to rewrite (default docs/performance.md; none for --quick)",
    )
    parser.add_argument(
        "--restores", type=int, default=None, help="mass-restore size N"
    )
    parser.add_argument(
        "--migrate-pairs",
        type=int,
        default=None,
        help="migrate: pairs in the map (default 2000; 40 with --quick)",
    )
    args = parser.parse_args(argv)
    parts = [p.strip() for p in args.only.split(",") if p.strip()]
    unknown = sorted(set(parts) - set(ALL_PARTS))
    if unknown:
        parser.error(f"unknown part(s) {unknown}; choose from {', '.join(ALL_PARTS)}")
    _quiet()
    os.environ.update(
        AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing",
        AWS_DEFAULT_REGION="us-east-1", AWS_ACCOUNT_ID_ENDPOINT_MODE="disabled",
    )  # fmt: skip
    rc = REPO / "build" / "terraform.rc"
    if (
        rc.is_file()
        and not Path(os.environ.get("TF_CLI_CONFIG_FILE", "/nonexistent")).is_file()
    ):
        os.environ["TF_CLI_CONFIG_FILE"] = str(
            rc
        )  # what `make` exports: offline mirror
    results = Results(
        meta={
            "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "command": (
                "python -m bench.run "
                + shlex.join(sys.argv[1:] if argv is None else argv)
            ).strip(),
            "python": platform.python_version(),
            "machine": f"{platform.machine()}, {_cpus()} CPUs",
            "quick": args.quick,
        }
    )
    started = time.monotonic()
    data_dir = Path(tempfile.mkdtemp(prefix="studio-recovery-bench-"))
    try:
        if "coldstart" in parts:
            from bench import coldstart

            _part(
                results,
                "coldstart",
                lambda: coldstart.run(results, args.zip, args.quick, log),
            )
        if "seeding" in parts:
            _part(results, "seeding", lambda: _seeding(results, data_dir, args.quick))
        if "demo" in parts:
            from bench import demo_time

            _part(results, "demo", lambda: demo_time.run(results, log))
        if {"deploy", "restore", "backup", "latency", "migrate"} & set(parts):
            _part(
                results,
                "deploy+restore",
                lambda: _deployed(results, data_dir, args, parts),
            )
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)
    results.meta["total_seconds"] = round(time.monotonic() - started, 1)
    results.meta["load_average_at_end"] = os.getloadavg()
    if set(parts) != set(ALL_PARTS):
        report.keep_other_sections(results, args.out)
    results.rows.sort(key=lambda row: row.section)  # stable: parts keep their order
    print(report.render_markdown(results.rows))
    print()
    print(report.summary(results))
    print(f"total {results.meta['total_seconds']:.0f} s; results in {args.out}")
    report.write_json(results, args.out)
    doc = args.doc or (None if args.quick else REPO / "docs" / "performance.md")
    if doc is not None:
        print(f"page rewritten: {report.write_document(results, doc)}")
    return 1 if results.errors else 0


def _cpus() -> int:
    return os.cpu_count() or 1


def _seeding(results: Results, data_dir: Path, quick: bool) -> None:
    from bench import seeding
    from bench.sandbox_proc import sandbox_process

    plan = (
        seeding.SeedingPlan(
            domains=2, per_domain=40, growth_domains=(1, 2), baseline_domains=1
        )
        if quick
        else seeding.SeedingPlan()
    )
    with sandbox_process(data_dir / "seeding") as endpoint:
        seeding.run(results, endpoint, plan, log)
        _part(
            results,
            "seeding-throttled",
            lambda: _throttled(results, endpoint, plan, seeding),
        )


def _throttled(results: Results, endpoint: str, plan: Any, seeding: Any) -> None:
    from bench import throttled_seeding

    domains = seeding._sample_domains(endpoint, plan.domains)
    throttled_seeding.run(
        results,
        endpoint,
        domain_ids=domains,
        per_domain=plan.per_domain,
        baseline_domains=plan.baseline_domains,
        concurrency=seeding.DEFAULT_CONCURRENCY,
        log=log,
    )


def _deployed(results: Results, data_dir: Path, args: Any, parts: list[str]) -> None:
    from studio_sandbox.server.app import Sandbox

    from bench import deploy, probes, restores

    probes.install()
    with Sandbox(port=0, data_dir=data_dir / "deployed", iam_enforced=True) as sandbox:
        # The deploy rows only when asked for: other parts just need the module applied.
        deploy_results = results if "deploy" in parts else Results()
        env = deploy.run(
            deploy_results, sandbox.endpoint_url, args.zip, data_dir / "deployed", log
        )
        if (
            "backup" in parts
        ):  # first: the restore part's domains would be backed up too
            from bench import backups

            _part(results, "backup", lambda: backups.run(results, env, log))
        if "restore" in parts:
            n = args.restores or (20 if args.quick else restores.DEFAULT_RESTORES)
            big_mb = 16 if args.quick else 1024
            restores.run(results, env, n=n, big_mb=big_mb, log=log)
        if "latency" in parts:
            from bench import restore_latency

            _part(results, "latency", lambda: restore_latency.run(results, env, log))
        if "migrate" in parts:
            from bench import migrate

            pairs = args.migrate_pairs or (40 if args.quick else migrate.DEFAULT_PAIRS)
            sample = 3 if args.quick else migrate.BASELINE_SAMPLE
            _part(
                results,
                "migrate",
                lambda: migrate.run(
                    results, env, pairs=pairs, sample=sample, log=log,
                    data_dir=data_dir,
                ),
            )  # fmt: skip


if __name__ == "__main__":
    sys.exit(main())
