"""`seed`: run the seeder Lambda, which records every existing domain, profile and space."""

from __future__ import annotations

import argparse
import json
import threading
import time
from typing import Any

from botocore.config import Config

from studio_recovery.cli.context import Context
from studio_recovery.cli.errors import CliError
from studio_recovery.cli.exit_codes import ExitCode

# Lambda runs at most 15 minutes; wait a little longer, and never retry a started seeding.
SEED_PAYLOAD = b'{"action": "seed"}'
_WAIT_CONFIG = Config(read_timeout=960, retries={"mode": "standard", "total_max_attempts": 1})


def register(subparsers: Any, parents: list[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "seed",
        parents=parents,
        help="record every existing domain, profile and space (runs the seeder Lambda)",
        description=(
            "Invoke the seeder Lambda. Without --wait it starts the seeding and returns; with "
            "--wait it shows progress until the seeder ends and prints its counts. Seeding is "
            "safe to repeat."
        ),
    )
    parser.add_argument("--wait", action="store_true", help="wait for the counts")
    parser.set_defaults(run=run)


def run(context: Context) -> int:
    function = context.resources.require("seeder_function_name")
    if not context.args.wait:
        context.aws.client("lambda").invoke(
            FunctionName=function, InvocationType="Event", Payload=SEED_PAYLOAD
        )
        if context.out.json_mode:
            context.out.json({"function": function, "started": True})
        else:
            context.out.line(f"Seeding started ({function}); run `seed --wait` to see counts.")
        return ExitCode.OK
    counts = _invoke_and_wait(context, function)
    _show(context, function, counts)
    return ExitCode.OK


def _invoke_and_wait(context: Context, function: str) -> dict[str, Any]:
    """Invoke the seeder synchronously, with a spinner and elapsed time on a terminal."""
    client = context.aws.client("lambda", config=_WAIT_CONFIG)
    if not context.out.interactive:
        return _payload(function, client.invoke(FunctionName=function, Payload=SEED_PAYLOAD))
    outcome: dict[str, Any] = {}

    def invoke() -> None:
        try:
            outcome["response"] = client.invoke(FunctionName=function, Payload=SEED_PAYLOAD)
        except Exception as exc:  # re-raised in the main thread
            outcome["error"] = exc

    worker = threading.Thread(target=invoke, daemon=True)
    started = time.monotonic()
    worker.start()
    with context.out.console.status("") as status:
        while worker.is_alive():
            status.update(f"Seeding with {function}: {time.monotonic() - started:.0f}s")
            worker.join(timeout=0.5)
    if "error" in outcome:
        raise outcome["error"]
    return _payload(function, outcome["response"])


def _payload(function: str, response: dict[str, Any]) -> dict[str, Any]:
    body = response["Payload"].read()
    try:
        payload = json.loads(body) if body else {}
    except json.JSONDecodeError:
        payload = {"raw": body.decode("utf-8", "replace")}
    if response.get("FunctionError"):
        message = payload.get("errorMessage") if isinstance(payload, dict) else None
        kind = payload.get("errorType") if isinstance(payload, dict) else None
        raise CliError(f"the seeder {function} failed: {kind or 'error'}: {message or payload}")
    return payload if isinstance(payload, dict) else {"result": payload}


def _show(context: Context, function: str, counts: dict[str, Any]) -> None:
    out = context.out
    if out.json_mode:
        out.json({"function": function, "counts": counts})
        return
    rows: list[tuple[str, Any]] = []
    for key, value in counts.items():
        if isinstance(value, int | float | str) and key != "action":
            rows.append((key.replace("_", " "), value))
    reasons = counts.get("skipped_reasons")
    if isinstance(reasons, dict):
        rows += [(f"  skipped: {reason}", number) for reason, number in reasons.items()]
    out.table(f"Seeding done ({function})", ["what", "count"], rows)
    examples = counts.get("skipped_examples")
    if isinstance(examples, list) and examples:
        out.line("Skipped, for example:")
        for example in examples:
            out.line(f"  {example}")
