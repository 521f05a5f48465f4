"""Fault injection for the sandbox: AWS errors and latency on the requests it serves.

A rule names a service (as boto3 names it: `datasync`, `dynamodb`, `sagemaker`,
`stepfunctions`, `efs`, `sns`, `sqs`, `ec2`, ...; signing names such as `states` or
`elasticfilesystem` work too) and optionally one operation (`CreateLocationEfs`). Every
request the sandbox serves goes through :class:`FaultMiddleware`; the first active rule that
matches answers it with an AWS error in the service's own wire format, so botocore raises
the right `ClientError` code (`ThrottlingException`, `ProvisionedThroughputExceededException`,
`InternalServerError`, ...), after an optional delay. A rule without an error code only delays.

    rule = faults.inject("datasync", "CreateTask", error_code="ThrottlingException",
                         duration_s=20)
    ...
    faults.remove(rule)

Rules expire after `duration_s`, after firing `count` times, or when removed; `rate` is the
chance that a matching request fails, drawn from a generator :func:`seed` makes repeatable.
Other processes use the HTTP routes: `POST /_sandbox/faults` (JSON body: the keyword
arguments of :func:`inject`) returns `{"id"}`, `GET /_sandbox/faults` lists the rules,
`DELETE /_sandbox/faults` clears them, `DELETE /_sandbox/faults/<id>` removes one,
`POST /_sandbox/faults/seed` (`{"seed": n}`), and `GET`/`POST /_sandbox/faults/datasync`
(`{"error": [code, detail] | null, "hang": bool, "phase_delay": s}`) reads or sets how
DataSync executions end.

:func:`set_wait_scale` compresses Step Functions `Wait` states (a 10 s poll waits
10 x scale seconds), so a test can reach a workflow's timeout without waiting for it; the
workflow's own arithmetic (seconds counted per poll) is unchanged.
"""

from __future__ import annotations

import io
import itertools
import json
import random
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import cache
from typing import Any
from urllib.parse import parse_qs

import botocore.session

StartResponse = Callable[..., Any]

ROUTE = "/_sandbox/faults"

KNOWN_SERVICES = (
    "cloudtrail",
    "cloudwatch",
    "datasync",
    "dynamodb",
    "dynamodbstreams",
    "ec2",
    "efs",
    "events",
    "iam",
    "kms",
    "lambda",
    "logs",
    "s3",
    "sagemaker",
    "sns",
    "sqs",
    "stepfunctions",
    "sts",
)
"""Services a rule may name (the ones the module and the sandbox use)."""

_ALIASES = {"sfn": "stepfunctions", "states": "stepfunctions", "eventbridge": "events"}
_SIGNING = re.compile(r"Credential=[^/]+/\d{8}/[^/]+/(?P<service>[^/]+)/aws4_request")


class FaultError(ValueError):
    """A rule that cannot be applied: the message says which argument and why."""


# --------------------------------------------------------------------------- service models


@dataclass(frozen=True)
class _RestOperation:
    name: str
    method: str
    pattern: re.Pattern[str]
    query_keys: tuple[str, ...]
    literal_length: int


@dataclass(frozen=True)
class ServiceInfo:
    """What the middleware needs of one service's botocore model."""

    name: str
    protocol: str
    signing_name: str
    target_prefix: str
    json_version: str
    query_compatible: bool
    operations: frozenset[str]
    rest_operations: tuple[_RestOperation, ...]


def _rest_operation(name: str, http: dict[str, Any]) -> _RestOperation:
    uri = str(http.get("requestUri", "/"))
    path, _, query = uri.partition("?")
    regex = ""
    literal = 0
    for piece in re.split(r"(\{[^}]+\})", path):
        if piece.startswith("{"):
            regex += ".+" if piece.endswith("+}") else "[^/]+"
        else:
            regex += re.escape(piece)
            literal += len(piece)
    keys = tuple(part.split("=")[0] for part in query.split("&") if part)
    return _RestOperation(
        name=name,
        method=str(http.get("method", "POST")).upper(),
        pattern=re.compile(f"^{regex.rstrip('/') or ''}/?$"),
        query_keys=keys,
        literal_length=literal + len(keys),
    )


@cache
def service_info(name: str) -> ServiceInfo:
    """The model facts of a service (boto3 name), loaded once."""
    model = botocore.session.get_session().get_service_model(name)
    metadata = model.metadata
    protocol = str(metadata.get("protocol", "json"))
    rest: tuple[_RestOperation, ...] = ()
    if protocol.startswith("rest"):
        rest = tuple(
            _rest_operation(op, model.operation_model(op).http) for op in model.operation_names
        )
    return ServiceInfo(
        name=name,
        protocol=protocol,
        signing_name=str(model.signing_name or metadata.get("endpointPrefix", name)),
        target_prefix=str(metadata.get("targetPrefix", "")),
        json_version=str(metadata.get("jsonVersion", "1.0")),
        query_compatible="awsQueryCompatible" in metadata,
        operations=frozenset(model.operation_names),
        rest_operations=rest,
    )


@cache
def _by_target_prefix() -> dict[str, str]:
    return {
        service_info(n).target_prefix: n for n in KNOWN_SERVICES if service_info(n).target_prefix
    }


@cache
def _by_signing_name() -> dict[str, str]:
    names: dict[str, str] = {}
    for name in KNOWN_SERVICES:
        names.setdefault(service_info(name).signing_name, name)
    return names


def canonical_service(service: str) -> str:
    """The boto3 name of a service given by boto3 name, alias or signing name."""
    wanted = _ALIASES.get(service.lower(), service.lower())
    if wanted in KNOWN_SERVICES:
        return wanted
    by_signing = _by_signing_name().get(wanted)
    if by_signing:
        return by_signing
    raise FaultError(f"unknown service {service!r}: use one of {', '.join(KNOWN_SERVICES)}")


# --------------------------------------------------------------------------- requests


@dataclass
class Request:
    """Service and operation of one incoming request, as far as they can be told."""

    service: str | None
    operation: str | None


def identify(environ: dict[str, Any], body: bytes | None) -> Request:
    """Which service and operation a WSGI request calls (None where it cannot be told)."""
    target = str(environ.get("HTTP_X_AMZ_TARGET", ""))
    if target:
        prefix, _, operation = target.rpartition(".")
        service = _by_target_prefix().get(prefix)
        if service:
            return Request(service, operation)
    match = _SIGNING.search(str(environ.get("HTTP_AUTHORIZATION", "")))
    service = _by_signing_name().get(match.group("service")) if match else None
    if service is None:
        return Request(None, None)
    info = service_info(service)
    if info.protocol in ("query", "ec2"):
        return Request(service, _query_action(environ, body))
    if info.protocol.startswith("rest"):
        return Request(service, _rest_action(info, environ))
    return Request(service, None)


def _query_action(environ: dict[str, Any], body: bytes | None) -> str | None:
    for source in (str(environ.get("QUERY_STRING", "")), (body or b"").decode("utf-8", "replace")):
        action = parse_qs(source).get("Action")
        if action:
            return action[0]
    return None


def _rest_action(info: ServiceInfo, environ: dict[str, Any]) -> str | None:
    method = str(environ.get("REQUEST_METHOD", "GET")).upper()
    path = str(environ.get("PATH_INFO", "/")).rstrip("/") or "/"
    query = parse_qs(str(environ.get("QUERY_STRING", "")), keep_blank_values=True)
    best: _RestOperation | None = None
    for op in info.rest_operations:
        if op.method != method or not op.pattern.match(path):
            continue
        if any(key not in query for key in op.query_keys):
            continue
        if best is None or op.literal_length > best.literal_length:
            best = op
    return best.name if best else None


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


# --------------------------------------------------------------------------- wire formats


def error_response(
    service: str, code: str, status: int, message: str
) -> tuple[str, list[tuple[str, str]], bytes]:
    """(status line, headers, body) of an AWS error as `service` sends it."""
    info = service_info(service)
    request_id = str(uuid.uuid4())
    headers = [("x-amzn-RequestId", request_id), ("x-amz-request-id", request_id)]
    fault = "Receiver" if status >= 500 else "Sender"
    if info.protocol == "json":
        body = json.dumps({"__type": code, "message": message}).encode()
        headers.append(("Content-Type", f"application/x-amz-json-{info.json_version}"))
        if info.query_compatible:
            headers.append(("x-amzn-query-error", f"{code};{fault}"))
    elif info.protocol.startswith("rest-json"):
        body = json.dumps({"message": message, "Message": message}).encode()
        headers += [("Content-Type", "application/json"), ("x-amzn-ErrorType", code)]
    elif info.protocol == "query":
        body = (
            "<ErrorResponse><Error>"
            f"<Type>{fault}</Type><Code>{_xml(code)}</Code><Message>{_xml(message)}</Message>"
            f"</Error><RequestId>{request_id}</RequestId></ErrorResponse>"
        ).encode()
        headers.append(("Content-Type", "text/xml"))
    elif info.protocol == "ec2":
        body = (
            "<Response><Errors><Error>"
            f"<Code>{_xml(code)}</Code><Message>{_xml(message)}</Message>"
            f"</Error></Errors><RequestID>{request_id}</RequestID></Response>"
        ).encode()
        headers.append(("Content-Type", "text/xml"))
    else:  # rest-xml
        body = (
            f"<Error><Code>{_xml(code)}</Code><Message>{_xml(message)}</Message>"
            f"<RequestId>{request_id}</RequestId></Error>"
        ).encode()
        headers.append(("Content-Type", "application/xml"))
    headers.append(("Content-Length", str(len(body))))
    return f"{status} {_REASONS.get(status, 'Error')}", headers, body


_REASONS = {
    400: "Bad Request",
    403: "Forbidden",
    404: "Not Found",
    409: "Conflict",
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}


def _xml(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


# --------------------------------------------------------------------------- middleware


class FaultMiddleware:
    """WSGI middleware: the fault routes, then the rules, then the wrapped app."""

    def __init__(self, inner: Callable[..., Iterable[bytes]]) -> None:
        self.inner = inner

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path = str(environ.get("PATH_INFO", ""))
        if path == ROUTE or path.startswith(ROUTE + "/"):
            return self._route(environ, start_response, path)
        services = registry.services()
        if not services:
            return self.inner(environ, start_response)
        body = _read_body(environ) if _needs_body(environ, services) else None
        request = identify(environ, body)
        decision = registry.decide(request) if request.service else None
        if decision is None:
            return self.inner(environ, start_response)
        if decision.latency_s:
            time.sleep(decision.latency_s)
        if decision.error_code is None or request.service is None:
            return self.inner(environ, start_response)
        if body is None:
            _read_body(environ)  # drain it: the connection may be kept alive
        status, headers, data = error_response(
            request.service, decision.error_code, decision.http_status, decision.message
        )
        start_response(status, headers)
        return [data]

    def _route(
        self, environ: dict[str, Any], start_response: StartResponse, path: str
    ) -> Iterable[bytes]:
        method = str(environ.get("REQUEST_METHOD", "GET")).upper()
        try:
            status, reply = _handle_route(method, path.removeprefix(ROUTE).strip("/"), environ)
        except FaultError as error:
            status, reply = "400 Bad Request", {"message": str(error)}
        data = json.dumps(reply).encode()
        start_response(
            status, [("Content-Type", "application/json"), ("Content-Length", str(len(data)))]
        )
        return [data]


def _needs_body(environ: dict[str, Any], services: set[str]) -> bool:
    """A query-protocol request to a service with rules: its Action is in the body."""
    if environ.get("HTTP_X_AMZ_TARGET"):
        return False
    match = _SIGNING.search(str(environ.get("HTTP_AUTHORIZATION", "")))
    service = _by_signing_name().get(match.group("service")) if match else None
    return service in services and service_info(service).protocol in ("query", "ec2")


def _read_body(environ: dict[str, Any]) -> bytes:
    """Read the request body and put it back, so the wrapped app can read it again."""
    stream = environ.get("wsgi.input")
    if stream is None:
        return b""
    length = str(environ.get("CONTENT_LENGTH") or "")
    if length.isdigit():
        body = stream.read(int(length))
    elif environ.get("wsgi.input_terminated"):
        body = stream.read()
    else:
        body = b""
    environ["wsgi.input"] = io.BytesIO(body)
    environ["CONTENT_LENGTH"] = str(len(body))
    return bytes(body)


def _json_body(environ: dict[str, Any]) -> dict[str, Any]:
    raw = _read_body(environ)
    try:
        value = json.loads(raw or b"{}")
    except json.JSONDecodeError as error:
        raise FaultError(f"the body is not JSON: {error}") from error
    if not isinstance(value, dict):
        raise FaultError("the body must be a JSON object")
    return value


_INJECT_ARGS = {
    "service",
    "operation",
    "error_code",
    "http_status",
    "message",
    "rate",
    "latency_ms",
    "duration_s",
    "count",
}


def _handle_route(method: str, rest: str, environ: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    if rest == "" and method == "GET":
        return "200 OK", {"rules": active(), "injected": registry.injected}
    if rest == "" and method == "DELETE":
        return "200 OK", {"cleared": clear()}
    if rest == "" and method == "POST":
        args = _json_body(environ)
        unknown = sorted(set(args) - _INJECT_ARGS)
        if unknown or "service" not in args:
            raise FaultError(
                f"give 'service' and only {sorted(_INJECT_ARGS)}; unknown: {unknown or '-'}"
            )
        service = str(args.pop("service"))
        operation = args.pop("operation", None)
        return "200 OK", {"id": inject(service, operation, **args)}
    if rest == "seed" and method == "POST":
        value = _json_body(environ).get("seed")
        if not isinstance(value, int):
            raise FaultError("give {'seed': <integer>}")
        seed(value)
        return "200 OK", {"seed": value}
    if rest == "datasync" and method in ("GET", "POST"):
        if method == "POST":
            set_datasync_faults(**_json_body(environ))
        return "200 OK", datasync_faults()
    if rest and method == "DELETE":
        if remove(rest):
            return "200 OK", {"removed": rest}
        return "404 Not Found", {"message": f"no fault rule {rest}"}
    return "404 Not Found", {"message": f"no route {method} {ROUTE}/{rest}"}


# --------------------------------------------------------------------------- DataSync executions


def datasync_faults() -> dict[str, Any]:
    """How DataSync executions currently end (see `datasync.Faults`)."""
    from studio_recovery.sandbox import datasync

    error = datasync.faults.error
    return {
        "error": list(error) if error else None,
        "hang": datasync.faults.hang,
        "phase_delay": datasync.faults.phase_delay,
    }


def set_datasync_faults(
    error: list[str] | tuple[str, str] | None = None, hang: bool = False, phase_delay: float = 0
) -> None:
    """Make every DataSync execution end in ERROR (`[code, detail]`), hang, or go slowly."""
    from studio_recovery.sandbox import datasync

    if error is not None and (len(error) != 2 or not all(isinstance(e, str) for e in error)):
        raise FaultError("error must be [ErrorCode, ErrorDetail] or null")
    if float(phase_delay) < 0:
        raise FaultError("phase_delay must not be negative")
    datasync.faults.error = (error[0], error[1]) if error else None
    datasync.faults.hang = bool(hang)
    datasync.faults.phase_delay = float(phase_delay)


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
