"""Where a `terraform apply` of examples/sandbox spends its time, resource by resource.

    .venv/bin/python -m bench.apply_profile [--zip build/lambda.zip] [--log DIR]

Starts a sandbox in this process, applies the real module with `terraform apply -json`
(Terraform's own machine-readable log: `apply_start` and `apply_complete` carry a
timestamp per resource) and prints the slowest resources, the sum of their own times and
the wall time. With `--log DIR`, `TF_LOG=debug` goes to DIR/terraform.log: the provider's
requests, retries and waits, to see why a resource is slow.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class ResourceTime:
    address: str
    action: str
    seconds: float


def parse_apply_log(lines: list[str]) -> list[ResourceTime]:
    """Per-resource durations from `terraform apply -json` lines (slowest first)."""
    started: dict[str, datetime] = {}
    spans: list[ResourceTime] = []
    for line in lines:
        try:
            message: dict[str, Any] = json.loads(line)
        except ValueError:
            continue
        kind = message.get("type")
        hook = message.get("hook") or {}
        address = str((hook.get("resource") or {}).get("addr", ""))
        stamp = message.get("@timestamp")
        if not address or not stamp:
            continue
        at = datetime.fromisoformat(str(stamp))
        if kind == "apply_start":
            started[address] = at
        elif kind in ("apply_complete", "apply_errored") and address in started:
            seconds = (at - started.pop(address)).total_seconds()
            spans.append(ResourceTime(address, str(hook.get("action", "")), seconds))
    return sorted(spans, key=lambda span: -span.seconds)


PROVIDER_FLOORS: tuple[tuple[str, float, str, bool], ...] = (
    ("aws_s3_bucket_lifecycle_configuration", 55.0,
     "waitLifecycleConfigEquals: 10 s delay, then 10 equal reads 5 s apart", False),
    ("aws_sqs_queue", 25.0, "waitQueueAttributesPropagated: 6 equal reads 5 s apart", False),
    ("aws_sqs_queue_policy", 25.0, "waitQueueAttributesPropagated: 6 equal reads 5 s apart",
     False),
    ("aws_lambda_function", 5.0,
     ("waitFunctionCreated: 5 s delay; and one create at a time (the provider locks"
      " `filename` zips), so the others queue: their fastest is shown"), True),
)  # fmt: skip
"""Waits the hashicorp/aws 5.100 provider makes whatever the API answers (read in its
source, internal/service/{s3,sqs,lambda}): AWS pays them too. Per resource of that type;
the last field: compare the fastest of the type (its others wait for a lock) not the slowest."""


def resource_type(address: str) -> str:
    """`module.a.aws_sqs_queue.this[0]` -> `aws_sqs_queue`."""
    parts = [
        p for p in address.split(".") if p.startswith(("aws_", "data", "terraform_"))
    ]
    return parts[0].split("[")[0] if parts else ""


def apply_json(
    tf: Any, extra_env: dict[str, str] | None = None
) -> tuple[float, list[str], str]:
    """`terraform apply -json` of a harness :class:`Terraform`; (seconds, lines, stderr)."""
    env = tf._env()  # the same environment the harness applies with
    env.update(extra_env or {})
    command = [
        "terraform", f"-chdir={tf.workdir}", "apply", "-auto-approve", "-input=false",
        "-json", f"-state={tf.state_path}", *tf._args(),
    ]  # fmt: skip
    began = time.monotonic()
    result = subprocess.run(
        command, env=env, capture_output=True, text=True, check=False
    )
    wall = time.monotonic() - began
    if result.returncode != 0:
        tail = "\n".join((result.stdout + result.stderr).splitlines()[-30:])
        raise RuntimeError(f"terraform apply failed ({result.returncode}):\n{tail}")
    return wall, result.stdout.splitlines(), result.stderr


def first_start_seconds(lines: list[str]) -> float:
    """Seconds from Terraform's first message to the first resource's apply_start."""
    first: datetime | None = None
    for line in lines:
        try:
            message: dict[str, Any] = json.loads(line)
        except ValueError:
            continue
        at = datetime.fromisoformat(str(message.get("@timestamp")))
        first = first or at
        if message.get("type") == "apply_start":
            return (at - first).total_seconds()
    return 0.0


def profile(zip_path: Path, log_dir: Path | None, top: int) -> int:
    from studio_sandbox.harness.scenario.terraform import Terraform, sandbox_root
    from studio_sandbox.server.app import Sandbox

    for name in ("werkzeug", "moto", "botocore", "urllib3"):
        logging.getLogger(name).setLevel(logging.CRITICAL)
    data_dir = Path(tempfile.mkdtemp(prefix="apply-profile-"))
    extra: dict[str, str] = {}
    if log_dir is not None:
        log_dir.mkdir(parents=True, exist_ok=True)
        extra = {"TF_LOG": "debug", "TF_LOG_PATH": str(log_dir / "terraform.log")}
    with Sandbox(port=0, data_dir=data_dir) as sandbox:
        tf = Terraform(
            workdir=sandbox_root(REPO / "examples"),
            data_dir=data_dir,
            variables={
                "sandbox_endpoint": sandbox.endpoint_url,
                "lambda_package_path": str(zip_path.resolve()),
            },
        )
        tf.init()
        wall, lines, _stderr = apply_json(tf, extra)
    if log_dir is not None:
        (log_dir / "apply.jsonl").write_text("\n".join(lines))
    spans = parse_apply_log(lines)
    print(f"apply: {wall:.1f} s wall, {len(spans)} resources")
    print(
        f"before the first resource (start, plan): {first_start_seconds(lines):.1f} s"
    )
    print(f"sum of per-resource times {sum(s.seconds for s in spans):.1f} s")
    for span in spans[:top]:
        print(f"  {span.seconds:7.2f} s  {span.action:8} {span.address}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench.apply_profile", description=__doc__)
    parser.add_argument("--zip", type=Path, default=REPO / "build" / "lambda.zip")
    parser.add_argument(
        "--log", type=Path, default=None, help="write TF_LOG=debug here"
    )
    parser.add_argument("--top", type=int, default=25)
    args = parser.parse_args(argv)
    rc = REPO / "build" / "terraform.rc"
    if rc.is_file():
        os.environ.setdefault("TF_CLI_CONFIG_FILE", str(rc))
    return profile(args.zip, args.log, args.top)


if __name__ == "__main__":
    sys.exit(main())
