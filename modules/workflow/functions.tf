locals {
  common_environment = {
    POWERTOOLS_SERVICE_NAME      = "studio-recovery"
    POWERTOOLS_METRICS_NAMESPACE = "StudioRecovery"
    POWERTOOLS_LOG_LEVEL         = var.lambda.log_level
    REGISTRY_TABLE_NAME          = var.registry_table_name
  }

  backup_enabled = var.backup.enabled
  # Empty strings when backups are off: the functions read an empty name as "not configured".
  backup_bucket_name            = local.backup_enabled ? var.backup.bucket_name : ""
  backup_bucket_access_role_arn = local.backup_enabled ? var.backup.bucket_access_role_arn : ""

  functions = merge(local.restore_functions, local.backup_enabled ? local.backup_functions : {})

  restore_functions = {
    stream = {
      name        = "${var.name_prefix}-stream"
      description = "Reads the registry stream and starts one restore per recreated profile"
      handler     = "studio_recovery.handlers.stream.handler"
      timeout     = 120
      environment = {
        IDEMPOTENCY_TABLE_NAME = var.idempotency_table_name
        STATE_MACHINE_ARN      = local.state_machine_arn
        NAME_REUSE_WINDOW_DAYS = tostring(var.name_reuse_window_days)
        BACKUP_BUCKET_NAME     = local.backup_bucket_name
      }
    }
    prepare = {
      name        = "${var.name_prefix}-prepare"
      description = "Creates the EFS access point, DataSync locations and task of a restore"
      handler     = "studio_recovery.handlers.transfer.prepare_handler"
      timeout     = 120
      environment = {
        DATASYNC_SUBNET_IDS           = join(",", var.datasync_subnet_ids)
        DATASYNC_SECURITY_GROUP_ARN   = aws_security_group.datasync.arn
        EFS_ACCESS_ROLE_ARN           = aws_iam_role.efs_access.arn
        IN_TRANSIT_ENCRYPTION         = var.in_transit_encryption ? "TLS1_2" : "NONE"
        HOME_GID                      = tostring(var.home_gid)
        DATASYNC_LOG_GROUP_ARN        = aws_cloudwatch_log_group.datasync.arn
        MAX_CONCURRENT_RESTORES       = tostring(var.max_concurrent_restores)
        HOME_WAIT_TIMEOUT_SECONDS     = tostring(var.home_wait_timeout_seconds)
        BACKUP_BUCKET_NAME            = local.backup_bucket_name
        BACKUP_BUCKET_ACCESS_ROLE_ARN = local.backup_bucket_access_role_arn
      }
    }
    finalize = {
      name        = "${var.name_prefix}-finalize"
      description = "Records a restore's result, deletes its DataSync task, locations and access points"
      handler     = "studio_recovery.handlers.transfer.finalize_handler"
      timeout     = 120
      environment = {
        NOTIFICATION_TOPIC_ARN = var.notification_topic_arn
        STATE_MACHINE_ARN      = local.state_machine_arn
      }
    }
  }

  backup_functions = {
    backup = {
      name        = "${var.name_prefix}-backup"
      description = "On its schedule, starts one backup to S3 of every recorded home directory"
      handler     = "studio_recovery.handlers.backup.handler"
      timeout     = 300
      environment = {
        STATE_MACHINE_ARN  = local.state_machine_arn
        BACKUP_BUCKET_NAME = local.backup_bucket_name
      }
    }
  }

  # Only the records the stream function acts on (docs/internals.md section 1).
  stream_filters = concat(
    [
      { eventName = ["INSERT"], dynamodb = { Keys = { sk = { S = [{ prefix = "GEN#" }] } } } },
      { eventName = ["INSERT", "MODIFY"], dynamodb = { Keys = { sk = { S = ["COPY"] } }, NewImage = { status = { S = ["PENDING"] } } } },
    ],
    # A generation marked deleted: its last backup (the function skips a MODIFY whose old
    # image was already deleted).
    local.backup_enabled ? [
      { eventName = ["MODIFY"], dynamodb = { Keys = { sk = { S = [{ prefix = "GEN#" }] } }, NewImage = { deleted_at = { S = [{ exists = true }] } } } },
    ] : [],
  )
}

################################################################################
# Failure queue: stream records, and finalize and backup events, that could not be processed
################################################################################

resource "aws_sqs_queue" "failure" {
  name                              = "${var.name_prefix}-stream-failures"
  kms_master_key_id                 = var.kms_key_arn
  kms_data_key_reuse_period_seconds = 3600
  message_retention_seconds         = 1209600
  tags                              = var.tags
}

data "aws_iam_policy_document" "failure" {
  statement {
    sid       = "EventBridgeRuleSendUndelivered"
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.failure.arn]
    principals {
      type        = "Service"
      identifiers = ["events.amazonaws.com"]
    }
    condition {
      test     = "ArnEquals"
      variable = "aws:SourceArn"
      values   = concat([aws_cloudwatch_event_rule.execution_ended.arn], aws_cloudwatch_event_rule.backup[*].arn)
    }
  }

  statement {
    sid       = "DenyInsecureTransport"
    effect    = "Deny"
    actions   = ["sqs:*"]
    resources = [aws_sqs_queue.failure.arn]
    principals {
      type        = "*"
      identifiers = ["*"]
    }
    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }
}

resource "aws_sqs_queue_policy" "failure" {
  queue_url = aws_sqs_queue.failure.id
  policy    = data.aws_iam_policy_document.failure.json
}

################################################################################
# Lambda functions: stream, prepare, finalize (and backup, when backups are on)
################################################################################

resource "aws_cloudwatch_log_group" "function" {
  for_each = local.functions

  name              = "/aws/lambda/${each.value.name}"
  retention_in_days = var.log_retention_days
  kms_key_id        = var.kms_key_arn
  tags              = var.tags
}

resource "aws_lambda_function" "this" {
  for_each = local.functions
  #checkov:skip=CKV_AWS_117:the functions call only AWS APIs (DynamoDB, Step Functions, DataSync, EFS); DataSync itself reaches the EFS volumes from the VPC
  #checkov:skip=CKV_AWS_115:reserved concurrency would take from the account's unreserved pool; restores are bounded by max_concurrent_restores instead
  #checkov:skip=CKV_AWS_272:the zip is built reproducibly by `make build`; code signing needs a Signer profile this module cannot assume exists

  function_name    = each.value.name
  description      = each.value.description
  role             = aws_iam_role.function[each.key].arn
  handler          = each.value.handler
  runtime          = var.lambda.runtime
  architectures    = ["x86_64"]
  filename         = var.lambda.package_path
  source_code_hash = var.lambda.source_code_hash
  memory_size      = var.lambda.memory_size
  timeout          = each.value.timeout
  layers           = var.lambda.layer_arns
  kms_key_arn      = var.kms_key_arn

  environment {
    variables = merge(local.common_environment, each.value.environment)
  }

  tracing_config {
    mode = "Active"
  }

  dead_letter_config {
    target_arn = aws_sqs_queue.failure.arn
  }

  tags = var.tags

  depends_on = [aws_cloudwatch_log_group.function, aws_iam_role_policy.function]
}

resource "aws_lambda_function_event_invoke_config" "finalize" {
  function_name                = aws_lambda_function.this["finalize"].function_name
  maximum_retry_attempts       = 2
  maximum_event_age_in_seconds = 21600
}

resource "aws_lambda_event_source_mapping" "stream" {
  event_source_arn                   = var.registry_stream_arn
  function_name                      = aws_lambda_function.this["stream"].arn
  starting_position                  = "LATEST"
  batch_size                         = var.stream_batch_size
  maximum_batching_window_in_seconds = 1
  parallelization_factor             = 1
  function_response_types            = ["ReportBatchItemFailures"]
  bisect_batch_on_function_error     = true
  maximum_retry_attempts             = var.stream_maximum_retry_attempts
  maximum_record_age_in_seconds      = var.stream_maximum_record_age_seconds

  destination_config {
    on_failure {
      destination_arn = aws_sqs_queue.failure.arn
    }
  }

  dynamic "filter_criteria" {
    for_each = var.stream_filter_enabled ? [1] : []
    content {
      dynamic "filter" {
        for_each = local.stream_filters
        content {
          pattern = jsonencode(filter.value)
        }
      }
    }
  }
}
