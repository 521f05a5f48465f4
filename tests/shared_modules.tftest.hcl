# The internal modules the parts share: a Lambda function with its role, log group and base
# policy (modules/lambda_function), an encrypted TLS-only queue (modules/queue), and a role
# DataSync assumes (modules/datasync_role).

mock_provider "aws" {
  source          = "./tests/tf_fixtures/mocks"
  override_during = plan
}

variables {
  name                  = "sr-test-event"
  description           = "A function under test"
  handler               = "studio_recovery.handlers.event.handler"
  timeout               = 60
  kms_key_arn           = "arn:aws:kms:us-east-1:123456789012:key/11111111-2222-3333-4444-555555555555"
  dead_letter_queue_arn = "arn:aws:sqs:us-east-1:123456789012:sr-test-event-dlq"
  lambda = {
    package_path     = "build/lambda.zip"
    source_code_hash = "bW9jaw=="
    runtime          = "python3.12"
    memory_size      = 256
    layer_arns       = []
    log_level        = "INFO"
  }
}

################################################################################
# modules/lambda_function
################################################################################

run "function_is_encrypted_traced_and_logged" {
  command = plan

  module {
    source = "./modules/lambda_function"
  }

  assert {
    condition     = aws_lambda_function.this.kms_key_arn == var.kms_key_arn && aws_lambda_function.this.tracing_config[0].mode == "Active"
    error_message = "The function must encrypt its environment with the module's key and trace with X-Ray."
  }

  assert {
    condition     = aws_lambda_function.this.dead_letter_config[0].target_arn == var.dead_letter_queue_arn
    error_message = "The function must keep failed asynchronous events in its dead-letter queue."
  }

  assert {
    condition     = aws_cloudwatch_log_group.this.name == "/aws/lambda/sr-test-event" && aws_cloudwatch_log_group.this.kms_key_id == var.kms_key_arn && aws_cloudwatch_log_group.this.retention_in_days == 365
    error_message = "The function's own log group must be encrypted and kept for the configured retention."
  }

  assert {
    condition     = aws_iam_role.this.name == "sr-test-event" && aws_iam_role_policy.this.name == "sr-test-event" && aws_lambda_function.this.function_name == "sr-test-event"
    error_message = "The function, its role and its inline policy share its name."
  }

  assert {
    condition     = aws_lambda_function.this.handler == var.handler && aws_lambda_function.this.timeout == 60 && aws_lambda_function.this.memory_size == 256 && aws_lambda_function.this.runtime == "python3.12"
    error_message = "Handler, timeout, memory and runtime are the caller's."
  }

  assert {
    condition     = length(aws_lambda_function_event_invoke_config.this) == 0
    error_message = "No asynchronous invocation settings unless asked."
  }

  assert {
    condition     = output.function_environment == { POWERTOOLS_SERVICE_NAME = "studio-recovery", POWERTOOLS_METRICS_NAMESPACE = "StudioRecovery", POWERTOOLS_LOG_LEVEL = "INFO" }
    error_message = "Without a registry the function gets the Powertools settings only."
  }
}

run "base_policy_names_the_function_own_resources" {
  command = plan

  module {
    source = "./modules/lambda_function"
  }

  assert {
    condition     = toset([for statement in data.aws_iam_policy_document.base.statement : statement.sid]) == toset(["WriteOwnLogs", "XRayTraces"]) && toset([for statement in data.aws_iam_policy_document.delivery.statement : statement.sid]) == toset(["SendToDeadLetterQueue", "UseModuleKey"])
    error_message = "Without a registry the base policy writes the own logs and traces, sends to the dead-letter queue and uses the key."
  }

  assert {
    condition     = one([for statement in data.aws_iam_policy_document.base.statement : statement.resources if statement.sid == "WriteOwnLogs"]) == toset(["${aws_cloudwatch_log_group.this.arn}:*"]) && one([for statement in data.aws_iam_policy_document.base.statement : statement.actions if statement.sid == "WriteOwnLogs"]) == toset(["logs:CreateLogStream", "logs:PutLogEvents"])
    error_message = "The function may write to its own log group only."
  }

  assert {
    condition     = one([for statement in data.aws_iam_policy_document.delivery.statement : statement.resources if statement.sid == "SendToDeadLetterQueue"]) == toset([var.dead_letter_queue_arn]) && one([for statement in data.aws_iam_policy_document.delivery.statement : statement.actions if statement.sid == "SendToDeadLetterQueue"]) == toset(["sqs:SendMessage"])
    error_message = "The function may send to its dead-letter queue only."
  }

  assert {
    condition     = one([for statement in data.aws_iam_policy_document.delivery.statement : statement.resources if statement.sid == "UseModuleKey"]) == toset([var.kms_key_arn]) && one([for statement in data.aws_iam_policy_document.delivery.statement : statement.actions if statement.sid == "UseModuleKey"]) == toset(["kms:Decrypt", "kms:GenerateDataKey"])
    error_message = "The function may use the module's key only, to decrypt and to make data keys."
  }

  assert {
    condition     = alltrue([for statement in concat(tolist(data.aws_iam_policy_document.base.statement), tolist(data.aws_iam_policy_document.delivery.statement)) : !contains(tolist(statement.resources), "*") || statement.sid == "XRayTraces"])
    error_message = "Only the X-Ray statement names every resource (trace writes have no resource-level permissions)."
  }

  assert {
    condition     = length(data.aws_iam_policy_document.this.source_policy_documents) == 2
    error_message = "The inline policy is the base and delivery documents, and the caller's (none here)."
  }
}

run "registry_flag_grants_the_table_only" {
  command = plan

  module {
    source = "./modules/lambda_function"
  }

  variables {
    dead_letter_policy_sid = "SendToFailureQueue"
    registry = {
      table_name = "sr-test-registry"
      table_arn  = "arn:aws:dynamodb:us-east-1:123456789012:table/sr-test-registry"
    }
    policy_jsons = ["{\"Version\":\"2012-10-17\",\"Statement\":[]}"]
  }

  assert {
    condition     = one([for statement in data.aws_iam_policy_document.base.statement : statement.resources if statement.sid == "ReadWriteRegistry"]) == toset([var.registry.table_arn])
    error_message = "The registry grant names the registry table only."
  }

  assert {
    condition = one([for statement in data.aws_iam_policy_document.base.statement : statement.actions if statement.sid == "ReadWriteRegistry"]) == toset([
      "dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:Query", "dynamodb:Scan", "dynamodb:ConditionCheckItem",
    ])
    error_message = "Without batch_write the registry grant has no BatchWriteItem."
  }

  assert {
    condition     = output.function_environment["REGISTRY_TABLE_NAME"] == "sr-test-registry"
    error_message = "The registry flag also sets REGISTRY_TABLE_NAME."
  }

  assert {
    condition     = anytrue([for statement in data.aws_iam_policy_document.delivery.statement : statement.sid == "SendToFailureQueue"])
    error_message = "The dead-letter statement keeps the sid its caller names."
  }

  assert {
    condition     = length(data.aws_iam_policy_document.this.source_policy_documents) == 3 && contains(data.aws_iam_policy_document.this.source_policy_documents, var.policy_jsons[0])
    error_message = "The caller's statements are merged into the inline policy."
  }
}

run "batch_write_and_async_settings_when_asked" {
  command = plan

  module {
    source = "./modules/lambda_function"
  }

  variables {
    create_async_event_config = true
    registry = {
      table_name  = "sr-test-registry"
      table_arn   = "arn:aws:dynamodb:us-east-1:123456789012:table/sr-test-registry"
      batch_write = true
    }
  }

  assert {
    condition     = contains(tolist(one([for statement in data.aws_iam_policy_document.base.statement : statement.actions if statement.sid == "ReadWriteRegistry"])), "dynamodb:BatchWriteItem")
    error_message = "batch_write adds dynamodb:BatchWriteItem."
  }

  assert {
    condition     = aws_lambda_function_event_invoke_config.this[0].maximum_retry_attempts == 2 && aws_lambda_function_event_invoke_config.this[0].maximum_event_age_in_seconds == 21600
    error_message = "Asynchronous invocations retry twice within six hours."
  }
}

run "function_timeout_is_bounded" {
  command = plan

  module {
    source = "./modules/lambda_function"
  }

  variables {
    timeout = 901
  }

  expect_failures = [var.timeout]
}

################################################################################
# modules/queue
################################################################################

run "queue_is_encrypted_and_tls_only" {
  command = plan

  module {
    source = "./modules/queue"
  }

  variables {
    name = "sr-test-event-dlq"
    eventbridge_senders = {
      sid       = "EventBridgeRulesSendUndelivered"
      rule_arns = ["arn:aws:events:us-east-1:123456789012:rule/sr-test-CreateSpace"]
    }
  }

  assert {
    condition     = aws_sqs_queue.this.name == "sr-test-event-dlq" && aws_sqs_queue.this.kms_master_key_id == var.kms_key_arn && aws_sqs_queue.this.message_retention_seconds == 1209600
    error_message = "The queue must be encrypted with the module's key and keep its messages 14 days."
  }

  assert {
    condition = anytrue([
      for statement in data.aws_iam_policy_document.this.statement :
      statement.sid == "DenyInsecureTransport" && statement.effect == "Deny" && anytrue([for condition in statement.condition : condition.variable == "aws:SecureTransport" && contains(tolist(condition.values), "false")])
    ])
    error_message = "The queue policy must deny requests without TLS."
  }

  assert {
    condition = anytrue([
      for statement in data.aws_iam_policy_document.this.statement :
      statement.sid == "EventBridgeRulesSendUndelivered" && toset(statement.actions) == toset(["sqs:SendMessage"]) && toset(statement.resources) == toset([aws_sqs_queue.this.arn]) &&
      anytrue([for condition in statement.condition : condition.test == "ArnEquals" && condition.variable == "aws:SourceArn" && toset(condition.values) == toset(var.eventbridge_senders.rule_arns)])
    ])
    error_message = "Only the named EventBridge rules may send to the queue."
  }
}

run "queue_without_senders_only_denies" {
  command = plan

  module {
    source = "./modules/queue"
  }

  variables {
    name = "sr-test-queue"
  }

  assert {
    condition     = [for statement in data.aws_iam_policy_document.this.statement : statement.sid] == ["DenyInsecureTransport"]
    error_message = "Without senders the queue policy only denies insecure transport."
  }
}

################################################################################
# modules/datasync_role
################################################################################

run "datasync_role_is_trusted_by_datasync_of_this_account_only" {
  command = plan

  module {
    source = "./modules/datasync_role"
  }

  variables {
    name        = "sr-test-datasync-s3"
    description = "A role under test"
    policy_json = "{\"Version\":\"2012-10-17\",\"Statement\":[]}"
  }

  assert {
    condition = (
      one(data.aws_iam_policy_document.assume.statement).sid == "DataSyncAssumeRole" &&
      one(one(data.aws_iam_policy_document.assume.statement).principals).type == "Service" &&
      toset(one(one(data.aws_iam_policy_document.assume.statement).principals).identifiers) == toset(["datasync.amazonaws.com"])
    )
    error_message = "Only DataSync may assume the role."
  }

  assert {
    condition = toset([
      for condition in one(data.aws_iam_policy_document.assume.statement).condition : "${condition.test} ${condition.variable} ${join(",", condition.values)}"
      ]) == toset([
      "StringEquals aws:SourceAccount 123456789012",
      "ArnLike aws:SourceArn arn:aws:datasync:us-east-1:123456789012:*",
    ])
    error_message = "The trust is bounded by this account and DataSync resources of this region (confused deputy)."
  }

  assert {
    condition     = aws_iam_role.this.name == "sr-test-datasync-s3" && aws_iam_role_policy.this.name == "sr-test-datasync-s3" && aws_iam_role_policy.this.policy == var.policy_json
    error_message = "The role and its one inline policy share its name; the policy is the caller's."
  }
}
