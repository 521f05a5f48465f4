"""`make reliability`: fault injection, load and invariants, one table row per scenario.

Every scenario runs on ONE sandbox with the real module applied once, in its own domain
names. It seeds profiles and spaces (a few small files each, generation 1), switches its
faults on, deletes and recreates them (the new owner writes a file at once), waits for the
restores, switches the faults off, lets the system settle, and then checks the invariants:

- every eligible profile restored exactly once (SUCCEEDED restore items and Step Functions
  executions per target), from the right directory (generation 1, its uid, its volume),
  byte for byte;
- no file the new owner wrote was deleted or overwritten;
- no DataSync task, location or tagged access point left behind, the task count never above
  `max_concurrent_restores`, no record left unread in a stream shard;
- every failure visible: a FAILED execution or registry reason plus an SNS message, or a
  message in the stream failure queue / event dead-letter queue.

Layout: `env` (the sandbox, tap, quota watch, scenario types), `steps`, `scenarios`,
`invariants`, `runner` (`main`).

Usage: python -m studio_sandbox.harness.reliability [--full] [--json PATH] [--load N]
       [--zip PATH] [--examples-dir DIR]
Exits 1 when any invariant fails.
"""

from studio_sandbox.harness.reliability.env import (
    MAX_CONCURRENT_RESTORES,
    Env,
    Scenario,
    Target,
    environment,
)
from studio_sandbox.harness.reliability.invariants import Row, summarise
from studio_sandbox.harness.reliability.runner import main, run, run_scenario, table
from studio_sandbox.harness.reliability.scenarios import scenarios

__all__ = [
    "MAX_CONCURRENT_RESTORES",
    "Env",
    "Row",
    "Scenario",
    "Target",
    "environment",
    "main",
    "run",
    "run_scenario",
    "scenarios",
    "summarise",
    "table",
]
