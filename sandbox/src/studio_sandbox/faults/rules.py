"""Fault rules: what to fail or delay, how often, for how long; the registry that decides."""

from __future__ import annotations

import itertools
import random
import re
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from studio_sandbox.faults.services import (
    FaultError,
    Request,
    canonical_service,
    service_info,
)

# --------------------------------------------------------------------------- rules


@dataclass
class Rule:
    """One injected fault."""

    id: str
    service: str
    operation: str | None
    error_code: str | None
    http_status: int
    message: str
    rate: float
    latency_ms: int
    expires_at: float | None
    count: int | None
    created_at: float = field(default_factory=time.monotonic)
    matched: int = 0
    fired: int = 0

    def expired(self, now: float) -> bool:
        if self.expires_at is not None and now >= self.expires_at:
            return True
        return self.count is not None and self.fired >= self.count

    def matches(self, request: Request) -> bool:
        if request.service != self.service:
            return False
        return self.operation is None or self.operation == request.operation

    def describe(self, now: float) -> dict[str, Any]:
        return {
            "id": self.id,
            "service": self.service,
            "operation": self.operation,
            "error_code": self.error_code,
            "http_status": self.http_status,
            "message": self.message,
            "rate": self.rate,
            "latency_ms": self.latency_ms,
            "count": self.count,
            "remaining_s": None
            if self.expires_at is None
            else round(max(0.0, self.expires_at - now), 3),
            "matched": self.matched,
            "fired": self.fired,
        }


@dataclass(frozen=True)
class Decision:
    """What to do with one request: delay it, and answer it with an error or not."""

    rule_id: str
    latency_s: float
    error_code: str | None
    http_status: int
    message: str


class FaultRegistry:
    """The active rules, thread-safe; one per sandbox process (:data:`registry`)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._rules: dict[str, Rule] = {}
        self._random = random.Random()  # noqa: S311 - fault draws, not security
        self._ids = itertools.count(1)
        self.injected = 0

    def seed(self, value: int) -> None:
        with self._lock:
            self._random.seed(value)
            self._ids = itertools.count(1)

    def add(self, rule: Rule) -> str:
        with self._lock:
            rule.id = f"fault-{next(self._ids)}-{uuid.uuid4().hex[:8]}"
            self._rules[rule.id] = rule
            return rule.id

    def remove(self, rule_id: str) -> bool:
        with self._lock:
            return self._rules.pop(rule_id, None) is not None

    def clear(self) -> int:
        with self._lock:
            removed = len(self._rules)
            self._rules.clear()
            return removed

    def active(self) -> list[dict[str, Any]]:
        now = time.monotonic()
        with self._lock:
            self._prune(now)
            return [rule.describe(now) for rule in self._rules.values()]

    def services(self) -> set[str]:
        with self._lock:
            return {rule.service for rule in self._rules.values()}

    def decide(self, request: Request) -> Decision | None:
        """The first matching rule that fires for this request, counted; None if none."""
        now = time.monotonic()
        with self._lock:
            self._prune(now)
            for rule in self._rules.values():
                if not rule.matches(request):
                    continue
                rule.matched += 1
                if rule.rate < 1.0 and self._random.random() >= rule.rate:
                    continue
                rule.fired += 1
                self.injected += 1
                return Decision(
                    rule.id, rule.latency_ms / 1000, rule.error_code, rule.http_status, rule.message
                )
        return None

    def _prune(self, now: float) -> None:
        for rule_id in [r.id for r in self._rules.values() if r.expired(now)]:
            del self._rules[rule_id]


registry = FaultRegistry()


def inject(
    service: str,
    operation: str | None = None,
    *,
    error_code: str | None = None,
    http_status: int = 400,
    message: str = "Rate exceeded (injected by the sandbox)",
    rate: float = 1.0,
    latency_ms: int = 0,
    duration_s: float | None = None,
    count: int | None = None,
) -> str:
    """Add a fault rule; returns its id. Raises :class:`FaultError` for bad arguments.

    Without `error_code` the rule only delays (`latency_ms` must then be positive), except
    for a 5xx `http_status`, which answers `InternalFailure`.
    """
    name = canonical_service(service)
    if operation is not None and operation not in service_info(name).operations:
        raise FaultError(f"{name} has no operation {operation!r}")
    if not 400 <= int(http_status) <= 599:
        raise FaultError(f"http_status must be from 400 to 599, not {http_status}")
    if not 0.0 < float(rate) <= 1.0:
        raise FaultError(f"rate must be in (0, 1], not {rate}")
    if int(latency_ms) < 0:
        raise FaultError(f"latency_ms must not be negative, not {latency_ms}")
    if duration_s is not None and float(duration_s) <= 0:
        raise FaultError(f"duration_s must be positive, not {duration_s}")
    if count is not None and int(count) < 1:
        raise FaultError(f"count must be at least 1, not {count}")
    if error_code is None and int(http_status) >= 500:
        error_code = "InternalFailure"
    if error_code is None and int(latency_ms) == 0:
        raise FaultError("give an error_code, a 5xx http_status, or a latency_ms")
    if error_code is not None and not re.fullmatch(r"[A-Za-z][A-Za-z0-9.]*", error_code):
        raise FaultError(f"error_code must be an AWS error name, not {error_code!r}")
    rule = Rule(
        id="",
        service=name,
        operation=operation,
        error_code=error_code,
        http_status=int(http_status),
        message=str(message),
        rate=float(rate),
        latency_ms=int(latency_ms),
        expires_at=None if duration_s is None else time.monotonic() + float(duration_s),
        count=None if count is None else int(count),
    )
    return registry.add(rule)


def remove(rule_id: str) -> bool:
    """Remove one rule; False when it was not there (expired, removed or unknown)."""
    return registry.remove(rule_id)


def clear() -> int:
    """Remove every rule; returns how many there were."""
    return registry.clear()


def active() -> list[dict[str, Any]]:
    """The rules still in force, with how often each matched and fired."""
    return registry.active()


def seed(value: int) -> None:
    """Make the `rate` draws (and the rule ids' sequence numbers) repeatable."""
    registry.seed(int(value))
