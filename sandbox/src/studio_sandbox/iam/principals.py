"""Who is calling: role sessions, their credentials, and the policies they carry.

Deployed principals call with temporary credentials of their role, as on AWS: a Lambda
function's execution role with the function's name as session name ("Lambda execution
role"), the state machine's role, a location role DataSync assumes, a rule target's role.
The sandbox gets them from moto's STS (`AssumeRole`, in process) and keeps which access
key belongs to which session. Any other access key (the sandbox's fixed test key, the one
Terraform and the tests use) is the account's operator and is not restricted.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from typing import Any

from studio_sandbox.iam import policy
from studio_sandbox.server import state


@dataclass(frozen=True)
class Credentials:
    access_key_id: str
    secret_access_key: str
    session_token: str


@dataclass(frozen=True)
class Principal:
    """One role session."""

    role_arn: str
    session_name: str
    account_id: str
    source_identity: str | None = None
    """`sts:SourceIdentity` set when the role was assumed (`aws:SourceIdentity`)."""

    @property
    def role_name(self) -> str:
        return self.role_arn.rsplit("/", 1)[-1]

    @property
    def arn(self) -> str:
        """`arn:aws:sts::<account>:assumed-role/<role>/<session>` (what AWS errors name)."""
        partition = self.role_arn.split(":")[1]
        return (
            f"arn:{partition}:sts::{self.account_id}:assumed-role/"
            f"{self.role_name}/{self.session_name}"
        )

    @property
    def names(self) -> tuple[str, str]:
        """What a resource policy's Principal can name it by: role and session ARN."""
        return (self.role_arn, self.arn)


_lock = threading.Lock()
_by_key: dict[str, Principal] = {}
_by_session: dict[tuple[str, str, str | None], Credentials] = {}


def credentials_for(
    role_arn: str, session_name: str, source_identity: str | None = None
) -> Credentials:
    """Temporary credentials of `role_arn` (assumed once per session name and source
    identity, then reused). `source_identity` is the session's `sts:SourceIdentity`."""
    from moto.sts.models import sts_backends

    key = (role_arn, session_name, source_identity)
    with _lock:
        found = _by_session.get(key)
        if found is not None:
            return found
        account = role_arn.split(":")[4] or state.ACCOUNT_ID
        partition = role_arn.split(":")[1]
        assumed = sts_backends[account][partition].assume_role(
            region_name=state.REGION,
            role_session_name=session_name[:64],
            role_arn=role_arn,
            policy="",
            duration=43200,
            external_id="",
        )
        creds = Credentials(assumed.access_key_id, assumed.secret_access_key, assumed.session_token)
        _by_session[key] = creds
        _by_key[creds.access_key_id] = Principal(
            role_arn, session_name[:64], account, source_identity
        )
        return creds


def principal_for_key(access_key_id: str) -> Principal | None:
    """The role session an access key belongs to; None for the account's operator."""
    found = _by_key.get(access_key_id)
    if found is not None or not access_key_id.startswith("ASIA"):
        return found
    from moto.sts.models import sts_backends

    for account, by_partition in list(sts_backends.items()):
        backend = by_partition.get("aws") if hasattr(by_partition, "get") else None
        role = backend.get_assumed_role_from_access_key(access_key_id) if backend else None
        if role is not None:
            principal = Principal(role.role_arn, role.session_name, account)
            _by_key[access_key_id] = principal
            return principal
    return None


def trusts(role_arn: str, service: str, actions: tuple[str, ...]) -> bool:
    """Does the role's trust policy let `service` (`sagemaker.amazonaws.com`) do every one
    of `actions` (`sts:AssumeRole`, `sts:SetSourceIdentity`)? False for a missing role."""
    from moto.iam.models import iam_backends

    account = role_arn.split(":")[4] or state.ACCOUNT_ID
    backend = iam_backends[account][role_arn.split(":")[1]]
    try:
        role: Any = backend.get_role(role_arn.rsplit("/", 1)[-1])
    except Exception:
        return False
    document = role.assume_role_policy_document
    trust = policy.parse(document if isinstance(document, str) else json.dumps(document))
    names = (f"Service:{service}",)
    return all(
        policy.evaluate(action, [role_arn], {}, [], trust, names, account).decision
        is policy.Decision.ALLOW
        for action in actions
    )


def identity_policies(principal: Principal) -> list[policy.Policy]:
    """The role's inline and attached managed policies, as deployed now (parsed, cached)."""
    from moto.iam.models import iam_backends

    backend = iam_backends[principal.account_id][principal.role_arn.split(":")[1]]
    try:
        role: Any = backend.get_role(principal.role_name)
    except Exception:  # the role was deleted: nothing allows anything
        return []
    found = [policy.parse(str(doc), name) for name, doc in sorted(role.policies.items())]
    for arn, managed in sorted(role.managed_policies.items()):
        document = next(
            (v.document for v in managed.versions if v.version_id == managed.default_version_id),
            None,
        )
        if document:
            found.append(policy.parse(str(document), arn))
    return found


def reset() -> None:
    """Forget every session (a new sandbox has a new STS)."""
    with _lock:
        _by_key.clear()
        _by_session.clear()
