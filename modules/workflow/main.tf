data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}
data "aws_region" "current" {}

data "aws_vpc" "this" {
  id = var.vpc_id
}

locals {
  account_id = data.aws_caller_identity.current.account_id
  partition  = data.aws_partition.current.partition
  region     = data.aws_region.current.name

  state_machine_name = "${var.name_prefix}-restore"
  # Known before the state machine exists, so the stream and finalize functions can name it.
  state_machine_arn = "arn:${local.partition}:states:${local.region}:${local.account_id}:stateMachine:${local.state_machine_name}"

  definition = templatefile("${path.module}/templates/restore.asl.json", {
    partition                 = local.partition
    prepare_function_arn      = module.function["prepare"].function_arn
    finalize_function_arn     = module.function["finalize"].function_arn
    registry_table_name       = var.registry_table_name
    max_concurrent_restores   = var.max_concurrent_restores
    poll_interval_seconds     = var.poll_interval_seconds
    transfer_timeout_seconds  = var.transfer_timeout_seconds
    slot_wait_timeout_seconds = var.slot_wait_timeout_seconds
  })
}

################################################################################
# The restore workflow
################################################################################

resource "aws_cloudwatch_log_group" "workflow" {
  name              = "/aws/vendedlogs/states/${local.state_machine_name}"
  retention_in_days = var.log_retention_days
  kms_key_id        = var.kms_key_arn
  tags              = var.tags
}

resource "aws_sfn_state_machine" "this" {
  #checkov:skip=CKV_AWS_285:execution history is logged at level ALL, but without execution data on purpose: inputs name people's home directories and uids
  name       = local.state_machine_name
  type       = "STANDARD"
  role_arn   = aws_iam_role.workflow.arn
  definition = local.definition

  logging_configuration {
    log_destination        = "${aws_cloudwatch_log_group.workflow.arn}:*"
    include_execution_data = false
    level                  = var.workflow_log_level
  }

  tracing_configuration {
    enabled = true
  }

  tags = var.tags

  depends_on = [aws_iam_role_policy.workflow]

  lifecycle {
    precondition {
      condition     = can(jsondecode(local.definition))
      error_message = "modules/workflow/templates/restore.asl.json does not render to valid JSON: check the template's syntax and its $${...} variables."
    }
    precondition {
      condition     = can(jsondecode(local.definition).StartAt) && can(jsondecode(local.definition).States)
      error_message = "modules/workflow/templates/restore.asl.json must have StartAt and States at its top level."
    }
  }
}

################################################################################
# Executions that end without reaching Finalize (stopped by hand, timed out, or failed
# on their own: a Step Functions limit, an unhandled error): the finalize function cleans
# up after them. A FAILED execution whose Finalize ran (the RestoreFailed and
# FinalizeFailed states) reaches it too; a restore already recorded keeps its result and
# only leftovers are deleted, so nothing is recorded or notified twice.
################################################################################

resource "aws_cloudwatch_event_rule" "execution_ended" {
  name        = "${var.name_prefix}-restore-ended"
  description = "Restore executions aborted, timed out or failed: the finalize function deletes what they left"
  event_pattern = jsonencode({
    source      = ["aws.states"]
    detail-type = ["Step Functions Execution Status Change"]
    detail = {
      status          = ["ABORTED", "FAILED", "TIMED_OUT"]
      stateMachineArn = [local.state_machine_arn]
    }
  })
  tags = var.tags
}

resource "aws_cloudwatch_event_target" "execution_ended" {
  rule      = aws_cloudwatch_event_rule.execution_ended.name
  target_id = "finalize-function"
  arn       = module.function["finalize"].function_arn

  retry_policy {
    maximum_event_age_in_seconds = 21600
    maximum_retry_attempts       = 24
  }

  dead_letter_config {
    arn = module.failure_queue.queue_arn
  }
}

resource "aws_lambda_permission" "execution_ended" {
  statement_id  = "AllowEventBridgeExecutionEnded"
  action        = "lambda:InvokeFunction"
  function_name = module.function["finalize"].function_name
  principal     = "events.amazonaws.com"
  source_arn    = aws_cloudwatch_event_rule.execution_ended.arn
}
