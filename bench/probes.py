"""Instruments on the in-process sandbox: a request counter, injected latency and a Lambda
invocation counter.

The counter wraps the sandbox's WSGI app (every AWS call reaching the sandbox over HTTP:
the Lambda workers', Step Functions' aws-sdk tasks', Terraform's, ours) and counts it by
service (from the SigV4 credential scope) and operation (from `X-Amz-Target`, or the HTTP
method and path for REST services). Requests sent by the benchmark itself while it
watches carry `OBSERVER_AGENT` in their User-Agent and are not counted. Lambda
invocations do not all travel over HTTP (event source mappings, EventBridge targets), so
they are counted at the sandbox's Lambda runtime.

Latency: `latency_ms[service]` milliseconds are slept before the sandbox serves a request
of that service, on the request's own server thread (as network and service time would).
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from botocore.config import Config

OBSERVER_AGENT = "studio-recovery-bench-observer"
OBSERVER_CONFIG = Config(user_agent_extra=OBSERVER_AGENT, retries={"max_attempts": 3})
_SCOPE = re.compile(r"Credential=[^/]+/\d{8}/[^/]+/([^/]+)/aws4_request")
_REST_ID = re.compile(r"/(?:[0-9]{4}-[0-9]{2}-[0-9]{2}/)?([A-Za-z-]+)")


class Probes:
    """Shared, thread-safe counters and latency settings."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.requests: Counter[tuple[str, str]] = Counter()
        self.invocations: Counter[str] = Counter()
        self.errors: Counter[tuple[str, str]] = Counter()
        self.invocation_seconds: dict[str, float] = {}
        self.latency_ms: dict[str, float] = {}
        self.counting = False

    def reset(self) -> None:
        with self.lock:
            self.requests.clear()
            self.invocations.clear()
            self.errors.clear()
            self.invocation_seconds.clear()

    @contextmanager
    def counting_window(self) -> Iterator[None]:
        """Count requests and invocations only inside the block (counters reset first)."""
        self.reset()
        self.counting = True
        try:
            yield
        finally:
            self.counting = False

    def by_service(self) -> dict[str, int]:
        totals: Counter[str] = Counter()
        with self.lock:
            for (service, _op), count in self.requests.items():
                totals[service] += count
        return dict(totals)

    def by_operation(self) -> dict[str, int]:
        with self.lock:
            return {f"{s}:{o}": n for (s, o), n in sorted(self.requests.items())}


PROBES = Probes()


def classify(environ: dict[str, Any]) -> tuple[str, str]:
    """(service, operation) of one request, from its headers and path."""
    scope = _SCOPE.search(str(environ.get("HTTP_AUTHORIZATION", "")))
    service = scope.group(1) if scope else "unsigned"
    target = str(environ.get("HTTP_X_AMZ_TARGET", ""))
    if target:
        return service, target.rsplit(".", 1)[-1]
    query = str(environ.get("QUERY_STRING", ""))
    action = re.search(r"(?:^|&)Action=([A-Za-z]+)", query)
    if action:
        return service, action.group(1)
    path = str(environ.get("PATH_INFO", ""))
    resource = _REST_ID.match(path)
    method = str(environ.get("REQUEST_METHOD", "GET"))
    if service == "lambda" and path.endswith("/invocations"):
        return service, "Invoke"
    return service, f"{method} {resource.group(1) if resource else path}"


def _wrap(call: Callable[..., Iterable[bytes]]) -> Callable[..., Iterable[bytes]]:
    def counted(
        self: Any, environ: dict[str, Any], start_response: Any
    ) -> Iterable[bytes]:
        path = str(environ.get("PATH_INFO", ""))
        if path.startswith("/_bench/"):
            return _bench_route(environ, start_response)
        if not path.startswith("/_sandbox/"):
            service, operation = classify(environ)
            delay = PROBES.latency_ms.get(service, 0.0)
            if delay:
                time.sleep(delay / 1000)
            observer = OBSERVER_AGENT in str(environ.get("HTTP_USER_AGENT", ""))
            if PROBES.counting and not observer:
                with PROBES.lock:
                    PROBES.requests[(service, operation)] += 1
                return call(
                    self, environ, _noting_errors(service, operation, start_response)
                )
        return call(self, environ, start_response)

    counted.__wrapped__ = call  # type: ignore[attr-defined]
    return counted


def _noting_errors(service: str, operation: str, start_response: Any) -> Any:
    def start(status: str, headers: Any, *rest: Any) -> Any:
        if int(status.split()[0]) >= 400:
            with PROBES.lock:
                PROBES.errors[(service, operation)] += 1
        return start_response(status, headers, *rest)

    return start


def _bench_route(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
    """`POST /_bench/latency {"service", "ms"}` and `POST /_bench/homes {"domain_id",
    "count"}`: what the seeding benchmark asks of a sandbox running in another process."""
    length = int(environ.get("CONTENT_LENGTH") or 0)
    body = json.loads(environ["wsgi.input"].read(length) or b"{}") if length else {}
    path = str(environ.get("PATH_INFO", ""))
    status, reply = "200 OK", dict[str, Any]()
    try:
        if path == "/_bench/latency":
            PROBES.latency_ms[str(body["service"])] = float(body["ms"])
        elif path == "/_bench/throttle":
            reply = _throttle(body)
        elif path == "/_bench/homes":
            reply = {
                "created": create_homes(str(body["domain_id"]), int(body["count"]))
            }
        else:
            status, reply = "404 Not Found", {"message": f"no bench route {path}"}
    except (KeyError, ValueError) as exc:
        status, reply = "400 Bad Request", {"message": f"{type(exc).__name__}: {exc}"}
    data = json.dumps(reply).encode()
    start_response(
        status,
        [("Content-Type", "application/json"), ("Content-Length", str(len(data)))],
    )
    return [data]


def _throttle(body: dict[str, Any]) -> dict[str, Any]:
    """`{"rates": {"Op": [per_second, burst]}}` sets the sandbox's SageMaker rate limit
    (`{"rates": null}` lifts it); every call answers the counts since the last setting."""
    from studio_sandbox.sagemaker import throttle

    if "rates" in body:
        rates = body["rates"]
        throttle.configure(
            {op: throttle.Rate(float(r[0]), float(r[1])) for op, r in rates.items()}
            if rates
            else None
        )
    limiter = throttle.LIMITER
    return {"allowed": dict(limiter.allowed), "throttled": dict(limiter.throttled)}


def create_homes(domain_id: str, count: int) -> int:
    """`count` homes in a domain, half user profiles, half spaces, straight in the sandbox's
    SageMaker backend (no API call, no CloudTrail event): `user-0000`, `space-0001`, ..."""
    from moto.sagemaker.models import sagemaker_backends
    from studio_sandbox.server import state

    backend: Any = sagemaker_backends[state.ACCOUNT_ID][state.REGION]
    for n in range(count):
        kind = "user" if n % 2 == 0 else "space"
        backend.create_home(kind, domain_id, f"{kind}-{n:04d}")
    return count


def _wrap_invoke(call: Callable[..., Any]) -> Callable[..., Any]:
    def counted(self: Any, fn: Any, event: Any) -> Any:
        if not PROBES.counting:
            return call(self, fn, event)
        started = time.perf_counter()
        try:
            return call(self, fn, event)
        finally:
            with PROBES.lock:
                PROBES.invocations[str(fn.function_name)] += 1
                name = str(fn.function_name)
                spent = time.perf_counter() - started
                PROBES.invocation_seconds[name] = (
                    PROBES.invocation_seconds.get(name, 0.0) + spent
                )

    counted.__wrapped__ = call  # type: ignore[attr-defined]
    return counted


def install() -> None:
    """Patch the sandbox's WSGI app and Lambda runtime classes (idempotent)."""
    from studio_sandbox.lambda_runtime import runtime as lambda_runtime
    from studio_sandbox.server import app as server

    if not hasattr(server.SandboxApp.__call__, "__wrapped__"):
        server.SandboxApp.__call__ = _wrap(server.SandboxApp.__call__)  # type: ignore[method-assign]
    runtime = lambda_runtime.LambdaRuntime
    if not hasattr(runtime.invoke_sync, "__wrapped__"):
        runtime.invoke_sync = _wrap_invoke(runtime.invoke_sync)  # type: ignore[method-assign]
