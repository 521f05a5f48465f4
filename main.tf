data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}
data "aws_region" "current" {}

locals {
  account_id = data.aws_caller_identity.current.account_id
  partition  = data.aws_partition.current.partition
  region     = data.aws_region.current.name

  create_kms_key = var.kms_key_arn == null
  kms_key_arn    = local.create_kms_key ? aws_kms_key.this[0].arn : var.kms_key_arn

  # The official Powertools v3 layer of this region, for the chosen runtime.
  default_powertools_layer_arn = "arn:${local.partition}:lambda:${local.region}:017000801446:layer:AWSLambdaPowertoolsPythonV3-${replace(var.lambda_runtime, ".", "")}-x86_64:27"
  powertools_layer_arn         = var.powertools_layer_arn == null ? local.default_powertools_layer_arn : var.powertools_layer_arn

  lambda = {
    package_path     = var.lambda_package_path
    source_code_hash = filebase64sha256(var.lambda_package_path)
    runtime          = var.lambda_runtime
    memory_size      = var.lambda_memory_size
    layer_arns       = local.powertools_layer_arn == "" ? [] : [local.powertools_layer_arn]
    log_level        = var.log_level
  }

  # The transfer wait checks a running transfer ceil(transfer_timeout_seconds /
  # poll_interval_seconds) times, 11 history events each; with at most 1,500 checks an
  # execution writes at most 18,101 of Step Functions' 25,000 history events (the
  # arithmetic, and what the other 6,899 are kept for: docs/internals.md section 4).
  max_transfer_checks  = 1500
  transfer_checks      = ceil(var.transfer_timeout_seconds / var.poll_interval_seconds)
  min_poll_interval    = ceil(var.transfer_timeout_seconds / local.max_transfer_checks)
  max_transfer_timeout = var.poll_interval_seconds * local.max_transfer_checks
}

################################################################################
# Checks that span several inputs (a test can target them with expect_failures)
################################################################################

resource "terraform_data" "input_checks" {
  input = {
    poll_interval_seconds    = var.poll_interval_seconds
    transfer_timeout_seconds = var.transfer_timeout_seconds
    space_backups            = var.space_backups.enabled
  }

  lifecycle {
    precondition {
      condition     = var.poll_interval_seconds < var.transfer_timeout_seconds
      error_message = "poll_interval_seconds (${var.poll_interval_seconds}) must be smaller than transfer_timeout_seconds (${var.transfer_timeout_seconds}): lower the interval or raise the timeout."
    }
    precondition {
      condition     = local.transfer_checks <= local.max_transfer_checks
      error_message = "With transfer_timeout_seconds = ${var.transfer_timeout_seconds}, poll_interval_seconds must be at least ${local.min_poll_interval} (it is ${var.poll_interval_seconds}: ${local.transfer_checks} checks of a running transfer, more than the ${local.max_transfer_checks} that keep an execution under Step Functions' 25,000-event history limit), or lower transfer_timeout_seconds to at most ${local.max_transfer_timeout}. See docs/internals.md section 4."
    }
    precondition {
      condition     = !var.space_backups.enabled || var.backups.enabled
      error_message = "space_backups needs the backup bucket: set backups.enabled = true, or space_backups.enabled = false."
    }
    precondition {
      condition     = var.kms_key_arn == null || try(split(":", var.kms_key_arn)[3] == local.region && split(":", var.kms_key_arn)[4] == local.account_id, false)
      error_message = "kms_key_arn must be a key of this account (${local.account_id}) and region (${local.region}); set kms_key_arn = null to let the module create one."
    }
    precondition {
      condition     = local.powertools_layer_arn == "" || try(split(":", local.powertools_layer_arn)[3] == local.region, false)
      error_message = "powertools_layer_arn must be a layer of the deployment region (${local.region}); set it to null to use the official layer of this region."
    }
  }
}

################################################################################
# KMS key (only when none is given)
################################################################################

data "aws_iam_policy_document" "kms" {
  #checkov:skip=CKV_AWS_111:a key policy's "*" resource is the key itself; service statements are bounded by source account and encryption context
  #checkov:skip=CKV_AWS_356:a key policy's "*" resource is the key itself, nothing wider
  #checkov:skip=CKV_AWS_109:the account-root statement is the standard key administration grant; IAM policies in the account still decide who may use it
  count = local.create_kms_key ? 1 : 0

  statement {
    sid       = "AccountAdministration"
    actions   = ["kms:*"]
    resources = ["*"] # in a key policy "*" means this key
    principals {
      type        = "AWS"
      identifiers = ["arn:${local.partition}:iam::${local.account_id}:root"]
    }
  }

  statement {
    sid       = "CloudWatchLogsForModuleLogGroups"
    actions   = ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"]
    resources = ["*"] # in a key policy "*" means this key
    principals {
      type        = "Service"
      identifiers = ["logs.${local.region}.amazonaws.com"]
    }
    condition {
      test     = "ArnLike"
      variable = "kms:EncryptionContext:aws:logs:arn"
      values = [
        "arn:${local.partition}:logs:${local.region}:${local.account_id}:log-group:/aws/lambda/${var.name_prefix}-*",
        "arn:${local.partition}:logs:${local.region}:${local.account_id}:log-group:/aws/vendedlogs/states/${var.name_prefix}-*",
        "arn:${local.partition}:logs:${local.region}:${local.account_id}:log-group:/aws/datasync/${var.name_prefix}-*",
      ]
    }
  }

  statement {
    sid       = "EventBridgeToDeadLetterQueues"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
    resources = ["*"] # in a key policy "*" means this key
    principals {
      type        = "Service"
      identifiers = ["events.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }

  statement {
    sid       = "CloudWatchAlarmsToTopic"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
    resources = ["*"] # in a key policy "*" means this key
    principals {
      type        = "Service"
      identifiers = ["cloudwatch.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }

  statement {
    sid       = "CloudTrailEncryptLogs"
    actions   = ["kms:GenerateDataKey*"]
    resources = ["*"] # in a key policy "*" means this key
    principals {
      type        = "Service"
      identifiers = ["cloudtrail.amazonaws.com"]
    }
    condition {
      test     = "StringLike"
      variable = "kms:EncryptionContext:aws:cloudtrail:arn"
      values   = ["arn:${local.partition}:cloudtrail:*:${local.account_id}:trail/${var.name_prefix}-*"]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }

  statement {
    sid       = "CloudTrailDescribeKey"
    actions   = ["kms:DescribeKey"]
    resources = ["*"] # in a key policy "*" means this key
    principals {
      type        = "Service"
      identifiers = ["cloudtrail.amazonaws.com"]
    }
  }
}

resource "aws_kms_key" "this" {
  count = local.create_kms_key ? 1 : 0

  description             = "${var.name_prefix}: Studio home directory recovery (tables, queues, topic, logs, trail)"
  enable_key_rotation     = true
  deletion_window_in_days = 30
  policy                  = data.aws_iam_policy_document.kms[0].json
  tags                    = var.tags
}

resource "aws_kms_alias" "this" {
  count = local.create_kms_key ? 1 : 0

  name          = "alias/${var.name_prefix}"
  target_key_id = aws_kms_key.this[0].key_id
}

################################################################################
# Parts
################################################################################

module "registry" {
  source = "./modules/registry"

  name_prefix                 = var.name_prefix
  kms_key_arn                 = local.kms_key_arn
  deletion_protection_enabled = var.registry_deletion_protection
  tags                        = var.tags
}

module "notifications" {
  source = "./modules/notifications"

  name_prefix = var.name_prefix
  kms_key_arn = local.kms_key_arn
  alarm_email = var.alarm_email
  tags        = var.tags
}

module "event_capture" {
  source = "./modules/event_capture"

  name_prefix               = var.name_prefix
  kms_key_arn               = local.kms_key_arn
  lambda                    = local.lambda
  log_retention_days        = var.log_retention_days
  registry_table_name       = module.registry.registry_table_name
  registry_table_arn        = module.registry.registry_table_arn
  idempotency_table_name    = module.registry.idempotency_table_name
  idempotency_table_arn     = module.registry.idempotency_table_arn
  create_cloudtrail         = var.create_cloudtrail
  trail_log_expiration_days = var.trail_log_expiration_days
  seed_on_apply             = var.seed_on_apply
  tags                      = var.tags
}

module "workflow" {
  source = "./modules/workflow"

  name_prefix                   = var.name_prefix
  kms_key_arn                   = local.kms_key_arn
  lambda                        = local.lambda
  log_retention_days            = var.log_retention_days
  registry_table_name           = module.registry.registry_table_name
  registry_table_arn            = module.registry.registry_table_arn
  registry_stream_arn           = module.registry.registry_stream_arn
  notification_topic_arn        = module.notifications.notification_topic_arn
  vpc_id                        = var.vpc_id
  datasync_subnet_ids           = var.datasync_subnet_ids
  studio_efs_security_group_ids = var.studio_efs_security_group_ids
  max_concurrent_restores       = var.max_concurrent_restores
  name_reuse_window_days        = var.name_reuse_window_days
  transfer_timeout_seconds      = var.transfer_timeout_seconds
  home_wait_timeout_seconds     = var.home_wait_timeout_seconds
  poll_interval_seconds         = var.poll_interval_seconds
  slot_wait_timeout_seconds     = var.slot_wait_timeout_seconds
  in_transit_encryption         = var.in_transit_encryption
  home_gid                      = var.home_gid
  stream_filter_enabled         = var.stream_filter_enabled
  # The bucket the transfers write and read, and the schedule that may send to the failure
  # queue (modules/backup in turn starts executions of this workflow).
  backup = {
    enabled                = var.backups.enabled
    bucket_name            = one(module.backup[*].bucket_name)
    bucket_arn             = one(module.backup[*].bucket_arn)
    bucket_access_role_arn = one(module.backup[*].access_role_arn)
    schedule_rule_arn      = one(module.backup[*].schedule_rule_arn)
  }
  tags = var.tags
}

module "backup" {
  source = "./modules/backup"
  count  = var.backups.enabled ? 1 : 0

  name_prefix         = var.name_prefix
  kms_key_arn         = local.kms_key_arn
  retention_days      = var.backups.retention_days
  transition_days     = var.backups.transition_days
  storage_class       = var.backups.storage_class
  force_destroy       = var.backups.force_destroy
  schedule_expression = var.backups.schedule_expression
  lambda              = local.lambda
  log_retention_days  = var.log_retention_days
  registry_table_name = module.registry.registry_table_name
  registry_table_arn  = module.registry.registry_table_arn
  state_machine_arn   = module.workflow.state_machine_arn
  failure_queue_arn   = module.workflow.failure_queue_arn
  eventbridge_enabled = var.space_backups.enabled
  tags                = var.tags
}

module "space_backup" {
  source = "./modules/space_backup"
  count  = var.space_backups.enabled && var.backups.enabled ? 1 : 0

  name_prefix           = var.name_prefix
  bucket_name           = module.backup[0].bucket_name
  bucket_arn            = module.backup[0].bucket_arn
  kms_key_arn           = local.kms_key_arn
  execution_role_names  = var.space_backups.execution_role_names
  attach_to_domain_ids  = var.space_backups.attach_to_domain_ids
  interval_minutes      = var.space_backups.interval_minutes
  exclude               = var.space_backups.exclude
  lambda                = local.lambda
  log_retention_days    = var.log_retention_days
  registry_table_name   = module.registry.registry_table_name
  registry_table_arn    = module.registry.registry_table_arn
  dead_letter_queue_arn = module.workflow.failure_queue_arn
  tags                  = var.tags
}

module "alarms" {
  source = "./modules/alarms"

  name_prefix            = var.name_prefix
  notification_topic_arn = module.notifications.notification_topic_arn
  state_machine_arn      = module.workflow.state_machine_arn
  function_names         = merge(module.event_capture.function_names, module.workflow.function_names, { for backup in module.backup : "backup" => backup.backup_function_name }, { for space in module.space_backup : "space-report" => space.report_function_name })
  queue_names            = merge(module.event_capture.queue_names, module.workflow.queue_names)
  registry_table_name    = module.registry.registry_table_name
  tags                   = var.tags
}
