################################################################################
# One role per function, each with only what its handler calls
################################################################################

data "aws_iam_policy_document" "assume_lambda" {
  statement {
    sid     = "LambdaAssumeRole"
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["lambda.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "function" {
  for_each = local.functions

  name               = each.value.name
  description        = "Execution role of the ${each.value.name} function"
  assume_role_policy = data.aws_iam_policy_document.assume_lambda.json
  tags               = var.tags
}

resource "aws_iam_role_policy" "function" {
  for_each = local.functions

  name = each.value.name
  role = aws_iam_role.function[each.key].id
  policy = {
    event  = data.aws_iam_policy_document.event.json
    seeder = data.aws_iam_policy_document.seeder.json
  }[each.key]
}

locals {
  # What the registry data access layer calls (transactions are authorized per item action).
  registry_actions = [
    "dynamodb:GetItem",
    "dynamodb:BatchGetItem",
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
    "dynamodb:Query",
    "dynamodb:Scan",
    "dynamodb:ConditionCheckItem",
    "dynamodb:BatchWriteItem",
  ]

  sagemaker_describe_resources = [
    "arn:${local.partition}:sagemaker:${local.region}:${local.account_id}:domain/*",
    "arn:${local.partition}:sagemaker:${local.region}:${local.account_id}:user-profile/*/*",
    "arn:${local.partition}:sagemaker:${local.region}:${local.account_id}:space/*/*",
  ]
}

data "aws_iam_policy_document" "event" {
  statement {
    sid       = "WriteOwnLogs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.function["event"].arn}:*"]
  }

  statement {
    sid = "XRayTraces"
    # X-Ray trace writes have no resource-level permissions.
    actions   = ["xray:PutTraceSegments", "xray:PutTelemetryRecords"]
    resources = ["*"]
  }

  statement {
    sid = "DescribeStudioResources"
    # Any domain, profile or space of this account and region: the module follows them all.
    actions   = ["sagemaker:DescribeDomain", "sagemaker:DescribeUserProfile", "sagemaker:DescribeSpace"]
    resources = local.sagemaker_describe_resources
  }

  statement {
    sid       = "ReadWriteRegistry"
    actions   = local.registry_actions
    resources = [var.registry_table_arn]
  }

  statement {
    sid       = "IdempotencyRecords"
    actions   = ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"]
    resources = [var.idempotency_table_arn]
  }

  statement {
    sid       = "SendToDeadLetterQueue"
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.dead_letter.arn]
  }

  statement {
    sid       = "UseModuleKey"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
    resources = [var.kms_key_arn]
  }
}

data "aws_iam_policy_document" "seeder" {
  statement {
    sid       = "WriteOwnLogs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.function["seeder"].arn}:*"]
  }

  statement {
    sid = "XRayTraces"
    # X-Ray trace writes have no resource-level permissions.
    actions   = ["xray:PutTraceSegments", "xray:PutTelemetryRecords"]
    resources = ["*"]
  }

  statement {
    sid = "ListStudioResources"
    # SageMaker List* calls have no resource-level permissions.
    actions   = ["sagemaker:ListDomains", "sagemaker:ListUserProfiles", "sagemaker:ListSpaces"]
    resources = ["*"]
  }

  statement {
    sid = "DescribeStudioResources"
    # Any domain, profile or space of this account and region: the seeder records them all.
    actions   = ["sagemaker:DescribeDomain", "sagemaker:DescribeUserProfile", "sagemaker:DescribeSpace"]
    resources = local.sagemaker_describe_resources
  }

  statement {
    sid       = "ReadWriteRegistry"
    actions   = local.registry_actions
    resources = [var.registry_table_arn]
  }

  statement {
    sid       = "SendToDeadLetterQueue"
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.dead_letter.arn]
  }

  statement {
    sid       = "UseModuleKey"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
    resources = [var.kms_key_arn]
  }
}
