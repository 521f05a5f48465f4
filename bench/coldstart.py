"""4. Cold start: how long importing each handler module takes in a fresh interpreter
(median of 10), against `import boto3` alone (which the Lambda runtime also pays), and
the size of the deployment zip."""

from __future__ import annotations

import statistics
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from bench.report import Goal, Results, Row

SECTION = "4 cold start"
HANDLERS = (
    "studio_recovery.handlers.event",
    "studio_recovery.handlers.seeder",
    "studio_recovery.handlers.stream",
    "studio_recovery.handlers.transfer",
)
BASELINE = "boto3"
ZIP_BUDGET_BYTES = 200 * 1024  # scripts/build_lambda_zip.py SIZE_BUDGET_BYTES
_PROBE = (
    "import sys, time; sys.path.insert(0, sys.argv[2]) if sys.argv[2] else None; "
    "t = time.perf_counter(); __import__(sys.argv[1]); "
    "print(time.perf_counter() - t)"
)


def import_seconds(module: str, code_path: str = "") -> float:
    """Seconds to import `module` in a new interpreter (bytecode already compiled)."""
    env = {
        "PATH": "/usr/bin:/bin",
        "POWERTOOLS_SERVICE_NAME": "studio-recovery",
        "POWERTOOLS_METRICS_NAMESPACE": "StudioRecovery",
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    out = subprocess.run(
        [sys.executable, "-c", _PROBE, module, code_path],
        capture_output=True, text=True, check=True, env=env,
    )  # fmt: skip
    return float(out.stdout.strip().splitlines()[-1])


def median_import(module: str, runs: int, code_path: str = "") -> float:
    import_seconds(module, code_path)  # warm the file cache and the .pyc files
    return statistics.median(import_seconds(module, code_path) for _ in range(runs))


def run(
    results: Results, zip_path: Path, quick: bool, log: Callable[[str], None]
) -> None:
    runs = 3 if quick else 10
    base = median_import(BASELINE, runs)
    log(f"coldstart: import boto3 {1000 * base:.0f} ms (median of {runs})")
    details: dict[str, float] = {BASELINE: base}
    for module in HANDLERS:
        seconds = median_import(module, runs)
        details[module] = seconds
        log(f"coldstart: import {module} {1000 * seconds:.0f} ms")
        results.add(
            Row(SECTION, f"import {module.rsplit('.', 1)[-1]}", 1000 * seconds, 1000 * base,
                "ms", note=f"median of {runs}; baseline: import boto3 alone",
                ratio_kind="ours/baseline")
        )  # fmt: skip
    results.details["coldstart"] = {"median_seconds": details, "runs": runs}
    if zip_path.is_file():
        size_kib = zip_path.stat().st_size / 1024
        results.details["coldstart"]["zip_bytes"] = zip_path.stat().st_size
        results.add(
            Row(SECTION, "build/lambda.zip size", size_kib, ZIP_BUDGET_BYTES / 1024, "KiB",
                Goal("max", ZIP_BUDGET_BYTES / 1024, "<= 200 KiB"),
                "baseline: the build's size budget", ratio_kind="ours/baseline")
        )  # fmt: skip
    else:
        results.errors.append(f"coldstart: {zip_path} is missing (run `make build`)")
