"""The sandbox evaluates bucket policy conditions as S3 does (moto counts unknown ones as met)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import ClientError
from moto.iam.access_control import PermissionResult

from sandbox.tests.helpers import SandboxClients
from studio_sandbox import s3_policy
from studio_sandbox.server.app import Sandbox

BUCKET = "policy-test-bucket"
KEY_ARN = "arn:aws:kms:us-east-1:123456789012:key/11111111-2222-3333-4444-555555555555"
OTHER_KEY = "arn:aws:kms:us-east-1:123456789012:key/99999999-2222-3333-4444-555555555555"
OBJECTS = f"arn:aws:s3:::{BUCKET}/*"


def _deny(sid: str, action: str, conditions: dict[str, Any]) -> dict[str, Any]:
    return {
        "Sid": sid,
        "Effect": "Deny",
        "Principal": "*",
        "Action": action,
        "Resource": [f"arn:aws:s3:::{BUCKET}", OBJECTS],
        "Condition": conditions,
    }


MODULE_POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        _deny("DenyInsecureTransport", "s3:*", {"Bool": {"aws:SecureTransport": "false"}}),
        _deny(
            "DenyOtherKmsKeys",
            "s3:PutObject",
            {
                "Null": {"s3:x-amz-server-side-encryption-aws-kms-key-id": "false"},
                "StringNotEquals": {"s3:x-amz-server-side-encryption-aws-kms-key-id": KEY_ARN},
            },
        ),
    ],
}


@pytest.mark.parametrize(
    ("operator", "expected", "actual", "holds"),
    [
        ("StringEquals", "a", "a", True),
        ("StringEquals", ["a", "b"], "c", False),
        ("StringNotEquals", "a", "b", True),
        ("StringNotEquals", "a", None, True),  # negated operators match an absent key
        ("StringEquals", "a", None, False),
        ("StringEqualsIfExists", "a", None, True),
        ("StringNotEqualsIfExists", "a", "a", False),
        ("StringLike", "homes/*", "homes/x/y", True),
        ("ArnLike", "arn:aws:datasync:*", "arn:aws:s3:::b", False),
        ("Bool", "false", "true", False),
        ("Null", "true", None, True),
        ("Null", "false", None, False),
        ("Null", "false", "x", True),
    ],
)
def test_condition_operators_follow_iam_rules(
    operator: str, expected: Any, actual: str | None, holds: bool
) -> None:
    context = {} if actual is None else {"k": actual}
    assert s3_policy.condition_holds(operator, "k", expected, context) is holds


def test_unknown_operator_is_reported_not_guessed() -> None:
    with pytest.raises(KeyError):
        s3_policy.condition_holds("NumericLessThan", "k", "1", {"k": "0"})


def test_module_policy_lets_plain_and_right_key_uploads_through_and_refuses_others() -> None:
    def put(headers: dict[str, str]) -> Any:
        context = s3_policy.request_context(headers)
        return s3_policy.evaluate(MODULE_POLICY, "s3:PutObject", f"{OBJECTS[:-1]}a", context)

    assert put({}) == PermissionResult.NEUTRAL
    assert put({"x-amz-server-side-encryption-aws-kms-key-id": KEY_ARN}) == (
        PermissionResult.NEUTRAL
    )
    assert put({"X-Amz-Server-Side-Encryption-Aws-Kms-Key-Id": OTHER_KEY}) == (
        PermissionResult.DENIED
    )


def test_bucket_policy_is_enforced_over_the_sandbox_endpoint(tmp_path: Any) -> None:
    with Sandbox(port=0, data_dir=tmp_path) as sandbox:
        s3 = SandboxClients(sandbox.endpoint_url).client("s3")
        s3.create_bucket(Bucket=BUCKET)
        s3.put_bucket_policy(Bucket=BUCKET, Policy=json.dumps(MODULE_POLICY))

        s3.put_object(Bucket=BUCKET, Key="plain.txt", Body=b"ok")
        assert s3.get_object(Bucket=BUCKET, Key="plain.txt")["Body"].read() == b"ok"
        with pytest.raises(ClientError) as refused:
            s3.put_object(
                Bucket=BUCKET,
                Key="other-key.txt",
                Body=b"no",
                ServerSideEncryption="aws:kms",
                SSEKMSKeyId=OTHER_KEY,
            )
        assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403

        # A Deny whose condition holds for the sandbox (it stands in for HTTPS) applies.
        tls_only_denied = {
            "Version": "2012-10-17",
            "Statement": [
                _deny("DenyTls", "s3:GetObject", {"Bool": {"aws:SecureTransport": "true"}})
            ],
        }
        s3.put_bucket_policy(Bucket=BUCKET, Policy=json.dumps(tls_only_denied))
        with pytest.raises(ClientError):
            s3.get_object(Bucket=BUCKET, Key="plain.txt")
