"""The execution history quota of Step Functions: 25,000 events, then the execution fails.

AWS ("Avoid reaching the history quota", Step Functions developer guide): "When an
execution reaches 24,999 events, it waits for the next event to happen. If the event
number 25,000 is ExecutionSucceeded, the execution finishes successfully. If the event
number 25,000 isn't ExecutionSucceeded, the ExecutionFailed event is logged and the state
machine execution fails". The execution fails with `States.Runtime` and the cause "The
execution reached the maximum number of history events (25000)." (as AWS reports it).
moto keeps appending events for ever; this module applies the quota to every execution.
"""

from __future__ import annotations

import threading
from typing import Any

from moto.stepfunctions.parser.api import ExecutionFailedEventDetails, HistoryEventType
from moto.stepfunctions.parser.asl.eval import environment
from moto.stepfunctions.parser.asl.eval.event import event_manager
from moto.stepfunctions.parser.asl.eval.event.event_detail import EventDetails

HISTORY_LIMIT = 25_000
"""Events in one execution history (a hard quota on AWS); tests may lower it."""

ERROR = "States.Runtime"


def cause(limit: int) -> str:
    """The cause AWS gives an execution that reached the history quota."""
    return f"The execution reached the maximum number of history events ({limit})."


_originals: dict[str, Any] = {}
_lock = threading.Lock()


def _environment_init(self: Any, *args: Any, **kwargs: Any) -> None:
    _originals["env_init"](self, *args, **kwargs)
    # frames replace their manager with their parent's: the first owner is the execution
    self.event_manager.__dict__.setdefault("sandbox_owner", self)


def _add_event(self: Any, context: Any, event_type: Any, *args: Any, **kwargs: Any) -> int:
    state = self.__dict__
    with _lock:
        if state.get("sandbox_closed"):
            return int(state.get("sandbox_last_id", 0))
        count = state.get("sandbox_count", 0) + 1
        state["sandbox_count"] = count
        if count >= HISTORY_LIMIT:  # the last event: success, or the failure
            state["sandbox_closed"] = True
        over = count >= HISTORY_LIMIT and event_type != HistoryEventType.ExecutionSucceeded
    if not over:
        event_id: int = _originals["add_event"](self, context, event_type, *args, **kwargs)
        state["sandbox_last_id"] = event_id
        return event_id
    failure = ExecutionFailedEventDetails(error=ERROR, cause=cause(HISTORY_LIMIT))
    event_id = _originals["add_event"](
        self,
        context,
        HistoryEventType.ExecutionFailed,
        EventDetails(executionFailedEventDetails=failure),  # type: ignore[typeddict-item]
    )
    state["sandbox_last_id"] = event_id
    owner = state.get("sandbox_owner")
    if owner is not None:
        owner.set_error(failure)
    return event_id


def install() -> None:
    """Apply the quota to every execution (once)."""
    if _originals:
        return
    _originals.update(
        env_init=environment.Environment.__init__,
        add_event=event_manager.EventManager.add_event,
    )
    environment.Environment.__init__ = _environment_init  # type: ignore[method-assign]
    event_manager.EventManager.add_event = _add_event  # type: ignore[method-assign]


def uninstall() -> None:
    """Give moto back its unbounded history."""
    if not _originals:
        return
    environment.Environment.__init__ = _originals["env_init"]  # type: ignore[method-assign]
    event_manager.EventManager.add_event = _originals["add_event"]  # type: ignore[method-assign]
    _originals.clear()
