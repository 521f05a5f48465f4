"""`studio-recovery-sandbox up|down|status`: run the offline sandbox in the background.

`up` starts the sandbox as a background process (or in the foreground with
`--foreground`), waits until it answers `/_sandbox/health`, and prints its endpoint;
the data directory then holds `sandbox.pid`, `endpoint` and `sandbox.log`. `down` stops
it and removes the data directory unless `--keep` is given.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

from studio_sandbox.server import state

PID_FILE = "sandbox.pid"
ENDPOINT_FILE = "endpoint"
LOG_FILE = "sandbox.log"
START_TIMEOUT_S = 15.0  # ready in ~2 s; a loaded machine gets some slack


def health(endpoint: str, timeout: float = 1.0) -> dict[str, object] | None:
    """The sandbox's health answer, or None when nothing answers at `endpoint`."""
    try:
        with urllib.request.urlopen(f"{endpoint}/_sandbox/health", timeout=timeout) as resp:  # noqa: S310
            answer: dict[str, object] = json.loads(resp.read())
            return answer
    except (urllib.error.URLError, OSError, ValueError):
        return None


def _read(path: Path) -> str | None:
    try:
        return path.read_text().strip() or None
    except FileNotFoundError:
        return None


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def running_endpoint(data_dir: Path) -> str | None:
    """The endpoint of the sandbox that owns `data_dir`, if it is up."""
    endpoint = _read(data_dir / ENDPOINT_FILE)
    if endpoint and health(endpoint):
        return endpoint
    return None


def run_foreground(port: int, data_dir: Path) -> int:
    """Serve until SIGTERM or SIGINT; writes the pid and endpoint files once serving."""
    from studio_sandbox.server.app import Sandbox

    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    with Sandbox(port=port, data_dir=data_dir) as sandbox:
        (data_dir / PID_FILE).write_text(f"{os.getpid()}\n")
        (data_dir / ENDPOINT_FILE).write_text(sandbox.endpoint_url + "\n")
        print(sandbox.endpoint_url, flush=True)
        stop.wait()
    (data_dir / PID_FILE).unlink(missing_ok=True)
    (data_dir / ENDPOINT_FILE).unlink(missing_ok=True)
    return 0


def up(port: int, data_dir: Path, foreground: bool) -> int:
    """Start the sandbox (in the background unless `foreground`) and print its endpoint."""
    data_dir.mkdir(parents=True, exist_ok=True)
    existing = running_endpoint(data_dir)
    if existing:
        print(existing)
        return 0
    if foreground:
        return run_foreground(port, data_dir)
    (data_dir / ENDPOINT_FILE).unlink(missing_ok=True)
    with (data_dir / LOG_FILE).open("ab") as log:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "studio_sandbox",
                "up",
                "--foreground",
                "--port",
                str(port),
                "--data-dir",
                str(data_dir),
            ],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=log,
            start_new_session=True,
        )
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        endpoint = running_endpoint(data_dir)
        if endpoint:
            print(endpoint)
            return 0
        if proc.poll() is not None:
            break
        time.sleep(0.05)
    if proc.poll() is None:
        proc.terminate()
    print(
        f"error: the sandbox did not start in {START_TIMEOUT_S:.0f} s; see {data_dir / LOG_FILE}",
        file=sys.stderr,
    )
    return 1


def down(data_dir: Path, keep: bool) -> int:
    """Stop the sandbox of `data_dir`; remove the directory unless `keep`."""
    pid_text = _read(data_dir / PID_FILE)
    if pid_text and pid_text.isdigit() and _pid_alive(int(pid_text)):
        pid = int(pid_text)
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + 10
        while _pid_alive(pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        if _pid_alive(pid):
            os.kill(pid, signal.SIGKILL)
        print(f"sandbox (pid {pid}) stopped")
    else:
        print("no sandbox running")
    if not keep and data_dir.is_dir():
        shutil.rmtree(data_dir)
        print(f"removed {data_dir}")
    return 0


def status(data_dir: Path) -> int:
    """Print whether the sandbox of `data_dir` is up; exit 1 when it is not."""
    endpoint = running_endpoint(data_dir)
    if endpoint is None:
        print("sandbox is not running")
        return 1
    print(json.dumps(health(endpoint), indent=2))
    return 0


def build_parser(prog: str = "studio-recovery-sandbox") -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=prog, description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    for name, help_text in (
        ("up", "start the sandbox"),
        ("down", "stop the sandbox"),
        ("status", "is the sandbox running?"),
    ):
        cmd = sub.add_parser(name, help=help_text)
        cmd.add_argument(
            "--data-dir",
            type=Path,
            default=None,
            help=f"where the sandbox keeps its data (default ${state.DATA_DIR_ENV} or ./.sandbox)",
        )
        if name == "up":
            cmd.add_argument(
                "--port",
                type=int,
                default=state.DEFAULT_PORT,
                help="loopback port (default %(default)s; 0 picks a free one)",
            )
            cmd.add_argument(
                "--foreground", action="store_true", help="serve in this process until interrupted"
            )
            cmd.add_argument(
                "--iam",
                choices=("enforce", "off"),
                default=None,
                help="authorize every role session's call (default $SANDBOX_IAM, else off)",
            )
        if name == "down":
            cmd.add_argument("--keep", action="store_true", help="keep the data directory")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of `studio-recovery-sandbox`; `studio-recovery sandbox ...` runs it too."""
    args = build_parser().parse_args(argv)
    data_dir = (args.data_dir or state.default_data_dir()).resolve()
    if args.command == "up":
        if args.iam:  # read by Sandbox(), here or in the background process `up` starts
            os.environ["SANDBOX_IAM"] = args.iam
        return up(args.port, data_dir, args.foreground)
    if args.command == "down":
        return down(data_dir, args.keep)
    return status(data_dir)
