# studio-recovery alone, watching a Studio domain that already exists (ids given as
# variables): the original sample's second scenario. The seeder records the domain's
# existing profiles and spaces at apply time.

provider "aws" {
  region = var.region
}

# SageMaker creates this group for the domain's EFS mount targets.
data "aws_security_group" "studio_efs" {
  count = length(var.studio_efs_security_group_ids) == 0 ? 1 : 0

  vpc_id = var.vpc_id
  name   = "security-group-for-inbound-nfs-${var.domain_id}"
}

module "studio_recovery" {
  source = "../../"

  name_prefix                   = var.name_prefix
  vpc_id                        = var.vpc_id
  datasync_subnet_ids           = var.subnet_ids
  studio_efs_security_group_ids = length(var.studio_efs_security_group_ids) > 0 ? var.studio_efs_security_group_ids : data.aws_security_group.studio_efs[*].id
  kms_key_arn                   = var.kms_key_arn
  lambda_package_path           = coalesce(var.lambda_package_path, "${path.module}/../../build/lambda.zip")
  create_cloudtrail             = var.create_cloudtrail
  alarm_email                   = var.alarm_email
  tags                          = var.tags
}
