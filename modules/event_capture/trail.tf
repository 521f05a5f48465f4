################################################################################
# Optional CloudTrail trail (for accounts without one) and its bucket
################################################################################

resource "aws_s3_bucket" "trail" {
  count = local.create_trail ? 1 : 0
  #checkov:skip=CKV_AWS_18:this bucket is the audit sink itself; server access logs would need a second bucket with the same question (use an organization-level log bucket)
  #checkov:skip=CKV_AWS_144:cross-region replication is an account-level audit decision; the trail only feeds EventBridge in this region
  #checkov:skip=CKV2_AWS_62:nothing consumes new log files; EventBridge receives the events from CloudTrail directly
  # The next four are false positives: once the root holds a second module with a bucket
  # (modules/backup), checkov expands this count into trail[0] without the links to the
  # resources below, which do set each property; tests/event_capture.tftest.hcl asserts all four.
  #checkov:skip=CKV2_AWS_6:public access is blocked by aws_s3_bucket_public_access_block.trail (asserted by the tftest)
  #checkov:skip=CKV_AWS_21:versioning is enabled by aws_s3_bucket_versioning.trail (asserted by the tftest)
  #checkov:skip=CKV_AWS_145:SSE-KMS with the module key by aws_s3_bucket_server_side_encryption_configuration.trail (asserted by the tftest)
  #checkov:skip=CKV2_AWS_61:aws_s3_bucket_lifecycle_configuration.trail expires logs and old versions (asserted by the tftest)

  bucket        = local.trail_bucket
  force_destroy = false
  tags          = merge(var.tags, { Name = local.trail_bucket })
}

resource "aws_s3_bucket_public_access_block" "trail" {
  count = local.create_trail ? 1 : 0

  bucket                  = aws_s3_bucket.trail[0].id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_ownership_controls" "trail" {
  count = local.create_trail ? 1 : 0

  bucket = aws_s3_bucket.trail[0].id
  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_versioning" "trail" {
  count = local.create_trail ? 1 : 0

  bucket = aws_s3_bucket.trail[0].id
  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "trail" {
  count = local.create_trail ? 1 : 0

  bucket = aws_s3_bucket.trail[0].id
  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm     = "aws:kms"
      kms_master_key_id = var.kms_key_arn
    }
    bucket_key_enabled = true
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "trail" {
  count = local.create_trail ? 1 : 0

  bucket = aws_s3_bucket.trail[0].id

  rule {
    id     = "expire-trail-logs"
    status = "Enabled"
    filter {}
    expiration {
      days = var.trail_log_expiration_days
    }
    noncurrent_version_expiration {
      noncurrent_days = 30
    }
    abort_incomplete_multipart_upload {
      days_after_initiation = 7
    }
  }
}

data "aws_iam_policy_document" "trail_bucket" {
  count = local.create_trail ? 1 : 0

  statement {
    sid       = "CloudTrailAclCheck"
    actions   = ["s3:GetBucketAcl"]
    resources = [aws_s3_bucket.trail[0].arn]
    principals {
      type        = "Service"
      identifiers = ["cloudtrail.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:SourceArn"
      values   = [local.trail_arn]
    }
  }

  statement {
    sid       = "CloudTrailWrite"
    actions   = ["s3:PutObject"]
    resources = ["${aws_s3_bucket.trail[0].arn}/AWSLogs/${local.account_id}/*"]
    principals {
      type        = "Service"
      identifiers = ["cloudtrail.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:SourceArn"
      values   = [local.trail_arn]
    }
  }

  statement {
    sid       = "DenyInsecureTransport"
    effect    = "Deny"
    actions   = ["s3:*"]
    resources = [aws_s3_bucket.trail[0].arn, "${aws_s3_bucket.trail[0].arn}/*"]
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

resource "aws_s3_bucket_policy" "trail" {
  count = local.create_trail ? 1 : 0

  bucket = aws_s3_bucket.trail[0].id
  policy = data.aws_iam_policy_document.trail_bucket[0].json

  depends_on = [aws_s3_bucket_public_access_block.trail]
}

resource "aws_cloudtrail" "this" {
  count = local.create_trail ? 1 : 0
  #checkov:skip=CKV_AWS_67:only this region's SageMaker calls matter; a multi-region trail would record (and bill) every region
  #checkov:skip=CKV_AWS_252:nothing consumes log file delivery notifications; EventBridge receives the events directly
  #checkov:skip=CKV2_AWS_10:EventBridge, not CloudWatch Logs, consumes these events; the S3 copy is the audit record

  name                          = local.trail_name
  s3_bucket_name                = aws_s3_bucket.trail[0].id
  kms_key_id                    = var.kms_key_arn
  enable_log_file_validation    = true
  include_global_service_events = false
  is_multi_region_trail         = false

  event_selector {
    read_write_type           = "WriteOnly"
    include_management_events = true
  }

  tags = var.tags

  depends_on = [aws_s3_bucket_policy.trail]
}
