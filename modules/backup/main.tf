data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}
data "aws_region" "current" {}

locals {
  account_id = data.aws_caller_identity.current.account_id
  partition  = data.aws_partition.current.partition
  region     = data.aws_region.current.name

  bucket_name = "${var.name_prefix}-backups-${local.account_id}-${local.region}"

  # The bucket layout (docs/internals.md): one prefix per home directory under homes/,
  # one per Studio space's EBS home under spaces/ (modules/space_backup), the staged
  # copies of restores from an older backup under staging/<restore id>/ (the finalize
  # step deletes each; the lifecycle rule expires what a failure left).
  homes_prefix   = "homes/"
  spaces_prefix  = "spaces/"
  staging_prefix = "staging/"
  staging_days   = 1

  transition = var.storage_class != "STANDARD"
  # S3 refuses a transition to an infrequent-access class before 30 days.
  infrequent_access = contains(["STANDARD_IA", "ONEZONE_IA"], var.storage_class)
}

################################################################################
# The backup bucket: versioned (a removed file is a delete marker, its last version stays
# for retention_days), SSE-KMS with the module's key, TLS only, never public
################################################################################

resource "aws_s3_bucket" "this" {
  #checkov:skip=CKV_AWS_18:server access logs would need a second bucket; DataSync task logs and CloudTrail data events (if the account records them) say who wrote what
  #checkov:skip=CKV_AWS_144:cross-region replication of people's home directories is a data-residency decision the module cannot make; replicate the bucket yourself if your policy asks for it
  #checkov:skip=CKV2_AWS_62:home backups need no object events (the registry records every backup when its workflow ends); with space_backups the bucket sends its events to EventBridge (aws_s3_bucket_notification.this)

  bucket        = local.bucket_name
  force_destroy = var.force_destroy
  tags          = merge(var.tags, { Name = local.bucket_name })
}

resource "aws_s3_bucket_public_access_block" "this" {
  bucket                  = aws_s3_bucket.this.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_ownership_controls" "this" {
  bucket = aws_s3_bucket.this.id
  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_versioning" "this" {
  bucket = aws_s3_bucket.this.id
  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "this" {
  bucket = aws_s3_bucket.this.id
  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm     = "aws:kms"
      kms_master_key_id = var.kms_key_arn
    }
    bucket_key_enabled = true
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "this" {
  bucket = aws_s3_bucket.this.id

  # Home directories (homes/) and the EBS homes of Studio spaces (spaces/,
  # modules/space_backup) are kept alike.
  dynamic "rule" {
    for_each = { homes = local.homes_prefix, spaces = local.spaces_prefix }
    content {
      id     = rule.key
      status = "Enabled"
      filter {
        prefix = rule.value
      }

      dynamic "transition" {
        for_each = local.transition ? [1] : []
        content {
          days          = var.transition_days
          storage_class = var.storage_class
        }
      }

      # A file changed or removed since the last backup keeps its earlier version this long.
      noncurrent_version_expiration {
        noncurrent_days = var.retention_days
      }

      # A delete marker whose last earlier version has expired says nothing any more.
      expiration {
        expired_object_delete_marker = true
      }
    }
  }

  rule {
    id     = "staging"
    status = "Enabled"
    filter {
      prefix = local.staging_prefix
    }
    expiration {
      days = local.staging_days
    }
    noncurrent_version_expiration {
      noncurrent_days = 1
    }
  }

  rule {
    id     = "staging-delete-markers"
    status = "Enabled"
    filter {
      prefix = local.staging_prefix
    }
    # Expiring a current staged object leaves a delete marker; once its version expired too,
    # the marker goes (S3 refuses this flag in a rule that also expires by days).
    expiration {
      expired_object_delete_marker = true
    }
  }

  rule {
    id     = "abort-incomplete-uploads"
    status = "Enabled"
    filter {}
    abort_incomplete_multipart_upload {
      days_after_initiation = 7
    }
  }

  # Lifecycle rules act on versions: versioning must be on first.
  depends_on = [aws_s3_bucket_versioning.this]

  lifecycle {
    precondition {
      condition     = !local.transition || !local.infrequent_access || var.transition_days >= 30
      error_message = "S3 moves objects to ${var.storage_class} no sooner than 30 days after they are written: set transition_days to 30 or more, or choose INTELLIGENT_TIERING or GLACIER_IR."
    }
  }
}

data "aws_iam_policy_document" "bucket" {
  statement {
    sid       = "DenyInsecureTransport"
    effect    = "Deny"
    actions   = ["s3:*"]
    resources = [aws_s3_bucket.this.arn, "${aws_s3_bucket.this.arn}/*"]
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

  # Uploads without an encryption header get the bucket default (the module's key); an
  # upload that asks for anything else is refused.
  statement {
    sid       = "DenyOtherEncryption"
    effect    = "Deny"
    actions   = ["s3:PutObject"]
    resources = ["${aws_s3_bucket.this.arn}/*"]
    principals {
      type        = "*"
      identifiers = ["*"]
    }
    # Only when the upload names an encryption: one that names none gets the bucket's
    # default (SSE-KMS with the module key). A negated operator alone would also match a
    # missing header, and deny every plain upload (DataSync's, the space agent's).
    condition {
      test     = "Null"
      variable = "s3:x-amz-server-side-encryption"
      values   = ["false"]
    }
    condition {
      test     = "StringNotEquals"
      variable = "s3:x-amz-server-side-encryption"
      values   = ["aws:kms"]
    }
  }

  statement {
    sid       = "DenyOtherKmsKeys"
    effect    = "Deny"
    actions   = ["s3:PutObject"]
    resources = ["${aws_s3_bucket.this.arn}/*"]
    principals {
      type        = "*"
      identifiers = ["*"]
    }
    # Only when the upload names an encryption: one that names none gets the bucket's
    # default (SSE-KMS with the module key). A negated operator alone would also match a
    # missing header, and deny every plain upload (DataSync's, the space agent's).
    condition {
      test     = "Null"
      variable = "s3:x-amz-server-side-encryption-aws-kms-key-id"
      values   = ["false"]
    }
    condition {
      test     = "StringNotEquals"
      variable = "s3:x-amz-server-side-encryption-aws-kms-key-id"
      values   = [var.kms_key_arn]
    }
  }
}

# S3 sends its object events to EventBridge (the space-report rule of modules/space_backup
# reads the restore reports of Studio spaces from them).
resource "aws_s3_bucket_notification" "this" {
  count = var.eventbridge_enabled ? 1 : 0

  bucket      = aws_s3_bucket.this.id
  eventbridge = true
}

resource "aws_s3_bucket_policy" "this" {
  bucket = aws_s3_bucket.this.id
  policy = data.aws_iam_policy_document.bucket.json

  depends_on = [aws_s3_bucket_public_access_block.this]
}

################################################################################
# Role DataSync assumes to read and write the bucket (CreateLocationS3: BucketAccessRoleArn;
# a restore from an older backup reads its staged copy)
################################################################################

module "access_role" {
  source = "../datasync_role"

  name        = "${var.name_prefix}-datasync-s3"
  description = "Assumed by DataSync to write studio-recovery backups to ${local.bucket_name} and read them back"
  policy_json = data.aws_iam_policy_document.access.json
  tags        = var.tags
}

data "aws_iam_policy_document" "access" {
  statement {
    sid = "ListBackupBucket"
    actions = [
      "s3:GetBucketLocation",
      "s3:ListBucket",
      "s3:ListBucketMultipartUploads",
      "s3:ListBucketVersions",
    ]
    resources = [aws_s3_bucket.this.arn]
  }

  statement {
    sid = "ReadWriteHomeBackups"
    actions = [
      "s3:GetObject",
      "s3:GetObjectVersion",
      "s3:GetObjectTagging",
      "s3:GetObjectVersionTagging",
      "s3:PutObject",
      "s3:PutObjectTagging",
      "s3:DeleteObject",
      "s3:AbortMultipartUpload",
      "s3:ListMultipartUploadParts",
    ]
    resources = ["${aws_s3_bucket.this.arn}/${local.homes_prefix}*"]
  }

  statement {
    sid       = "ReadRestoreStaging"
    actions   = ["s3:GetObject", "s3:GetObjectTagging"]
    resources = ["${aws_s3_bucket.this.arn}/${local.staging_prefix}*"]
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
