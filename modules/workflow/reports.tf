################################################################################
# DataSync task reports of restores: what each restore transferred, skipped (the user's own
# files) and failed, read back by finalize to decide SUCCEEDED, PARTIAL or FAILED
# (docs/internals.md section 4). DataSync writes them through a role it assumes
# (TaskReportConfig.Destination.S3.BucketAccessRoleArn). Reports expire after
# report_retention_days; the registry keeps what finalize read from them.
################################################################################

locals {
  report_bucket_name    = "${var.name_prefix}-reports-${local.account_id}-${local.region}"
  report_bucket_arn     = "arn:${local.partition}:s3:::${local.report_bucket_name}"
  report_prefix         = "reports/"
  report_retention_days = 30
}

resource "aws_s3_bucket" "reports" {
  #checkov:skip=CKV_AWS_18:server access logs would need another bucket; only DataSync (through its role) and finalize touch it, and CloudTrail data events (if the account records them) say who did
  #checkov:skip=CKV_AWS_144:task reports are working files of one restore, read within minutes and expired after 30 days; nothing to replicate
  #checkov:skip=CKV_AWS_21:each report object is written once and read by finalize; versions would only keep copies of expired reports
  #checkov:skip=CKV2_AWS_62:finalize reads a report when its execution ends; nothing else consumes new objects

  bucket = local.report_bucket_name
  # Only expiring task reports live here; destroying the module must not stop at them.
  force_destroy = true
  tags          = merge(var.tags, { Name = local.report_bucket_name })
}

resource "aws_s3_bucket_public_access_block" "reports" {
  bucket                  = aws_s3_bucket.reports.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_ownership_controls" "reports" {
  bucket = aws_s3_bucket.reports.id
  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "reports" {
  bucket = aws_s3_bucket.reports.id
  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm     = "aws:kms"
      kms_master_key_id = var.kms_key_arn
    }
    bucket_key_enabled = true
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "reports" {
  bucket = aws_s3_bucket.reports.id

  rule {
    id     = "reports"
    status = "Enabled"
    filter {
      prefix = local.report_prefix
    }
    expiration {
      days = local.report_retention_days
    }
  }
  rule {
    id     = "abort-incomplete-uploads"
    status = "Enabled"
    filter {}
    abort_incomplete_multipart_upload {
      days_after_initiation = 1
    }
  }
}

data "aws_iam_policy_document" "reports_bucket" {
  statement {
    sid       = "DenyInsecureTransport"
    effect    = "Deny"
    actions   = ["s3:*"]
    resources = [aws_s3_bucket.reports.arn, "${aws_s3_bucket.reports.arn}/*"]
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

resource "aws_s3_bucket_policy" "reports" {
  bucket = aws_s3_bucket.reports.id
  policy = data.aws_iam_policy_document.reports_bucket.json

  depends_on = [aws_s3_bucket_public_access_block.reports]
}

module "report_role" {
  source = "../datasync_role"

  name        = "${var.name_prefix}-datasync-reports"
  description = "Assumed by DataSync to write studio-recovery restores' task reports to ${local.report_bucket_name}"
  policy_json = data.aws_iam_policy_document.report_access.json
  tags        = var.tags
}

data "aws_iam_policy_document" "report_access" {
  statement {
    sid       = "WriteTaskReports"
    actions   = ["s3:PutObject"]
    resources = ["${local.report_bucket_arn}/${local.report_prefix}*"]
  }

  statement {
    sid       = "EncryptTaskReports"
    actions   = ["kms:GenerateDataKey"]
    resources = [var.kms_key_arn]
    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = ["s3.${local.region}.amazonaws.com"]
    }
  }
}

data "aws_iam_policy_document" "finalize_reports" {
  statement {
    sid       = "ListTaskReports"
    actions   = ["s3:ListBucket"]
    resources = [local.report_bucket_arn]
    condition {
      test     = "StringLike"
      variable = "s3:prefix"
      values   = ["${local.report_prefix}*"]
    }
  }

  statement {
    sid       = "ReadTaskReports"
    actions   = ["s3:GetObject"]
    resources = ["${local.report_bucket_arn}/${local.report_prefix}*"]
  }

  statement {
    sid       = "DecryptTaskReports"
    actions   = ["kms:Decrypt"]
    resources = [var.kms_key_arn]
    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = ["s3.${local.region}.amazonaws.com"]
    }
  }
}
