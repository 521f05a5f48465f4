################################################################################
# What a space's execution role may do with the backups: its own owner's prefix only
#
# Studio sets the user profile name as the source identity of the execution role's session
# when the domain has ExecutionRoleIdentityConfig = USER_PROFILE_NAME; ${aws:SourceIdentity}
# in the resource then names the one owner segment the session may touch. A session without
# a source identity matches none of the private statements. Shared spaces (every member of
# the domain works in them) share spaces/shared/.
################################################################################

data "aws_iam_policy_document" "space" {
  statement {
    sid       = "ReadSpaceAgent"
    actions   = ["s3:GetObject"]
    resources = ["${var.bucket_arn}/agent/*"]
  }

  statement {
    sid       = "ListOwnSpaceBackups"
    actions   = ["s3:ListBucket"]
    resources = [var.bucket_arn]
    condition {
      test     = "StringLike"
      variable = "s3:prefix"
      values   = ["${local.private_prefix}$${aws:SourceIdentity}/*", "${local.shared_prefix}*"]
    }
  }

  statement {
    sid = "ReadWriteOwnPrivateSpaceBackups"
    actions = [
      "s3:GetObject",
      "s3:GetObjectVersion",
      "s3:PutObject",
      "s3:DeleteObject",
    ]
    resources = ["${var.bucket_arn}/${local.private_prefix}$${aws:SourceIdentity}/*"]
  }

  statement {
    sid = "ReadWriteSharedSpaceBackups"
    actions = [
      "s3:GetObject",
      "s3:GetObjectVersion",
      "s3:PutObject",
      "s3:DeleteObject",
    ]
    resources = ["${var.bucket_arn}/${local.shared_prefix}*"]
  }

  statement {
    sid       = "DescribeOwnSpace"
    actions   = ["sagemaker:DescribeSpace"]
    resources = ["arn:${local.partition}:sagemaker:${local.region}:${local.account_id}:space/*"]
  }

  statement {
    sid       = "UseBucketKey"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
    resources = [var.kms_key_arn]
    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = ["s3.${local.region}.amazonaws.com"]
    }
  }
}

resource "aws_iam_policy" "space" {
  name        = "${var.name_prefix}-space-backup"
  description = "studio-recovery: lets a Studio space's agent back up and restore its own space's home in ${var.bucket_name}"
  policy      = data.aws_iam_policy_document.space.json
  tags        = var.tags
}

resource "aws_iam_role_policy_attachment" "space" {
  for_each = toset(var.execution_role_names)

  role       = each.value
  policy_arn = aws_iam_policy.space.arn
}
