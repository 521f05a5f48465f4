"""Every IAM policy the module created is least privilege.

Reads the policies as deployed (the real module applied to the sandbox, so the JSON is what
`aws_iam_policy_document` rendered) and fails on any wildcard action in an Allow statement,
and on any `Resource: "*"` for an action not on the allowlist below, where each entry says
why AWS offers nothing narrower.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import unquote

from tests.e2e.conftest import Deployed

# action -> why it must be allowed on every resource
WILDCARD_RESOURCE_ALLOWLIST: dict[str, str] = {
    "xray:PutTraceSegments": "X-Ray trace writes have no resource-level permissions",
    "xray:PutTelemetryRecords": "X-Ray trace writes have no resource-level permissions",
    "xray:GetSamplingRules": "X-Ray sampling reads have no resource-level permissions",
    "xray:GetSamplingTargets": "X-Ray sampling reads have no resource-level permissions",
    "sagemaker:ListDomains": "SageMaker List calls have no resource-level permissions",
    "sagemaker:ListUserProfiles": "SageMaker List calls have no resource-level permissions",
    "sagemaker:ListSpaces": "SageMaker List calls have no resource-level permissions",
    "ec2:DescribeSubnets": "EC2 Describe calls have no resource-level permissions",
    "ec2:DescribeSecurityGroups": "EC2 Describe calls have no resource-level permissions",
    "ec2:DescribeNetworkInterfaces": "EC2 Describe calls have no resource-level permissions",
    "datasync:CreateLocationEfs": "creates a new ARN; limited by the module's request tag",
    "datasync:CreateLocationS3": "creates a new ARN; limited by the module's request tag",
    "datasync:CreateTask": "creates a new ARN; limited by the module's request tag",
    "datasync:TagResource": "tagging on create is authorized like the create itself",
    "datasync:ListTaskExecutions": "DataSync List calls have no resource-level permissions",
    "logs:CreateLogDelivery": "vended log delivery (Step Functions) takes no resource",
    "logs:GetLogDelivery": "vended log delivery (Step Functions) takes no resource",
    "logs:UpdateLogDelivery": "vended log delivery (Step Functions) takes no resource",
    "logs:DeleteLogDelivery": "vended log delivery (Step Functions) takes no resource",
    "logs:ListLogDeliveries": "vended log delivery (Step Functions) takes no resource",
    "logs:PutResourcePolicy": "log resource policies are account-wide",
    "logs:DescribeResourcePolicies": "log resource policies are account-wide",
    "logs:DescribeLogGroups": "the log delivery check lists groups account-wide",
}


def _module_policies(deployed: Deployed) -> dict[str, dict[str, Any]]:
    """Every inline and attached customer policy of the module's roles, by a readable name."""
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


def _listify(value: Any) -> list[str]:
    return [value] if isinstance(value, str) else list(value or [])


def _violations(policies: dict[str, dict[str, Any]]) -> list[str]:
    found: list[str] = []
    for name, document in sorted(policies.items()):
        if "AwsManaged" in document:
            found.append(
                f"{name}: AWS managed policy {document['AwsManaged']} is not scoped"
            )
            continue
        for statement in _listify(document.get("Statement")):
            if statement.get("Effect") != "Allow":
                continue
            sid = statement.get("Sid", "<no sid>")
            actions = _listify(statement.get("Action"))
            if statement.get("NotAction") or statement.get("NotResource"):
                found.append(f"{name} {sid}: NotAction/NotResource")
            for action in actions:
                if "*" in action:
                    found.append(f"{name} {sid}: wildcard action {action}")
            if "*" in _listify(statement.get("Resource")):
                for action in actions:
                    if action not in WILDCARD_RESOURCE_ALLOWLIST:
                        found.append(f"{name} {sid}: {action} on Resource '*'")
            if not statement.get("Sid"):
                found.append(f"{name}: a statement without a sid ({actions})")
    return found


def test_every_module_policy_is_least_privilege(deployed: Deployed) -> None:
    policies = _module_policies(deployed)
    # the event, seeder, stream, prepare and finalize functions, the workflow and DataSync
    assert len(policies) >= 6, sorted(policies)
    assert _violations(policies) == []


def test_the_checker_catches_what_it_must() -> None:
    # given policies with each kind of violation
    policies = {
        "r/wild-action": {
            "Statement": [
                {"Sid": "A", "Effect": "Allow", "Action": "s3:*", "Resource": "x"}
            ]
        },
        "r/wild-resource": {
            "Statement": [
                {
                    "Sid": "B",
                    "Effect": "Allow",
                    "Action": ["dynamodb:GetItem"],
                    "Resource": "*",
                }
            ]
        },
        "r/no-sid": {
            "Statement": [{"Effect": "Allow", "Action": "sns:Publish", "Resource": "t"}]
        },
        "r/deny-is-fine": {
            "Statement": [
                {"Sid": "D", "Effect": "Deny", "Action": "*", "Resource": "*"}
            ]
        },
        "r/allowlisted": {
            "Statement": [
                {
                    "Sid": "X",
                    "Effect": "Allow",
                    "Action": "xray:PutTraceSegments",
                    "Resource": "*",
                }
            ]
        },
    }
    # then each violation, and only those, is reported
    found = _violations(policies)
    assert any("wild-action" in f and "s3:*" in f for f in found)
    assert any("wild-resource" in f and "dynamodb:GetItem" in f for f in found)
    assert any("no-sid" in f for f in found)
    assert not any("deny-is-fine" in f or "allowlisted" in f for f in found)
