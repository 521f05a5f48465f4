locals {
  open_studio_groups = length(var.studio_efs_security_group_ids) > 0
  # Keyed by position, so the ids may be unknown until apply (looked up from a new domain).
  studio_groups = { for index, id in var.studio_efs_security_group_ids : tostring(index) => id }
}

################################################################################
# DataSync network interfaces: NFS out to the Studio EFS mount targets, nothing in
################################################################################

resource "aws_security_group" "datasync" {
  #checkov:skip=CKV2_AWS_5:DataSync attaches this group to the network interfaces it creates for each restore's EFS locations, at run time, not in Terraform
  name        = "${var.name_prefix}-datasync"
  description = "DataSync transfers of studio-recovery: NFS (TCP 2049) to the Studio EFS mount targets only"
  vpc_id      = var.vpc_id
  tags        = merge(var.tags, { Name = "${var.name_prefix}-datasync" })

  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_vpc_security_group_egress_rule" "nfs_to_studio" {
  for_each = local.studio_groups

  security_group_id            = aws_security_group.datasync.id
  description                  = "NFS to Studio EFS mount targets"
  ip_protocol                  = "tcp"
  from_port                    = 2049
  to_port                      = 2049
  referenced_security_group_id = each.value
  tags                         = var.tags
}

resource "aws_vpc_security_group_egress_rule" "nfs_to_vpc" {
  count = local.open_studio_groups ? 0 : 1

  security_group_id = aws_security_group.datasync.id
  description       = "NFS to EFS mount targets in the VPC (no Studio EFS security groups were given)"
  ip_protocol       = "tcp"
  from_port         = 2049
  to_port           = 2049
  cidr_ipv4         = data.aws_vpc.this.cidr_block
  tags              = var.tags
}

resource "aws_vpc_security_group_ingress_rule" "studio_from_datasync" {
  for_each = local.studio_groups

  security_group_id            = each.value
  description                  = "NFS from studio-recovery DataSync transfers"
  ip_protocol                  = "tcp"
  from_port                    = 2049
  to_port                      = 2049
  referenced_security_group_id = aws_security_group.datasync.id
  tags                         = var.tags
}

################################################################################
# DataSync task logs
################################################################################

resource "aws_cloudwatch_log_group" "datasync" {
  name              = "/aws/datasync/${var.name_prefix}-restores"
  retention_in_days = var.log_retention_days
  kms_key_id        = var.kms_key_arn
  tags              = var.tags
}

data "aws_iam_policy_document" "datasync_logs" {
  statement {
    sid       = "DataSyncTasksWriteLogs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.datasync.arn}:*"]
    principals {
      type        = "Service"
      identifiers = ["datasync.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
    condition {
      test     = "ArnLike"
      variable = "aws:SourceArn"
      values   = ["arn:${local.partition}:datasync:${local.region}:${local.account_id}:task/*"]
    }
  }
}

resource "aws_cloudwatch_log_resource_policy" "datasync" {
  policy_name     = "${var.name_prefix}-datasync"
  policy_document = data.aws_iam_policy_document.datasync_logs.json
}

################################################################################
# Role DataSync assumes to mount the Studio volumes through access points
# (CreateLocationEfs FileSystemAccessRoleArn)
################################################################################

module "efs_access_role" {
  source = "../datasync_role"

  name        = "${var.name_prefix}-datasync-efs"
  description = "Assumed by DataSync to mount Studio EFS volumes for studio-recovery restores"
  policy_json = data.aws_iam_policy_document.efs_access.json
  tags        = var.tags
}

data "aws_iam_policy_document" "efs_access" {
  statement {
    sid = "MountStudioVolumes"
    # Studio volumes (current and retained ones of deleted domains) come and go at run time,
    # so the file systems are named by pattern: any in this account and region, mounted
    # through a mount target.
    actions = [
      "elasticfilesystem:ClientMount",
      "elasticfilesystem:ClientWrite",
      "elasticfilesystem:ClientRootAccess",
    ]
    resources = ["arn:${local.partition}:elasticfilesystem:${local.region}:${local.account_id}:file-system/*"]
    condition {
      test     = "Bool"
      variable = "elasticfilesystem:AccessedViaMountTarget"
      values   = ["true"]
    }
  }
}
