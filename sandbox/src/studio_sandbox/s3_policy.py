"""Bucket policies in the sandbox, with their conditions evaluated as S3 evaluates them.

moto applies a bucket policy to object requests, but its condition engine knows only
`StringEquals` and counts every other operator as met. A policy with the usual
`Deny ... Bool aws:SecureTransport false` then refuses every object request, and a
`Null`/`StringNotEquals` pair never lets a plain upload through. This module replaces
`FakeBucket.get_permission` with an evaluator that knows the operators bucket policies use
(`String*`, `Arn*`, `Bool`, `Null`, each with `IfExists`) and a request context:

- `aws:SecureTransport` is `true`: the sandbox stands in for AWS's HTTPS endpoints;
- `s3:x-amz-server-side-encryption` and `s3:x-amz-server-side-encryption-aws-kms-key-id`
  come from the request's headers (recorded per thread when moto sets up the request);
- every other key is absent from the context.

Absent keys follow IAM's rules: an `...IfExists` operator and the negated operators
(`StringNotEquals`, `StringNotLike`, `ArnNotEquals`, `ArnNotLike`) match, `Null` matches
when it expects `true`, every other operator does not match. Statements for principals
other than `*` are not applied (sandbox callers are not IAM principals); an operator this
module does not know makes its statement not apply, with a warning in the log.
"""

from __future__ import annotations

import fnmatch
import json
import logging
import threading
from collections.abc import Callable, Iterable
from typing import Any

from moto.iam.access_control import PermissionResult
from moto.s3 import models as s3_models
from moto.s3 import responses as s3_responses

logger = logging.getLogger(__name__)

_HEADER_KEYS = {
    "x-amz-server-side-encryption": "s3:x-amz-server-side-encryption",
    "x-amz-server-side-encryption-aws-kms-key-id": (
        "s3:x-amz-server-side-encryption-aws-kms-key-id"
    ),
}
_request = threading.local()
_originals: dict[str, Any] = {}


def request_context(headers: Any = None) -> dict[str, str]:
    """The condition keys of a request with `headers` (None: the current thread's request)."""
    if headers is None:
        headers = getattr(_request, "headers", None) or {}
    context = {"aws:SecureTransport": "true"}
    lowered = {str(name).lower(): str(value) for name, value in dict(headers).items()}
    for header, key in _HEADER_KEYS.items():
        if header in lowered:
            context[key] = lowered[header]
    return context


def _as_list(value: Any) -> list[str]:
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]


def _like(pattern: str, value: str) -> bool:
    return fnmatch.fnmatchcase(value, pattern)


_MATCHERS: dict[str, tuple[Callable[[str, str], bool], bool]] = {
    # operator: (does one expected value match the actual one, is the operator negated)
    "StringEquals": (lambda expected, actual: expected == actual, False),
    "StringNotEquals": (lambda expected, actual: expected == actual, True),
    "StringEqualsIgnoreCase": (lambda e, a: e.lower() == a.lower(), False),
    "StringNotEqualsIgnoreCase": (lambda e, a: e.lower() == a.lower(), True),
    "StringLike": (_like, False),
    "StringNotLike": (_like, True),
    "ArnEquals": (lambda expected, actual: expected == actual, False),
    "ArnNotEquals": (lambda expected, actual: expected == actual, True),
    "ArnLike": (_like, False),
    "ArnNotLike": (_like, True),
    "Bool": (lambda expected, actual: expected.lower() == actual.lower(), False),
}


def condition_holds(operator: str, key: str, expected: Any, context: dict[str, str]) -> bool:
    """One `operator: {key: expected}` entry of a Condition block, against `context`.

    Raises KeyError for an operator this module does not know.
    """
    values = _as_list(expected)
    actual = context.get(key)
    if operator == "Null":
        wants_absent = values[0].lower() == "true"
        return (actual is None) == wants_absent
    if_exists = operator.endswith("IfExists")
    base = operator.removesuffix("IfExists")
    matcher, negated = _MATCHERS[base]
    if actual is None:
        return if_exists or negated
    matched = any(matcher(value, actual) for value in values)
    return not matched if negated else matched


def _conditions_hold(conditions: dict[str, dict[str, Any]], context: dict[str, str]) -> bool:
    return all(
        condition_holds(operator, key, expected, context)
        for operator, entries in conditions.items()
        for key, expected in entries.items()
    )


def _matches_any(patterns: Iterable[str], value: str) -> bool:
    return any(_like(pattern, value) for pattern in patterns)


def _applies_to_everyone(statement: dict[str, Any]) -> bool:
    principal = statement.get("Principal")
    if principal == "*":
        return True
    return isinstance(principal, dict) and "*" in _as_list(principal.get("AWS", []))


def evaluate(policy: dict[str, Any], action: str, resource: str, context: dict[str, str]) -> Any:
    """DENIED when a Deny statement applies, PERMITTED when an Allow one does, else NEUTRAL."""
    result = PermissionResult.NEUTRAL
    for statement in _as_statements(policy.get("Statement", [])):
        if not _applies_to_everyone(statement):
            continue
        if not _matches_any(_as_list(statement.get("Action", [])), action):
            continue
        if not _matches_any(_as_list(statement.get("Resource", [])), resource):
            continue
        try:
            holds = _conditions_hold(statement.get("Condition", {}), context)
        except KeyError as unknown:
            logger.warning("Bucket policy condition %s not evaluated; statement skipped", unknown)
            continue
        if not holds:
            continue
        if statement.get("Effect") == "Deny":
            return PermissionResult.DENIED
        result = PermissionResult.PERMITTED
    return result


def _as_statements(value: Any) -> list[dict[str, Any]]:
    return [value] if isinstance(value, dict) else list(value)


def _get_permission(self: Any, action: str, resource: str) -> Any:
    if self.policy is None:
        return PermissionResult.NEUTRAL
    result = evaluate(json.loads(self.policy.decode()), action, resource, request_context())
    if result == PermissionResult.DENIED:
        # S3 answers AccessDenied with IAM's wording, not moto's bare 403 (studio_sandbox.iam)
        from studio_sandbox.iam import enforce

        enforce.deny_by_bucket_policy(getattr(_request, "headers", None) or {}, action, resource)
    return result


def _setup_class(
    self: Any, request: Any, full_url: str, headers: Any, *args: Any, **kw: Any
) -> Any:
    _request.headers = dict(getattr(request, "headers", None) or headers or {})
    return _originals["setup_class"](self, request, full_url, headers, *args, **kw)


def install() -> None:
    """Evaluate bucket policies with this module (idempotent)."""
    if _originals:
        return
    _originals["get_permission"] = s3_models.FakeBucket.get_permission
    _originals["setup_class"] = s3_responses.S3Response.setup_class
    s3_models.FakeBucket.get_permission = _get_permission  # type: ignore[method-assign]
    s3_responses.S3Response.setup_class = _setup_class  # type: ignore[method-assign]


def uninstall() -> None:
    """Give moto back its own evaluation."""
    if not _originals:
        return
    s3_models.FakeBucket.get_permission = _originals.pop("get_permission")  # type: ignore[method-assign]
    s3_responses.S3Response.setup_class = _originals.pop("setup_class")  # type: ignore[method-assign]
