# The event capture submodule: EventBridge rules, event and seeder functions, optional trail, seeding.

mock_provider "aws" {
  source          = "./tests/tf_fixtures/mocks"
  override_during = plan
}

variables {
  name_prefix            = "sr-test"
  kms_key_arn            = "arn:aws:kms:us-east-1:123456789012:key/11111111-2222-3333-4444-555555555555"
  registry_table_name    = "sr-test-registry"
  registry_table_arn     = "arn:aws:dynamodb:us-east-1:123456789012:table/sr-test-registry"
  idempotency_table_name = "sr-test-idempotency"
  idempotency_table_arn  = "arn:aws:dynamodb:us-east-1:123456789012:table/sr-test-idempotency"
  lambda = {
    package_path     = "build/lambda.zip"
    source_code_hash = "bW9jaw=="
    runtime          = "python3.12"
    memory_size      = 256
    layer_arns       = []
    log_level        = "INFO"
  }
}

run "rules_match_the_six_sagemaker_calls" {
  command = plan

  module {
    source = "./modules/event_capture"
  }

  assert {
    condition     = toset(keys(aws_cloudwatch_event_rule.this)) == toset(["CreateUserProfile", "CreateSpace", "DeleteUserProfile", "DeleteSpace", "CreateDomain", "DeleteDomain"])
    error_message = "There must be one rule per SageMaker call the registry follows."
  }

  assert {
    condition = alltrue([
      for name, rule in aws_cloudwatch_event_rule.this :
      jsondecode(rule.event_pattern).source == ["aws.sagemaker"] &&
      jsondecode(rule.event_pattern)["detail-type"] == ["AWS API Call via CloudTrail"] &&
      jsondecode(rule.event_pattern).detail.eventSource == ["sagemaker.amazonaws.com"] &&
      jsondecode(rule.event_pattern).detail.eventName == [name]
    ])
    error_message = "Each rule must match the CloudTrail event of its SageMaker call."
  }

  assert {
    condition = alltrue([
      for target in aws_cloudwatch_event_target.this :
      target.dead_letter_config[0].arn == module.dead_letter_queue.queue_arn && target.retry_policy[0].maximum_retry_attempts > 0 && target.arn == module.function["event"].function_arn
    ])
    error_message = "Every rule must target the event function with retries and the dead-letter queue."
  }
}

run "functions_queue_and_logs_are_encrypted" {
  command = plan

  module {
    source = "./modules/event_capture"
  }

  # How modules/queue and modules/lambda_function encrypt, log and trace is tested in
  # tests/shared_modules.tftest.hcl; here, that both functions and the queue use them.
  assert {
    condition     = toset(keys(module.function)) == toset(["event", "seeder"]) && module.dead_letter_queue.queue_name == "sr-test-event-dlq"
    error_message = "The event and seeder functions and the dead-letter queue are built by the shared modules."
  }

  assert {
    condition     = alltrue([for key, function in module.function : function.log_group_name == "/aws/lambda/sr-test-${key}" && function.role_name == "sr-test-${key}"])
    error_message = "Every function has its own log group and role, named after it."
  }

  assert {
    condition = (
      local.functions["event"].handler == "studio_recovery.handlers.event.handler" &&
      local.functions["seeder"].handler == "studio_recovery.handlers.seeder.handler" &&
      module.function["event"].function_environment["IDEMPOTENCY_TABLE_NAME"] == var.idempotency_table_name &&
      module.function["event"].function_environment["REGISTRY_TABLE_NAME"] == var.registry_table_name &&
      module.function["seeder"].function_environment["SEED_CONCURRENCY"] == "8"
    )
    error_message = "Handlers and environment must match docs/internals.md section 3."
  }
}

run "iam_names_the_tables_and_queue" {
  command = plan

  module {
    source = "./modules/event_capture"
  }

  assert {
    condition     = one([for statement in data.aws_iam_policy_document.event.statement : statement.resources if statement.sid == "IdempotencyRecords"]) == toset([var.idempotency_table_arn])
    error_message = "The event function may write the idempotency table only."
  }

  assert {
    condition = alltrue([
      for resource in one(data.aws_iam_policy_document.describe_studio.statement).resources :
      startswith(resource, "arn:aws:sagemaker:us-east-1:123456789012:")
    ]) && one(data.aws_iam_policy_document.describe_studio.statement).sid == "DescribeStudioResources"
    error_message = "Both functions may describe the domains, profiles and spaces of this account and region only."
  }

  assert {
    condition     = length(local.functions["event"].policy_jsons) == 2 && length(local.functions["seeder"].policy_jsons) == 2
    error_message = "The event function gets DescribeStudioResources and IdempotencyRecords, the seeder ListStudioResources and DescribeStudioResources."
  }

  assert {
    condition = alltrue([
      for document in [data.aws_iam_policy_document.describe_studio, data.aws_iam_policy_document.event, data.aws_iam_policy_document.seeder] :
      alltrue([for statement in document.statement : statement.sid != "" && (!contains(tolist(statement.resources), "*") || contains(["XRayTraces", "ListStudioResources"], statement.sid))])
    ])
    error_message = "Every statement has a sid; wildcards only where AWS offers nothing narrower."
  }
}

run "no_trail_by_default_and_seeding_on" {
  command = plan

  module {
    source = "./modules/event_capture"
  }

  assert {
    condition     = length(aws_cloudtrail.this) == 0 && length(aws_s3_bucket.trail) == 0 && length(aws_s3_bucket_policy.trail) == 0
    error_message = "create_cloudtrail = false must plan no trail and no bucket."
  }

  assert {
    condition     = length(aws_lambda_invocation.seed) == 1
    error_message = "seed_on_apply defaults to true and plans one seeding run."
  }
}

run "seeding_can_be_turned_off" {
  command = plan

  module {
    source = "./modules/event_capture"
  }

  variables {
    seed_on_apply = false
  }

  assert {
    condition     = length(aws_lambda_invocation.seed) == 0
    error_message = "seed_on_apply = false must plan no seeding run."
  }
}

run "trail_bucket_is_locked_down" {
  command = plan

  module {
    source = "./modules/event_capture"
  }

  variables {
    create_cloudtrail = true
  }

  assert {
    condition     = length(aws_cloudtrail.this) == 1 && aws_cloudtrail.this[0].kms_key_id == var.kms_key_arn && aws_cloudtrail.this[0].enable_log_file_validation
    error_message = "The trail must be encrypted and validate its log files."
  }

  assert {
    condition     = aws_cloudtrail.this[0].event_selector[0].include_management_events && aws_cloudtrail.this[0].event_selector[0].read_write_type == "WriteOnly"
    error_message = "The trail must log write management events (what EventBridge needs)."
  }

  assert {
    condition = (
      aws_s3_bucket_public_access_block.trail[0].block_public_acls && aws_s3_bucket_public_access_block.trail[0].block_public_policy &&
      aws_s3_bucket_public_access_block.trail[0].ignore_public_acls && aws_s3_bucket_public_access_block.trail[0].restrict_public_buckets
    )
    error_message = "The trail bucket must block all public access."
  }

  assert {
    condition     = aws_s3_bucket_versioning.trail[0].versioning_configuration[0].status == "Enabled"
    error_message = "The trail bucket must be versioned."
  }

  assert {
    condition = anytrue([
      for rule in aws_s3_bucket_lifecycle_configuration.trail[0].rule :
      rule.status == "Enabled" && one(rule.expiration).days == var.trail_log_expiration_days && one(rule.noncurrent_version_expiration).noncurrent_days > 0
    ])
    error_message = "The trail bucket must expire its logs and their old versions."
  }

  assert {
    condition = anytrue([
      for rule in aws_s3_bucket_server_side_encryption_configuration.trail[0].rule :
      one(rule.apply_server_side_encryption_by_default).sse_algorithm == "aws:kms" && one(rule.apply_server_side_encryption_by_default).kms_master_key_id == var.kms_key_arn
    ])
    error_message = "The trail bucket must be encrypted with the module's key."
  }

  assert {
    condition = anytrue([
      for statement in data.aws_iam_policy_document.trail_bucket[0].statement :
      statement.effect == "Deny" && anytrue([for condition in statement.condition : condition.variable == "aws:SecureTransport" && contains(tolist(condition.values), "false")])
    ])
    error_message = "The trail bucket policy must deny requests without TLS."
  }
}
