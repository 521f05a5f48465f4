"""7. `make demo` as a newcomer runs it: a fresh clone of this repository, `make venv`
(installation) then `make demo`, timed; beside it, the same installation by pip
(`make venv USE_UV=0`, what `make venv` did before) in a second fresh clone.

    .venv/bin/python -m bench.run --only demo      # ~6 min: not part of the default run
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from bench.report import Goal, Results, Row

SECTION = "7 demo"
REPO = Path(__file__).resolve().parents[1]
DEMO_GOAL_S = 180.0
APPLY_GOAL_S = 30.0


def _clone(work: Path, name: str) -> Path:
    target = work / name
    subprocess.run(["git", "clone", "-q", str(REPO), str(target)], check=True)
    return target


def _timed(command: list[str], cwd: Path) -> tuple[float, str]:
    started = time.monotonic()
    result = subprocess.run(
        command, cwd=cwd, capture_output=True, text=True, check=False
    )
    seconds = time.monotonic() - started
    if result.returncode != 0:
        tail = "\n".join((result.stdout + result.stderr).splitlines()[-30:])
        raise RuntimeError(
            f"`{' '.join(command)}` failed ({result.returncode}):\n{tail}"
        )
    return seconds, result.stdout


def apply_seconds(demo_output: str) -> float | None:
    """The apply's time as the demo prints it (`done in N s` after the apply step)."""
    found = re.search(
        r"terraform apply of the real module.*?done in ([0-9.]+) s",
        demo_output,
        re.DOTALL,
    )
    return float(found.group(1)) if found else None


def run(results: Results, log: Callable[[str], None]) -> None:
    work = Path(tempfile.mkdtemp(prefix="bench-demo-"))
    try:
        ours = _clone(work, "fresh")
        venv_s, _ = _timed(["make", "venv"], ours)
        log(f"demo: make venv (uv) {venv_s:.0f} s")
        demo_s, output = _timed(["make", "demo"], ours)
        log(f"demo: make demo {demo_s:.0f} s after the installation")
        pip_s, _ = _timed(["make", "venv", "USE_UV=0"], _clone(work, "with-pip"))
        log(f"demo: make venv USE_UV=0 (pip) {pip_s:.0f} s")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    apply_s = apply_seconds(output)
    results.details["demo"] = {
        "venv_seconds": venv_s, "demo_seconds": demo_s, "pip_venv_seconds": pip_s,
        "apply_seconds": apply_s,
    }  # fmt: skip
    total = venv_s + demo_s
    results.add(
        Row(SECTION, "make demo from a fresh clone, installation included", total,
            pip_s + demo_s, "s", Goal("max", DEMO_GOAL_S, f"<= {DEMO_GOAL_S:g} s"),
            "git clone; make venv; make demo. Baseline: the same with pip installing",
            ratio_kind="baseline/ours")
    )  # fmt: skip
    results.add(
        Row(SECTION, "installation: make venv (uv) vs make venv USE_UV=0 (pip)", venv_s,
            pip_s, "s", note="the same pinned lock, each in a fresh clone")
    )  # fmt: skip
    results.add(
        Row(SECTION, "the demo's terraform apply (163 resources)", apply_s, None, "s",
            Goal("max", APPLY_GOAL_S, f"<= {APPLY_GOAL_S:g} s"),
            "bound by the provider's own waits: section 5", ratio_kind="none")
    )  # fmt: skip
