"""IAM policy evaluation: one request against identity and resource policies.

Follows "Policy evaluation logic" of the IAM User Guide
(https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html)
for a principal and a resource of the same account:

1. an explicit Deny in any applicable policy (identity or resource) denies;
2. otherwise an Allow in an identity policy, or in a resource policy that names the
   principal, allows; a KMS key policy must allow itself or delegate to IAM policies by
   naming the account ("Key policies in AWS KMS": without it no IAM policy counts);
3. otherwise the request is implicitly denied.

Conditions: the operators of "IAM JSON policy elements: Condition operators"
(https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html):
String*, Arn*, Numeric*, Date* (ISO 8601 or epoch seconds), Bool, BinaryEquals (base-64),
IpAddress/NotIpAddress (CIDR, IPv4 and IPv6) and Null, each with `...IfExists`, and the
set qualifiers `ForAnyValue:`/`ForAllValues:` of
"Multivalued context keys". Keys ignore case, values do not (except `...IgnoreCase`).
An operator this module does not know makes an Allow not apply and a Deny apply.

Policy variables ("IAM policy elements: Variables and tags",
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_variables.html) in
Resource, NotResource and condition values: `${key}` takes the request context's value of
a single-valued key, `${key, 'default'}` a default when it has none, `${*}`, `${?}`, `${$}`
the characters themselves. A variable that does not resolve ("If AWS cannot resolve a
variable this might cause the entire statement to be invalid") matches nothing: that
Resource entry names no resource, that condition value no value (a condition left with
none is false).

Parsed policies are cached by their JSON text.
"""

from __future__ import annotations

import base64
import binascii
import datetime
import enum
import fnmatch
import ipaddress
import json
import logging
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

LOG = logging.getLogger(__name__)

Context = Mapping[str, Sequence[str]]
"""Condition keys (lower case) to their values; a single-valued key has one value."""


class Decision(enum.Enum):
    ALLOW = "allow"
    EXPLICIT_DENY = "explicit deny"
    IMPLICIT_DENY = "implicit deny"


@dataclass(frozen=True)
class Statement:
    effect: str
    actions: tuple[str, ...]
    not_actions: tuple[str, ...]
    resources: tuple[str, ...]
    not_resources: tuple[str, ...]
    principals: tuple[str, ...] | None  # None: an identity policy (no Principal element)
    conditions: tuple[tuple[str, str, tuple[str, ...]], ...]  # (operator, key, values)
    sid: str = ""


@dataclass(frozen=True)
class Policy:
    statements: tuple[Statement, ...]
    name: str = ""


@dataclass(frozen=True)
class Result:
    decision: Decision
    deny_in: str = ""  # "identity-based" / "resource-based" policy of an explicit deny
    matched: list[str] = field(default_factory=list)  # sids that decided


def _strings(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, list | tuple):
        return tuple(str(v) for v in value)
    return (str(value),)


def _principals(value: Any) -> tuple[str, ...] | None:
    if value is None:
        return None
    if value == "*":
        return ("*",)
    found: list[str] = []
    for kind, names in dict(value).items():
        found.extend(name if kind == "AWS" else f"{kind}:{name}" for name in _strings(names))
    return tuple(found)


def _statement(raw: Mapping[str, Any]) -> Statement:
    conditions = tuple(
        (str(operator), str(key).lower(), _strings(expected))
        for operator, entries in dict(raw.get("Condition") or {}).items()
        for key, expected in dict(entries).items()
    )
    principal = raw.get("Principal")
    if principal is None and raw.get("NotPrincipal") is not None:
        principal = {}  # NotPrincipal is not modelled: the statement names nobody
    return Statement(
        effect=str(raw.get("Effect", "")),
        actions=_strings(raw.get("Action")),
        not_actions=_strings(raw.get("NotAction")),
        resources=_strings(raw.get("Resource")),
        not_resources=_strings(raw.get("NotResource")),
        principals=_principals(principal),
        conditions=conditions,
        sid=str(raw.get("Sid", "")),
    )


@lru_cache(maxsize=1024)
def parse(document: str, name: str = "") -> Policy:
    """A policy document (JSON text), parsed once."""
    data = json.loads(document)
    raw = data.get("Statement", [])
    statements = [raw] if isinstance(raw, dict) else list(raw)
    return Policy(tuple(_statement(s) for s in statements), name)


# -- conditions ---------------------------------------------------------------------------
def _like(pattern: str, value: str) -> bool:
    return fnmatch.fnmatchcase(value, pattern)


def _number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def _numeric(compare: Callable[[float, float], bool]) -> Callable[[str, str], bool]:
    def check(expected: str, actual: str) -> bool:
        e, a = _number(expected), _number(actual)
        return e is not None and a is not None and compare(a, e)

    return check


def _bool(expected: str, actual: str) -> bool:
    return expected.lower() == actual.lower()


def _instant(text: str) -> datetime.datetime | None:
    """A date as IAM accepts it: an ISO 8601 date or date-time (UTC when no offset is
    given), or epoch (UNIX) seconds."""
    text = text.strip()
    try:
        if re.fullmatch(r"-?\d+(\.\d+)?", text):
            return datetime.datetime.fromtimestamp(float(text), datetime.UTC)
        moment = datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except (ValueError, OverflowError, OSError):
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=datetime.UTC)


def _date(
    compare: Callable[[datetime.datetime, datetime.datetime], bool],
) -> Callable[[str, str], bool]:
    def check(expected: str, actual: str) -> bool:
        e, a = _instant(expected), _instant(actual)
        return e is not None and a is not None and compare(a, e)

    return check


def _in_network(expected: str, actual: str) -> bool:
    """`actual` (an address) is in the CIDR block (or address) `expected`."""
    try:
        return ipaddress.ip_address(actual.strip()) in ipaddress.ip_network(
            expected.strip(), strict=False
        )
    except ValueError:
        return False


def _binary(expected: str, actual: str) -> bool:
    """Both base-64 encoded: the same bytes."""
    try:
        return base64.b64decode(expected, validate=True) == base64.b64decode(actual, validate=True)
    except (binascii.Error, ValueError):
        return False


# operator: (does the context value match one expected value, is the operator negated)
_OPERATORS: dict[str, tuple[Callable[[str, str], bool], bool]] = {
    "StringEquals": (lambda e, a: e == a, False),
    "StringNotEquals": (lambda e, a: e == a, True),
    "StringEqualsIgnoreCase": (lambda e, a: e.lower() == a.lower(), False),
    "StringNotEqualsIgnoreCase": (lambda e, a: e.lower() == a.lower(), True),
    "StringLike": (_like, False),
    "StringNotLike": (_like, True),
    "ArnEquals": (lambda e, a: e == a, False),
    "ArnNotEquals": (lambda e, a: e == a, True),
    "ArnLike": (_like, False),
    "ArnNotLike": (_like, True),
    "NumericEquals": (_numeric(lambda a, e: a == e), False),
    "NumericNotEquals": (_numeric(lambda a, e: a == e), True),
    "NumericLessThan": (_numeric(lambda a, e: a < e), False),
    "NumericLessThanEquals": (_numeric(lambda a, e: a <= e), False),
    "NumericGreaterThan": (_numeric(lambda a, e: a > e), False),
    "NumericGreaterThanEquals": (_numeric(lambda a, e: a >= e), False),
    "DateEquals": (_date(lambda a, e: a == e), False),
    "DateNotEquals": (_date(lambda a, e: a == e), True),
    "DateLessThan": (_date(lambda a, e: a < e), False),
    "DateLessThanEquals": (_date(lambda a, e: a <= e), False),
    "DateGreaterThan": (_date(lambda a, e: a > e), False),
    "DateGreaterThanEquals": (_date(lambda a, e: a >= e), False),
    "Bool": (_bool, False),
    "BinaryEquals": (_binary, False),
    "IpAddress": (_in_network, False),
    "NotIpAddress": (_in_network, True),
}


class UnknownOperator(KeyError):
    """A condition operator this evaluator does not implement."""


def condition_holds(operator: str, key: str, expected: Sequence[str], context: Context) -> bool:
    """One `operator: {key: expected}` entry of a Condition block, against `context`."""
    qualifier, _, base = operator.rpartition(":")
    actual = context.get(key.lower())
    if base == "Null":
        wants_absent = bool(expected) and expected[0].lower() == "true"
        return (not actual) == wants_absent
    if_exists = base.endswith("IfExists")
    base = base.removesuffix("IfExists")
    if base not in _OPERATORS:
        raise UnknownOperator(operator)
    matcher, negated = _OPERATORS[base]
    if not actual:
        # "ForAllValues" over no values holds; an absent key fails every other operator
        # but the negated ones and ...IfExists ("Condition operators", IfExists).
        return qualifier == "ForAllValues" or if_exists or (negated and not qualifier)

    def one(value: str) -> bool:
        hit = any(matcher(e, value) for e in expected)
        return not hit if negated else hit

    if qualifier == "ForAllValues":
        return all(one(value) for value in actual)
    if qualifier == "ForAnyValue":
        return any(one(value) for value in actual)
    return one(actual[0]) if len(actual) == 1 else any(one(value) for value in actual)


_VARIABLE = re.compile(r"\$\{([^}]*)\}")
_SPECIAL = {"*": "*", "?": "?", "$": "$"}


def substitute(text: str, context: Context) -> str | None:
    """`text` with its policy variables replaced; None when one does not resolve."""
    if "${" not in text:
        return text
    failed = False

    def one(match: re.Match[str]) -> str:
        nonlocal failed
        inner = match.group(1).strip()
        if inner in _SPECIAL:
            return _SPECIAL[inner]
        name, comma, default = inner.partition(",")
        key = name.strip().lower()
        values = context.get(key) if key and " " not in key else None
        if values and len(values) == 1:
            return str(values[0])
        default = default.strip()
        if comma and len(default) >= 2 and default[0] == default[-1] == "'":
            return default[1:-1].replace("''", "'")
        failed = True
        return ""

    replaced = _VARIABLE.sub(one, text)
    return None if failed else replaced


def _resolved(values: Iterable[str], context: Context) -> list[str]:
    return [v for v in (substitute(value, context) for value in values) if v is not None]


def _conditions_hold(statement: Statement, context: Context) -> bool:
    for operator, key, expected in statement.conditions:
        values = _resolved(expected, context)
        if expected and not values:
            return False  # every value an unresolved variable: the condition matches nothing
        if not condition_holds(operator, key, values, context):
            return False
    return True


# -- statements ---------------------------------------------------------------------------
@lru_cache(maxsize=4096)
def _action_regex(pattern: str) -> re.Pattern[str]:
    body = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.compile(body, re.IGNORECASE)


def _action_matches(patterns: Iterable[str], action: str) -> bool:
    return any(_action_regex(p).fullmatch(action) for p in patterns)


def _resource_matches(patterns: Iterable[str], resource: str) -> bool:
    return any(p == "*" or _like(p, resource) for p in patterns)


def _principal_matches(statement: Statement, principal_arns: Sequence[str]) -> bool:
    if statement.principals is None:
        return True
    return any(p == "*" or p in principal_arns for p in statement.principals)


def statement_applies(
    statement: Statement,
    action: str,
    resource: str,
    context: Context,
    principal_arns: Sequence[str] = (),
) -> bool:
    """Does the statement name the action, the resource and the principal, its conditions met."""
    if statement.actions and not _action_matches(statement.actions, action):
        return False
    if statement.not_actions and _action_matches(statement.not_actions, action):
        return False
    if statement.resources and not _resource_matches(
        _resolved(statement.resources, context), resource
    ):
        return False
    if statement.not_resources and _resource_matches(
        _resolved(statement.not_resources, context), resource
    ):
        return False
    if not statement.resources and not statement.not_resources and statement.principals is None:
        return False  # an identity policy statement needs a Resource
    if not _principal_matches(statement, principal_arns):
        return False
    try:
        return _conditions_hold(statement, context)
    except UnknownOperator as unknown:
        LOG.warning("IAM condition operator %s not evaluated (statement %s)", unknown, statement)
        return statement.effect == "Deny"  # fail closed


def evaluate(
    action: str,
    resources: Sequence[str],
    context: Context,
    identity: Sequence[Policy],
    resource_policy: Policy | None = None,
    principal_arns: Sequence[str] = (),
    account_id: str = "",
    key_policy: bool = False,
) -> Result:
    """The decision for `action` on every one of `resources` (all must be allowed).

    `principal_arns` names the caller as a resource policy can: the role ARN and the
    session ARN. `key_policy` marks `resource_policy` as a KMS key policy, which must
    allow the request itself or delegate to IAM by naming the account.
    """
    allowed_sids: list[str] = []
    for resource in resources or ("*",):
        identity_allows = False
        for policy in identity:
            for statement in policy.statements:
                if not statement_applies(statement, action, resource, context):
                    continue
                if statement.effect == "Deny":
                    return Result(Decision.EXPLICIT_DENY, "identity-based", [statement.sid])
                identity_allows = True
                allowed_sids.append(statement.sid)
        resource_allows, delegates = False, not key_policy
        if resource_policy is not None:
            account_arns = (f"arn:aws:iam::{account_id}:root", account_id)
            for statement in resource_policy.statements:
                # a Deny naming the account applies to every principal in it
                names = (
                    (*principal_arns, *account_arns)
                    if statement.effect == "Deny"
                    else (principal_arns)
                )
                if statement_applies(statement, action, resource, context, names):
                    if statement.effect == "Deny":
                        return Result(Decision.EXPLICIT_DENY, "resource-based", [statement.sid])
                    resource_allows = True
                    allowed_sids.append(statement.sid)
                elif statement.effect == "Allow" and statement_applies(
                    statement, action, resource, context, account_arns
                ):
                    delegates = True
        if key_policy:
            if not (resource_allows or (delegates and identity_allows)):
                return Result(Decision.IMPLICIT_DENY, "resource-based")
        elif not (identity_allows or resource_allows):
            return Result(Decision.IMPLICIT_DENY)
    return Result(Decision.ALLOW, matched=allowed_sids)
