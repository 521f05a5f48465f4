"""A sandbox in its own process, with the benchmark's probes: the seeding benchmark's
server, so that the seeders under test and the AWS stand-in do not share one interpreter
(and its GIL) on a 2-core machine, as a remote AWS would not.

    python -m bench.sandbox_proc DATA_DIR   # prints the endpoint, serves until stdin closes
"""

from __future__ import annotations

import logging
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def main(argv: list[str]) -> int:
    for name in ("werkzeug", "moto", "botocore", "urllib3", "studio_sandbox"):
        logging.getLogger(name).setLevel(logging.CRITICAL)
    from studio_sandbox.server.app import Sandbox

    from bench import probes

    probes.install()
    with Sandbox(port=0, data_dir=Path(argv[0]), iam_enforced=True) as sandbox:
        print(sandbox.endpoint_url, flush=True)
        sys.stdin.read()  # until the parent closes our stdin
    return 0


@contextmanager
def sandbox_process(data_dir: Path) -> Iterator[str]:
    """Start the sandbox in a child process; yield its endpoint; stop it after."""
    child = subprocess.Popen(
        [sys.executable, "-m", "bench.sandbox_proc", str(data_dir)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parents[1],
    )
    try:
        assert child.stdout is not None and child.stdin is not None
        endpoint = child.stdout.readline().strip()
        if not endpoint.startswith("http"):
            raise RuntimeError(
                f"the sandbox process did not start (exit {child.poll()})"
            )
        yield endpoint
    finally:
        if child.stdin is not None:
            child.stdin.close()
        try:
            child.wait(timeout=30)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
