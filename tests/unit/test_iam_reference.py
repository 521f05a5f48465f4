"""The IAM reference look-ups and least-privilege checks (tests/iam_reference.py) against
facts of the AWS Service Authorization Reference, so that the e2e check of the deployed
policies can fail (issue 16)."""

from __future__ import annotations

from typing import Any

from tests.iam_reference import lookup, matching_actions, stale_exceptions, violations


def _policy(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def _allow(
    sid: str, action: str | list[str], resource: str | list[str], **extra: Any
) -> dict[str, Any]:
    return {
        "Sid": sid,
        "Effect": "Allow",
        "Action": action,
        "Resource": resource,
        **extra,
    }


def test_list_streams_supports_only_the_wildcard_resource() -> None:
    ref = lookup("dynamodb:ListStreams")
    assert ref is not None
    assert ref.wildcard_only
    assert ref.resource_types == frozenset()


def test_describe_stream_is_scoped_to_streams() -> None:
    ref = lookup("dynamodb:DescribeStream")
    assert ref is not None and ref.resource_types == {"stream"}


def test_create_task_is_scoped_to_locations_and_supports_request_tags() -> None:
    ref = lookup("datasync:CreateTask")
    assert ref is not None
    assert not ref.wildcard_only
    assert "location" in ref.resource_types
    assert ref.supports_condition_key("aws:RequestTag/managed-by")
    assert ref.supports_condition_key("aws:RequestedRegion")  # global


def test_create_location_efs_supports_only_the_wildcard_resource() -> None:
    ref = lookup("datasync:CreateLocationEfs")
    assert ref is not None and ref.wildcard_only


def test_resource_type_keys_count_for_the_action() -> None:
    # DeleteLocation's own row lists no key; the location resource type has aws:ResourceTag
    ref = lookup("datasync:DeleteLocation")
    assert ref is not None
    assert ref.supports_condition_key("aws:ResourceTag/managed-by")
    assert not ref.supports_condition_key("aws:RequestTag/managed-by")


def test_lookups_ignore_case_and_report_unknown_actions() -> None:
    ref = lookup("DynamoDB:listStreams")
    assert ref is not None and ref.action == "dynamodb:ListStreams"
    assert lookup("dynamodb:ListStreamz") is None
    assert lookup("nosuchservice:Anything") is None
    assert lookup("no-colon") is None


def test_wildcard_actions_expand_against_the_reference() -> None:
    names = {ref.action for ref in matching_actions("kms:GenerateDataKey*")}
    assert "kms:GenerateDataKey" in names
    assert "kms:GenerateDataKeyWithoutPlaintext" in names
    assert matching_actions("kms:NoSuch*") == []


def test_the_checker_reports_each_violation_and_only_those() -> None:
    # given policies with each kind of violation, and some that are fine
    policies = {
        "r/wild-action": _policy(_allow("A", "s3:*", "arn:aws:s3:::b")),
        "r/wild-resource": _policy(_allow("B", ["dynamodb:GetItem"], "*")),
        "r/no-sid": _policy(
            {"Effect": "Allow", "Action": "sns:Publish", "Resource": "arn:t"}
        ),
        "r/unknown-action": _policy(_allow("C", "dynamodb:ListStreamz", "*")),
        "r/ineffective": _policy(
            _allow("D", "dynamodb:ListStreams", "arn:aws:dynamodb:r:1:table/t/stream/*")
        ),
        "r/made-up-key": _policy(
            _allow(
                "E",
                "datasync:CreateLocationEfs",
                "*",
                Condition={"StringEquals": {"datasync:MadeUpKey": "x"}},
            )
        ),
        "r/tag-key-unsupported": _policy(
            _allow(
                "F",
                "dynamodb:ListStreams",
                "*",
                Condition={"StringEquals": {"aws:RequestTag/managed-by": "x"}},
            )
        ),
        "r/deny-is-fine": _policy(
            {
                "Sid": "G",
                "Effect": "Deny",
                "Action": "s3:*",
                "Resource": "*",
                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
            }
        ),
        "r/wildcard-only-on-star": _policy(
            _allow("H", ["xray:PutTraceSegments", "dynamodb:ListStreams"], "*")
        ),
        "r/supported-keys": _policy(
            _allow(
                "I",
                "datasync:CreateTask",
                "arn:aws:datasync:r:1:location/*",
                Condition={
                    "StringEquals": {
                        "aws:RequestTag/managed-by": "studio-recovery",
                        "aws:RequestedRegion": "r",
                    }
                },
            ),
            _allow(
                "J",
                "iam:PassRole",
                "arn:aws:iam::1:role/r",
                Condition={"StringEquals": {"iam:PassedToService": "x"}},
            ),
        ),
        "r/excepted": _policy(_allow("K", "sns:Publish", "*")),
    }

    # when the checker runs, with one reasoned exception
    found = violations(policies, {"sns:Publish": "a reason"})

    # then each violation, and only those, is reported
    def about(name: str) -> list[str]:
        return [line for line in found if line.startswith(f"r/{name} ")]

    assert any("wildcard action s3:*" in f for f in about("wild-action"))
    assert any("dynamodb:GetItem on Resource '*'" in f for f in about("wild-resource"))
    assert any("without a sid" in f for f in about("no-sid"))
    assert any(
        "not an action of the IAM reference" in f for f in about("unknown-action")
    )
    assert any("never matches" in f for f in about("ineffective"))
    assert any("datasync:MadeUpKey" in f for f in about("made-up-key"))
    assert any("aws:RequestTag/managed-by" in f for f in about("tag-key-unsupported"))
    for fine in ("deny-is-fine", "wildcard-only-on-star", "supported-keys", "excepted"):
        assert about(fine) == [], about(fine)
    assert len(found) == 7, found


def test_aws_managed_policies_are_reported() -> None:
    found = violations({"r/p": {"AwsManaged": "arn:aws:iam::aws:policy/X"}})
    assert found == ["r/p: AWS managed policy arn:aws:iam::aws:policy/X is not scoped"]


def test_an_exception_for_a_wildcard_only_action_is_stale() -> None:
    assert stale_exceptions(
        {"dynamodb:ListStreams": "r", "datasync:CreateTask": "r", "x:Nope": "r"}
    ) == ["dynamodb:ListStreams", "x:Nope"]
