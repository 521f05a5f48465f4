locals {
  # Every function of the module reads the same Powertools settings; a function that
  # reaches the registry also reads its table name.
  environment = merge(
    {
      POWERTOOLS_SERVICE_NAME      = "studio-recovery"
      POWERTOOLS_METRICS_NAMESPACE = "StudioRecovery"
      POWERTOOLS_LOG_LEVEL         = var.lambda.log_level
    },
    var.registry == null ? {} : { REGISTRY_TABLE_NAME = var.registry.table_name },
    var.environment,
  )

  # What the registry data access layer calls (transactions are authorized per item action).
  registry_actions = concat(
    [
      "dynamodb:GetItem",
      "dynamodb:BatchGetItem",
      "dynamodb:PutItem",
      "dynamodb:UpdateItem",
      "dynamodb:Query",
      "dynamodb:Scan",
      "dynamodb:ConditionCheckItem",
    ],
    try(var.registry.batch_write, false) ? ["dynamodb:BatchWriteItem"] : [],
  )
}

################################################################################
# Log group, role and policy: the function's own logs, traces, dead-letter queue and key,
# the shared grants its flags ask for, and the statements its caller passes in
################################################################################

resource "aws_cloudwatch_log_group" "this" {
  name              = "/aws/lambda/${var.name}"
  retention_in_days = var.log_retention_days
  kms_key_id        = var.kms_key_arn
  tags              = var.tags
}

data "aws_iam_policy_document" "assume" {
  statement {
    sid     = "LambdaAssumeRole"
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["lambda.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "this" {
  name               = var.name
  description        = "Execution role of the ${var.name} function"
  assume_role_policy = data.aws_iam_policy_document.assume.json
  tags               = var.tags
}

data "aws_iam_policy_document" "base" {
  statement {
    sid       = "WriteOwnLogs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.this.arn}:*"]
  }

  statement {
    sid = "XRayTraces"
    # X-Ray trace writes have no resource-level permissions.
    actions   = ["xray:PutTraceSegments", "xray:PutTelemetryRecords"]
    resources = ["*"]
  }

  dynamic "statement" {
    for_each = var.registry == null ? [] : [var.registry]
    content {
      sid       = "ReadWriteRegistry"
      actions   = local.registry_actions
      resources = [statement.value.table_arn]
    }
  }
}

data "aws_iam_policy_document" "delivery" {
  statement {
    sid       = var.dead_letter_policy_sid
    actions   = ["sqs:SendMessage"]
    resources = [var.dead_letter_queue_arn]
  }

  statement {
    sid       = "UseModuleKey"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
    resources = [var.kms_key_arn]
  }
}

data "aws_iam_policy_document" "this" {
  source_policy_documents = concat(
    [data.aws_iam_policy_document.base.json],
    var.policy_jsons,
    [data.aws_iam_policy_document.delivery.json],
  )
}

resource "aws_iam_role_policy" "this" {
  name   = var.name
  role   = aws_iam_role.this.id
  policy = data.aws_iam_policy_document.this.json
}

################################################################################
# The function
################################################################################

resource "aws_lambda_function" "this" {
  #checkov:skip=CKV_AWS_117:the functions call only AWS APIs (SageMaker, DynamoDB, SQS, Step Functions, DataSync, EFS); DataSync itself reaches the EFS volumes from the VPC, so a VPC would add NAT or endpoints and protect nothing
  #checkov:skip=CKV_AWS_115:reserved concurrency would take from the account's unreserved pool, which new accounts cannot spare; EventBridge retries absorb throttling and restores are bounded by max_concurrent_restores
  #checkov:skip=CKV_AWS_272:the zip is built reproducibly by `make build`; code signing needs a Signer profile this module cannot assume exists

  function_name    = var.name
  description      = var.description
  role             = aws_iam_role.this.arn
  handler          = var.handler
  runtime          = var.lambda.runtime
  architectures    = ["x86_64"]
  filename         = var.lambda.package_path
  source_code_hash = var.lambda.source_code_hash
  memory_size      = var.lambda.memory_size
  timeout          = var.timeout
  layers           = var.lambda.layer_arns
  kms_key_arn      = var.kms_key_arn

  environment {
    variables = local.environment
  }

  tracing_config {
    mode = "Active"
  }

  dead_letter_config {
    target_arn = var.dead_letter_queue_arn
  }

  tags = var.tags

  depends_on = [aws_cloudwatch_log_group.this, aws_iam_role_policy.this]
}

# Asynchronous invocations (EventBridge targets): two retries within six hours, then the
# dead-letter queue.
resource "aws_lambda_function_event_invoke_config" "this" {
  count = var.create_async_event_config ? 1 : 0

  function_name                = aws_lambda_function.this.function_name
  maximum_retry_attempts       = 2
  maximum_event_age_in_seconds = 21600
}
