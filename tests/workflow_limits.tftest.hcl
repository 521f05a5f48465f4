# How long an execution may wait for its transfer, and what ends it: no allowed
# transfer_timeout_seconds / poll_interval_seconds pair reaches Step Functions' 25,000-event
# execution history (at most 1,500 checks of a running transfer; the arithmetic is in
# docs/internals.md section 4), and executions that end FAILED on their own are cleaned up.

mock_provider "aws" {
  source          = "./tests/tf_fixtures/mocks"
  override_during = plan
}

run "defaults_check_a_transfer_360_times" {
  command = plan

  variables {
    name_prefix         = "sr-test"
    vpc_id              = "vpc-0123456789abcdef0"
    datasync_subnet_ids = ["subnet-0123456789abcdef0"]
    lambda_package_path = "build/lambda.zip"
  }

  assert {
    condition     = local.transfer_checks == 360 && local.transfer_checks <= local.max_transfer_checks
    error_message = "The defaults (21600 s, every 60 s) check a running transfer 360 times."
  }
}

run "largest_timeout_with_the_shortest_poll_it_allows" {
  command = plan

  variables {
    name_prefix              = "sr-test"
    vpc_id                   = "vpc-0123456789abcdef0"
    datasync_subnet_ids      = ["subnet-0123456789abcdef0"]
    lambda_package_path      = "build/lambda.zip"
    transfer_timeout_seconds = 604800
    poll_interval_seconds    = 404
  }

  assert {
    condition     = local.transfer_checks == 1498 && local.min_poll_interval == 404
    error_message = "7 days polled every 404 s is 1498 checks, the largest allowed pair."
  }
}

run "shortest_poll_with_the_longest_timeout_it_allows" {
  command = plan

  variables {
    name_prefix              = "sr-test"
    vpc_id                   = "vpc-0123456789abcdef0"
    datasync_subnet_ids      = ["subnet-0123456789abcdef0"]
    lambda_package_path      = "build/lambda.zip"
    transfer_timeout_seconds = 15000
    poll_interval_seconds    = 10
  }

  assert {
    condition     = local.transfer_checks == local.max_transfer_checks
    error_message = "15000 s polled every 10 s is exactly the 1500 checks allowed."
  }
}

run "largest_timeout_polled_one_second_too_often" {
  command = plan

  variables {
    name_prefix              = "sr-test"
    vpc_id                   = "vpc-0123456789abcdef0"
    datasync_subnet_ids      = ["subnet-0123456789abcdef0"]
    lambda_package_path      = "build/lambda.zip"
    transfer_timeout_seconds = 604800
    poll_interval_seconds    = 403
  }

  expect_failures = [terraform_data.input_checks]
}

run "shortest_poll_with_a_timeout_one_check_too_long" {
  command = plan

  variables {
    name_prefix              = "sr-test"
    vpc_id                   = "vpc-0123456789abcdef0"
    datasync_subnet_ids      = ["subnet-0123456789abcdef0"]
    lambda_package_path      = "build/lambda.zip"
    transfer_timeout_seconds = 15001
    poll_interval_seconds    = 10
  }

  expect_failures = [terraform_data.input_checks]
}

run "execution_ended_rule_matches_failed_executions_too" {
  command = plan

  module {
    source = "./modules/workflow"
  }

  variables {
    name_prefix            = "sr-test"
    kms_key_arn            = "arn:aws:kms:us-east-1:123456789012:key/11111111-2222-3333-4444-555555555555"
    registry_table_name    = "sr-test-registry"
    registry_table_arn     = "arn:aws:dynamodb:us-east-1:123456789012:table/sr-test-registry"
    registry_stream_arn    = "arn:aws:dynamodb:us-east-1:123456789012:table/sr-test-registry/stream/2026-11-28T00:00:00.000"
    notification_topic_arn = "arn:aws:sns:us-east-1:123456789012:sr-test-notifications"
    vpc_id                 = "vpc-0123456789abcdef0"
    datasync_subnet_ids    = ["subnet-0123456789abcdef0"]
    lambda = {
      package_path     = "build/lambda.zip"
      source_code_hash = "bW9jaw=="
      runtime          = "python3.12"
      memory_size      = 256
      layer_arns       = []
      log_level        = "INFO"
    }
  }

  assert {
    condition     = toset(jsondecode(aws_cloudwatch_event_rule.execution_ended.event_pattern).detail.status) == toset(["ABORTED", "FAILED", "TIMED_OUT"])
    error_message = "Aborted, timed-out and failed executions must all reach the finalize function."
  }

  assert {
    condition     = aws_cloudwatch_event_target.execution_ended.arn == module.function["finalize"].function_arn
    error_message = "The execution-ended rule targets the finalize function."
  }
}
