"""Authorizations AWS makes beyond a request's own action, each from the AWS documentation.

- iam:PassRole of a role a request hands to a service, with `iam:PassedToService`
  ("Grant a user permissions to pass a role to an AWS service",
  https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_use_passrole.html);
- DataSync's network interfaces: the caller of CreateTask with an EFS location needs
  `ec2:CreateNetworkInterface` (subnet, security groups, the new interface) and
  `ec2:CreateNetworkInterfacePermission` ("Network interfaces for AWS DataSync transfers",
  https://docs.aws.amazon.com/datasync/latest/userguide/required-network-interfaces.html;
  AWSDataSyncFullAccess grants both);
- KMS for encrypted data: a producer to an SSE-KMS queue needs `kms:GenerateDataKey` and
  `kms:Decrypt` ("Key management", Amazon SQS developer guide,
  https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-key-management.html),
  a publisher to an encrypted topic the same ("Encryption at rest", Amazon SNS developer
  guide, https://docs.aws.amazon.com/sns/latest/dg/sns-key-management.html), an S3 upload
  with SSE-KMS `kms:GenerateDataKey`, a download `kms:Decrypt` ("Using server-side
  encryption with AWS KMS keys", https://docs.aws.amazon.com/AmazonS3/latest/userguide/UsingKMSEncryption.html),
  all with `kms:ViaService` = `<service>.<region>.amazonaws.com`.
- DynamoDB tables encrypted with a customer managed key: a call that reads or writes
  items needs the caller's `kms:Decrypt` on the key through DynamoDB (`kms:ViaService`
  `dynamodb.<region>.amazonaws.com`). No AWS page found says which KMS actions DynamoDB
  authorizes against the caller; the DynamoDB guide says a customer managed key must let
  DynamoDB use it for the table's principals ("DynamoDB encryption at rest: How it works",
  https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/encryption.howitworks.html),
  and the key policy of the AWS managed key for DynamoDB allows each caller of the account
  through DynamoDB only (`kms:ViaService`, `kms:CallerAccount`); the stricter reading is
  chosen: the caller must be allowed `kms:Decrypt` on the table's key. AWS owned and AWS
  managed keys are not checked (the service authorizes them).
- Step Functions log delivery: a state machine with logging on needs its role to allow
  the CloudWatch Logs delivery actions ("Using CloudWatch Logs to log execution history in
  Step Functions", IAM policies for logging,
  https://docs.aws.amazon.com/step-functions/latest/dg/cw-logs.html#cloudwatch-iam-policy);
  without them CreateStateMachine fails with "The state machine IAM Role is not authorized
  to access the Log Destination".
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from studio_sandbox.iam.principals import Principal

Authorize = Callable[..., None]

# (prefix, operation) -> (path to the role parameter, the service it is passed to)
_PASSED_ROLES: dict[tuple[str, str], tuple[tuple[str, ...], str]] = {
    ("datasync", "CreateLocationS3"): (
        ("S3Config", "BucketAccessRoleArn"),
        "datasync.amazonaws.com",
    ),
    ("datasync", "CreateLocationEfs"): (("FileSystemAccessRoleArn",), "datasync.amazonaws.com"),
    ("states", "CreateStateMachine"): (("roleArn",), "states.amazonaws.com"),
    ("states", "UpdateStateMachine"): (("roleArn",), "states.amazonaws.com"),
    ("lambda", "CreateFunction"): (("Role",), "lambda.amazonaws.com"),
}


def _dig(params: Mapping[str, Any], path: tuple[str, ...]) -> Any:
    value: Any = params
    for part in path:
        value = value.get(part) if isinstance(value, Mapping) else None
    return value


def check(
    authorize: Authorize,
    principal: Principal,
    prefix: str,
    operation: str,
    params: Mapping[str, Any],
    region: str,
) -> None:
    """Every side-effect authorization of one request (raise AccessDenied)."""
    passed = _PASSED_ROLES.get((prefix, operation))
    if passed is not None:
        role = _dig(params, passed[0])
        if isinstance(role, str) and role:
            context = {"iam:passedtoservice": [passed[1]]}
            authorize(principal, "iam:PassRole", [role], context)
    if (prefix, operation) == ("datasync", "CreateTask"):
        _datasync_network_interfaces(authorize, principal, params, region)
    if (prefix, operation) == ("sqs", "SendMessage"):
        key = _queue_key(params, region, principal.account_id)
        _kms(authorize, principal, key, ("kms:GenerateDataKey", "kms:Decrypt"), "sqs", region)
    if (prefix, operation) == ("sns", "Publish"):
        key = _topic_key(str(params.get("TopicArn") or ""), region, principal.account_id)
        _kms(authorize, principal, key, ("kms:GenerateDataKey", "kms:Decrypt"), "sns", region)
    if prefix == "dynamodb" and operation in DYNAMODB_ITEM_OPERATIONS and params.get("TableName"):
        check_dynamodb_tables(authorize, principal, [str(params["TableName"])], region)


DYNAMODB_ITEM_OPERATIONS = frozenset(
    {
        "GetItem",
        "PutItem",
        "UpdateItem",
        "DeleteItem",
        "Query",
        "Scan",
        "BatchGetItem",
        "BatchWriteItem",
        "TransactGetItems",
        "TransactWriteItems",
    }
)
"""The operations that read or write a table's items (encrypted with the table's key)."""


def check_dynamodb_tables(
    authorize: Authorize, principal: Principal, tables: list[str], region: str
) -> None:
    """`kms:Decrypt` through DynamoDB on each table's customer managed key (names or ARNs)."""
    for table in dict.fromkeys(tables):
        key = _table_key(table, region, principal.account_id)
        _kms(authorize, principal, key, ("kms:Decrypt",), "dynamodb", region)


def _table_key(table: str, region: str, account: str) -> str | None:
    from moto.dynamodb.models import dynamodb_backends

    name = table.rsplit("/", 1)[-1] if table.startswith("arn:") else table
    found = dynamodb_backends[account][region].tables.get(name)
    sse = getattr(found, "sse_specification", None) or {}
    if not sse.get("Enabled") or not sse.get("KMSMasterKeyId"):
        return None
    return key_arn(str(sse["KMSMasterKeyId"]), region, account)


def check_s3_object(
    authorize: Authorize, principal: Principal, bucket: str, writing: bool, region: str
) -> None:
    """KMS for an object upload (GenerateDataKey) or download (Decrypt) of an SSE-KMS bucket."""
    key = bucket_key(bucket, principal.account_id)
    action = "kms:GenerateDataKey" if writing else "kms:Decrypt"
    _kms(authorize, principal, key, (action,), "s3", region)


def _kms(
    authorize: Authorize,
    principal: Principal,
    key_arn: str | None,
    actions: tuple[str, ...],
    service: str,
    region: str,
) -> None:
    if not key_arn:
        return
    context = {"kms:viaservice": [f"{service}.{region}.amazonaws.com"]}
    for action in actions:
        authorize(principal, action, [key_arn], context)


def key_arn(key_id: str, region: str, account: str) -> str | None:
    """A customer managed key's ARN from a key id, key ARN, alias name or alias ARN."""
    from moto.kms.models import kms_backends

    if not key_id:
        return None
    backend = kms_backends[account][region]
    try:
        resolved = backend.any_id_to_key_id(key_id)
    except Exception:
        return None
    key = backend.keys.get(resolved)
    if key is None or getattr(key, "key_manager", "CUSTOMER") == "AWS":
        return None  # AWS managed keys (alias/aws/sqs) are authorized by the service
    return str(key.arn)


def _queue_key(params: Mapping[str, Any], region: str, account: str) -> str | None:
    from moto.sqs.models import sqs_backends

    name = str(params.get("QueueUrl") or "").rstrip("/").rsplit("/", 1)[-1]
    queue = sqs_backends[account][region].queues.get(name)
    key_id = getattr(queue, "kms_master_key_id", None) if queue is not None else None
    return key_arn(str(key_id), region, account) if key_id else None


def _topic_key(topic_arn: str, region: str, account: str) -> str | None:
    from moto.sns.models import sns_backends

    topic = sns_backends[account][region].topics.get(topic_arn)
    key_id = getattr(topic, "kms_master_key_id", None) if topic is not None else None
    return key_arn(str(key_id), region, account) if key_id else None


def bucket_key(bucket: str, account: str) -> str | None:
    """The KMS key of a bucket's default SSE-KMS encryption (None: not SSE-KMS)."""
    from moto.s3.models import s3_backends

    from studio_sandbox.server import state

    found = s3_backends[account]["aws"].buckets.get(bucket)
    encryption = getattr(found, "encryption", None) if found is not None else None
    rules = (encryption or {}).get("Rule", [])
    rules = rules if isinstance(rules, list) else [rules]
    for rule in rules:
        default = rule.get("ApplyServerSideEncryptionByDefault", {})
        if default.get("SSEAlgorithm") == "aws:kms" and default.get("KMSMasterKeyID"):
            return key_arn(str(default["KMSMasterKeyID"]), state.REGION, account)
    return None


def _datasync_network_interfaces(
    authorize: Authorize, principal: Principal, params: Mapping[str, Any], region: str
) -> None:
    from moto.datasync.models import datasync_backends

    backend: Any = datasync_backends[principal.account_id][region]
    locations = getattr(backend, "efs_locations", {})
    prefix = f"arn:aws:ec2:{region}:{principal.account_id}"
    for arn in (params.get("SourceLocationArn"), params.get("DestinationLocationArn")):
        location = locations.get(arn)
        if location is None:
            continue
        subnet = str(location.ec2_config.get("SubnetArn", ""))
        groups = [str(g) for g in location.ec2_config.get("SecurityGroupArns", [])]
        interface = f"{prefix}:network-interface/*"
        authorize(principal, "ec2:CreateNetworkInterface", [interface, subnet, *groups], {})
        authorize(
            principal,
            "ec2:CreateNetworkInterfacePermission",
            [interface],
            {"ec2:subnet": [subnet]},
        )


LOG_DELIVERY_ACTIONS = (
    "logs:CreateLogDelivery",
    "logs:GetLogDelivery",
    "logs:UpdateLogDelivery",
    "logs:DeleteLogDelivery",
    "logs:ListLogDeliveries",
    "logs:PutResourcePolicy",
    "logs:DescribeResourcePolicies",
    "logs:DescribeLogGroups",
)


def state_machine_logging_role(params: Mapping[str, Any], region: str, account: str) -> str:
    """The role that must allow log delivery ('' when the request turns no logging on)."""
    logging = params.get("loggingConfiguration") or {}
    if not isinstance(logging, Mapping) or str(logging.get("level", "OFF")) == "OFF":
        return ""
    role = params.get("roleArn")
    if not role and params.get("stateMachineArn"):
        from moto.stepfunctions.models import stepfunctions_backends

        try:
            machine = stepfunctions_backends[account][region].describe_state_machine(
                str(params["stateMachineArn"])
            )
            role = machine.roleArn
        except Exception:
            return ""
    return str(role or "")
