"""The IAM policy evaluator and the reference look-ups of studio_sandbox.iam, without a server.

Each case is a rule of "Policy evaluation logic" or "Condition operators" (IAM User Guide).
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from studio_sandbox.iam import policy, reference
from studio_sandbox.iam.policy import Decision

ACCOUNT = "123456789012"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/worker"
SESSION = f"arn:aws:sts::{ACCOUNT}:assumed-role/worker/fn"
TABLE = f"arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/registry"


def doc(*statements: dict[str, Any]) -> policy.Policy:
    return policy.parse(json.dumps({"Version": "2012-10-17", "Statement": list(statements)}))


def allow(action: Any, resource: Any, **extra: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": action, "Resource": resource, **extra}


def deny(action: Any, resource: Any, **extra: Any) -> dict[str, Any]:
    return {"Effect": "Deny", "Action": action, "Resource": resource, **extra}


def decide(
    identity: list[policy.Policy],
    action: str = "dynamodb:GetItem",
    resource: str = TABLE,
    context: dict[str, list[str]] | None = None,
    resource_policy: policy.Policy | None = None,
    key_policy: bool = False,
) -> Decision:
    return policy.evaluate(
        action,
        [resource],
        context or {},
        identity,
        resource_policy,
        (ROLE, SESSION),
        ACCOUNT,
        key_policy=key_policy,
    ).decision


def test_no_statement_allows_is_an_implicit_deny() -> None:
    assert decide([doc(allow("dynamodb:PutItem", TABLE))]) is Decision.IMPLICIT_DENY
    assert decide([]) is Decision.IMPLICIT_DENY


def test_an_allow_names_action_and_resource_with_wildcards() -> None:
    assert decide([doc(allow("dynamodb:Get*", TABLE))]) is Decision.ALLOW
    assert decide([doc(allow("DynamoDB:getitem", TABLE))]) is Decision.ALLOW  # actions: any case
    assert decide([doc(allow("dynamodb:GetItem", TABLE + "2"))]) is Decision.IMPLICIT_DENY
    assert decide([doc(allow("dynamodb:GetItem", "arn:aws:dynamodb:*:*:table/reg*"))]) is (
        Decision.ALLOW
    )


def test_explicit_deny_wins_over_any_allow() -> None:
    identity = [doc(allow("dynamodb:*", "*")), doc(deny("dynamodb:GetItem", TABLE))]
    result = policy.evaluate("dynamodb:GetItem", [TABLE], {}, identity)
    assert result.decision is Decision.EXPLICIT_DENY
    assert result.deny_in == "identity-based"


def test_not_action_and_not_resource() -> None:
    assert decide([doc({"Effect": "Allow", "NotAction": "s3:*", "Resource": "*"})]) is (
        Decision.ALLOW
    )
    not_this = {"Effect": "Allow", "Action": "dynamodb:GetItem", "NotResource": TABLE}
    assert decide([doc(not_this)]) is Decision.IMPLICIT_DENY


@pytest.mark.parametrize(
    ("operator", "expected", "actual", "holds"),
    [
        ("StringEquals", "a", ["a"], True),
        ("StringEquals", "a", ["A"], False),
        ("StringEqualsIgnoreCase", "a", ["A"], True),
        ("StringNotEquals", "a", ["b"], True),
        ("StringNotEquals", "a", None, True),  # negated: an absent key matches
        ("StringEquals", "a", None, False),
        ("StringEqualsIfExists", "a", None, True),
        ("StringEqualsIfExists", "a", ["b"], False),
        ("StringLike", "homes/*", ["homes/u1/"], True),
        ("StringLike", "homes/*", ["manifests/x"], False),
        ("StringNotLike", "homes/*", ["manifests/x"], True),
        (
            "ArnLike",
            "arn:aws:datasync:*:123456789012:*",
            ["arn:aws:datasync:us-east-1:123456789012:task/t-1"],
            True,
        ),
        (
            "ArnEquals",
            "arn:aws:ec2:us-east-1:1:subnet/s-1",
            ["arn:aws:ec2:us-east-1:1:subnet/s-2"],
            False,
        ),
        ("Bool", "true", ["true"], True),
        ("Bool", "false", ["true"], False),
        ("NumericLessThan", "10", ["9"], True),
        ("NumericLessThan", "10", ["10"], False),
        ("NumericGreaterThanEquals", "10", ["10"], True),
        ("NumericEquals", "10", ["ten"], False),
        ("Null", "true", None, True),
        ("Null", "false", None, False),
        ("Null", "false", ["x"], True),
        ("ForAnyValue:StringEquals", ["a", "b"], ["c", "b"], True),
        ("ForAnyValue:StringEquals", ["a", "b"], ["c"], False),
        ("ForAllValues:StringEquals", ["a", "b"], ["a", "b"], True),
        ("ForAllValues:StringEquals", ["a", "b"], ["a", "c"], False),
        ("ForAllValues:StringEquals", ["a"], None, True),  # no values: vacuously true
        ("ForAnyValue:StringEquals", ["a"], None, False),
        # Date*: ISO 8601 or epoch seconds, on either side
        ("DateLessThan", "2026-12-08T00:00:00Z", ["2026-12-07T23:59:59Z"], True),
        ("DateLessThan", "2026-12-08T00:00:00Z", ["2026-12-08T00:00:00Z"], False),
        ("DateLessThanEquals", "2026-12-08T00:00:00Z", ["2026-12-08T00:00:00Z"], True),
        ("DateGreaterThan", "2026-12-08", ["2026-12-08T00:00:01Z"], True),
        ("DateGreaterThanEquals", "1796688000", ["2026-12-08T00:00:00Z"], True),
        ("DateEquals", "2026-12-08T01:00:00+01:00", ["2026-12-08T00:00:00Z"], True),
        ("DateNotEquals", "2026-12-08T00:00:00Z", ["2026-12-08T00:00:00Z"], False),
        ("DateNotEquals", "2026-12-08T00:00:00Z", None, True),  # negated: absent matches
        ("DateLessThan", "not a date", ["2026-12-08T00:00:00Z"], False),
        ("DateLessThanIfExists", "2026-12-08T00:00:00Z", None, True),
        # IpAddress/NotIpAddress: CIDR blocks, IPv4 and IPv6
        ("IpAddress", ["203.0.113.0/24", "10.0.0.0/8"], ["10.1.2.3"], True),
        ("IpAddress", "203.0.113.0/24", ["198.51.100.7"], False),
        ("IpAddress", "2001:db8::/32", ["2001:db8::1"], True),
        ("IpAddress", "203.0.113.0/24", None, False),
        ("NotIpAddress", "203.0.113.0/24", ["198.51.100.7"], True),
        ("NotIpAddress", "203.0.113.0/24", ["203.0.113.9"], False),
        ("IpAddress", "203.0.113.0/24", ["not an address"], False),
        # BinaryEquals: base-64 values compared as bytes
        ("BinaryEquals", "QmluYXJ5VmFsdWU=", ["QmluYXJ5VmFsdWU="], True),
        ("BinaryEquals", "QmluYXJ5VmFsdWU=", ["T3RoZXI="], False),
        ("BinaryEquals", "QmluYXJ5VmFsdWU=", ["not base64!"], False),
    ],
)
def test_condition_operators(operator: str, expected: Any, actual: Any, holds: bool) -> None:
    context = {} if actual is None else {"k": actual}
    values = expected if isinstance(expected, list) else [expected]
    assert policy.condition_holds(operator, "K", values, context) is holds


def test_condition_keys_ignore_case_and_every_block_must_hold() -> None:
    statement = allow(
        "datasync:CreateTask",
        "*",
        Condition={
            "StringEquals": {"aws:RequestTag/managed-by": "studio-recovery"},
            "StringEqualsIgnoreCase": {"aws:RequestedRegion": "US-EAST-1"},
        },
    )
    good = {"aws:requesttag/managed-by": ["studio-recovery"], "aws:requestedregion": ["us-east-1"]}
    assert decide([doc(statement)], "datasync:CreateTask", "*", good) is Decision.ALLOW
    untagged = {"aws:requestedregion": ["us-east-1"]}
    assert decide([doc(statement)], "datasync:CreateTask", "*", untagged) is (
        Decision.IMPLICIT_DENY
    )


def test_a_date_condition_on_the_current_time_allows_until_its_end() -> None:
    """A time-boxed Allow (`aws:CurrentTime`), as the IAM User Guide's example."""
    boxed = allow(
        "dynamodb:GetItem",
        TABLE,
        Condition={"DateLessThan": {"aws:CurrentTime": "2026-12-31T23:59:59Z"}},
    )
    before = {"aws:currenttime": ["2026-12-08T00:00:00Z"]}
    after = {"aws:currenttime": ["2027-01-01T00:00:00Z"]}
    assert decide([doc(boxed)], "dynamodb:GetItem", TABLE, before) is Decision.ALLOW
    assert decide([doc(boxed)], "dynamodb:GetItem", TABLE, after) is Decision.IMPLICIT_DENY


def test_an_unknown_operator_never_allows_and_always_denies() -> None:
    odd = {"Condition": {"IpAddressIsh": {"aws:SourceIp": "10.0.0.0/8"}}}
    assert decide([doc(allow("dynamodb:GetItem", TABLE, **odd))]) is Decision.IMPLICIT_DENY
    both = [doc(allow("dynamodb:*", "*")), doc(deny("dynamodb:GetItem", TABLE, **odd))]
    assert decide(both) is Decision.EXPLICIT_DENY


def test_pass_role_is_conditioned_on_the_service_it_goes_to() -> None:
    role = f"arn:aws:iam::{ACCOUNT}:role/datasync-efs"
    grant = allow(
        "iam:PassRole",
        role,
        Condition={"StringEquals": {"iam:PassedToService": "datasync.amazonaws.com"}},
    )
    to_datasync = {"iam:passedtoservice": ["datasync.amazonaws.com"]}
    to_lambda = {"iam:passedtoservice": ["lambda.amazonaws.com"]}
    assert decide([doc(grant)], "iam:PassRole", role, to_datasync) is Decision.ALLOW
    assert decide([doc(grant)], "iam:PassRole", role, to_lambda) is Decision.IMPLICIT_DENY


def test_a_resource_policy_naming_the_role_allows_and_its_deny_wins() -> None:
    queue = f"arn:aws:sqs:us-east-1:{ACCOUNT}:dlq"
    grant = doc(allow("sqs:SendMessage", queue, Principal={"AWS": ROLE}))
    assert decide([], "sqs:SendMessage", queue, resource_policy=grant) is Decision.ALLOW
    other = doc(
        allow("sqs:SendMessage", queue, Principal={"AWS": f"arn:aws:iam::{ACCOUNT}:role/x"})
    )
    assert decide([], "sqs:SendMessage", queue, resource_policy=other) is Decision.IMPLICIT_DENY
    tls = doc(
        deny(
            "sqs:*",
            queue,
            Principal="*",
            Condition={"Bool": {"aws:SecureTransport": "false"}},
        )
    )
    identity = [doc(allow("sqs:SendMessage", queue))]
    plain = {"aws:securetransport": ["false"]}
    assert decide(identity, "sqs:SendMessage", queue, plain, tls) is Decision.EXPLICIT_DENY
    https = {"aws:securetransport": ["true"]}
    assert decide(identity, "sqs:SendMessage", queue, https, tls) is Decision.ALLOW


def test_a_key_policy_must_allow_or_delegate_to_iam() -> None:
    key = f"arn:aws:kms:us-east-1:{ACCOUNT}:key/k-1"
    identity = [doc(allow("kms:Decrypt", key))]
    delegates = doc(allow("kms:*", "*", Principal={"AWS": f"arn:aws:iam::{ACCOUNT}:root"}))
    silent = doc(allow("kms:*", "*", Principal={"AWS": f"arn:aws:iam::{ACCOUNT}:role/admin"}))
    assert decide(identity, "kms:Decrypt", key, resource_policy=delegates, key_policy=True) is (
        Decision.ALLOW
    )
    assert decide(identity, "kms:Decrypt", key, resource_policy=silent, key_policy=True) is (
        Decision.IMPLICIT_DENY
    )
    assert decide([], "kms:Decrypt", key, resource_policy=delegates, key_policy=True) is (
        Decision.IMPLICIT_DENY
    )
    via = {"kms:viaservice": ["s3.us-east-1.amazonaws.com"]}
    scoped = doc(
        allow(
            "kms:Decrypt",
            key,
            Condition={"StringEquals": {"kms:ViaService": "sqs.us-east-1.amazonaws.com"}},
        )
    )
    assert decide([scoped], "kms:Decrypt", key, via, delegates, key_policy=True) is (
        Decision.IMPLICIT_DENY
    )


def test_parsed_policies_are_cached_by_text() -> None:
    text = json.dumps({"Statement": [allow("s3:GetObject", "*")]})
    assert policy.parse(text) is policy.parse(text)


# -- the reference --------------------------------------------------------------------------
def test_actions_and_resources_come_from_the_reference() -> None:
    info = reference.lookup("datasync:CreateTask")
    assert info is not None
    location = f"arn:aws:datasync:us-east-1:{ACCOUNT}:location/loc-1"
    other = f"arn:aws:datasync:us-east-1:{ACCOUNT}:location/loc-2"
    params = {"SourceLocationArn": location, "DestinationLocationArn": other, "Name": "x"}
    assert reference.resources(info, params, "aws", "us-east-1", ACCOUNT) == [location, other]
    get_item = reference.lookup("dynamodb:GetItem")
    assert get_item is not None
    assert reference.resources(
        get_item, {"TableName": "registry"}, "aws", "us-east-1", ACCOUNT
    ) == [TABLE]
    execution = reference.lookup("datasync:DescribeTaskExecution")
    assert execution is not None
    arn = f"arn:aws:datasync:us-east-1:{ACCOUNT}:task/task-1/execution/exec-1"
    assert reference.resources(
        execution, {"TaskExecutionArn": arn}, "aws", "us-east-1", ACCOUNT
    ) == [arn]


def test_wildcard_only_actions_have_no_resource_and_renamed_operations_map() -> None:
    streams = reference.lookup("dynamodb:ListStreams")
    assert streams is not None
    assert (
        reference.resources(streams, {"TableName": "registry"}, "aws", "us-east-1", ACCOUNT) == []
    )
    assert reference.action_name("lambda", "Invoke") == "lambda:InvokeFunction"
    assert reference.action_name("s3", "ListObjectsV2") == "s3:ListBucket"
    assert reference.service_prefix("efs") == "elasticfilesystem"
    queue = reference.lookup("sqs:SendMessage")
    assert queue is not None
    url = f"http://127.0.0.1:1/{ACCOUNT}/dlq"
    assert reference.resources(queue, {"QueueUrl": url}, "aws", "us-east-1", ACCOUNT) == [
        f"arn:aws:sqs:us-east-1:{ACCOUNT}:dlq"
    ]


def test_a_transaction_is_authorized_as_its_items_actions() -> None:
    params = {
        "TransactItems": [
            {"Put": {"TableName": "registry", "Item": {}}},
            {"ConditionCheck": {"TableName": "other", "Key": {}}},
        ]
    }
    pairs = reference.multi_table_actions("TransactWriteItems", params, "aws", "us-east-1", ACCOUNT)
    assert pairs == [
        ("dynamodb:PutItem", TABLE),
        ("dynamodb:ConditionCheckItem", f"arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/other"),
    ]
    batch = {"RequestItems": {"registry": {"Keys": []}}}
    assert reference.multi_table_actions("BatchGetItem", batch, "aws", "us-east-1", ACCOUNT) == [
        ("dynamodb:BatchGetItem", TABLE)
    ]
    assert reference.multi_table_actions("GetItem", {}, "aws", "us-east-1", ACCOUNT) is None


@pytest.mark.parametrize(
    ("value", "enforced"), [(None, False), ("off", False), ("enforce", True), ("ON", True)]
)
def test_the_mode_switch_reads_sandbox_iam(
    monkeypatch: pytest.MonkeyPatch, value: str | None, enforced: bool
) -> None:
    from studio_sandbox import iam

    if value is None:
        monkeypatch.delenv(iam.MODE_ENV, raising=False)
    else:
        monkeypatch.setenv(iam.MODE_ENV, value)
    assert iam.mode_from_environment() is enforced


def test_a_mistyped_mode_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    from studio_sandbox import iam

    monkeypatch.setenv(iam.MODE_ENV, "enforcing")
    with pytest.raises(ValueError, match="SANDBOX_IAM"):
        iam.mode_from_environment()


def test_a_qualified_function_arn_is_its_own_resource() -> None:
    invoke = reference.lookup("lambda:InvokeFunction")
    assert invoke is not None
    qualified = f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:prepare:$LATEST"
    assert reference.resources(
        invoke, {"FunctionName": qualified}, "aws", "us-east-1", ACCOUNT
    ) == [qualified]
    assert reference.resources(
        invoke, {"FunctionName": "prepare"}, "aws", "us-east-1", ACCOUNT
    ) == [f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:prepare"]


def test_a_resource_policy_deny_naming_the_account_applies_to_its_roles() -> None:
    queue = f"arn:aws:sqs:us-east-1:{ACCOUNT}:dlq"
    account_deny = doc(
        deny("sqs:SendMessage", queue, Principal={"AWS": f"arn:aws:iam::{ACCOUNT}:root"})
    )
    identity = [doc(allow("sqs:SendMessage", queue))]
    assert decide(identity, "sqs:SendMessage", queue, resource_policy=account_deny) is (
        Decision.EXPLICIT_DENY
    )


BUCKET_ARN = "arn:aws:s3:::backups"


def test_policy_variables_resolve_from_the_request_context() -> None:
    own_prefix = doc(
        allow("s3:GetObject", "arn:aws:s3:::backups/spaces/${aws:SourceIdentity}/*"),
        allow(
            "s3:ListBucket",
            BUCKET_ARN,
            Condition={"StringLike": {"s3:prefix": "spaces/${aws:SourceIdentity}/*"}},
        ),
    )
    alice = {"aws:sourceidentity": ["alice"]}

    def get(key: str, context: dict[str, list[str]]) -> Decision:
        return decide([own_prefix], "s3:GetObject", f"{BUCKET_ARN}/{key}", context)

    def listing(prefix: str, context: dict[str, list[str]]) -> Decision:
        return decide([own_prefix], "s3:ListBucket", BUCKET_ARN, {**context, "s3:prefix": [prefix]})

    assert get("spaces/alice/a.txt", alice) is Decision.ALLOW
    assert get("spaces/bob/a.txt", alice) is Decision.IMPLICIT_DENY
    assert listing("spaces/alice/", alice) is Decision.ALLOW
    assert listing("spaces/bob/", alice) is Decision.IMPLICIT_DENY
    # no source identity: the variable does not resolve, the statements match nothing
    assert get("spaces//a.txt", {}) is Decision.IMPLICIT_DENY
    assert get("spaces/${aws:SourceIdentity}/a.txt", {}) is Decision.IMPLICIT_DENY
    assert listing("spaces/", {}) is Decision.IMPLICIT_DENY


def test_policy_variable_defaults_and_special_characters() -> None:
    assert policy.substitute("a/${aws:username, 'nobody'}/b", {}) == "a/nobody/b"
    assert policy.substitute("${aws:username, 'it''s'}", {}) == "it's"
    assert policy.substitute("${aws:USERNAME}", {"aws:username": ["x"]}) == "x"
    assert policy.substitute("${*}${?}${$}", {}) == "*?$"
    assert policy.substitute("${aws:username}", {"aws:username": ["x", "y"]}) is None
    assert policy.substitute("no variables", {}) == "no variables"


def test_an_unresolved_variable_in_a_deny_makes_it_match_nothing() -> None:
    guarded = doc(
        allow("s3:GetObject", "*"),
        deny(
            "s3:GetObject",
            "*",
            Condition={"StringNotLike": {"s3:prefix": "${aws:SourceIdentity}/*"}},
        ),
    )
    context = {"s3:prefix": ["bob/x"]}

    assert decide([guarded], "s3:GetObject", BUCKET_ARN, context) is Decision.ALLOW
    with_identity = {**context, "aws:sourceidentity": ["alice"]}
    assert decide([guarded], "s3:GetObject", BUCKET_ARN, with_identity) is (Decision.EXPLICIT_DENY)
