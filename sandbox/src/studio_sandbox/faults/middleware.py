"""The WSGI middleware that applies the rules, AWS error replies, the `/_sandbox/faults` routes."""

from __future__ import annotations

import io
import json
import time
import uuid
from collections.abc import Callable, Iterable
from typing import Any

from studio_sandbox.faults.rules import (
    active,
    clear,
    inject,
    registry,
    remove,
    seed,
)
from studio_sandbox.faults.services import (
    SIGNING,
    FaultError,
    by_signing_name,
    identify,
    service_info,
)
from studio_sandbox.faults.switches import (
    datasync_faults,
    set_datasync_faults,
)

StartResponse = Callable[..., Any]

ROUTE = "/_sandbox/faults"


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
    match = SIGNING.search(str(environ.get("HTTP_AUTHORIZATION", "")))
    service = by_signing_name().get(match.group("service")) if match else None
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
