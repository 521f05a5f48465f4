# Backups of Studio spaces' EBS homes (modules/space_backup): the lifecycle configurations,
# the script they run, the agent object, the execution-role policy, and the root
# `space_backups` input.

mock_provider "aws" {
  source          = "./tests/tf_fixtures/mocks"
  override_during = plan
}

variables {
  # modules/space_backup
  name_prefix           = "sr-test"
  bucket_name           = "sr-test-backups-123456789012-us-east-1"
  bucket_arn            = "arn:aws:s3:::sr-test-backups-123456789012-us-east-1"
  kms_key_arn           = "arn:aws:kms:us-east-1:123456789012:key/11111111-2222-3333-4444-555555555555"
  execution_role_names  = ["studio-exec-a", "studio-exec-b"]
  registry_table_name   = "sr-test-registry"
  registry_table_arn    = "arn:aws:dynamodb:us-east-1:123456789012:table/sr-test-registry"
  dead_letter_queue_arn = "arn:aws:sqs:us-east-1:123456789012:sr-test-stream-failures"
  lambda = {
    package_path     = "build/lambda.zip"
    source_code_hash = "bW9jaw=="
    runtime          = "python3.12"
    memory_size      = 256
    layer_arns       = []
    log_level        = "INFO"
  }

  # root
  vpc_id              = "vpc-0123456789abcdef0"
  datasync_subnet_ids = ["subnet-0123456789abcdef0"]
  lambda_package_path = "build/lambda.zip"
}

run "one_lifecycle_configuration_per_app_type" {
  command = plan

  module {
    source = "./modules/space_backup"
  }

  assert {
    condition = (
      aws_sagemaker_studio_lifecycle_config.this["JupyterLab"].studio_lifecycle_config_app_type == "JupyterLab" &&
      aws_sagemaker_studio_lifecycle_config.this["JupyterLab"].studio_lifecycle_config_name == "sr-test-space-backup-jupyterlab" &&
      aws_sagemaker_studio_lifecycle_config.this["CodeEditor"].studio_lifecycle_config_app_type == "CodeEditor" &&
      aws_sagemaker_studio_lifecycle_config.this["CodeEditor"].studio_lifecycle_config_name == "sr-test-space-backup-codeeditor" &&
      length(aws_sagemaker_studio_lifecycle_config.this) == 2
    )
    error_message = "A JupyterLab and a CodeEditor lifecycle configuration, named for name_prefix."
  }

  assert {
    condition = alltrue([
      for config in aws_sagemaker_studio_lifecycle_config.this :
      length(base64decode(config.studio_lifecycle_config_content)) <= 16384
    ])
    error_message = "Studio refuses a lifecycle script over 16,384 characters."
  }

  assert {
    condition = alltrue([
      for config in aws_sagemaker_studio_lifecycle_config.this : (
        strcontains(base64decode(config.studio_lifecycle_config_content), "STUDIO_RECOVERY_BUCKET='sr-test-backups-123456789012-us-east-1'") &&
        strcontains(base64decode(config.studio_lifecycle_config_content), "STUDIO_RECOVERY_INTERVAL_SECONDS='3600'") &&
        strcontains(base64decode(config.studio_lifecycle_config_content), filesha256("modules/space_backup/agent/space_agent.py")) &&
        strcontains(base64decode(config.studio_lifecycle_config_content), "STUDIO_RECOVERY_EXCLUDE='[\".cache\",") &&
        strcontains(base64decode(config.studio_lifecycle_config_content), "nohup python3")
      )
    ])
    error_message = "The script names the bucket, the interval, the agent's SHA-256 and the exclusions, and starts the agent in the background."
  }

  assert {
    condition     = aws_s3_object.agent.key == "agent/space_agent-${substr(filesha256("modules/space_backup/agent/space_agent.py"), 0, 16)}.py" && aws_s3_object.agent.bucket == "sr-test-backups-123456789012-us-east-1"
    error_message = "The agent is stored in the backup bucket under a key named for its content."
  }
}

run "inputs_reach_the_script" {
  command = plan

  module {
    source = "./modules/space_backup"
  }

  variables {
    interval_minutes = 15
    exclude          = ["big-data", "models/*.bin"]
  }

  assert {
    condition = (
      strcontains(base64decode(aws_sagemaker_studio_lifecycle_config.this["JupyterLab"].studio_lifecycle_config_content), "STUDIO_RECOVERY_INTERVAL_SECONDS='900'") &&
      strcontains(base64decode(aws_sagemaker_studio_lifecycle_config.this["JupyterLab"].studio_lifecycle_config_content), "STUDIO_RECOVERY_EXCLUDE='[\"big-data\",\"models/*.bin\"]'")
    )
    error_message = "interval_minutes and exclude reach the script."
  }
}

run "a_session_reaches_only_its_own_owner_prefix" {
  command = plan

  module {
    source = "./modules/space_backup"
  }

  assert {
    condition = (
      one([for s in data.aws_iam_policy_document.space.statement : s if s.sid == "ReadWriteOwnPrivateSpaceBackups"]).resources ==
      toset(["arn:aws:s3:::sr-test-backups-123456789012-us-east-1/spaces/private/$${aws:SourceIdentity}/*"])
    )
    error_message = "Private space backups: the owner segment is the session's source identity, nothing wider."
  }

  assert {
    condition = (
      [for c in one([for s in data.aws_iam_policy_document.space.statement : s if s.sid == "ListOwnSpaceBackups"]).condition : [c.test, c.variable, toset(c.values)]] ==
      [["StringLike", "s3:prefix", toset(["spaces/private/$${aws:SourceIdentity}/*", "spaces/shared/*"])]]
    )
    error_message = "Listing is limited to the own owner prefix and shared spaces."
  }

  assert {
    condition = alltrue(flatten([
      for s in data.aws_iam_policy_document.space.statement : [
        for action in s.actions : !contains(["s3:*", "s3:DeleteObjectVersion", "s3:PutBucketPolicy", "s3:PutLifecycleConfiguration"], action)
      ]
    ]))
    error_message = "A space can never delete a version (its history) or change the bucket."
  }

  assert {
    condition     = alltrue([for s in data.aws_iam_policy_document.space.statement : s.sid != null && s.sid != ""])
    error_message = "Every statement has a sid."
  }

  assert {
    condition     = toset([for a in aws_iam_role_policy_attachment.space : a.role]) == toset(["studio-exec-a", "studio-exec-b"])
    error_message = "The policy is attached to every execution role given."
  }
}

run "restore_reports_reach_the_registry_through_eventbridge" {
  command = plan

  module {
    source = "./modules/space_backup"
  }

  assert {
    condition = jsondecode(aws_cloudwatch_event_rule.reports.event_pattern) == {
      source      = ["aws.s3"]
      detail-type = ["Object Created"]
      detail = {
        bucket = { name = ["sr-test-backups-123456789012-us-east-1"] }
        object = { key = [{ wildcard = "spaces/*/restores/*.json" }] }
      }
    }
    error_message = "The rule matches only restore reports of the backup bucket."
  }

  assert {
    condition     = aws_cloudwatch_event_target.reports.dead_letter_config[0].arn == "arn:aws:sqs:us-east-1:123456789012:sr-test-stream-failures"
    error_message = "Undeliverable report events go to the failure queue."
  }

  assert {
    condition = (
      one([for s in data.aws_iam_policy_document.report_function.statement : s if s.sid == "ReadSpaceRestoreReports"]).resources ==
      toset(["arn:aws:s3:::sr-test-backups-123456789012-us-east-1/spaces/*/restores/*.json"])
    )
    error_message = "The function reads restore reports and nothing else of the bucket."
  }
}

run "root_space_backups_send_bucket_events_to_eventbridge" {
  command = plan

  variables {
    space_backups = { enabled = true }
  }

  assert {
    condition     = length(module.backup[0].eventbridge_notification) == 1
    error_message = "With space_backups the backup bucket sends its object events to EventBridge."
  }
}

run "exclude_refuses_paths_leaving_the_home" {
  command = plan

  module {
    source = "./modules/space_backup"
  }

  variables {
    exclude = ["../etc"]
  }

  expect_failures = [var.exclude]
}

run "interval_out_of_range" {
  command = plan

  module {
    source = "./modules/space_backup"
  }

  variables {
    interval_minutes = 0
  }

  expect_failures = [var.interval_minutes]
}

run "role_arns_are_refused" {
  command = plan

  module {
    source = "./modules/space_backup"
  }

  variables {
    execution_role_names = ["arn:aws:iam::123456789012:role/x"]
  }

  expect_failures = [var.execution_role_names]
}

run "root_space_backups_off_by_default" {
  command = plan

  assert {
    condition     = length(module.space_backup) == 0 && output.space_backup_lifecycle_config_arns == null
    error_message = "space_backups is off unless enabled."
  }
}

run "root_space_backups_on" {
  command = plan

  variables {
    space_backups = {
      enabled              = true
      execution_role_names = ["studio-exec"]
      interval_minutes     = 30
    }
  }

  assert {
    condition     = length(module.space_backup) == 1
    error_message = "space_backups.enabled creates modules/space_backup."
  }
}

run "root_space_backups_need_the_bucket" {
  command = plan

  variables {
    backups       = { enabled = false }
    space_backups = { enabled = true }
  }

  expect_failures = [terraform_data.input_checks]
}

run "root_space_backups_exclude_is_validated" {
  command = plan

  variables {
    space_backups = { enabled = true, exclude = ["/abs"] }
  }

  expect_failures = [var.space_backups]
}

run "no_attach_function_without_domains" {
  command = plan

  module {
    source = "./modules/space_backup"
  }

  assert {
    condition     = length(module.attach_function) == 0 && length(aws_lambda_invocation.attach) == 0 && output.attach_result == null
    error_message = "Without attach_to_domain_ids nothing is attached (attach by hand)."
  }
}

run "attach_to_the_domains_given" {
  command = plan

  module {
    source = "./modules/space_backup"
  }

  variables {
    attach_to_domain_ids = ["d-abc123", "d-def456"]
  }

  assert {
    condition     = aws_lambda_invocation.attach[0].lifecycle_scope == "CRUD"
    error_message = "The invocation runs on create, update and destroy (destroy detaches)."
  }

  assert {
    condition = (
      jsondecode(aws_lambda_invocation.attach[0].input).domain_ids == ["d-abc123", "d-def456"] &&
      keys(jsondecode(aws_lambda_invocation.attach[0].input).lifecycle_config_arns) == ["CodeEditor", "JupyterLab"]
    )
    error_message = "The function is given the domains and both lifecycle configurations."
  }

  assert {
    condition     = module.attach_function[0].function_name == "sr-test-space-attach"
    error_message = "The function is named <name_prefix>-space-attach."
  }

  assert {
    condition = (
      length(data.aws_iam_policy_document.attach_function[0].statement) == 1 &&
      one(data.aws_iam_policy_document.attach_function[0].statement).sid == "UpdateGivenDomains" &&
      toset(one(data.aws_iam_policy_document.attach_function[0].statement).actions) == toset(["sagemaker:DescribeDomain", "sagemaker:UpdateDomain"]) &&
      one(data.aws_iam_policy_document.attach_function[0].statement).resources == toset([
        "arn:aws:sagemaker:us-east-1:123456789012:domain/d-abc123",
        "arn:aws:sagemaker:us-east-1:123456789012:domain/d-def456",
      ])
    )
    error_message = "The function may describe and update the given domains only."
  }
}

run "attach_domain_ids_are_validated" {
  command = plan

  module {
    source = "./modules/space_backup"
  }

  variables {
    attach_to_domain_ids = ["arn:aws:sagemaker:us-east-1:123456789012:domain/d-abc123"]
  }

  expect_failures = [var.attach_to_domain_ids]
}

run "root_space_backups_attach_to_domain_ids_are_validated" {
  command = plan

  variables {
    space_backups = { enabled = true, attach_to_domain_ids = ["my-domain"] }
  }

  expect_failures = [var.space_backups]
}

run "root_space_backups_attach_to_domains" {
  command = plan

  variables {
    space_backups = { enabled = true, attach_to_domain_ids = ["d-abc123"] }
  }

  assert {
    condition     = length(module.space_backup) == 1 && output.space_backup_attach_result != null
    error_message = "space_backups.attach_to_domain_ids reaches modules/space_backup."
  }
}
