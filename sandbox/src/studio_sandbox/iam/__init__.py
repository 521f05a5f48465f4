"""IAM in the sandbox: deployed principals call with their role's credentials, and every
call is authorized against the role's policies as deployed (see :mod:`.enforce`).

The mode is chosen when a sandbox starts: `Sandbox(iam_enforced=True|False)`, else the
`SANDBOX_IAM` environment variable (`enforce` or `off`; default `off`, moto's permissive
behaviour, for unit-level use). `make demo`, the e2e, reliability and bench suites start
their sandbox with enforcement on. With it off, nothing here changes a request.

    iam.enable()             # the sandbox does this at start when enforcing
    iam.role_environment(role_arn, "fn")   # a Lambda worker's credentials
    iam.authorize_role(role_arn, "datasync", "s3:GetObject", [arn])  # a service's own call
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

MODE_ENV = "SANDBOX_IAM"
_state = {"enforcing": False}


def mode_from_environment() -> bool:
    """True when `SANDBOX_IAM` asks for enforcement."""
    value = os.environ.get(MODE_ENV, "off").strip().lower()
    if value not in ("enforce", "on", "off", ""):
        raise ValueError(f"{MODE_ENV} must be 'enforce' or 'off', not {value!r}")
    return value in ("enforce", "on")


def enforcing() -> bool:
    return _state["enforcing"]


def enable() -> None:
    """Authorize every role session's request from now on."""
    from studio_sandbox.iam import enforce

    enforce.install()  # Step Functions: stepfunctions.install(), on the service's first call
    _state["enforcing"] = True


def disable() -> None:
    from studio_sandbox.iam import enforce, stepfunctions

    stepfunctions.uninstall()
    enforce.uninstall()
    _state["enforcing"] = False


def role_environment(role_arn: str, session_name: str) -> dict[str, str]:
    """`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN` of the role's
    session, for a process that calls the sandbox as that role ({} when not enforcing)."""
    if not enforcing() or not role_arn:
        return {}
    from studio_sandbox.iam import principals

    creds = principals.credentials_for(role_arn, session_name)
    return {
        "AWS_ACCESS_KEY_ID": creds.access_key_id,
        "AWS_SECRET_ACCESS_KEY": creds.secret_access_key,
        "AWS_SESSION_TOKEN": creds.session_token,
    }


def authorize_role(
    role_arn: str,
    session_name: str,
    action: str,
    arns: Sequence[str],
    context: Mapping[str, Sequence[str]] | None = None,
    params: Mapping[str, Any] | None = None,
) -> None:
    """A call a service makes with a role it assumed (DataSync's location role, a rule
    target's role): raise `enforce.AccessDenied` unless the role allows it."""
    if not enforcing() or not role_arn:
        return
    from studio_sandbox.iam import enforce, principals

    principals.credentials_for(role_arn, session_name)
    principal = principals.Principal(role_arn, session_name[:64], role_arn.split(":")[4])
    enforce.authorize(principal, action, arns, context, params)


def authorize_role_side_effects(
    role_arn: str, session_name: str, service: str, action: str, params: Mapping[str, Any]
) -> None:
    """The side effects (KMS for an encrypted queue or topic, ...) of a call a service makes
    with a role (`action` as `<service>:<Operation>`): raise `enforce.AccessDenied`."""
    if not enforcing() or not role_arn:
        return
    from studio_sandbox.iam import enforce, principals, side_effects

    principals.credentials_for(role_arn, session_name)
    principal = principals.Principal(role_arn, session_name[:64], role_arn.split(":")[4])
    region = role_arn.split(":")[3] or _region()
    operation = action.split(":", 1)[1]
    side_effects.check(enforce.authorize, principal, service, operation, params, region)


def _region() -> str:
    from studio_sandbox.server import state

    return state.REGION


def authorize_caller(
    action: str,
    arns: Sequence[str],
    context: Mapping[str, Sequence[str]] | None = None,
    params: Mapping[str, Any] | None = None,
) -> None:
    """A side effect AWS authorizes against the caller of the request being served
    (iam:PassRole, DataSync's network interfaces, KMS for encrypted data)."""
    if not enforcing():
        return
    from studio_sandbox.iam import enforce

    principal = enforce.current_principal()
    if principal is None:
        return
    try:
        enforce.authorize(principal, action, arns, context, params)
    except enforce.AccessDenied as denied:
        enforce.raise_as_moto(denied)
