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

  functions = {
    event = {
      name        = "${var.name_prefix}-event"
      description = "Records SageMaker profile, space and domain changes in the registry"
      handler     = "studio_recovery.handlers.event.handler"
      timeout     = 60
      environment = { IDEMPOTENCY_TABLE_NAME = var.idempotency_table_name }
      # The SageMaker calls it resolves, and its idempotency records.
      policy_jsons = [data.aws_iam_policy_document.describe_studio.json, data.aws_iam_policy_document.event.json]
      async        = true
    }
    seeder = {
      name        = "${var.name_prefix}-seeder"
      description = "Records every existing SageMaker domain, user profile and space in the registry"
      handler     = "studio_recovery.handlers.seeder.handler"
      timeout     = 900
      environment = { SEED_CONCURRENCY = tostring(var.seed_concurrency) }
      # Every domain, profile and space of the region.
      policy_jsons = [data.aws_iam_policy_document.seeder.json, data.aws_iam_policy_document.describe_studio.json]
      async        = false
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
  arn       = module.function["event"].function_arn

  retry_policy {
    maximum_event_age_in_seconds = 21600
    maximum_retry_attempts       = 24
  }

  dead_letter_config {
    arn = module.dead_letter_queue.queue_arn
  }
}

resource "aws_lambda_permission" "events" {
  for_each = local.event_names

  statement_id  = "AllowEventBridge${each.key}"
  action        = "lambda:InvokeFunction"
  function_name = module.function["event"].function_name
  principal     = "events.amazonaws.com"
  source_arn    = aws_cloudwatch_event_rule.this[each.key].arn
}

################################################################################
# Dead-letter queue: events that could not be delivered or processed
################################################################################

module "dead_letter_queue" {
  source = "../queue"

  name        = "${var.name_prefix}-event-dlq"
  kms_key_arn = var.kms_key_arn
  eventbridge_senders = {
    sid       = "EventBridgeRulesSendUndelivered"
    rule_arns = [for rule in aws_cloudwatch_event_rule.this : rule.arn]
  }
  tags = var.tags
}

################################################################################
# Lambda functions: event and seeder
################################################################################

module "function" {
  source   = "../lambda_function"
  for_each = local.functions

  name                      = each.value.name
  description               = each.value.description
  handler                   = each.value.handler
  timeout                   = each.value.timeout
  environment               = each.value.environment
  lambda                    = var.lambda
  kms_key_arn               = var.kms_key_arn
  log_retention_days        = var.log_retention_days
  dead_letter_queue_arn     = module.dead_letter_queue.queue_arn
  dead_letter_policy_sid    = "SendToDeadLetterQueue"
  create_async_event_config = each.value.async
  registry = {
    table_name  = var.registry_table_name
    table_arn   = var.registry_table_arn
    batch_write = true
  }
  policy_jsons = each.value.policy_jsons
  tags         = var.tags
}

################################################################################
# Seeding at apply time
################################################################################

resource "aws_lambda_invocation" "seed" {
  count = local.seed ? 1 : 0

  function_name = module.function["seeder"].function_name
  input         = jsonencode({ action = "seed" })

  # Seed again when the code changes; seeding is idempotent.
  triggers = {
    source_code_hash = var.lambda.source_code_hash
  }

  depends_on = [aws_cloudwatch_event_target.this, aws_lambda_permission.events]
}
