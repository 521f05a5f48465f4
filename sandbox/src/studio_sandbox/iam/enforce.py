"""Every call of a role session authorized as AWS authorizes it, before moto answers.

moto calls `ActionAuthenticatorMixin._authenticate_and_authorize_action` on every request
it dispatches (and S3 on every bucket and object request); this module replaces it. A
request signed with a role session's access key (see :mod:`.principals`) is authorized:
its IAM action and resources (:mod:`.reference`), its condition context, the role's
identity policies and the resource's policy (:mod:`.resources`), decided by
:mod:`.policy`. Side effects AWS authorizes against the same caller (iam:PassRole of a
role in the request, KMS for an encrypted queue, topic or object, DataSync's network
interfaces) are checked by :func:`authorize` from the code that serves the request.

A denied call fails as AWS fails it: `AccessDeniedException` (JSON services),
`AccessDenied` (S3, SQS, IAM, STS), `AuthorizationError` (SNS), `UnauthorizedOperation`
(EC2), with AWS's message ("Troubleshoot access denied error messages",
https://docs.aws.amazon.com/IAM/latest/UserGuide/troubleshoot_access-denied.html).
"""

from __future__ import annotations

import collections
import datetime
import logging
import re
import threading
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import parse_qs

from studio_sandbox.iam import policy, principals, reference, resources, side_effects
from studio_sandbox.iam.principals import Principal

LOG = logging.getLogger(__name__)

_current = threading.local()
_denials: collections.deque[str] = collections.deque(maxlen=1000)
_originals: dict[str, Any] = {}
_CREDENTIAL = re.compile(r"Credential=([^/,\s]+)/[^/]+/([^/]+)/([^/]+)/")

# service prefix -> (error code, HTTP status) for a denied request; JSON services otherwise
_ERRORS: dict[str, tuple[str, int]] = {
    "s3": ("AccessDenied", 403),
    "sqs": ("AccessDenied", 403),
    "iam": ("AccessDenied", 403),
    "sts": ("AccessDenied", 403),
    "sns": ("AuthorizationError", 403),
    "ec2": ("UnauthorizedOperation", 403),
    "lambda": ("AccessDeniedException", 403),
    "elasticfilesystem": ("AccessDeniedException", 403),
}
_SSE_HEADERS = ("x-amz-server-side-encryption", "x-amz-server-side-encryption-aws-kms-key-id")
_XML_SERVICES = frozenset({"s3", "iam", "sts", "sns", "ec2"})


class AccessDenied(Exception):
    """A denied request: the service's error code, HTTP status and AWS's message."""

    def __init__(self, prefix: str, message: str) -> None:
        super().__init__(message)
        self.prefix = prefix
        self.code, self.status = _ERRORS.get(prefix, ("AccessDeniedException", 400))
        self.message = message


def message(principal: Principal, action: str, resource: str, result: policy.Result) -> str:
    """AWS's wording of a denial."""
    if result.decision is policy.Decision.EXPLICIT_DENY:
        article = "an" if result.deny_in.startswith("identity") else "a"
        why = f"with an explicit deny in {article} {result.deny_in} policy"
    else:
        kind = result.deny_in or "identity-based"
        why = f"because no {kind} policy allows the {action} action"
    return (
        f"User: {principal.arn} is not authorized to perform: {action} "
        f"on resource: {resource} {why}"
    )


def base_context(principal: Principal, region: str) -> dict[str, list[str]]:
    """The global condition keys of every request of `principal`
    ("AWS global condition context keys",
    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html)."""
    now = datetime.datetime.now(datetime.UTC)
    context = {
        "aws:securetransport": ["true"],  # the sandbox stands in for AWS's HTTPS endpoints
        "aws:requestedregion": [region],
        "aws:principalarn": [principal.role_arn],
        "aws:principalaccount": [principal.account_id],
        "aws:principaltype": ["AssumedRole"],
        "aws:currenttime": [now.strftime("%Y-%m-%dT%H:%M:%SZ")],
        "aws:epochtime": [str(int(now.timestamp()))],
    }
    if principal.source_identity:
        context["aws:sourceidentity"] = [principal.source_identity]
    return context


def _request_tags(params: Mapping[str, Any]) -> dict[str, str]:
    raw = params.get("Tags", params.get("tags"))
    if isinstance(raw, dict):
        return {str(k): str(v) for k, v in raw.items()}
    if isinstance(raw, list):
        pairs = [t for t in raw if isinstance(t, dict) and "Key" in t]
        return {str(t["Key"]): str(t.get("Value", "")) for t in pairs}
    return {}


def authorize(
    principal: Principal,
    action: str,
    arns: Sequence[str],
    context: Mapping[str, Sequence[str]] | None = None,
    params: Mapping[str, Any] | None = None,
    region: str = "",
) -> None:
    """Raise :class:`AccessDenied` unless `principal` may do `action` on every one of `arns`.

    `context` adds request-specific keys (lower case) to the global ones and the tags:
    `aws:RequestTag/*` and `aws:TagKeys` from `params`' `Tags`, `aws:ResourceTag/*` from
    each resource's tags.
    """
    from studio_sandbox.server import state

    info = reference.lookup(action)
    spelled = info.action if info else action
    prefix = spelled.split(":", 1)[0]
    full = base_context(principal, region or state.REGION)
    tags = _request_tags(params or {})
    if tags:
        full["aws:tagkeys"] = sorted(tags)
        full.update({f"aws:requesttag/{k.lower()}": [v] for k, v in tags.items()})
    for key, values in (context or {}).items():
        full[key.lower()] = list(values)
    identity = principals.identity_policies(principal)
    for arn in arns or ["*"]:
        per_resource = dict(full)
        for key, value in resources.tags_of(arn).items():
            per_resource[f"aws:resourcetag/{key.lower()}"] = [value]
        resource_policy, is_key = resources.resource_policy(arn) if arn != "*" else (None, False)
        result = policy.evaluate(
            spelled,
            [arn],
            per_resource,
            identity,
            resource_policy,
            principal.names,
            principal.account_id,
            key_policy=is_key,
        )
        if result.decision is not policy.Decision.ALLOW:
            text = message(principal, spelled, arn, result)
            LOG.info("IAM denied: %s", text)
            _denials.append(text)
            raise AccessDenied(prefix, text)


def denials() -> list[str]:
    """The messages of the latest denied calls, oldest first (at most 1000)."""
    return list(_denials)


def deny_by_bucket_policy(headers: Mapping[str, Any], action: str, resource: str) -> None:
    """Raise S3's AccessDenied for a request a bucket policy explicitly denies."""
    from moto.s3.exceptions import S3ClientError

    from studio_sandbox.server import state

    found = _CREDENTIAL.search(str(_header(headers, "authorization")))
    principal = principals.principal_for_key(found.group(1)) if found else None
    user = principal.arn if principal else f"arn:aws:iam::{state.ACCOUNT_ID}:root"
    text = (
        f"User: {user} is not authorized to perform: {action} on resource: {resource} "
        "with an explicit deny in a resource-based policy"
    )
    _denials.append(text)
    raise S3ClientError("AccessDenied", text)


def current_principal() -> Principal | None:
    """The role session whose request this thread is serving (None: the operator)."""
    return getattr(_current, "principal", None)


# -- the request hook ---------------------------------------------------------------------
def _flat(values: Mapping[str, Any]) -> dict[str, Any]:
    return {str(k): (v[0] if isinstance(v, list) and len(v) == 1 else v) for k, v in values.items()}


def _params(response: Any) -> dict[str, Any]:
    import json

    params: dict[str, Any] = {}
    query = getattr(response, "querystring", None) or {}
    params.update(_flat(query))
    parsed_params = getattr(response, "params", None)
    if isinstance(parsed_params, Mapping):
        params.update(parsed_params)
    body = getattr(response, "body", None)
    if isinstance(body, Mapping):
        params.update(body)
    if isinstance(body, bytes):
        body = body.decode("utf-8", "replace")
    if isinstance(body, str) and body.strip().startswith("{"):
        try:
            parsed = json.loads(body)
        except ValueError:
            parsed = None
        if isinstance(parsed, dict):
            params.update(parsed)
    elif isinstance(body, str) and "=" in body and not params:
        params.update(_flat(parse_qs(body)))
    match = getattr(response, "uri_match", None)
    if match is not None:
        from urllib.parse import unquote

        params.update({k: unquote(v) for k, v in match.groupdict().items() if isinstance(v, str)})
    return params


def _operation(response: Any) -> str:
    try:
        return str(response._get_action())
    except Exception:
        return ""


def check_request(response: Any, resource: str) -> None:
    """Authorize one request moto is about to serve (raise :class:`AccessDenied`)."""
    headers = getattr(response, "headers", None) or {}
    found = _CREDENTIAL.search(str(headers.get("Authorization", "")))
    _current.principal = None
    if not found:
        return
    access_key, region, signing_name = found.groups()
    if signing_name == "states":
        _check_logging_role(response, region)
    principal = principals.principal_for_key(access_key)
    if principal is None:
        return
    _current.principal = principal
    prefix = reference.service_prefix(signing_name)
    operation = _operation(response)
    if not operation or (prefix, operation) == ("sts", "GetCallerIdentity"):
        return  # GetCallerIdentity needs no permission ("GetCallerIdentity", STS API)
    params = _params(response)
    partition = principal.role_arn.split(":")[1]
    if prefix == "dynamodb":
        pairs = reference.multi_table_actions(
            operation, params, partition, region, principal.account_id
        )
        if pairs is not None:
            for item_action, table in pairs:
                authorize(principal, item_action, [table], {}, params, region)
            tables = [table for _, table in pairs]
            side_effects.check_dynamodb_tables(authorize, principal, tables, region)
            return
    action = reference.action_name(prefix, operation)
    info = reference.lookup(action)
    context: dict[str, list[str]] = {}
    if prefix == "s3":
        arns = [resource] if resource and resource != "*" else []
        if "prefix" in params:
            context["s3:prefix"] = [str(params["prefix"])]
        for header in _SSE_HEADERS:
            if header in {str(h).lower() for h in headers}:
                context[f"s3:{header}"] = [str(_header(headers, header))]
    elif info is not None:
        arns = reference.resources(info, params, partition, region, principal.account_id)
        if prefix == "lambda" and params.get("Qualifier"):
            arns = [a if a.count(":") > 6 else f"{a}:{params['Qualifier']}" for a in arns]
    else:
        LOG.warning("IAM reference has no action %s: authorized on '*'", action)
        arns = []
    authorize(principal, action, arns, context, params, region)
    side_effects.check(authorize, principal, prefix, operation, params, region)
    if prefix == "s3" and arns and action in ("s3:PutObject", "s3:GetObject"):
        bucket = arns[0].split(":::", 1)[-1].split("/", 1)[0]
        writing = action == "s3:PutObject"
        side_effects.check_s3_object(authorize, principal, bucket, writing, region)
    if prefix == "s3" and action == "s3:PutObject":
        _check_copy_source(headers, principal, partition, region)


def copy_source(header: str) -> tuple[str, str, str | None] | None:
    """(bucket, key, version id or None) of an `x-amz-copy-source` header
    (`[/]bucket/key[?versionId=v]`, URL-encoded); None when it names no object."""
    from urllib.parse import unquote

    path, _, query = header.partition("?")
    bucket, _, key = unquote(path).lstrip("/").partition("/")
    version = parse_qs(query).get("versionId", [None])[0]
    return (bucket, key, version) if bucket and key else None


def _check_copy_source(
    headers: Mapping[str, Any], principal: Principal, partition: str, region: str
) -> None:
    """CopyObject and UploadPartCopy also read their source: `s3:GetObject`, or
    `s3:GetObjectVersion` for a named version, on the source object (and KMS Decrypt
    through S3 for an SSE-KMS source bucket) (S3 API reference, CopyObject, Permissions)."""
    source = copy_source(_header(headers, "x-amz-copy-source"))
    if source is None:
        return
    bucket, key, version = source
    action = "s3:GetObjectVersion" if version else "s3:GetObject"
    arn = f"arn:{partition}:s3:::{bucket}/{key}"
    authorize(principal, action, [arn], {}, {}, region)
    side_effects.check_s3_object(authorize, principal, bucket, False, region)


def _check_logging_role(response: Any, region: str) -> None:
    from studio_sandbox.server import state

    if _operation(response) not in ("CreateStateMachine", "UpdateStateMachine"):
        return
    role = side_effects.state_machine_logging_role(_params(response), region, state.ACCOUNT_ID)
    if not role:
        return
    session = principals.Principal(role, "StepFunctions", role.split(":")[4])
    try:
        for action in side_effects.LOG_DELIVERY_ACTIONS:
            authorize(session, action, ["*"])
    except AccessDenied as denied:
        LOG.info("state machine role cannot deliver logs: %s", denied.message)
        raise AccessDenied(
            "states", "The state machine IAM Role is not authorized to access the Log Destination"
        ) from None


def _header(headers: Any, name: str) -> str:
    for key, value in dict(headers).items():
        if str(key).lower() == name:
            return str(value)
    return ""


def raise_as_moto(denied: AccessDenied) -> None:
    """Raise `denied` as the HTTP error moto renders for the service's protocol."""
    from moto.core.exceptions import JsonRESTError
    from werkzeug.exceptions import HTTPException

    if denied.prefix == "s3":
        from moto.s3.exceptions import S3ClientError

        raise S3ClientError(denied.code, denied.message) from None
    if denied.prefix not in _XML_SERVICES:
        error: Any = JsonRESTError(denied.code, denied.message)
        error.code = denied.status
        raise error from None
    from xml.sax.saxutils import escape

    inner = f"<Code>{denied.code}</Code><Message>{escape(denied.message)}</Message>"
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<ErrorResponse><Errors><Error>{inner}<Type>Sender</Type></Error></Errors>"
        "</ErrorResponse>"
    )
    xml_error: Any = HTTPException(description=body)
    xml_error.code = denied.status
    xml_error.get_body = lambda *_a, **_k: body
    xml_error.get_headers = lambda *_a, **_k: [
        ("X-Amzn-ErrorType", denied.code),
        ("Content-Type", "application/xml"),
    ]
    raise xml_error from None


def _hook(self: Any, iam_request_cls: type, resource: str = "*") -> None:
    try:
        check_request(self, resource)
    except AccessDenied as denied:
        raise_as_moto(denied)


def install() -> None:
    """Authorize every request of a role session (idempotent)."""
    from moto.core.authorization import ActionAuthenticatorMixin

    if _originals:
        return
    _originals["hook"] = ActionAuthenticatorMixin._authenticate_and_authorize_action
    ActionAuthenticatorMixin._authenticate_and_authorize_action = _hook  # type: ignore[method-assign]


def uninstall() -> None:
    from moto.core.authorization import ActionAuthenticatorMixin

    if not _originals:
        return
    ActionAuthenticatorMixin._authenticate_and_authorize_action = _originals.pop("hook")  # type: ignore[method-assign]
    principals.reset()
