"""IAM enforced in a running sandbox: deployed principals call as their roles, and a call
their policies do not allow fails with AccessDenied worded as AWS words it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from sandbox.tests.helpers import ROLE_POLICY, SandboxClients, lambda_zip, wait_for
from studio_sandbox import iam
from studio_sandbox.iam import enforce, side_effects
from studio_sandbox.server import state
from studio_sandbox.server.app import Sandbox

ACCOUNT = state.ACCOUNT_ID


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    data_dir: Path = tmp_path_factory.mktemp("sandbox-iam")
    with Sandbox(port=0, data_dir=data_dir, iam_enforced=True) as running:
        yield running


@pytest.fixture(scope="module")
def aws(sandbox: Sandbox) -> SandboxClients:
    return SandboxClients(sandbox.endpoint_url)


def _role(aws: SandboxClients, name: str, *statements: dict[str, Any]) -> str:
    client = aws.client("iam")
    arn = str(
        client.create_role(RoleName=name, AssumeRolePolicyDocument=ROLE_POLICY)["Role"]["Arn"]
    )
    document = {"Version": "2012-10-17", "Statement": list(statements)}
    client.put_role_policy(RoleName=name, PolicyName="inline", PolicyDocument=json.dumps(document))
    return arn


def _as(sandbox: Sandbox, role_arn: str, service: str, session: str = "test") -> Any:
    env = iam.role_environment(role_arn, session)
    return boto3.client(
        service,
        endpoint_url=sandbox.endpoint_url,
        region_name=state.REGION,
        aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
        aws_session_token=env["AWS_SESSION_TOKEN"],
    )


def _table(aws: SandboxClients, name: str) -> str:
    reply = aws.client("dynamodb").create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    return str(reply["TableDescription"]["TableArn"])


def test_a_call_no_policy_allows_fails_as_aws_words_it(
    sandbox: Sandbox, aws: SandboxClients
) -> None:
    allowed = _table(aws, "iam-allowed")
    _table(aws, "iam-other")
    role = _role(
        aws, "iam-reader", {"Effect": "Allow", "Action": "dynamodb:GetItem", "Resource": allowed}
    )
    dynamodb = _as(sandbox, role, "dynamodb", "reader")

    dynamodb.get_item(TableName="iam-allowed", Key={"id": {"S": "x"}})
    with pytest.raises(ClientError) as denied:
        dynamodb.get_item(TableName="iam-other", Key={"id": {"S": "x"}})

    error = denied.value.response["Error"]
    assert error["Code"] == "AccessDeniedException"
    assert error["Message"] == (
        f"User: arn:aws:sts::{ACCOUNT}:assumed-role/iam-reader/reader is not authorized to "
        f"perform: dynamodb:GetItem on resource: arn:aws:dynamodb:us-east-1:{ACCOUNT}:"
        "table/iam-other because no identity-based policy allows the dynamodb:GetItem action"
    )


def test_an_explicit_deny_is_named_and_the_operator_is_not_restricted(
    sandbox: Sandbox, aws: SandboxClients
) -> None:
    table = _table(aws, "iam-denied")
    role = _role(
        aws,
        "iam-denied-writer",
        {"Effect": "Allow", "Action": "dynamodb:*", "Resource": "*"},
        {"Effect": "Deny", "Action": "dynamodb:PutItem", "Resource": table},
    )
    with pytest.raises(ClientError) as denied:
        _as(sandbox, role, "dynamodb").put_item(TableName="iam-denied", Item={"id": {"S": "x"}})
    assert (
        "with an explicit deny in an identity-based policy"
        in denied.value.response["Error"]["Message"]
    )
    aws.client("dynamodb").put_item(TableName="iam-denied", Item={"id": {"S": "x"}})


def test_a_lambda_function_calls_as_its_execution_role(
    sandbox: Sandbox, aws: SandboxClients
) -> None:
    _table(aws, "iam-fn-table")
    role = _role(
        aws,
        "iam-fn-role",
        {"Effect": "Allow", "Action": "sts:GetCallerIdentity", "Resource": "*"},
    )
    source = (
        "import boto3\n"
        "def handler(event, context):\n"
        "    who = boto3.client('sts').get_caller_identity()['Arn']\n"
        "    try:\n"
        "        key = {'id': {'S': 'x'}}\n"
        "        boto3.client('dynamodb').get_item(TableName='iam-fn-table', Key=key)\n"
        "        return {'who': who, 'denied': ''}\n"
        "    except Exception as error:\n"
        "        return {'who': who, 'denied': str(error)}\n"
    )
    aws.client("lambda").create_function(
        FunctionName="iam-fn",
        Runtime="python3.12",
        Role=role,
        Handler="app.main.handler",
        Code={"ZipFile": lambda_zip({"app/__init__.py": "", "app/main.py": source})},
        Timeout=20,
    )
    reply = aws.client("lambda").invoke(FunctionName="iam-fn", Payload=b"{}")
    result = json.loads(reply["Payload"].read())

    assert result["who"] == f"arn:aws:sts::{ACCOUNT}:assumed-role/iam-fn-role/iam-fn"
    assert "AccessDeniedException" in result["denied"]
    assert "dynamodb:GetItem" in result["denied"]


def test_pass_role_is_checked_with_the_service_it_is_passed_to(
    sandbox: Sandbox, aws: SandboxClients
) -> None:
    passed = _role(
        aws, "iam-passed", {"Effect": "Allow", "Action": "s3:ListBucket", "Resource": "*"}
    )
    caller = _role(
        aws,
        "iam-passer",
        {"Effect": "Allow", "Action": "lambda:CreateFunction", "Resource": "*"},
        {
            "Effect": "Allow",
            "Action": "iam:PassRole",
            "Resource": passed,
            "Condition": {"StringEquals": {"iam:PassedToService": "datasync.amazonaws.com"}},
        },
    )
    with pytest.raises(ClientError) as denied:
        _as(sandbox, caller, "lambda").create_function(
            FunctionName="iam-passed-fn",
            Runtime="python3.12",
            Role=passed,
            Handler="app.main.handler",
            Code={"ZipFile": lambda_zip({"app/__init__.py": "", "app/main.py": ""})},
        )
    message = denied.value.response["Error"]["Message"]
    assert f"perform: iam:PassRole on resource: {passed}" in message


def test_a_bucket_policy_deny_applies_to_role_sessions(
    sandbox: Sandbox, aws: SandboxClients
) -> None:
    s3 = aws.client("s3")
    s3.create_bucket(Bucket="iam-policy-bucket")
    s3.put_bucket_policy(
        Bucket="iam-policy-bucket",
        Policy=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Deny",
                        "Principal": "*",
                        "Action": "s3:PutObject",
                        "Resource": "arn:aws:s3:::iam-policy-bucket/locked/*",
                    }
                ],
            }
        ),
    )
    role = _role(aws, "iam-writer", {"Effect": "Allow", "Action": "s3:*", "Resource": "*"})
    writer = _as(sandbox, role, "s3")

    writer.put_object(Bucket="iam-policy-bucket", Key="open/a", Body=b"a")
    with pytest.raises(ClientError) as denied:
        writer.put_object(Bucket="iam-policy-bucket", Key="locked/a", Body=b"a")
    assert denied.value.response["Error"]["Code"] == "AccessDenied"
    assert (
        "with an explicit deny in a resource-based policy"
        in denied.value.response["Error"]["Message"]
    )
    assert wait_for(lambda: enforce.denials())[-1].endswith("resource-based policy")


def test_a_producer_to_an_encrypted_queue_needs_the_key(
    sandbox: Sandbox, aws: SandboxClients
) -> None:
    key = aws.client("kms").create_key()["KeyMetadata"]["Arn"]
    url = aws.client("sqs").create_queue(
        QueueName="iam-encrypted", Attributes={"KmsMasterKeyId": key}
    )["QueueUrl"]
    queue = f"arn:aws:sqs:us-east-1:{ACCOUNT}:iam-encrypted"
    send_only = _role(
        aws, "iam-producer", {"Effect": "Allow", "Action": "sqs:SendMessage", "Resource": queue}
    )
    with_key = _role(
        aws,
        "iam-producer-with-key",
        {"Effect": "Allow", "Action": "sqs:SendMessage", "Resource": queue},
        {
            "Effect": "Allow",
            "Action": ["kms:GenerateDataKey", "kms:Decrypt"],
            "Resource": key,
            "Condition": {"StringEquals": {"kms:ViaService": "sqs.us-east-1.amazonaws.com"}},
        },
    )

    with pytest.raises(ClientError) as denied:
        _as(sandbox, send_only, "sqs").send_message(QueueUrl=url, MessageBody="m")
    assert f"perform: kms:GenerateDataKey on resource: {key}" in str(denied.value)
    _as(sandbox, with_key, "sqs").send_message(QueueUrl=url, MessageBody="m")


def test_a_state_machine_logging_needs_its_role_to_deliver_logs(
    sandbox: Sandbox, aws: SandboxClients
) -> None:
    logs = aws.client("logs")
    logs.create_log_group(logGroupName="/iam/sfn")
    group = logs.describe_log_groups(logGroupNamePrefix="/iam/sfn")["logGroups"][0]["arn"]
    silent = _role(
        aws, "iam-sfn-silent", {"Effect": "Allow", "Action": "lambda:*", "Resource": "*"}
    )
    definition = json.dumps({"StartAt": "Done", "States": {"Done": {"Type": "Succeed"}}})
    logging_on = {
        "level": "ALL",
        "includeExecutionData": False,
        "destinations": [{"cloudWatchLogsLogGroup": {"logGroupArn": group}}],
    }

    with pytest.raises(ClientError) as denied:
        aws.client("stepfunctions").create_state_machine(
            name="iam-silent",
            definition=definition,
            roleArn=silent,
            loggingConfiguration=logging_on,
        )
    error = denied.value.response["Error"]
    assert error["Code"] == "AccessDeniedException"
    assert error["Message"] == (
        "The state machine IAM Role is not authorized to access the Log Destination"
    )
    delivering = _role(
        aws,
        "iam-sfn-logs",
        {"Effect": "Allow", "Action": list(side_effects.LOG_DELIVERY_ACTIONS), "Resource": "*"},
    )
    aws.client("stepfunctions").create_state_machine(
        name="iam-logs", definition=definition, roleArn=delivering, loggingConfiguration=logging_on
    )


def test_a_step_functions_target_starts_only_with_a_role_that_allows_it(
    sandbox: Sandbox, aws: SandboxClients
) -> None:
    sfn = aws.client("stepfunctions")
    definition = json.dumps({"StartAt": "Done", "States": {"Done": {"Type": "Succeed"}}})
    machine = sfn.create_state_machine(
        name="iam-target", definition=definition, roleArn=aws.role()
    )["stateMachineArn"]
    may_start = _role(
        aws,
        "iam-rule-starts",
        {"Effect": "Allow", "Action": "states:StartExecution", "Resource": machine},
    )
    may_not = _role(aws, "iam-rule-cannot", {"Effect": "Allow", "Action": "sqs:*", "Resource": "*"})
    dlq_url, dlq_arn = aws.queue("iam-rule-dlq")
    events = aws.client("events")
    for name, role, source in (("iam-no", may_not, "iam-no"), ("iam-yes", may_start, "iam-yes")):
        events.put_rule(Name=name, EventPattern=json.dumps({"source": [source]}))
        events.put_targets(
            Rule=name,
            Targets=[
                {"Id": "t", "Arn": machine, "RoleArn": role, "DeadLetterConfig": {"Arn": dlq_arn}}
            ],
        )

    events.put_events(Entries=[{"Source": "iam-no", "DetailType": "x", "Detail": "{}"}])
    refused = aws.drain(dlq_url, 1, timeout=15)
    assert refused, "the refused event did not reach the dead-letter queue"
    attributes = refused[0]["MessageAttributes"]
    assert attributes["ERROR_CODE"]["StringValue"] == "NO_PERMISSIONS"
    assert "states:StartExecution" in attributes["ERROR_MESSAGE"]["StringValue"]
    assert sfn.list_executions(stateMachineArn=machine)["executions"] == []

    events.put_events(Entries=[{"Source": "iam-yes", "DetailType": "x", "Detail": "{}"}])
    assert wait_for(lambda: sfn.list_executions(stateMachineArn=machine)["executions"])


def test_a_transaction_needs_each_items_action(sandbox: Sandbox, aws: SandboxClients) -> None:
    table = _table(aws, "iam-transact")
    put_only = _role(
        aws,
        "iam-transact-put",
        {"Effect": "Allow", "Action": "dynamodb:PutItem", "Resource": table},
    )
    items = [
        {"Put": {"TableName": "iam-transact", "Item": {"id": {"S": "a"}}}},
        {"ConditionCheck": {"TableName": "iam-transact", "Key": {"id": {"S": "b"}},
                            "ConditionExpression": "attribute_not_exists(id)"}},
    ]  # fmt: skip
    with pytest.raises(ClientError) as denied:
        _as(sandbox, put_only, "dynamodb").transact_write_items(TransactItems=items)
    assert f"perform: dynamodb:ConditionCheckItem on resource: {table}" in str(denied.value)
    both = _role(
        aws,
        "iam-transact-both",
        {
            "Effect": "Allow",
            "Action": ["dynamodb:PutItem", "dynamodb:ConditionCheckItem"],
            "Resource": table,
        },
    )
    _as(sandbox, both, "dynamodb").transact_write_items(TransactItems=items)


def test_a_copy_needs_to_read_its_source_version_and_a_version_delete_its_own_action(
    sandbox: Sandbox, aws: SandboxClients
) -> None:
    # given a versioned bucket with an object, and a role that may write under to/ only
    s3 = aws.client("s3")
    s3.create_bucket(Bucket="iam-copy")
    s3.put_bucket_versioning(Bucket="iam-copy", VersioningConfiguration={"Status": "Enabled"})
    version = s3.put_object(Bucket="iam-copy", Key="from/a.txt", Body=b"a")["VersionId"]
    writer = {"Effect": "Allow", "Action": "s3:PutObject", "Resource": "arn:aws:s3:::iam-copy/to/*"}
    role = _role(aws, "iam-copier", writer)
    copier = _as(sandbox, role, "s3", "copier")
    source = {"Bucket": "iam-copy", "Key": "from/a.txt", "VersionId": version}

    # when it copies a version of from/a.txt, then the copy is refused on the source
    with pytest.raises(ClientError) as denied:
        copier.copy_object(Bucket="iam-copy", Key="to/a.txt", CopySource=source)
    assert "s3:GetObjectVersion on resource: arn:aws:s3:::iam-copy/from/a.txt" in str(denied.value)
    # ... the current version needs s3:GetObject, which s3:GetObjectVersion is not
    reader = {
        "Effect": "Allow",
        "Action": "s3:GetObjectVersion",
        "Resource": "arn:aws:s3:::iam-copy/from/*",
    }
    aws.client("iam").put_role_policy(
        RoleName="iam-copier",
        PolicyName="inline",
        PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [writer, reader]}),
    )
    copied = copier.copy_object(Bucket="iam-copy", Key="to/a.txt", CopySource=source)
    with pytest.raises(ClientError, match="s3:GetObject on resource"):
        copier.copy_object(
            Bucket="iam-copy",
            Key="to/b.txt",
            CopySource={"Bucket": "iam-copy", "Key": "from/a.txt"},
        )
    # ... and deleting a version is s3:DeleteObjectVersion, not s3:DeleteObject
    with pytest.raises(ClientError, match="s3:DeleteObjectVersion"):
        copier.delete_object(Bucket="iam-copy", Key="to/a.txt", VersionId=copied["VersionId"])


def test_lambda_delivers_to_a_dead_letter_queue_and_destination_only_as_its_role_allows(
    sandbox: Sandbox, aws: SandboxClients
) -> None:
    # given two failing functions with the same dead-letter queue and on-failure
    # destination, one whose execution role may send there and one whose role may not
    dlq_url, dlq_arn = aws.queue("iam-dlq")
    dest_url, dest_arn = aws.queue("iam-destination")
    send = {"Effect": "Allow", "Action": "sqs:SendMessage", "Resource": [dlq_arn, dest_arn]}
    nothing = {"Effect": "Allow", "Action": "sts:GetCallerIdentity", "Resource": "*"}
    failing = "def handler(event, context):\n    raise RuntimeError('always fails')\n"
    lam = aws.client("lambda")
    for name, statement in (("iam-dlq-allowed", send), ("iam-dlq-refused", nothing)):
        lam.create_function(
            FunctionName=name,
            Runtime="python3.12",
            Role=_role(aws, f"{name}-role", statement),
            Handler="app.main.handler",
            Code={"ZipFile": lambda_zip({"app/__init__.py": "", "app/main.py": failing})},
            DeadLetterConfig={"TargetArn": dlq_arn},
        )
        lam.put_function_event_invoke_config(
            FunctionName=name, DestinationConfig={"OnFailure": {"Destination": dest_arn}}
        )

    # when each is invoked asynchronously and fails every attempt
    seen = len(enforce.denials())
    for name in ("iam-dlq-refused", "iam-dlq-allowed"):
        lam.invoke(FunctionName=name, InvocationType="Event", Payload=json.dumps({"fn": name}))

    # then only the allowed function's event reaches the queue and the destination ...
    dead = aws.drain(dlq_url, expected=2, timeout=20)
    assert [json.loads(m["Body"]) for m in dead] == [{"fn": "iam-dlq-allowed"}]
    records = aws.drain(dest_url, expected=2, timeout=5)
    assert [json.loads(m["Body"])["requestPayload"] for m in records] == [{"fn": "iam-dlq-allowed"}]
    # ... and the other's deliveries were refused as its role's
    refused = [t for t in enforce.denials()[seen:] if "iam-dlq-refused-role" in t]
    assert any(f"sqs:SendMessage on resource: {dlq_arn}" in t for t in refused), refused
    assert any(f"sqs:SendMessage on resource: {dest_arn}" in t for t in refused), refused


def test_items_of_a_table_encrypted_with_a_customer_managed_key_need_the_callers_decrypt(
    sandbox: Sandbox, aws: SandboxClients
) -> None:
    # given a table encrypted with a customer managed key, and a plain table
    key = aws.client("kms").create_key(Description="iam-ddb")["KeyMetadata"]["Arn"]
    ddb = aws.client("dynamodb")
    for name, sse in (
        ("iam-cmk-table", {"Enabled": True, "SSEType": "KMS", "KMSMasterKeyId": key}),
        ("iam-plain-table", None),
    ):
        ddb.create_table(
            TableName=name,
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
            **({"SSESpecification": sse} if sse else {}),
        )
    items = {
        "Effect": "Allow",
        "Action": ["dynamodb:GetItem", "dynamodb:PutItem"],
        "Resource": f"arn:aws:dynamodb:{state.REGION}:{ACCOUNT}:table/iam-*",
    }
    decrypt = {
        "Effect": "Allow",
        "Action": "kms:Decrypt",
        "Resource": key,
        "Condition": {"StringEquals": {"kms:ViaService": f"dynamodb.{state.REGION}.amazonaws.com"}},
    }
    without = _as(sandbox, _role(aws, "iam-ddb-items", items), "dynamodb", "items")
    with_key = _as(sandbox, _role(aws, "iam-ddb-key", items, decrypt), "dynamodb", "key")
    item = {"id": {"S": "x"}}

    # then the plain table needs no key ...
    without.put_item(TableName="iam-plain-table", Item=item)
    # ... the encrypted one is refused on the key, for reads and writes ...
    for call in (
        lambda: without.put_item(TableName="iam-cmk-table", Item=item),
        lambda: without.get_item(TableName="iam-cmk-table", Key=item),
    ):
        with pytest.raises(ClientError) as denied:
            call()
        assert f"kms:Decrypt on resource: {key}" in str(denied.value)
    # ... and allowed with kms:Decrypt through DynamoDB
    with_key.put_item(TableName="iam-cmk-table", Item=item)
    assert with_key.get_item(TableName="iam-cmk-table", Key=item)["Item"] == item
