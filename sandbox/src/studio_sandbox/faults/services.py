"""Which AWS service and operation a request to the sandbox is, from its own wire format."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from typing import Any
from urllib.parse import parse_qs

import botocore.session

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
SIGNING = re.compile(r"Credential=[^/]+/\d{8}/[^/]+/(?P<service>[^/]+)/aws4_request")


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
def by_signing_name() -> dict[str, str]:
    names: dict[str, str] = {}
    for name in KNOWN_SERVICES:
        names.setdefault(service_info(name).signing_name, name)
    return names


def canonical_service(service: str) -> str:
    """The boto3 name of a service given by boto3 name, alias or signing name."""
    wanted = _ALIASES.get(service.lower(), service.lower())
    if wanted in KNOWN_SERVICES:
        return wanted
    by_signing = by_signing_name().get(wanted)
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
    match = SIGNING.search(str(environ.get("HTTP_AUTHORIZATION", "")))
    service = by_signing_name().get(match.group("service")) if match else None
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
