"""A per-operation request rate limit on the sandbox's SageMaker API, answered as SageMaker
answers it: HTTP 400, `{"__type": "ThrottlingException", "message": "Rate exceeded"}`.

Each operation has its own token bucket (`rate` tokens a second, at most `burst` saved), per
account and region as AWS meters API calls. A request takes one token or is refused; a
refused request changes nothing. Off unless configured: by :func:`configure`, or by the
environment variable `STUDIO_SANDBOX_SAGEMAKER_RATES` read at :func:`install` (the sandbox
installs it with its SageMaker stand-in):

    STUDIO_SANDBOX_SAGEMAKER_RATES=default                       # DEFAULT_RATES
    STUDIO_SANDBOX_SAGEMAKER_RATES="DescribeUserProfile=20:40,*=50"   # op=rate[:burst]

SageMaker publishes no per-operation request rates (docs/sandbox-fidelity.md):
DEFAULT_RATES is an assumption, labelled as one there and in docs/performance.md.
"""

from __future__ import annotations

import json
import os
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass
from typing import Any

ENVIRONMENT_VARIABLE = "STUDIO_SANDBOX_SAGEMAKER_RATES"
ERROR_CODE = "ThrottlingException"
ERROR_MESSAGE = "Rate exceeded"
WILDCARD = "*"


@dataclass(frozen=True)
class Rate:
    """`per_second` tokens a second; a bucket holds at most `burst` (default: one second's)."""

    per_second: float
    burst: float = 0.0

    def __post_init__(self) -> None:
        if self.per_second <= 0:
            raise ValueError(f"a rate must be positive, not {self.per_second}")
        if self.burst < 0:
            raise ValueError(f"a burst cannot be negative, not {self.burst}")

    @property
    def capacity(self) -> float:
        return max(1.0, self.burst or self.per_second)


DEFAULT_RATES: dict[str, Rate] = {
    "ListDomains": Rate(10, 10),
    "DescribeDomain": Rate(10, 10),
    "ListUserProfiles": Rate(10, 10),
    "ListSpaces": Rate(10, 10),
    "DescribeUserProfile": Rate(20, 20),
    "DescribeSpace": Rate(20, 20),
}
"""ASSUMPTION (no AWS source publishes SageMaker's per-operation rates): List calls 10/s,
Describe calls 20/s, each with one second of burst, per account and region."""


class _Bucket:
    def __init__(self, rate: Rate, now: float) -> None:
        self.rate = rate
        self.tokens = rate.capacity
        self.stamp = now

    def take(self, now: float) -> bool:
        self.tokens = min(
            self.rate.capacity, self.tokens + (now - self.stamp) * self.rate.per_second
        )
        self.stamp = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return True
        return False


class Limiter:
    """The buckets of every (account, region, operation); thread-safe."""

    def __init__(self, clock: Any = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._rates: dict[str, Rate] = {}
        self._buckets: dict[tuple[str, str, str], _Bucket] = {}
        self.allowed: Counter[str] = Counter()
        self.throttled: Counter[str] = Counter()

    def configure(self, rates: dict[str, Rate] | None) -> None:
        """Set the rates (None or {}: no limit); buckets start full; counters reset."""
        with self._lock:
            self._rates = dict(rates or {})
            self._buckets.clear()
            self.allowed.clear()
            self.throttled.clear()

    @property
    def rates(self) -> dict[str, Rate]:
        with self._lock:
            return dict(self._rates)

    def admit(self, operation: str, account: str = "", region: str = "") -> bool:
        """Take a token for one call; False when the call must be throttled."""
        with self._lock:
            rate = self._rates.get(operation) or self._rates.get(WILDCARD)
            if rate is None:
                return True
            now = self._clock()
            key = (account, region, operation)
            bucket = self._buckets.get(key)
            if bucket is None:
                bucket = self._buckets[key] = _Bucket(rate, now)
            if bucket.take(now):
                self.allowed[operation] += 1
                return True
            self.throttled[operation] += 1
            return False


LIMITER = Limiter()


def parse_rates(text: str) -> dict[str, Rate]:
    """`default`, or `Op=rate[:burst],...` (`*` for every other operation); '' is no limit."""
    text = text.strip()
    if not text:
        return {}
    if text == "default":
        return dict(DEFAULT_RATES)
    rates: dict[str, Rate] = {}
    for part in text.split(","):
        name, sep, value = part.strip().partition("=")
        if not sep or not name.strip():
            raise ValueError(f"{ENVIRONMENT_VARIABLE}: {part!r} is not op=rate[:burst]")
        per_second, _, burst = value.partition(":")
        rates[name.strip()] = Rate(float(per_second), float(burst or 0))
    return rates


def configure(rates: dict[str, Rate] | None) -> None:
    """Limit the sandbox's SageMaker calls to `rates` (None: no limit)."""
    LIMITER.configure(rates)


def error_reply() -> tuple[int, dict[str, str], str]:
    """(status, headers, body) of SageMaker's throttling error (awsJson1_1)."""
    body = json.dumps({"__type": ERROR_CODE, "message": ERROR_MESSAGE}, separators=(",", ":"))
    headers = {
        "Content-Type": "application/x-amz-json-1.1",
        "x-amzn-RequestId": str(uuid.uuid4()),
    }
    return 400, headers, body


_original: dict[str, Any] = {}


def _throttled_call_action(self: Any) -> Any:
    operation = str(self._get_action() or "")
    account = str(getattr(self, "current_account", ""))
    if operation and not LIMITER.admit(operation, account, str(getattr(self, "region", ""))):
        return error_reply()
    return _original["call_action"](self)


def install() -> None:
    """Check every SageMaker request against the limiter (idempotent); rates from the
    environment when it sets them."""
    from moto.sagemaker.responses import SageMakerResponse

    if "call_action" not in _original:
        _original["call_action"] = SageMakerResponse.call_action
        SageMakerResponse.call_action = _throttled_call_action  # type: ignore[method-assign]
    if ENVIRONMENT_VARIABLE in os.environ:
        configure(parse_rates(os.environ[ENVIRONMENT_VARIABLE]))


def uninstall() -> None:
    """moto's own SageMaker dispatch again, and no limit."""
    from moto.sagemaker.responses import SageMakerResponse

    original = _original.pop("call_action", None)
    if original is not None:
        SageMakerResponse.call_action = original  # type: ignore[method-assign]
    configure(None)
