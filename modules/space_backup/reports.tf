################################################################################
# Restore reports into the registry: S3 "Object Created" of spaces/*/restores/*.json
# (the bucket sends its events to EventBridge: modules/backup eventbridge_enabled) -> the
# space-report function -> the restore item and the space's row
################################################################################

locals {
  report_function = {
    name        = "${var.name_prefix}-space-report"
    description = "Records the restore reports of Studio spaces' EBS homes in the registry"
    handler     = "studio_recovery.handlers.space_report.handler"
    timeout     = 30
  }
}

module "report_function" {
  source = "../lambda_function"

  name                      = local.report_function.name
  description               = local.report_function.description
  handler                   = local.report_function.handler
  timeout                   = local.report_function.timeout
  lambda                    = var.lambda
  kms_key_arn               = var.kms_key_arn
  log_retention_days        = var.log_retention_days
  dead_letter_queue_arn     = var.dead_letter_queue_arn
  dead_letter_policy_sid    = "SendToFailureQueue"
  create_async_event_config = true
  registry = {
    table_name = var.registry_table_name
    table_arn  = var.registry_table_arn
  }
  policy_jsons = [data.aws_iam_policy_document.report_function.json]
  tags         = var.tags
}

data "aws_iam_policy_document" "report_function" {
  statement {
    sid       = "ReadSpaceRestoreReports"
    actions   = ["s3:GetObject"]
    resources = ["${var.bucket_arn}/spaces/*/restores/*.json"]
  }

  statement {
    sid       = "DecryptReports"
    actions   = ["kms:Decrypt"]
    resources = [var.kms_key_arn]
    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = ["s3.${local.region}.amazonaws.com"]
    }
  }
}

resource "aws_cloudwatch_event_rule" "reports" {
  name        = local.report_function.name
  description = "A Studio space's agent wrote a restore report to ${var.bucket_name}"
  event_pattern = jsonencode({
    source      = ["aws.s3"]
    detail-type = ["Object Created"]
    detail = {
      bucket = { name = [var.bucket_name] }
      object = { key = [{ wildcard = "spaces/*/restores/*.json" }] }
    }
  })
  tags = var.tags
}

resource "aws_cloudwatch_event_target" "reports" {
  rule      = aws_cloudwatch_event_rule.reports.name
  target_id = "space-report-function"
  arn       = module.report_function.function_arn

  retry_policy {
    maximum_event_age_in_seconds = 21600
    maximum_retry_attempts       = 24
  }

  dead_letter_config {
    arn = var.dead_letter_queue_arn
  }
}

resource "aws_lambda_permission" "reports" {
  statement_id  = "AllowEventBridgeSpaceReports"
  action        = "lambda:InvokeFunction"
  function_name = module.report_function.function_name
  principal     = "events.amazonaws.com"
  source_arn    = aws_cloudwatch_event_rule.reports.arn
}
