# A new VPC and SageMaker Studio domain (home volume retained on deletion), a user profile
# and a shared space, with studio-recovery watching them: the original sample's first scenario.

provider "aws" {
  region = var.region
}

data "aws_availability_zones" "available" {
  state = "available"
}

locals {
  azs = slice(data.aws_availability_zones.available.names, 0, 2)
}

################################################################################
# Network
################################################################################

resource "aws_vpc" "this" {
  #checkov:skip=CKV2_AWS_11:example VPC; enable flow logs in your own network baseline
  cidr_block           = var.vpc_cidr
  enable_dns_support   = true
  enable_dns_hostnames = true
  tags                 = merge(var.tags, { Name = var.name })
}

# No rules: nothing may use the default group.
resource "aws_default_security_group" "this" {
  vpc_id = aws_vpc.this.id
  tags   = merge(var.tags, { Name = "${var.name}-default" })
}

resource "aws_subnet" "private" {
  count = length(local.azs)

  vpc_id            = aws_vpc.this.id
  availability_zone = local.azs[count.index]
  cidr_block        = cidrsubnet(var.vpc_cidr, 4, count.index)
  tags              = merge(var.tags, { Name = "${var.name}-private-${local.azs[count.index]}" })
}

resource "aws_security_group" "studio" {
  #checkov:skip=CKV2_AWS_5:attached to the Studio apps through the domain's default user and space settings
  name        = "${var.name}-studio-apps"
  description = "SageMaker Studio apps of ${var.name}: traffic between apps and out over HTTPS"
  vpc_id      = aws_vpc.this.id
  tags        = merge(var.tags, { Name = "${var.name}-studio-apps" })
}

resource "aws_vpc_security_group_ingress_rule" "studio_self" {
  security_group_id            = aws_security_group.studio.id
  description                  = "Studio apps talk to each other"
  ip_protocol                  = "-1"
  referenced_security_group_id = aws_security_group.studio.id
}

resource "aws_vpc_security_group_egress_rule" "studio_https" {
  security_group_id = aws_security_group.studio.id
  description       = "HTTPS to AWS APIs (through VPC endpoints or a NAT you add)"
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
  cidr_ipv4         = "0.0.0.0/0"
}

################################################################################
# SageMaker Studio domain, user profile, shared space
################################################################################

data "aws_iam_policy_document" "sagemaker_assume" {
  statement {
    sid     = "SageMakerAssumeRole"
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["sagemaker.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "studio" {
  name               = "${var.name}-studio-execution"
  assume_role_policy = data.aws_iam_policy_document.sagemaker_assume.json
  tags               = var.tags
}

resource "aws_iam_role_policy_attachment" "studio" {
  role       = aws_iam_role.studio.name
  policy_arn = "arn:aws:iam::aws:policy/AmazonSageMakerFullAccess"
}

resource "aws_sagemaker_domain" "this" {
  #checkov:skip=CKV_AWS_187:example domain; pass kms_key_id to encrypt its EFS volume with your own key
  domain_name             = var.name
  auth_mode               = "IAM"
  vpc_id                  = aws_vpc.this.id
  subnet_ids              = aws_subnet.private[*].id
  app_network_access_type = "VpcOnly"

  default_user_settings {
    execution_role  = aws_iam_role.studio.arn
    security_groups = [aws_security_group.studio.id]
  }

  default_space_settings {
    execution_role  = aws_iam_role.studio.arn
    security_groups = [aws_security_group.studio.id]
  }

  # Keep the home volume when the domain is deleted, so a recreated domain can be restored.
  retention_policy {
    home_efs_file_system = "Retain"
  }

  tags = var.tags
}

resource "aws_sagemaker_user_profile" "this" {
  domain_id         = aws_sagemaker_domain.this.id
  user_profile_name = var.user_profile_name
  tags              = var.tags

  depends_on = [module.studio_recovery]
}

resource "aws_sagemaker_space" "this" {
  domain_id  = aws_sagemaker_domain.this.id
  space_name = var.space_name

  ownership_settings {
    owner_user_profile_name = aws_sagemaker_user_profile.this.user_profile_name
  }

  space_sharing_settings {
    sharing_type = "Shared"
  }

  tags = var.tags
}

# SageMaker creates this group for the domain's EFS mount targets.
data "aws_security_group" "studio_efs" {
  vpc_id = aws_vpc.this.id
  name   = "security-group-for-inbound-nfs-${aws_sagemaker_domain.this.id}"
}

################################################################################
# studio-recovery
################################################################################

module "studio_recovery" {
  source = "../../"

  name_prefix                   = var.name_prefix
  vpc_id                        = aws_vpc.this.id
  datasync_subnet_ids           = aws_subnet.private[*].id
  studio_efs_security_group_ids = [data.aws_security_group.studio_efs.id]
  lambda_package_path           = coalesce(var.lambda_package_path, "${path.module}/../../build/lambda.zip")
  create_cloudtrail             = var.create_cloudtrail
  alarm_email                   = var.alarm_email

  # Every home directory backed up to S3 nightly at 02:00 UTC (and when it is deleted);
  # earlier versions of changed files kept 35 days.
  backups = {
    schedule_expression = "cron(0 2 * * ? *)"
    retention_days      = 35
  }

  tags = var.tags
}
