# The root module: composition, the KMS key, outputs, and every input's validation.

mock_provider "aws" {
  source          = "./tests/tf_fixtures/mocks"
  override_during = plan
}

variables {
  name_prefix         = "sr-test"
  vpc_id              = "vpc-0123456789abcdef0"
  datasync_subnet_ids = ["subnet-0123456789abcdef0", "subnet-0123456789abcdef1"]
  lambda_package_path = "build/lambda.zip"
}

run "defaults_create_a_rotating_key_and_no_trail" {
  command = plan

  assert {
    condition     = length(aws_kms_key.this) == 1 && aws_kms_key.this[0].enable_key_rotation
    error_message = "Without kms_key_arn the module creates one key, with rotation."
  }

  assert {
    condition     = output.kms_key_arn == aws_kms_key.this[0].arn
    error_message = "The kms_key_arn output is the created key."
  }

  assert {
    condition     = output.trail_arn == null
    error_message = "create_cloudtrail defaults to false: no trail."
  }

  assert {
    condition     = output.registry_table_name == "sr-test-registry" && output.idempotency_table_name == "sr-test-idempotency"
    error_message = "Table names follow name_prefix."
  }

  assert {
    condition = (
      output.event_function_name == "sr-test-event" && output.seeder_function_name == "sr-test-seeder" &&
      output.stream_function_name == "sr-test-stream" && output.prepare_function_name == "sr-test-prepare" &&
      output.finalize_function_name == "sr-test-finalize"
    )
    error_message = "Function names follow name_prefix."
  }

  assert {
    condition     = length(output.event_rule_names) == 6
    error_message = "Six EventBridge rules."
  }

  assert {
    condition     = local.lambda.layer_arns == tolist(["arn:aws:lambda:us-east-1:017000801446:layer:AWSLambdaPowertoolsPythonV3-python312-x86_64:27"])
    error_message = "The default layer is the official Powertools v3 layer of the region and runtime."
  }

  assert {
    condition     = local.lambda.source_code_hash == filebase64sha256("build/lambda.zip")
    error_message = "The functions are deployed from lambda_package_path."
  }
}

run "a_given_key_is_used_and_none_created" {
  command = plan

  variables {
    kms_key_arn          = "arn:aws:kms:us-east-1:123456789012:key/11111111-2222-3333-4444-555555555555"
    powertools_layer_arn = ""
  }

  assert {
    condition     = length(aws_kms_key.this) == 0 && output.kms_key_arn == var.kms_key_arn
    error_message = "With kms_key_arn the module creates no key and uses the given one."
  }

  assert {
    condition     = length(local.lambda.layer_arns) == 0
    error_message = "powertools_layer_arn = \"\" attaches no layer."
  }
}

run "a_trail_when_asked" {
  command = plan

  variables {
    create_cloudtrail = true
  }

  assert {
    condition     = output.trail_arn != null
    error_message = "create_cloudtrail = true plans a trail."
  }
}

# Every invalid input fails with its validation.

run "invalid_name_prefix" {
  command = plan
  variables {
    name_prefix = "Studio_Recovery"
  }
  expect_failures = [var.name_prefix]
}

run "name_prefix_too_long" {
  command = plan
  variables {
    name_prefix = "a-name-prefix-that-is-far-too-long"
  }
  expect_failures = [var.name_prefix]
}

run "home_wait_timeout_out_of_range" {
  command = plan
  variables {
    home_wait_timeout_seconds = 91
  }
  expect_failures = [var.home_wait_timeout_seconds]
}

run "invalid_vpc_id" {
  command = plan
  variables {
    vpc_id = "my-vpc"
  }
  expect_failures = [var.vpc_id]
}

run "no_subnets" {
  command = plan
  variables {
    datasync_subnet_ids = []
  }
  expect_failures = [var.datasync_subnet_ids]
}

run "invalid_subnet_id" {
  command = plan
  variables {
    datasync_subnet_ids = ["subnet-0123456789abcdef0", "10.0.1.0/24"]
  }
  expect_failures = [var.datasync_subnet_ids]
}

run "invalid_studio_security_group" {
  command = plan
  variables {
    studio_efs_security_group_ids = ["security-group-for-inbound-nfs-d-abc"]
  }
  expect_failures = [var.studio_efs_security_group_ids]
}

run "kms_alias_instead_of_key_arn" {
  command = plan
  variables {
    kms_key_arn = "alias/my-key"
  }
  expect_failures = [var.kms_key_arn]
}

run "kms_key_of_another_region" {
  command = plan
  variables {
    kms_key_arn = "arn:aws:kms:eu-west-1:123456789012:key/11111111-2222-3333-4444-555555555555"
  }
  expect_failures = [terraform_data.input_checks]
}

run "package_not_a_zip" {
  command = plan
  variables {
    lambda_package_path = "lambda_src/src"
  }
  expect_failures = [var.lambda_package_path]
}

run "invalid_layer_arn" {
  command = plan
  variables {
    powertools_layer_arn = "AWSLambdaPowertoolsPythonV3"
  }
  expect_failures = [var.powertools_layer_arn]
}

run "layer_of_another_region" {
  command = plan
  variables {
    powertools_layer_arn = "arn:aws:lambda:eu-west-1:017000801446:layer:AWSLambdaPowertoolsPythonV3-python312-x86_64:27"
  }
  expect_failures = [terraform_data.input_checks]
}

run "unsupported_runtime" {
  command = plan
  variables {
    lambda_runtime = "python3.9"
  }
  expect_failures = [var.lambda_runtime]
}

run "memory_too_small" {
  command = plan
  variables {
    lambda_memory_size = 64
  }
  expect_failures = [var.lambda_memory_size]
}

run "invalid_log_level" {
  command = plan
  variables {
    log_level = "VERBOSE"
  }
  expect_failures = [var.log_level]
}

run "invalid_log_retention" {
  command = plan
  variables {
    log_retention_days = 100
  }
  expect_failures = [var.log_retention_days]
}

run "invalid_alarm_email" {
  command = plan
  variables {
    alarm_email = "ml-platform"
  }
  expect_failures = [var.alarm_email]
}

run "zero_concurrent_restores" {
  command = plan
  variables {
    max_concurrent_restores = 0
  }
  expect_failures = [var.max_concurrent_restores]
}

run "too_many_concurrent_restores" {
  command = plan
  variables {
    max_concurrent_restores = 91
  }
  expect_failures = [var.max_concurrent_restores]
}

run "negative_name_reuse_window" {
  command = plan
  variables {
    name_reuse_window_days = -1
  }
  expect_failures = [var.name_reuse_window_days]
}

run "transfer_timeout_too_short" {
  command = plan
  variables {
    transfer_timeout_seconds = 60
  }
  expect_failures = [var.transfer_timeout_seconds]
}

run "poll_interval_too_short" {
  command = plan
  variables {
    poll_interval_seconds = 1
  }
  expect_failures = [var.poll_interval_seconds]
}

run "slot_wait_timeout_too_short" {
  command = plan
  variables {
    slot_wait_timeout_seconds = 10
  }
  expect_failures = [var.slot_wait_timeout_seconds]
}

run "poll_interval_not_below_transfer_timeout" {
  command = plan
  variables {
    poll_interval_seconds    = 900
    transfer_timeout_seconds = 600
  }
  expect_failures = [terraform_data.input_checks]
}

run "invalid_home_gid" {
  command = plan
  variables {
    home_gid = 1.5
  }
  expect_failures = [var.home_gid]
}

run "invalid_trail_expiration" {
  command = plan
  variables {
    trail_log_expiration_days = 0
  }
  expect_failures = [var.trail_log_expiration_days]
}
