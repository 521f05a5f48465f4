data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}
data "aws_region" "current" {}

locals {
  account_id = data.aws_caller_identity.current.account_id
  partition  = data.aws_partition.current.partition
  region     = data.aws_region.current.name

  create_trail = var.create_cloudtrail
  seed         = var.seed_on_apply

  # SageMaker API calls that change which home directory a profile, space or domain has.
  event_names = toset([
    "CreateUserProfile",
    "CreateSpace",
    "DeleteUserProfile",
    "DeleteSpace",
    "CreateDomain",
    "DeleteDomain",
  ])

  common_environment = {
    POWERTOOLS_SERVICE_NAME      = "studio-recovery"
    POWERTOOLS_METRICS_NAMESPACE = "StudioRecovery"
    POWERTOOLS_LOG_LEVEL         = var.lambda.log_level
    REGISTRY_TABLE_NAME          = var.registry_table_name
  }

  functions = {
    event = {
      name        = "${var.name_prefix}-event"
      description = "Records SageMaker profile, space and domain changes in the registry"
      handler     = "studio_recovery.handlers.event.handler"
      timeout     = 60
      environment = { IDEMPOTENCY_TABLE_NAME = var.idempotency_table_name }
    }
    seeder = {
      name        = "${var.name_prefix}-seeder"
      description = "Records every existing SageMaker domain, user profile and space in the registry"
      handler     = "studio_recovery.handlers.seeder.handler"
      timeout     = 900
      environment = { SEED_CONCURRENCY = tostring(var.seed_concurrency) }
    }
  }

  trail_name   = "${var.name_prefix}-sagemaker"
  trail_arn    = "arn:${local.partition}:cloudtrail:${local.region}:${local.account_id}:trail/${local.trail_name}"
  trail_bucket = "${var.name_prefix}-trail-${local.account_id}-${local.region}"
}

################################################################################
# EventBridge rules: SageMaker API calls recorded by CloudTrail
################################################################################

resource "aws_cloudwatch_event_rule" "this" {
  for_each = local.event_names

  name        = "${var.name_prefix}-${each.key}"
  description = "SageMaker ${each.key} (CloudTrail) to the studio-recovery event function"
  event_pattern = jsonencode({
    source      = ["aws.sagemaker"]
    detail-type = ["AWS API Call via CloudTrail"]
    detail = {
      eventSource = ["sagemaker.amazonaws.com"]
      eventName   = [each.key]
    }
  })
  tags = var.tags
}

resource "aws_cloudwatch_event_target" "this" {
  for_each = local.event_names

  rule      = aws_cloudwatch_event_rule.this[each.key].name
  target_id = "event-function"
  arn       = aws_lambda_function.this["event"].arn

  retry_policy {
    maximum_event_age_in_seconds = 21600
    maximum_retry_attempts       = 24
  }

  dead_letter_config {
    arn = aws_sqs_queue.dead_letter.arn
  }
}

resource "aws_lambda_permission" "events" {
  for_each = local.event_names

  statement_id  = "AllowEventBridge${each.key}"
  action        = "lambda:InvokeFunction"
  function_name = aws_lambda_function.this["event"].function_name
  principal     = "events.amazonaws.com"
  source_arn    = aws_cloudwatch_event_rule.this[each.key].arn
}

################################################################################
# Dead-letter queue: events that could not be delivered or processed
################################################################################

resource "aws_sqs_queue" "dead_letter" {
  name                              = "${var.name_prefix}-event-dlq"
  kms_master_key_id                 = var.kms_key_arn
  kms_data_key_reuse_period_seconds = 3600
  message_retention_seconds         = 1209600
  tags                              = var.tags
}

data "aws_iam_policy_document" "dead_letter" {
  statement {
    sid       = "EventBridgeRulesSendUndelivered"
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.dead_letter.arn]
    principals {
      type        = "Service"
      identifiers = ["events.amazonaws.com"]
    }
    condition {
      test     = "ArnEquals"
      variable = "aws:SourceArn"
      values   = [for rule in aws_cloudwatch_event_rule.this : rule.arn]
    }
  }

  statement {
    sid       = "DenyInsecureTransport"
    effect    = "Deny"
    actions   = ["sqs:*"]
    resources = [aws_sqs_queue.dead_letter.arn]
    principals {
      type        = "*"
      identifiers = ["*"]
    }
    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }
}

resource "aws_sqs_queue_policy" "dead_letter" {
  queue_url = aws_sqs_queue.dead_letter.id
  policy    = data.aws_iam_policy_document.dead_letter.json
}

################################################################################
# Lambda functions: event and seeder
################################################################################

resource "aws_cloudwatch_log_group" "function" {
  for_each = local.functions

  name              = "/aws/lambda/${each.value.name}"
  retention_in_days = var.log_retention_days
  kms_key_id        = var.kms_key_arn
  tags              = var.tags
}

resource "aws_lambda_function" "this" {
  for_each = local.functions
  #checkov:skip=CKV_AWS_117:the functions call only AWS APIs (SageMaker, DynamoDB, SQS); a VPC would add NAT or endpoints and protect nothing
  #checkov:skip=CKV_AWS_115:reserved concurrency would take from the account's unreserved pool, which new accounts cannot spare; EventBridge retries absorb throttling
  #checkov:skip=CKV_AWS_272:the zip is built reproducibly by `make build`; code signing needs a Signer profile this module cannot assume exists

  function_name    = each.value.name
  description      = each.value.description
  role             = aws_iam_role.function[each.key].arn
  handler          = each.value.handler
  runtime          = var.lambda.runtime
  architectures    = ["x86_64"]
  filename         = var.lambda.package_path
  source_code_hash = var.lambda.source_code_hash
  memory_size      = var.lambda.memory_size
  timeout          = each.value.timeout
  layers           = var.lambda.layer_arns
  kms_key_arn      = var.kms_key_arn

  environment {
    variables = merge(local.common_environment, each.value.environment)
  }

  tracing_config {
    mode = "Active"
  }

  dead_letter_config {
    target_arn = aws_sqs_queue.dead_letter.arn
  }

  tags = var.tags

  depends_on = [aws_cloudwatch_log_group.function, aws_iam_role_policy.function]
}

resource "aws_lambda_function_event_invoke_config" "event" {
  function_name                = aws_lambda_function.this["event"].function_name
  maximum_retry_attempts       = 2
  maximum_event_age_in_seconds = 21600
}

################################################################################
# Seeding at apply time
################################################################################

resource "aws_lambda_invocation" "seed" {
  count = local.seed ? 1 : 0

  function_name = aws_lambda_function.this["seeder"].function_name
  input         = jsonencode({ action = "seed" })

  # Seed again when the code changes; seeding is idempotent.
  triggers = {
    source_code_hash = var.lambda.source_code_hash
  }

  depends_on = [aws_cloudwatch_event_target.this, aws_lambda_permission.events]
}
