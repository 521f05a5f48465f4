"""Client-side pacing per operation, learned from throttling: calls go at the rate the
service admits, instead of bursting into ThrottlingException and sleeping it off.

AWS meters API calls per operation with token buckets whose rates SageMaker does not
publish. A pacer hooked on a botocore client sends every attempt unpaced until an
operation is first throttled; from then on that operation's attempts are spaced at the rate
of the calls the service admitted over the last second (a saturated token bucket admits
exactly its refill rate), raised a little after every second without throttling, and set
again from what was admitted at the next throttle. Threads sharing the client share the
pace. botocore's own bounded retries still apply (and are paced too).
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any, TypeVar

THROTTLING_CODES = frozenset({"ThrottlingException", "Throttling", "TooManyRequestsException"})
WINDOW_SECONDS = 1.0
INCREASE_PER_SECOND = 0.1
"""After each second without throttling, the pace rises by this fraction."""
DECREASE = 0.15
"""At a throttle, the pace falls to the admitted rate, but by this fraction at most."""
MIN_RATE = 1.0

ClientT = TypeVar("ClientT")


class _Operation:
    def __init__(self) -> None:
        self.admitted: deque[float] = deque()
        self.rate: float | None = None
        self.next_slot = 0.0
        self.raised_at = 0.0


class Pacer:
    """Per-operation pace of one client (thread-safe)."""

    def __init__(
        self,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._ops: dict[str, _Operation] = {}

    def rate(self, operation: str) -> float | None:
        """The pace of `operation` in calls per second (None: not paced yet)."""
        with self._lock:
            op = self._ops.get(operation)
            return op.rate if op else None

    def before_attempt(self, operation: str) -> None:
        """Wait for this attempt's slot (no wait while the operation was never throttled)."""
        with self._lock:
            op = self._ops.setdefault(operation, _Operation())
            if op.rate is None:
                return
            now = self._clock()
            if now - op.raised_at >= WINDOW_SECONDS:
                op.rate *= 1 + INCREASE_PER_SECOND
                op.raised_at = now
            slot = max(now, op.next_slot)
            op.next_slot = slot + 1 / op.rate
        if slot > now:
            self._sleep(slot - now)

    def after_attempt(self, operation: str, *, throttled: bool) -> None:
        """Count an admitted attempt, or set the pace from the admitted ones at a throttle."""
        with self._lock:
            op = self._ops.setdefault(operation, _Operation())
            now = self._clock()
            while op.admitted and now - op.admitted[0] > WINDOW_SECONDS:
                op.admitted.popleft()
            if not throttled:
                op.admitted.append(now)
                return
            admitted = len(op.admitted) / WINDOW_SECONDS
            # A client that was not saturating admits less than the bucket's rate: never
            # fall by more than DECREASE at one throttle.
            floor = op.rate * (1 - DECREASE) if op.rate is not None else 0.0
            op.rate = max(MIN_RATE, admitted, floor)
            op.raised_at = now
            op.next_slot = max(op.next_slot, now + 1 / op.rate)

    def attach(self, client: ClientT) -> ClientT:
        """Pace every attempt of `client` (a botocore client); returns the client."""
        meta: Any = getattr(client, "meta")  # noqa: B009 - any botocore client
        events = meta.events
        service = meta.service_model.service_id.hyphenize()
        events.register(f"before-send.{service}", self._on_before_send)
        events.register(f"needs-retry.{service}", self._on_needs_retry)
        return client

    def _on_before_send(self, request: Any = None, **kwargs: Any) -> None:
        operation = _operation(request, kwargs)
        if operation:
            self.before_attempt(operation)

    def _on_needs_retry(self, response: Any = None, operation: Any = None, **_: Any) -> None:
        name = str(getattr(operation, "name", "") or "")
        if not name or response is None:
            return  # a connection error: nothing was admitted or refused
        parsed = response[1] if isinstance(response, tuple) else {}
        code = str((parsed or {}).get("Error", {}).get("Code", ""))
        self.after_attempt(name, throttled=code in THROTTLING_CODES)


def _operation(request: Any, kwargs: dict[str, Any]) -> str:
    """The operation name of a request about to be sent (`X-Amz-Target: SageMaker.Op`)."""
    headers = getattr(request, "headers", None) or {}
    target = headers.get("X-Amz-Target", b"")
    if isinstance(target, bytes):
        target = target.decode()
    if target:
        return str(target).rsplit(".", 1)[-1]
    event = str(kwargs.get("event_name", ""))
    return event.rsplit(".", 1)[-1] if event.count(".") >= 2 else ""
