"""What every part of the scenario harness shares: kinds, terminal statuses, the error."""

from __future__ import annotations

from typing import Literal

Kind = Literal["user", "space"]
SANDBOX_EXAMPLE = "sandbox"
"""The example root (under the examples directory) that is applied to the sandbox."""
TERMINAL_STATUSES = {"SUCCEEDED", "PARTIAL", "FAILED", "SKIPPED", "SOURCE_EMPTY", "SUPERSEDED"}
BACKUP_TERMINAL_STATUSES = {"SUCCEEDED", "FAILED"}


class ScenarioError(RuntimeError):
    """A step of the scenario did not do what it should; the message says what."""
