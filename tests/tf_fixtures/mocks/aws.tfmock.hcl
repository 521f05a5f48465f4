# Shared mock data for the native Terraform tests (tests/*.tftest.hcl).
# The real provider validates policy JSON, so every policy document mocks a valid one.

mock_data "aws_iam_policy_document" {
  defaults = {
    json = "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Sid\":\"Mock\",\"Effect\":\"Allow\",\"Action\":\"none:null\",\"Resource\":\"*\"}]}"
  }
}

mock_data "aws_caller_identity" {
  defaults = {
    account_id = "123456789012"
    arn        = "arn:aws:iam::123456789012:user/test"
  }
}

mock_data "aws_partition" {
  defaults = {
    partition  = "aws"
    dns_suffix = "amazonaws.com"
  }
}

mock_data "aws_region" {
  defaults = {
    name = "us-east-1"
  }
}

mock_data "aws_vpc" {
  defaults = {
    cidr_block = "10.20.0.0/16"
  }
}

mock_resource "aws_kms_key" {
  defaults = {
    arn = "arn:aws:kms:us-east-1:123456789012:key/00000000-0000-0000-0000-000000000000"
  }
}

mock_resource "aws_iam_role" {
  defaults = {
    arn = "arn:aws:iam::123456789012:role/mock"
  }
}

mock_resource "aws_lambda_function" {
  defaults = {
    arn = "arn:aws:lambda:us-east-1:123456789012:function:mock"
  }
}

mock_resource "aws_sqs_queue" {
  defaults = {
    arn = "arn:aws:sqs:us-east-1:123456789012:mock"
  }
}

mock_resource "aws_sns_topic" {
  defaults = {
    arn = "arn:aws:sns:us-east-1:123456789012:mock"
  }
}

mock_resource "aws_cloudwatch_log_group" {
  defaults = {
    arn = "arn:aws:logs:us-east-1:123456789012:log-group:mock"
  }
}

mock_resource "aws_cloudwatch_event_rule" {
  defaults = {
    arn = "arn:aws:events:us-east-1:123456789012:rule/mock"
  }
}

mock_resource "aws_sfn_state_machine" {
  defaults = {
    arn = "arn:aws:states:us-east-1:123456789012:stateMachine:mock"
  }
}

mock_resource "aws_security_group" {
  defaults = {
    id  = "sg-0123456789abcdef0"
    arn = "arn:aws:ec2:us-east-1:123456789012:security-group/sg-0123456789abcdef0"
  }
}

mock_resource "aws_s3_bucket" {
  defaults = {
    arn = "arn:aws:s3:::mock-bucket"
  }
}

mock_data "aws_security_group" {
  defaults = {
    id  = "sg-0fedcba9876543210"
    arn = "arn:aws:ec2:us-east-1:123456789012:security-group/sg-0fedcba9876543210"
  }
}

mock_resource "aws_vpc" {
  defaults = {
    id = "vpc-0123456789abcdef0"
  }
}

mock_resource "aws_subnet" {
  defaults = {
    id = "subnet-0123456789abcdef0"
  }
}

mock_resource "aws_sagemaker_domain" {
  defaults = {
    id  = "d-mockdomain0001"
    arn = "arn:aws:sagemaker:us-east-1:123456789012:domain/d-mockdomain0001"
  }
}

mock_data "aws_availability_zones" {
  defaults = {
    names = ["us-east-1a", "us-east-1b", "us-east-1c"]
  }
}

mock_resource "aws_cloudtrail" {
  defaults = {
    arn = "arn:aws:cloudtrail:us-east-1:123456789012:trail/mock"
  }
}

# The space-attach invocation's result is JSON (modules/space_backup output attach_result).
mock_resource "aws_lambda_invocation" {
  defaults = {
    result = "{\"action\":\"create\",\"domains\":{}}"
  }
}

mock_resource "aws_sagemaker_studio_lifecycle_config" {
  defaults = {
    arn = "arn:aws:sagemaker:us-east-1:123456789012:studio-lifecycle-config/mock"
  }
}
