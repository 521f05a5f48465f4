# The sandbox root: the real module, applied to the offline sandbox instead of AWS.
# Start the sandbox first (`studio-recovery sandbox up`), build the zip (`make build`).

provider "aws" {
  region     = "us-east-1"
  access_key = "testing"
  secret_key = "testing"

  skip_credentials_validation = true
  skip_metadata_api_check     = true
  skip_region_validation      = true
  skip_requesting_account_id  = false
  max_retries                 = 2 # one retry: absorbs a rare dropped loopback connection
  s3_use_path_style           = true

  endpoints {
    cloudtrail     = var.sandbox_endpoint
    cloudwatch     = var.sandbox_endpoint
    cloudwatchlogs = var.sandbox_endpoint
    datasync       = var.sandbox_endpoint
    dynamodb       = var.sandbox_endpoint
    ec2            = var.sandbox_endpoint
    efs            = var.sandbox_endpoint
    eventbridge    = var.sandbox_endpoint
    iam            = var.sandbox_endpoint
    kms            = var.sandbox_endpoint
    lambda         = var.sandbox_endpoint
    s3             = var.sandbox_endpoint
    sagemaker      = var.sandbox_endpoint
    sfn            = var.sandbox_endpoint
    sns            = var.sandbox_endpoint
    sqs            = var.sandbox_endpoint
    sts            = var.sandbox_endpoint
  }
}

resource "aws_vpc" "this" {
  #checkov:skip=CKV2_AWS_11:sandbox VPC on the offline stand-in: no traffic exists to log
  #checkov:skip=CKV2_AWS_12:sandbox VPC on the offline stand-in: its default group carries no traffic
  cidr_block           = "10.42.0.0/16"
  enable_dns_hostnames = true
  enable_dns_support   = true

  tags = { Name = "${var.name_prefix}-sandbox" }
}

resource "aws_subnet" "studio" {
  count = 2

  vpc_id            = aws_vpc.this.id
  cidr_block        = cidrsubnet(aws_vpc.this.cidr_block, 8, count.index)
  availability_zone = ["us-east-1a", "us-east-1b"][count.index]

  tags = { Name = "${var.name_prefix}-studio-${count.index}" }
}

# The execution role of the sandbox's Studio domains and spaces: the spaces' agents run with
# it, each session carrying its user profile name as source identity
# (ExecutionRoleIdentityConfig = USER_PROFILE_NAME on the domain).
data "aws_iam_policy_document" "studio_trust" {
  statement {
    sid     = "SageMakerAssumesWithSourceIdentity"
    actions = ["sts:AssumeRole", "sts:SetSourceIdentity"]
    principals {
      type        = "Service"
      identifiers = ["sagemaker.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "studio_execution" {
  name               = "${var.name_prefix}-studio-execution"
  assume_role_policy = data.aws_iam_policy_document.studio_trust.json
}

module "studio_recovery" {
  source = "../../"

  name_prefix         = var.name_prefix
  vpc_id              = aws_vpc.this.id
  datasync_subnet_ids = aws_subnet.studio[*].id
  # Empty: the domains are created later by the demo and tests, and SageMaker makes their
  # NFS groups then; the admin opens each with `studio-recovery open-efs --domain-id`.
  studio_efs_security_group_ids = []
  lambda_package_path           = var.lambda_package_path
  powertools_layer_arn          = "" # the sandbox's own environment stands in for the layer
  create_cloudtrail             = false
  seed_on_apply                 = var.seed_on_apply
  registry_deletion_protection  = false
  max_concurrent_restores       = var.max_concurrent_restores
  poll_interval_seconds         = 10
  transfer_timeout_seconds      = var.transfer_timeout_seconds
  home_wait_timeout_seconds     = var.home_wait_timeout_seconds
  backups = {
    enabled       = var.backups_enabled
    force_destroy = true # the sandbox is thrown away with its backups
  }
  space_backups = {
    enabled              = var.space_backups_enabled && var.backups_enabled
    execution_role_names = [aws_iam_role.studio_execution.name]
    interval_minutes     = 1 # the shortest: the tests watch a periodic backup happen
  }

  tags = { Environment = "sandbox" }
}
