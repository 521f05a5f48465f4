locals {
  # The transfer functions tag everything they create with managed-by = studio-recovery
  # (studio_recovery.logic.transfer), so creation and deletion can be conditioned on it.
  managed_tag_key   = "managed-by"
  managed_tag_value = "studio-recovery"

  datasync_arn_prefix = "arn:${local.partition}:datasync:${local.region}:${local.account_id}"
  efs_arn_prefix      = "arn:${local.partition}:elasticfilesystem:${local.region}:${local.account_id}"
  ec2_arn_prefix      = "arn:${local.partition}:ec2:${local.region}:${local.account_id}"

  datasync_subnet_arns = [for id in var.datasync_subnet_ids : "${local.ec2_arn_prefix}:subnet/${id}"]
}

################################################################################
# What each function calls beyond its base policy (modules/lambda_function: own logs,
# X-Ray, the registry, the failure queue, the module key)
################################################################################

data "aws_iam_policy_document" "stream" {
  statement {
    sid       = "ReadRegistryStream"
    actions   = ["dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator"]
    resources = [var.registry_stream_arn, "${var.registry_table_arn}/stream/*"]
  }

  statement {
    sid = "ListRegistryStreams"
    # ListStreams has no resource-level permissions (IAM service authorization reference,
    # Amazon DynamoDB: no resource type): granted on stream ARNs it never matches.
    actions   = ["dynamodb:ListStreams"]
    resources = ["*"]
  }

  statement {
    sid       = "StartRestores"
    actions   = ["states:StartExecution"]
    resources = [local.state_machine_arn]
  }
}

data "aws_iam_policy_document" "prepare" {
  # Only tagged as this module's, in this region. The IAM service authorization reference
  # (AWS DataSync) decides the resources: CreateLocationEfs and CreateLocationS3 have no
  # resource type (Resource "*"); CreateTask is scoped to the locations it joins, and
  # TagResource (evaluated when a create call carries tags) to the location or task it
  # tags, as in "Permissions for tagging DataSync resources during creation"
  # (https://docs.aws.amazon.com/datasync/latest/userguide/supported-iam-actions-tagging.html).
  dynamic "statement" {
    for_each = {
      CreateDataSyncLocations = {
        actions   = concat(["datasync:CreateLocationEfs"], local.backup_enabled ? ["datasync:CreateLocationS3"] : [])
        resources = ["*"]
      }
      CreateDataSyncTasks = {
        actions   = ["datasync:CreateTask"]
        resources = ["${local.datasync_arn_prefix}:location/*"]
      }
      TagDataSyncLocationsAndTasks = {
        actions   = ["datasync:TagResource"]
        resources = ["${local.datasync_arn_prefix}:location/*", "${local.datasync_arn_prefix}:task/*"]
      }
    }
    content {
      sid       = statement.key
      actions   = statement.value.actions
      resources = statement.value.resources
      condition {
        test     = "StringEquals"
        variable = "aws:RequestedRegion"
        values   = [local.region]
      }
      condition {
        test     = "StringEquals"
        variable = "aws:RequestTag/${local.managed_tag_key}"
        values   = [local.managed_tag_value]
      }
    }
  }

  # DataSync creates network interfaces in the EFS location's subnet for every task it
  # creates ("Network interfaces for AWS DataSync transfers",
  # https://docs.aws.amazon.com/datasync/latest/userguide/required-network-interfaces.html),
  # and AWS's own policies for the caller of CreateLocationEfs and CreateTask allow it:
  # AWSDataSyncFullAccess
  # (https://docs.aws.amazon.com/aws-managed-policy/latest/reference/AWSDataSyncFullAccess.html)
  # and AWS's Studio recovery sample (aws-samples/sagemaker-studio-efs-recovery-serverless,
  # Infrastructure/Templates/stepfunction.yaml) grant ec2:CreateNetworkInterface and
  # ec2:CreateNetworkInterfacePermission. Scoped as the IAM reference (Amazon EC2) allows:
  # only in this module's DataSync subnets, with its security group.
  statement {
    sid       = "CreateDataSyncNetworkInterfaces"
    actions   = ["ec2:CreateNetworkInterface"]
    resources = concat(["${local.ec2_arn_prefix}:network-interface/*", aws_security_group.datasync.arn], local.datasync_subnet_arns)
  }

  statement {
    sid       = "LetDataSyncUseItsNetworkInterfaces"
    actions   = ["ec2:CreateNetworkInterfacePermission"]
    resources = ["${local.ec2_arn_prefix}:network-interface/*"]
    condition {
      test     = "ArnEquals"
      variable = "ec2:Subnet"
      values   = local.datasync_subnet_arns
    }
  }

  statement {
    sid       = "DescribeDataSyncLocations"
    actions   = concat(["datasync:DescribeLocationEfs"], local.backup_enabled ? ["datasync:DescribeLocationS3"] : [])
    resources = ["${local.datasync_arn_prefix}:location/*"]
  }

  # The roles DataSync assumes: the EFS access role, and with backups the bucket's.
  dynamic "statement" {
    for_each = merge(
      {
        PassEfsAccessRoleToDataSync    = module.efs_access_role.role_arn
        PassReportAccessRoleToDataSync = module.report_role.role_arn
      },
      local.backup_enabled ? { PassBackupAccessRoleToDataSync = var.backup.bucket_access_role_arn } : {},
    )
    content {
      sid       = statement.key
      actions   = ["iam:PassRole"]
      resources = [statement.value]
      condition {
        test     = "StringEquals"
        variable = "iam:PassedToService"
        values   = ["datasync.amazonaws.com"]
      }
    }
  }

  statement {
    sid = "CreateTaggedAccessPointsOnStudioVolumes"
    # Studio volumes are created by SageMaker at run time: any file system of this account
    # and region; only access points tagged as this module's.
    actions   = ["elasticfilesystem:CreateAccessPoint", "elasticfilesystem:TagResource"]
    resources = ["${local.efs_arn_prefix}:file-system/*", "${local.efs_arn_prefix}:access-point/*"]
    condition {
      test     = "StringEquals"
      variable = "aws:RequestTag/${local.managed_tag_key}"
      values   = [local.managed_tag_value]
    }
  }

  statement {
    sid = "DescribeStudioVolumes"
    # Studio volumes are created by SageMaker at run time: any file system of this account and region.
    actions   = ["elasticfilesystem:DescribeMountTargets", "elasticfilesystem:DescribeFileSystems"]
    resources = ["${local.efs_arn_prefix}:file-system/*"]
  }

  statement {
    sid = "DescribeNetwork"
    # EC2 Describe* calls have no resource-level permissions (the subnets' zones and the
    # mount targets' security groups decide the DataSync network interfaces).
    actions   = ["ec2:DescribeSubnets", "ec2:DescribeSecurityGroups", "ec2:DescribeNetworkInterfaces"]
    resources = ["*"]
  }
}

# Backups (EFS -> S3) and restores from a backup (S3 -> EFS; an older backup's versions
# are first copied to staging/<restore id>/): prepare only.
data "aws_iam_policy_document" "prepare_backups" {
  count = local.backup_enabled ? 1 : 0

  statement {
    sid = "ListBackupVersions"
    # The versions of a backed-up directory, to pick those of a point in time.
    actions   = ["s3:ListBucketVersions"]
    resources = [var.backup.bucket_arn]
    condition {
      test     = "StringLike"
      variable = "s3:prefix"
      values   = ["homes/*"]
    }
  }

  statement {
    sid = "ReadBackupVersions"
    # CopyObject of a chosen version (HeadObject of one over 5 GiB) reads that version.
    actions   = ["s3:GetObjectVersion"]
    resources = ["${var.backup.bucket_arn}/homes/*"]
  }

  statement {
    sid = "WriteRestoreStaging"
    # The staged copy of an older backup (encrypted with the module's key, which the
    # function's own key statement allows); a copy over 5 GiB is a multipart upload.
    actions   = ["s3:PutObject", "s3:AbortMultipartUpload"]
    resources = ["${var.backup.bucket_arn}/staging/*"]
  }
}

# Deleting the staged copy of a restore from an older backup (prepare, of an earlier
# attempt or when it fails half-way, and finalize): every version under staging/<id>/.
data "aws_iam_policy_document" "cleanup_staging" {
  count = local.backup_enabled ? 1 : 0

  statement {
    sid       = "ListRestoreStaging"
    actions   = ["s3:ListBucketVersions"]
    resources = [var.backup.bucket_arn]
    condition {
      test     = "StringLike"
      variable = "s3:prefix"
      values   = ["staging/*"]
    }
  }

  statement {
    sid       = "DeleteRestoreStaging"
    actions   = ["s3:DeleteObjectVersion"]
    resources = ["${var.backup.bucket_arn}/staging/*"]
  }
}

# Deleting a restore's DataSync task, locations and access point (prepare and finalize).
# They are created per restore at run time, so they are named by account-and-region
# pattern and, where AWS supports it, only when they carry the module's tag.
data "aws_iam_policy_document" "cleanup" {
  dynamic "statement" {
    for_each = {
      DeleteOwnDataSyncTasksAndLocations = {
        actions   = ["datasync:DeleteTask", "datasync:DeleteLocation", "datasync:DescribeTask"]
        resources = ["${local.datasync_arn_prefix}:task/*", "${local.datasync_arn_prefix}:location/*"]
      }
      DeleteOwnAccessPoints = {
        actions   = ["elasticfilesystem:DeleteAccessPoint"]
        resources = ["${local.efs_arn_prefix}:access-point/*"]
      }
    }
    content {
      sid       = statement.key
      actions   = statement.value.actions
      resources = statement.value.resources
      condition {
        test     = "StringEquals"
        variable = "aws:ResourceTag/${local.managed_tag_key}"
        values   = [local.managed_tag_value]
      }
    }
  }

  statement {
    sid = "ListTaskExecutions"
    # ListTaskExecutions has no resource-level permissions.
    actions   = ["datasync:ListTaskExecutions"]
    resources = ["*"]
  }

  statement {
    sid = "CancelRestoreTransfers"
    # Task executions carry no tags: named by pattern under this account's tasks.
    actions   = ["datasync:DescribeTaskExecution", "datasync:CancelTaskExecution"]
    resources = ["${local.datasync_arn_prefix}:task/*/execution/*"]
  }

  statement {
    sid       = "DescribeAccessPoints"
    actions   = ["elasticfilesystem:DescribeAccessPoints"]
    resources = ["${local.efs_arn_prefix}:file-system/*", "${local.efs_arn_prefix}:access-point/*"]
  }
}

data "aws_iam_policy_document" "finalize" {
  statement {
    sid       = "StartFollowUpRestores"
    actions   = ["states:StartExecution"]
    resources = [local.state_machine_arn]
  }

  statement {
    sid       = "NotifyFailures"
    actions   = ["sns:Publish"]
    resources = [var.notification_topic_arn]
  }
}

################################################################################
# The state machine's role
################################################################################

data "aws_iam_policy_document" "assume_states" {
  statement {
    sid     = "StepFunctionsAssumeRole"
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["states.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }
}

resource "aws_iam_role" "workflow" {
  name               = "${var.name_prefix}-workflow"
  description        = "Role of the ${local.state_machine_name} state machine"
  assume_role_policy = data.aws_iam_policy_document.assume_states.json
  tags               = var.tags
}

data "aws_iam_policy_document" "workflow" {
  statement {
    sid     = "InvokeTransferFunctions"
    actions = ["lambda:InvokeFunction"]
    resources = [
      module.function["prepare"].function_arn,
      module.function["finalize"].function_arn,
      "${module.function["prepare"].function_arn}:*",
      "${module.function["finalize"].function_arn}:*",
    ]
  }

  statement {
    sid = "StartOwnDataSyncTasks"
    # Tasks are created per restore at run time: any task of this account and region that
    # carries the module's tag.
    actions   = ["datasync:StartTaskExecution"]
    resources = ["${local.datasync_arn_prefix}:task/*"]
    condition {
      test     = "StringEquals"
      variable = "aws:ResourceTag/${local.managed_tag_key}"
      values   = [local.managed_tag_value]
    }
  }

  statement {
    sid = "WatchDataSyncTransfers"
    # Task executions carry no tags; named by pattern under this account's tasks.
    actions   = ["datasync:DescribeTaskExecution", "datasync:CancelTaskExecution"]
    resources = ["${local.datasync_arn_prefix}:task/*/execution/*"]
  }

  statement {
    sid       = "ReleaseConcurrencySlot"
    actions   = ["dynamodb:UpdateItem"]
    resources = [var.registry_table_arn]
  }

  statement {
    sid = "DeliverExecutionLogs"
    # CloudWatch Logs delivery calls have no resource-level permissions.
    actions = [
      "logs:CreateLogDelivery",
      "logs:GetLogDelivery",
      "logs:UpdateLogDelivery",
      "logs:DeleteLogDelivery",
      "logs:ListLogDeliveries",
      "logs:PutResourcePolicy",
      "logs:DescribeResourcePolicies",
      "logs:DescribeLogGroups",
    ]
    resources = ["*"]
  }

  statement {
    sid = "XRayTraces"
    # X-Ray trace writes have no resource-level permissions.
    actions   = ["xray:PutTraceSegments", "xray:PutTelemetryRecords", "xray:GetSamplingRules", "xray:GetSamplingTargets"]
    resources = ["*"]
  }

  statement {
    sid       = "UseModuleKey"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
    resources = [var.kms_key_arn]
  }
}

resource "aws_iam_role_policy" "workflow" {
  name   = "${var.name_prefix}-workflow"
  role   = aws_iam_role.workflow.id
  policy = data.aws_iam_policy_document.workflow.json
}
