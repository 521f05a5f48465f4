# A small root with the resource types whose Terraform round trip needs the sandbox's
# compatibility fixes (studio_sandbox/server/compat.py). sandbox/tests/test_server_terraform.py
# applies it to a sandbox and checks that a second plan shows no changes.

terraform {
  required_version = ">= 1.5"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.40"
    }
  }
}

variable "sandbox_endpoint" {
  description = "Endpoint of the sandbox under test."
  type        = string
}

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
    ec2         = var.sandbox_endpoint
    iam         = var.sandbox_endpoint
    lambda      = var.sandbox_endpoint
    sagemaker   = var.sandbox_endpoint
    sfn         = var.sandbox_endpoint
    sqs         = var.sandbox_endpoint
    sts         = var.sandbox_endpoint
    eventbridge = var.sandbox_endpoint
  }
}

resource "aws_vpc" "this" {
  cidr_block = "10.7.0.0/16"
}

resource "aws_subnet" "this" {
  vpc_id            = aws_vpc.this.id
  cidr_block        = "10.7.1.0/24"
  availability_zone = "us-east-1a"
}

resource "aws_security_group" "efs" {
  name        = "compat-efs"
  description = "stands in for the Studio EFS group"
  vpc_id      = aws_vpc.this.id
}

resource "aws_security_group" "datasync" {
  name        = "compat-datasync"
  description = "DataSync agent group"
  vpc_id      = aws_vpc.this.id
}

resource "aws_vpc_security_group_egress_rule" "nfs_out" {
  security_group_id            = aws_security_group.datasync.id
  referenced_security_group_id = aws_security_group.efs.id
  ip_protocol                  = "tcp"
  from_port                    = 2049
  to_port                      = 2049
  description                  = "NFS to the Studio EFS mount targets"
}

resource "aws_vpc_security_group_ingress_rule" "nfs_in" {
  security_group_id            = aws_security_group.efs.id
  referenced_security_group_id = aws_security_group.datasync.id
  ip_protocol                  = "tcp"
  from_port                    = 2049
  to_port                      = 2049
  description                  = "NFS from DataSync"
}

data "aws_iam_policy_document" "assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["lambda.amazonaws.com", "states.amazonaws.com", "sagemaker.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "this" {
  name               = "compat-role"
  assume_role_policy = data.aws_iam_policy_document.assume.json
}

resource "aws_iam_role_policy_attachment" "basic" {
  role       = aws_iam_role.this.name
  policy_arn = "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"
}

resource "aws_sqs_queue" "dlq" {
  name = "compat-dlq"
}

resource "aws_lambda_function" "this" {
  function_name    = "compat-function"
  role             = aws_iam_role.this.arn
  runtime          = "python3.12"
  handler          = "app.handler"
  filename         = "${path.module}/function.zip"
  source_code_hash = filebase64sha256("${path.module}/function.zip")

  dead_letter_config {
    target_arn = aws_sqs_queue.dlq.arn
  }
}

resource "aws_lambda_invocation" "this" {
  function_name = aws_lambda_function.this.function_name
  input         = jsonencode({ "ping" = "terraform" })
}

resource "aws_sfn_state_machine" "this" {
  name     = "compat-machine"
  role_arn = aws_iam_role.this.arn
  definition = jsonencode({
    StartAt = "Call"
    States = {
      Call = { Type = "Task", Resource = aws_lambda_function.this.arn, End = true }
    }
  })
}

resource "aws_sagemaker_domain" "this" {
  domain_name = "compat-domain"
  auth_mode   = "IAM"
  vpc_id      = aws_vpc.this.id
  subnet_ids  = [aws_subnet.this.id]

  default_user_settings {
    execution_role = aws_iam_role.this.arn

    jupyter_lab_app_settings {
      lifecycle_config_arns = [aws_sagemaker_studio_lifecycle_config.this["JupyterLab"].arn]

      default_resource_spec {
        instance_type        = "ml.t3.medium"
        lifecycle_config_arn = aws_sagemaker_studio_lifecycle_config.this["JupyterLab"].arn
      }
    }

    code_editor_app_settings {
      lifecycle_config_arns = [aws_sagemaker_studio_lifecycle_config.this["CodeEditor"].arn]
    }
  }

  domain_settings {
    execution_role_identity_config = "USER_PROFILE_NAME"
  }

  retention_policy {
    home_efs_file_system = "Delete"
  }
}

resource "aws_sagemaker_user_profile" "this" {
  domain_id         = aws_sagemaker_domain.this.id
  user_profile_name = "compat-user"
}

# Studio lifecycle configurations (the content is base64, as the API wants it)
resource "aws_sagemaker_studio_lifecycle_config" "this" {
  for_each = toset(["JupyterLab", "CodeEditor"])

  studio_lifecycle_config_name     = "compat-${lower(each.key)}"
  studio_lifecycle_config_app_type = each.key
  studio_lifecycle_config_content  = base64encode("#!/bin/bash\necho started\n")

  tags = { Purpose = "compat" }
}

# A private JupyterLab space: its home is its own EBS volume
resource "aws_sagemaker_space" "this" {
  domain_id  = aws_sagemaker_domain.this.id
  space_name = "compat-space"

  ownership_settings {
    owner_user_profile_name = aws_sagemaker_user_profile.this.user_profile_name
  }

  space_sharing_settings {
    sharing_type = "Private"
  }

  space_settings {
    app_type = "JupyterLab"

    jupyter_lab_app_settings {
      default_resource_spec {
        instance_type        = "ml.t3.medium"
        lifecycle_config_arn = aws_sagemaker_studio_lifecycle_config.this["JupyterLab"].arn
      }
    }
  }
}

output "invocation_result" {
  description = "What the function returned to Terraform."
  value       = jsondecode(aws_lambda_invocation.this.result)
}

output "home_efs_file_system_id" {
  description = "The domain's home EFS."
  value       = aws_sagemaker_domain.this.home_efs_file_system_id
}
