# Backups to S3: the bucket, DataSync's role, the backup function and its schedule
# (modules/backup), what the workflow does with them (modules/workflow: grants, variables,
# the deletion stream filter, the failure queue), and the root `backups` input.

mock_provider "aws" {
  source          = "./tests/tf_fixtures/mocks"
  override_during = plan
}

variables {
  # modules/backup and modules/workflow
  name_prefix = "sr-test"
  kms_key_arn = "arn:aws:kms:us-east-1:123456789012:key/11111111-2222-3333-4444-555555555555"

  registry_table_name = "sr-test-registry"
  registry_table_arn  = "arn:aws:dynamodb:us-east-1:123456789012:table/sr-test-registry"
  lambda = {
    package_path     = "build/lambda.zip"
    source_code_hash = "bW9jaw=="
    runtime          = "python3.12"
    memory_size      = 256
    layer_arns       = []
    log_level        = "INFO"
  }

  # modules/backup
  state_machine_arn = "arn:aws:states:us-east-1:123456789012:stateMachine:sr-test-restore"
  failure_queue_arn = "arn:aws:sqs:us-east-1:123456789012:sr-test-stream-failures"

  # modules/workflow
  registry_stream_arn    = "arn:aws:dynamodb:us-east-1:123456789012:table/sr-test-registry/stream/2026-11-28T00:00:00.000"
  notification_topic_arn = "arn:aws:sns:us-east-1:123456789012:sr-test-notifications"
  vpc_id                 = "vpc-0123456789abcdef0"
  datasync_subnet_ids    = ["subnet-0123456789abcdef0", "subnet-0123456789abcdef1"]
  backup = {
    enabled                = true
    bucket_name            = "sr-test-backups-123456789012-us-east-1"
    bucket_arn             = "arn:aws:s3:::sr-test-backups-123456789012-us-east-1"
    bucket_access_role_arn = "arn:aws:iam::123456789012:role/sr-test-datasync-s3"
    schedule_rule_arn      = "arn:aws:events:us-east-1:123456789012:rule/sr-test-backup"
  }

  # the root module
  lambda_package_path = "build/lambda.zip"
}

################################################################################
# modules/backup
################################################################################

run "bucket_is_versioned_encrypted_and_private" {
  command = plan

  module {
    source = "./modules/backup"
  }

  assert {
    condition     = aws_s3_bucket.this.bucket == "sr-test-backups-123456789012-us-east-1" && output.bucket_name == aws_s3_bucket.this.bucket
    error_message = "The bucket is named <name_prefix>-backups-<account>-<region>."
  }

  assert {
    condition     = aws_s3_bucket.this.force_destroy == false
    error_message = "force_destroy defaults to false: a destroy must not delete the backups."
  }

  assert {
    condition     = aws_s3_bucket_versioning.this.versioning_configuration[0].status == "Enabled"
    error_message = "The bucket is versioned: a removed file is a delete marker, its last version stays."
  }

  assert {
    condition = alltrue([
      for rule in aws_s3_bucket_server_side_encryption_configuration.this.rule :
      rule.bucket_key_enabled && one(rule.apply_server_side_encryption_by_default).sse_algorithm == "aws:kms" && one(rule.apply_server_side_encryption_by_default).kms_master_key_id == var.kms_key_arn
    ]) && length(aws_s3_bucket_server_side_encryption_configuration.this.rule) == 1
    error_message = "Objects are encrypted with the module's key (SSE-KMS, Bucket Key)."
  }

  assert {
    condition = (
      aws_s3_bucket_public_access_block.this.block_public_acls && aws_s3_bucket_public_access_block.this.block_public_policy &&
      aws_s3_bucket_public_access_block.this.ignore_public_acls && aws_s3_bucket_public_access_block.this.restrict_public_buckets
    )
    error_message = "Every public access block setting is on."
  }

  assert {
    condition     = aws_s3_bucket_ownership_controls.this.rule[0].object_ownership == "BucketOwnerEnforced"
    error_message = "ACLs are disabled (BucketOwnerEnforced)."
  }
}

run "lifecycle_keeps_versions_for_the_retention_and_expires_staging" {
  command = plan

  module {
    source = "./modules/backup"
  }

  assert {
    condition = (
      one([for rule in aws_s3_bucket_lifecycle_configuration.this.rule : rule if rule.id == "homes"]).filter[0].prefix == "homes/" &&
      one([for rule in aws_s3_bucket_lifecycle_configuration.this.rule : rule if rule.id == "homes"]).status == "Enabled"
    )
    error_message = "One enabled rule covers homes/."
  }

  assert {
    condition = [
      for transition in one([for rule in aws_s3_bucket_lifecycle_configuration.this.rule : rule if rule.id == "homes"]).transition :
      [transition.days, transition.storage_class]
    ] == [[30, "STANDARD_IA"]]
    error_message = "Current versions under homes/ move to STANDARD_IA after 30 days by default."
  }

  assert {
    condition     = one([for rule in aws_s3_bucket_lifecycle_configuration.this.rule : rule if rule.id == "homes"]).noncurrent_version_expiration[0].noncurrent_days == 35
    error_message = "Earlier versions under homes/ are kept 35 days by default."
  }

  assert {
    condition     = one([for rule in aws_s3_bucket_lifecycle_configuration.this.rule : rule if rule.id == "homes"]).expiration[0].expired_object_delete_marker == true
    error_message = "Delete markers with no version left behind them are removed."
  }

  assert {
    condition = (
      one([for rule in aws_s3_bucket_lifecycle_configuration.this.rule : rule if rule.id == "spaces"]).filter[0].prefix == "spaces/" &&
      one([for rule in aws_s3_bucket_lifecycle_configuration.this.rule : rule if rule.id == "spaces"]).noncurrent_version_expiration[0].noncurrent_days == 35 &&
      one([for rule in aws_s3_bucket_lifecycle_configuration.this.rule : rule if rule.id == "spaces"]).expiration[0].expired_object_delete_marker == true
    )
    error_message = "Studio spaces' backups (spaces/) keep earlier versions as long as homes/."
  }

  assert {
    condition = (
      one([for rule in aws_s3_bucket_lifecycle_configuration.this.rule : rule if rule.id == "staging"]).filter[0].prefix == "staging/" &&
      one([for rule in aws_s3_bucket_lifecycle_configuration.this.rule : rule if rule.id == "staging"]).expiration[0].days == 1 &&
      one([for rule in aws_s3_bucket_lifecycle_configuration.this.rule : rule if rule.id == "staging"]).noncurrent_version_expiration[0].noncurrent_days == 1 &&
      one([for rule in aws_s3_bucket_lifecycle_configuration.this.rule : rule if rule.id == "staging-delete-markers"]).filter[0].prefix == "staging/" &&
      one([for rule in aws_s3_bucket_lifecycle_configuration.this.rule : rule if rule.id == "staging-delete-markers"]).expiration[0].expired_object_delete_marker == true
    )
    error_message = "Staged copies a failed restore left behind expire after a day, versions and delete markers included."
  }

  assert {
    condition = anytrue([
      for rule in aws_s3_bucket_lifecycle_configuration.this.rule :
      rule.status == "Enabled" && [for abort in rule.abort_incomplete_multipart_upload : abort.days_after_initiation] == [7]
    ])
    error_message = "Incomplete multipart uploads are aborted after 7 days."
  }
}

run "lifecycle_follows_the_inputs" {
  command = plan

  module {
    source = "./modules/backup"
  }

  variables {
    retention_days  = 90
    transition_days = 0
    storage_class   = "INTELLIGENT_TIERING"
    force_destroy   = true
  }

  assert {
    condition = (
      one([for rule in aws_s3_bucket_lifecycle_configuration.this.rule : rule if rule.id == "homes"]).noncurrent_version_expiration[0].noncurrent_days == 90 &&
      one(one([for rule in aws_s3_bucket_lifecycle_configuration.this.rule : rule if rule.id == "homes"]).transition).storage_class == "INTELLIGENT_TIERING" &&
      one(one([for rule in aws_s3_bucket_lifecycle_configuration.this.rule : rule if rule.id == "homes"]).transition).days == 0
    )
    error_message = "retention_days, transition_days and storage_class reach the homes/ rule."
  }

  assert {
    condition     = aws_s3_bucket.this.force_destroy
    error_message = "force_destroy = true reaches the bucket."
  }
}

run "standard_storage_class_means_no_transition" {
  command = plan

  module {
    source = "./modules/backup"
  }

  variables {
    storage_class = "STANDARD"
  }

  assert {
    condition     = length(one([for rule in aws_s3_bucket_lifecycle_configuration.this.rule : rule if rule.id == "homes"]).transition) == 0
    error_message = "storage_class = STANDARD plans no transition."
  }
}

run "infrequent_access_needs_30_days" {
  command = plan

  module {
    source = "./modules/backup"
  }

  variables {
    storage_class   = "ONEZONE_IA"
    transition_days = 7
  }

  expect_failures = [aws_s3_bucket_lifecycle_configuration.this]
}

run "archive_classes_are_refused" {
  command = plan

  module {
    source = "./modules/backup"
  }

  variables {
    storage_class = "DEEP_ARCHIVE"
  }

  expect_failures = [var.storage_class]
}

run "bucket_policy_denies_insecure_transport_and_other_keys" {
  command = plan

  module {
    source = "./modules/backup"
  }

  override_resource {
    target          = aws_s3_bucket.this
    override_during = plan
    values = {
      arn = "arn:aws:s3:::sr-test-backups-123456789012-us-east-1"
    }
  }

  assert {
    condition = anytrue([
      for statement in data.aws_iam_policy_document.bucket.statement :
      statement.effect == "Deny" && contains(tolist(statement.actions), "s3:*") &&
      toset(statement.resources) == toset(["arn:aws:s3:::sr-test-backups-123456789012-us-east-1", "arn:aws:s3:::sr-test-backups-123456789012-us-east-1/*"]) &&
      anytrue([for condition in statement.condition : condition.test == "Bool" && condition.variable == "aws:SecureTransport" && toset(condition.values) == toset(["false"])]) &&
      anytrue([for principal in statement.principals : principal.type == "*" && contains(tolist(principal.identifiers), "*")])
    ])
    error_message = "The bucket policy denies every request not made over TLS, to the bucket and its objects."
  }

  assert {
    condition = anytrue([
      for statement in data.aws_iam_policy_document.bucket.statement :
      statement.effect == "Deny" && toset(statement.actions) == toset(["s3:PutObject"]) &&
      anytrue([for condition in statement.condition : condition.test == "StringNotEquals" && condition.variable == "s3:x-amz-server-side-encryption-aws-kms-key-id" && toset(condition.values) == toset([var.kms_key_arn])]) &&
      anytrue([for condition in statement.condition : condition.test == "Null" && condition.variable == "s3:x-amz-server-side-encryption-aws-kms-key-id" && toset(condition.values) == toset(["false"])])
    ])
    error_message = "The bucket policy refuses uploads that ask for another KMS key (and only those: a plain upload gets the default key)."
  }

  assert {
    condition     = alltrue([for statement in data.aws_iam_policy_document.bucket.statement : statement.effect == "Deny"])
    error_message = "The bucket policy only denies: access is granted by IAM policies of this account."
  }
}

run "datasync_role_is_named_for_the_bucket" {
  command = plan

  module {
    source = "./modules/backup"
  }

  # Its trust (DataSync of this account and region only) is modules/datasync_role's,
  # tested in tests/shared_modules.tftest.hcl.
  assert {
    condition     = module.access_role.role_name == "sr-test-datasync-s3" && output.access_role_name == "sr-test-datasync-s3"
    error_message = "The role is named <name_prefix>-datasync-s3."
  }
}

run "datasync_role_reaches_only_this_bucket" {
  command = plan

  module {
    source = "./modules/backup"
  }

  override_resource {
    target          = aws_s3_bucket.this
    override_during = plan
    values = {
      arn = "arn:aws:s3:::sr-test-backups-123456789012-us-east-1"
    }
  }

  assert {
    condition = one([for statement in data.aws_iam_policy_document.access.statement : statement if statement.sid == "ListBackupBucket"]).resources == toset(["arn:aws:s3:::sr-test-backups-123456789012-us-east-1"]) && one([for statement in data.aws_iam_policy_document.access.statement : statement if statement.sid == "ListBackupBucket"]).actions == toset([
      "s3:GetBucketLocation", "s3:ListBucket", "s3:ListBucketMultipartUploads", "s3:ListBucketVersions",
    ])
    error_message = "Bucket-level reads name this bucket only."
  }

  assert {
    condition = one([for statement in data.aws_iam_policy_document.access.statement : statement if statement.sid == "ReadWriteHomeBackups"]).resources == toset(["arn:aws:s3:::sr-test-backups-123456789012-us-east-1/homes/*"]) && one([for statement in data.aws_iam_policy_document.access.statement : statement if statement.sid == "ReadWriteHomeBackups"]).actions == toset([
      "s3:GetObject", "s3:GetObjectVersion", "s3:GetObjectTagging", "s3:GetObjectVersionTagging", "s3:PutObject",
      "s3:PutObjectTagging", "s3:DeleteObject", "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts",
    ])
    error_message = "DataSync reads and writes objects under homes/ only."
  }

  assert {
    condition = one([for statement in data.aws_iam_policy_document.access.statement : statement if statement.sid == "ReadRestoreStaging"]).resources == toset(["arn:aws:s3:::sr-test-backups-123456789012-us-east-1/staging/*"]) && one([for statement in data.aws_iam_policy_document.access.statement : statement if statement.sid == "ReadRestoreStaging"]).actions == toset([
      "s3:GetObject", "s3:GetObjectTagging",
    ])
    error_message = "DataSync only reads under staging/."
  }

  assert {
    condition     = one([for statement in data.aws_iam_policy_document.access.statement : statement if statement.sid == "UseBucketKey"]).resources == toset([var.kms_key_arn]) && anytrue([for condition in one([for statement in data.aws_iam_policy_document.access.statement : statement if statement.sid == "UseBucketKey"]).condition : condition.variable == "kms:ViaService" && toset(condition.values) == toset(["s3.us-east-1.amazonaws.com"])])
    error_message = "DataSync may use the module's key only through S3."
  }

  assert {
    condition     = alltrue([for statement in data.aws_iam_policy_document.access.statement : !contains(tolist(statement.resources), "*") && alltrue([for action in statement.actions : !endswith(action, "*")])])
    error_message = "No wildcard resource or action in the bucket access role."
  }
}

run "backup_function_and_schedule" {
  command = plan

  module {
    source = "./modules/backup"
  }

  override_resource {
    target          = aws_cloudwatch_event_rule.schedule
    override_during = plan
    values = {
      arn = "arn:aws:events:us-east-1:123456789012:rule/sr-test-backup"
    }
  }

  assert {
    condition = (
      module.function.function_name == "sr-test-backup" &&
      local.function.handler == "studio_recovery.handlers.backup.handler" &&
      local.function.timeout == 300 &&
      output.backup_function_name == "sr-test-backup"
    )
    error_message = "The backup function follows docs/internals.md (name, handler) with a 300 s timeout."
  }

  assert {
    condition = (
      module.function.function_environment["STATE_MACHINE_ARN"] == "arn:aws:states:us-east-1:123456789012:stateMachine:sr-test-restore" &&
      module.function.function_environment["BACKUP_BUCKET_NAME"] == "sr-test-backups-123456789012-us-east-1" &&
      module.function.function_environment["REGISTRY_TABLE_NAME"] == var.registry_table_name &&
      module.function.function_environment["POWERTOOLS_SERVICE_NAME"] == "studio-recovery"
    )
    error_message = "The backup function gets STATE_MACHINE_ARN, BACKUP_BUCKET_NAME and the common variables."
  }

  assert {
    condition     = aws_cloudwatch_event_rule.schedule.schedule_expression == "rate(1 day)" && aws_cloudwatch_event_target.schedule.arn == module.function.function_arn
    error_message = "A daily schedule rule targets the backup function by default."
  }

  assert {
    condition     = aws_cloudwatch_event_target.schedule.dead_letter_config[0].arn == var.failure_queue_arn && aws_cloudwatch_event_target.schedule.retry_policy[0].maximum_retry_attempts > 0
    error_message = "The schedule target retries and keeps undelivered events in the failure queue."
  }

  assert {
    condition = (
      aws_lambda_permission.schedule.principal == "events.amazonaws.com" &&
      aws_lambda_permission.schedule.source_arn == "arn:aws:events:us-east-1:123456789012:rule/sr-test-backup" &&
      aws_lambda_permission.schedule.function_name == "sr-test-backup" &&
      output.schedule_rule_arn == "arn:aws:events:us-east-1:123456789012:rule/sr-test-backup"
    )
    error_message = "Only the schedule rule may invoke the backup function."
  }
}

run "schedule_follows_the_input" {
  command = plan

  module {
    source = "./modules/backup"
  }

  variables {
    schedule_expression = "cron(0 2 * * ? *)"
  }

  assert {
    condition     = aws_cloudwatch_event_rule.schedule.schedule_expression == "cron(0 2 * * ? *)"
    error_message = "schedule_expression reaches the rule."
  }
}

run "backup_module_refuses_a_bad_schedule" {
  command = plan

  module {
    source = "./modules/backup"
  }

  variables {
    schedule_expression = "every day"
  }

  expect_failures = [var.schedule_expression]
}

run "backup_function_policy_is_scoped" {
  command = plan

  module {
    source = "./modules/backup"
  }

  # Its logs, traces, registry, failure queue and key grants are modules/lambda_function's
  # (tests/shared_modules.tftest.hcl); its own statement starts executions.
  assert {
    condition     = toset([for statement in data.aws_iam_policy_document.function.statement : statement.sid]) == toset(["StartBackups"])
    error_message = "The backup function starts executions; nothing else beyond its base policy."
  }

  assert {
    condition     = one([for statement in data.aws_iam_policy_document.function.statement : statement.resources if statement.sid == "StartBackups"]) == toset(["arn:aws:states:us-east-1:123456789012:stateMachine:sr-test-restore"])
    error_message = "The backup function may start executions of this module's state machine only."
  }

  assert {
    condition     = module.function.role_name == "sr-test-backup" && module.function.log_group_name == "/aws/lambda/sr-test-backup"
    error_message = "The backup function has its own role and log group."
  }
}

################################################################################
# modules/workflow with backups on and off
################################################################################

run "workflow_learns_the_bucket_and_the_schedule" {
  command = plan

  module {
    source = "./modules/workflow"
  }

  assert {
    condition = (
      module.function["stream"].function_environment["BACKUP_BUCKET_NAME"] == var.backup.bucket_name &&
      module.function["prepare"].function_environment["BACKUP_BUCKET_NAME"] == var.backup.bucket_name &&
      module.function["prepare"].function_environment["BACKUP_BUCKET_ACCESS_ROLE_ARN"] == var.backup.bucket_access_role_arn
    )
    error_message = "stream and prepare learn the bucket (and prepare DataSync's role for it)."
  }

  assert {
    condition     = contains(local.failure_queue_senders, "arn:aws:events:us-east-1:123456789012:rule/sr-test-backup") && length(local.failure_queue_senders) == 2
    error_message = "The failure queue accepts undelivered events of the schedule rule (and of the execution-ended rule)."
  }

  assert {
    condition     = toset(keys(module.function)) == toset(["stream", "prepare", "finalize"])
    error_message = "The backup function is modules/backup's, not the workflow's."
  }
}

run "stream_filter_passes_deleted_generations" {
  command = plan

  module {
    source = "./modules/workflow"
  }

  assert {
    condition     = length(one(aws_lambda_event_source_mapping.stream.filter_criteria).filter) == 3
    error_message = "With backups on, the stream filter has a third pattern."
  }

  assert {
    condition = contains([for filter in one(aws_lambda_event_source_mapping.stream.filter_criteria).filter : jsondecode(filter.pattern)], {
      dynamodb = {
        Keys     = { sk = { S = [{ prefix = "GEN#" }] } }
        OldImage = { sk = { S = [{ exists = true }] } }
        NewImage = { deleted_at = { S = [{ exists = true }] } }
      }
    })
    error_message = "The third pattern passes changes (an old image exists) of GEN# items whose new image has deleted_at."
  }

  assert {
    condition     = alltrue([for filter in one(aws_lambda_event_source_mapping.stream.filter_criteria).filter : keys(jsondecode(filter.pattern)) == ["dynamodb"]])
    error_message = "Every stream filter pattern filters on the dynamodb key only, the form the Lambda guide documents for DynamoDB streams."
  }
}

run "prepare_may_create_s3_locations_and_stage_older_backups" {
  command = plan

  module {
    source = "./modules/workflow"
  }

  assert {
    condition = anytrue([
      for statement in data.aws_iam_policy_document.prepare.statement :
      contains(tolist(statement.actions), "datasync:CreateLocationS3") &&
      anytrue([for condition in statement.condition : condition.variable == "aws:RequestTag/managed-by" && toset(condition.values) == toset(["studio-recovery"])]) &&
      anytrue([for condition in statement.condition : condition.variable == "aws:RequestedRegion" && toset(condition.values) == toset(["us-east-1"])])
    ])
    error_message = "CreateLocationS3 is allowed only with the module's request tag, in this region, like CreateLocationEfs."
  }

  assert {
    condition = (
      one([for statement in data.aws_iam_policy_document.prepare.statement : statement.resources if statement.sid == "PassBackupAccessRoleToDataSync"]) == toset([var.backup.bucket_access_role_arn]) &&
      anytrue([for condition in one([for statement in data.aws_iam_policy_document.prepare.statement : statement if statement.sid == "PassBackupAccessRoleToDataSync"]).condition : condition.variable == "iam:PassedToService" && toset(condition.values) == toset(["datasync.amazonaws.com"])])
    )
    error_message = "prepare may pass the bucket access role, and only to DataSync."
  }

  assert {
    condition = (
      one([for statement in data.aws_iam_policy_document.prepare_backups[0].statement : statement.resources if statement.sid == "ListBackupVersions"]) == toset([var.backup.bucket_arn]) &&
      one([for statement in data.aws_iam_policy_document.prepare_backups[0].statement : statement.actions if statement.sid == "ListBackupVersions"]) == toset(["s3:ListBucketVersions"]) &&
      anytrue([for condition in one([for statement in data.aws_iam_policy_document.prepare_backups[0].statement : statement if statement.sid == "ListBackupVersions"]).condition : condition.variable == "s3:prefix" && toset(condition.values) == toset(["homes/*"])])
    )
    error_message = "prepare may list the versions under homes/ of the backup bucket only."
  }

  assert {
    condition = (
      one([for statement in data.aws_iam_policy_document.prepare_backups[0].statement : statement.resources if statement.sid == "WriteRestoreStaging"]) == toset(["${var.backup.bucket_arn}/staging/*"]) &&
      one([for statement in data.aws_iam_policy_document.prepare_backups[0].statement : statement.actions if statement.sid == "WriteRestoreStaging"]) == toset(["s3:PutObject", "s3:AbortMultipartUpload"]) &&
      one([for statement in data.aws_iam_policy_document.prepare_backups[0].statement : statement.resources if statement.sid == "ReadBackupVersions"]) == toset(["${var.backup.bucket_arn}/homes/*"]) &&
      one([for statement in data.aws_iam_policy_document.prepare_backups[0].statement : statement.actions if statement.sid == "ReadBackupVersions"]) == toset(["s3:GetObjectVersion"])
    )
    error_message = "prepare may read versions under homes/ and write objects under staging/ only."
  }

  assert {
    condition = (
      one([for statement in data.aws_iam_policy_document.cleanup_staging[0].statement : statement.resources if statement.sid == "DeleteRestoreStaging"]) == toset(["${var.backup.bucket_arn}/staging/*"]) &&
      one([for statement in data.aws_iam_policy_document.cleanup_staging[0].statement : statement.actions if statement.sid == "DeleteRestoreStaging"]) == toset(["s3:DeleteObjectVersion"]) &&
      anytrue([for condition in one([for statement in data.aws_iam_policy_document.cleanup_staging[0].statement : statement if statement.sid == "ListRestoreStaging"]).condition : condition.variable == "s3:prefix" && toset(condition.values) == toset(["staging/*"])])
    )
    error_message = "prepare and finalize may list and delete versions under staging/ only."
  }

  assert {
    condition     = anytrue([for statement in data.aws_iam_policy_document.cleanup.statement : statement.sid == "DeleteOwnDataSyncTasksAndLocations" && contains(tolist(statement.resources), "arn:aws:datasync:us-east-1:123456789012:location/*")])
    error_message = "S3 locations (location/loc-...) are deleted by the same tagged statement as EFS locations."
  }
}

run "backups_off_plan_no_backup_resources" {
  command = plan

  module {
    source = "./modules/workflow"
  }

  variables {
    backup = {}
  }

  assert {
    condition     = local.failure_queue_senders == [aws_cloudwatch_event_rule.execution_ended.arn]
    error_message = "With backups off only the execution-ended rule may send to the failure queue."
  }

  assert {
    condition = (
      module.function["stream"].function_environment["BACKUP_BUCKET_NAME"] == "" &&
      module.function["prepare"].function_environment["BACKUP_BUCKET_NAME"] == "" &&
      module.function["prepare"].function_environment["BACKUP_BUCKET_ACCESS_ROLE_ARN"] == ""
    )
    error_message = "With backups off the BACKUP_* variables are empty strings (\"not configured\")."
  }

  assert {
    condition     = length(one(aws_lambda_event_source_mapping.stream.filter_criteria).filter) == 2
    error_message = "With backups off the stream filter keeps its two patterns."
  }

  assert {
    condition = alltrue([
      for statement in data.aws_iam_policy_document.prepare.statement :
      !contains(tolist(statement.actions), "datasync:CreateLocationS3") && !contains(["PassBackupAccessRoleToDataSync", "ListBackupVersions", "WriteRestoreManifests"], statement.sid)
    ])
    error_message = "With backups off prepare gets no S3 permissions."
  }

  assert {
    condition     = length(data.aws_iam_policy_document.prepare_backups) == 0 && length(local.functions["prepare"].policy_jsons) == 2
    error_message = "With backups off prepare gets no backup statements."
  }
}

run "backups_on_need_the_bucket" {
  command = plan

  module {
    source = "./modules/workflow"
  }

  variables {
    backup = { enabled = true }
  }

  expect_failures = [var.backup]
}

################################################################################
# The root module's `backups` input
################################################################################

run "root_backs_up_by_default" {
  command = plan

  override_resource {
    target          = module.backup[0].aws_s3_bucket.this
    override_during = plan
    values = {
      arn = "arn:aws:s3:::sr-test-backups-123456789012-us-east-1"
    }
  }

  override_resource {
    target          = module.backup[0].module.access_role.aws_iam_role.this
    override_during = plan
    values = {
      arn = "arn:aws:iam::123456789012:role/sr-test-datasync-s3"
    }
  }

  assert {
    condition = (
      length(module.backup) == 1 &&
      output.backup_bucket_name == "sr-test-backups-123456789012-us-east-1" &&
      output.backup_bucket_arn == "arn:aws:s3:::sr-test-backups-123456789012-us-east-1" &&
      output.backup_function_name == "sr-test-backup"
    )
    error_message = "Backups are on by default: bucket, function and their outputs."
  }

  assert {
    condition     = contains(module.alarms.alarm_names, "sr-test-backup-errors")
    error_message = "The backup function reaches the alarms module: its errors alarm."
  }
}

run "root_backups_off" {
  command = plan

  variables {
    backups = { enabled = false }
  }

  assert {
    condition     = length(module.backup) == 0 && output.backup_bucket_name == null && output.backup_bucket_arn == null && output.backup_function_name == null
    error_message = "backups.enabled = false creates no bucket and no function; the outputs are null."
  }
}

run "root_invalid_schedule" {
  command = plan
  variables {
    backups = { schedule_expression = "daily" }
  }
  expect_failures = [var.backups]
}

run "root_invalid_retention" {
  command = plan
  variables {
    backups = { retention_days = 0 }
  }
  expect_failures = [var.backups]
}

run "root_archive_storage_class" {
  command = plan
  variables {
    backups = { storage_class = "GLACIER" }
  }
  expect_failures = [var.backups]
}

run "root_infrequent_access_too_soon" {
  command = plan
  variables {
    backups = { storage_class = "STANDARD_IA", transition_days = 10 }
  }
  expect_failures = [var.backups]
}
