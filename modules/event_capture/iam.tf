################################################################################
# What each function calls beyond its base policy (modules/lambda_function: own logs,
# X-Ray, the registry, the dead-letter queue, the module key)
################################################################################

data "aws_iam_policy_document" "describe_studio" {
  statement {
    sid = "DescribeStudioResources"
    # Any domain, profile or space of this account and region: the module follows them all.
    actions = ["sagemaker:DescribeDomain", "sagemaker:DescribeUserProfile", "sagemaker:DescribeSpace"]
    resources = [
      "arn:${local.partition}:sagemaker:${local.region}:${local.account_id}:domain/*",
      "arn:${local.partition}:sagemaker:${local.region}:${local.account_id}:user-profile/*/*",
      "arn:${local.partition}:sagemaker:${local.region}:${local.account_id}:space/*/*",
    ]
  }
}

data "aws_iam_policy_document" "event" {
  statement {
    sid       = "IdempotencyRecords"
    actions   = ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"]
    resources = [var.idempotency_table_arn]
  }
}

data "aws_iam_policy_document" "seeder" {
  statement {
    sid = "ListStudioResources"
    # SageMaker List* calls have no resource-level permissions.
    actions   = ["sagemaker:ListDomains", "sagemaker:ListUserProfiles", "sagemaker:ListSpaces"]
    resources = ["*"]
  }
}
