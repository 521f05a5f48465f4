locals {
  backup_enabled = var.backup.enabled
  # Empty strings when backups are off: the functions read an empty name as "not configured".
  backup_bucket_name            = local.backup_enabled ? var.backup.bucket_name : ""
  backup_bucket_access_role_arn = local.backup_enabled ? var.backup.bucket_access_role_arn : ""

  # The EventBridge rules whose targets keep undelivered events in the failure queue: the
  # end of an execution (finalize) and, with backups on, the backup schedule.
  failure_queue_senders = concat([aws_cloudwatch_event_rule.execution_ended.arn], local.backup_enabled ? [var.backup.schedule_rule_arn] : [])

  functions = {
    stream = {
      name        = "${var.name_prefix}-stream"
      description = "Reads the registry stream and starts one restore per recreated profile"
      handler     = "studio_recovery.handlers.stream.handler"
      timeout     = 120
      environment = {
        STATE_MACHINE_ARN      = local.state_machine_arn
        NAME_REUSE_WINDOW_DAYS = tostring(var.name_reuse_window_days)
        BACKUP_BUCKET_NAME     = local.backup_bucket_name
      }
      policy_jsons = [data.aws_iam_policy_document.stream.json]
      async        = false
    }
    prepare = {
      name        = "${var.name_prefix}-prepare"
      description = "Creates the EFS access point, DataSync locations and task of a restore"
      handler     = "studio_recovery.handlers.transfer.prepare_handler"
      # A restore from an older backup first copies its versions server side (staging).
      timeout = local.backup_enabled ? 900 : 120
      environment = {
        DATASYNC_SUBNET_IDS           = join(",", var.datasync_subnet_ids)
        DATASYNC_SECURITY_GROUP_ARN   = aws_security_group.datasync.arn
        EFS_ACCESS_ROLE_ARN           = module.efs_access_role.role_arn
        IN_TRANSIT_ENCRYPTION         = var.in_transit_encryption ? "TLS1_2" : "NONE"
        HOME_GID                      = tostring(var.home_gid)
        DATASYNC_LOG_GROUP_ARN        = aws_cloudwatch_log_group.datasync.arn
        MAX_CONCURRENT_RESTORES       = tostring(var.max_concurrent_restores)
        HOME_WAIT_TIMEOUT_SECONDS     = tostring(var.home_wait_timeout_seconds)
        BACKUP_BUCKET_NAME            = local.backup_bucket_name
        BACKUP_BUCKET_ACCESS_ROLE_ARN = local.backup_bucket_access_role_arn
        REPORT_BUCKET_NAME            = aws_s3_bucket.reports.id
        REPORT_ACCESS_ROLE_ARN        = module.report_role.role_arn
      }
      # Removes what an earlier attempt of the same restore left behind.
      policy_jsons = concat(
        [data.aws_iam_policy_document.prepare.json, data.aws_iam_policy_document.cleanup.json],
        data.aws_iam_policy_document.prepare_backups[*].json,
        data.aws_iam_policy_document.cleanup_staging[*].json,
      )
      async = false
    }
    finalize = {
      name        = "${var.name_prefix}-finalize"
      description = "Records a restore's result, deletes its DataSync task, locations and access points"
      handler     = "studio_recovery.handlers.transfer.finalize_handler"
      timeout     = 120
      environment = {
        NOTIFICATION_TOPIC_ARN = var.notification_topic_arn
        STATE_MACHINE_ARN      = local.state_machine_arn
        BACKUP_BUCKET_NAME     = local.backup_bucket_name
      }
      # Shared with prepare, which removes what an earlier attempt left behind.
      policy_jsons = concat(
        [
          data.aws_iam_policy_document.finalize.json,
          data.aws_iam_policy_document.cleanup.json,
          data.aws_iam_policy_document.finalize_reports.json,
        ],
        data.aws_iam_policy_document.cleanup_staging[*].json,
      )
      # Invoked by EventBridge when an execution ends without reaching Finalize.
      async = true
    }
  }

  # Only the records the stream function acts on (docs/internals.md section 1). For DynamoDB
  # streams the Lambda guide documents filtering on the `dynamodb` key, so the kind of change
  # is told by the images (an INSERT has no old image, a REMOVE no new one) and the function
  # checks eventName again in code.
  stream_filters = concat(
    [
      # A new generation (INSERT).
      { dynamodb = { Keys = { sk = { S = [{ prefix = "GEN#" }] } }, OldImage = { sk = { S = [{ exists = false }] } } } },
      # A copy request written or changed to PENDING (INSERT or MODIFY).
      { dynamodb = { Keys = { sk = { S = ["COPY"] } }, NewImage = { status = { S = ["PENDING"] } } } },
    ],
    # A generation marked deleted (MODIFY): its last backup (the function skips a MODIFY
    # whose old image was already deleted).
    local.backup_enabled ? [
      { dynamodb = { Keys = { sk = { S = [{ prefix = "GEN#" }] } }, OldImage = { sk = { S = [{ exists = true }] } }, NewImage = { deleted_at = { S = [{ exists = true }] } } } },
    ] : [],
  )
}

################################################################################
# Failure queue: stream records, and finalize and backup events, that could not be processed
################################################################################

module "failure_queue" {
  source = "../queue"

  name        = "${var.name_prefix}-stream-failures"
  kms_key_arn = var.kms_key_arn
  eventbridge_senders = {
    sid       = "EventBridgeRuleSendUndelivered"
    rule_arns = local.failure_queue_senders
  }
  tags = var.tags
}

################################################################################
# Lambda functions: stream, prepare, finalize
################################################################################

module "function" {
  source   = "../lambda_function"
  for_each = local.functions

  name                      = each.value.name
  description               = each.value.description
  handler                   = each.value.handler
  timeout                   = each.value.timeout
  environment               = each.value.environment
  lambda                    = var.lambda
  kms_key_arn               = var.kms_key_arn
  log_retention_days        = var.log_retention_days
  dead_letter_queue_arn     = module.failure_queue.queue_arn
  dead_letter_policy_sid    = "SendToFailureQueue"
  create_async_event_config = each.value.async
  registry = {
    table_name = var.registry_table_name
    table_arn  = var.registry_table_arn
  }
  policy_jsons = each.value.policy_jsons
  tags         = var.tags
}

resource "aws_lambda_event_source_mapping" "stream" {
  event_source_arn                   = var.registry_stream_arn
  function_name                      = module.function["stream"].function_arn
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
      destination_arn = module.failure_queue.queue_arn
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
