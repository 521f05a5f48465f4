################################################################################
# Scheduled backups: the backup function starts one backup per recorded home directory
################################################################################

locals {
  function = {
    name        = "${var.name_prefix}-backup"
    description = "On its schedule, starts one backup to S3 of every recorded home directory"
    handler     = "studio_recovery.handlers.backup.handler"
    timeout     = 300
  }
}

module "function" {
  source = "../lambda_function"

  name        = local.function.name
  description = local.function.description
  handler     = local.function.handler
  timeout     = local.function.timeout
  environment = {
    STATE_MACHINE_ARN  = var.state_machine_arn
    BACKUP_BUCKET_NAME = aws_s3_bucket.this.bucket
  }
  lambda                 = var.lambda
  kms_key_arn            = var.kms_key_arn
  log_retention_days     = var.log_retention_days
  dead_letter_queue_arn  = var.failure_queue_arn
  dead_letter_policy_sid = "SendToFailureQueue"
  registry = {
    table_name = var.registry_table_name
    table_arn  = var.registry_table_arn
  }
  policy_jsons = [data.aws_iam_policy_document.function.json]
  tags         = var.tags
}

data "aws_iam_policy_document" "function" {
  statement {
    sid       = "StartBackups"
    actions   = ["states:StartExecution"]
    resources = [var.state_machine_arn]
  }
}

resource "aws_cloudwatch_event_rule" "schedule" {
  name                = local.function.name
  description         = "Scheduled studio-recovery backups of the Studio home directories to S3"
  schedule_expression = var.schedule_expression
  tags                = var.tags
}

resource "aws_cloudwatch_event_target" "schedule" {
  rule      = aws_cloudwatch_event_rule.schedule.name
  target_id = "backup-function"
  arn       = module.function.function_arn

  retry_policy {
    maximum_event_age_in_seconds = 21600
    maximum_retry_attempts       = 24
  }

  dead_letter_config {
    arn = var.failure_queue_arn
  }
}

resource "aws_lambda_permission" "schedule" {
  statement_id  = "AllowEventBridgeBackupSchedule"
  action        = "lambda:InvokeFunction"
  function_name = module.function.function_name
  principal     = "events.amazonaws.com"
  source_arn    = aws_cloudwatch_event_rule.schedule.arn
}
