"""Switches outside the request path: how DataSync executions end, the Step Functions clock."""

from __future__ import annotations

import time
from typing import Any

from studio_sandbox.datasync import models as datasync_models
from studio_sandbox.faults.services import (
    FaultError,
)

# --------------------------------------------------------------------------- DataSync executions


def datasync_faults() -> dict[str, Any]:
    """How DataSync executions currently end (see `datasync.models.Faults`)."""
    error = datasync_models.faults.error
    return {
        "error": list(error) if error else None,
        "hang": datasync_models.faults.hang,
        "phase_delay": datasync_models.faults.phase_delay,
        "fail_paths": list(datasync_models.faults.fail_paths),
        "fail_paths_runs": datasync_models.faults.fail_paths_runs,
    }


def set_datasync_faults(
    error: list[str] | tuple[str, str] | None = None,
    hang: bool = False,
    phase_delay: float = 0,
    fail_paths: list[str] | tuple[str, ...] = (),
    fail_paths_runs: int = 0,
) -> None:
    """Make every DataSync execution end in ERROR (`[code, detail]`), hang, go slowly, or
    fail to transfer the files matching `fail_paths` (globs relative to the source) in the
    next `fail_paths_runs` executions (0: in every one)."""
    if isinstance(fail_paths_runs, bool) or not isinstance(fail_paths_runs, int):
        raise FaultError("fail_paths_runs must be a whole number")
    if fail_paths_runs < 0:
        raise FaultError("fail_paths_runs must not be negative")
    if not all(isinstance(p, str) and p for p in fail_paths):
        raise FaultError("fail_paths must be a list of glob patterns")
    if error is not None and (len(error) != 2 or not all(isinstance(e, str) for e in error)):
        raise FaultError("error must be [ErrorCode, ErrorDetail] or null")
    if float(phase_delay) < 0:
        raise FaultError("phase_delay must not be negative")
    datasync_models.faults.error = (error[0], error[1]) if error else None
    datasync_models.faults.hang = bool(hang)
    datasync_models.faults.phase_delay = float(phase_delay)
    datasync_models.faults.fail_paths = tuple(fail_paths)
    datasync_models.faults.fail_paths_runs = fail_paths_runs


# --------------------------------------------------------------------------- Step Functions clock

_wait_scale = 1.0
_original_wait: Any = None


class _ScaledTime:
    """`time` for moto's retrier: its `sleep` lasts `seconds x scale`."""

    def __getattr__(self, name: str) -> Any:
        return getattr(time, name)

    @staticmethod
    def sleep(seconds: float) -> None:
        time.sleep(seconds * _wait_scale)


def set_wait_scale(scale: float) -> None:
    """Step Functions `Wait` states and `Retry` intervals last `seconds x scale` (1: real)."""
    global _wait_scale, _original_wait
    if not 0 < scale <= 1:
        raise FaultError(f"scale must be in (0, 1], not {scale}")
    from moto.stepfunctions.parser.asl.component.common.retry import retrier_decl
    from moto.stepfunctions.parser.asl.component.state.wait.wait_function import (
        wait_function as wf,
    )

    setattr(retrier_decl, "time", _ScaledTime())  # noqa: B010 - a module attribute of moto

    if _original_wait is None:
        _original_wait = wf.WaitFunction._wait_interval

        def scaled(self: Any, env: Any, wait_seconds: int) -> None:
            if _wait_scale >= 1:
                _original_wait(self, env, wait_seconds)
            elif wait_seconds > 0:
                env.program_state_event.wait(wait_seconds * _wait_scale)

        wf.WaitFunction._wait_interval = scaled  # type: ignore[method-assign]
    _wait_scale = float(scale)


def wait_scale() -> float:
    """The current Step Functions `Wait` scale."""
    return _wait_scale
