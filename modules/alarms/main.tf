data "aws_region" "current" {}

locals {
  state_machine_name = element(split(":", var.state_machine_arn), length(split(":", var.state_machine_arn)) - 1)

  # One alarm per failure signal of the state machine.
  workflow_metrics = {
    failed    = "ExecutionsFailed"
    timed_out = "ExecutionsTimedOut"
    aborted   = "ExecutionsAborted"
  }
}

################################################################################
# Alarms
################################################################################

resource "aws_cloudwatch_metric_alarm" "workflow" {
  for_each = local.workflow_metrics

  alarm_name          = "${var.name_prefix}-restore-${replace(each.key, "_", "-")}"
  alarm_description   = "A studio-recovery restore ended ${replace(each.key, "_", " ")}: see the execution in ${local.state_machine_name} and the registry's restore item."
  namespace           = "AWS/States"
  metric_name         = each.value
  dimensions          = { StateMachineArn = var.state_machine_arn }
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 1
  threshold           = 0
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = [var.notification_topic_arn]
  ok_actions          = [var.notification_topic_arn]
  tags                = var.tags
}

resource "aws_cloudwatch_metric_alarm" "function_errors" {
  for_each = var.function_names

  alarm_name          = "${var.name_prefix}-${each.key}-errors"
  alarm_description   = "The ${each.value} function raised errors: see its log group /aws/lambda/${each.value}."
  namespace           = "AWS/Lambda"
  metric_name         = "Errors"
  dimensions          = { FunctionName = each.value }
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 1
  threshold           = 0
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = [var.notification_topic_arn]
  ok_actions          = [var.notification_topic_arn]
  tags                = var.tags
}

resource "aws_cloudwatch_metric_alarm" "queue_messages" {
  for_each = var.queue_names

  alarm_name          = "${var.name_prefix}-${replace(each.key, "_", "-")}-messages"
  alarm_description   = "Messages wait in ${each.value}: events or stream records that were not processed. Inspect and redrive them."
  namespace           = "AWS/SQS"
  metric_name         = "ApproximateNumberOfMessagesVisible"
  dimensions          = { QueueName = each.value }
  statistic           = "Maximum"
  period              = 300
  evaluation_periods  = 1
  threshold           = 0
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = [var.notification_topic_arn]
  ok_actions          = [var.notification_topic_arn]
  tags                = var.tags
}

################################################################################
# Dashboard: restores and failures
################################################################################

resource "aws_cloudwatch_dashboard" "this" {
  dashboard_name = "${var.name_prefix}-restores"
  dashboard_body = jsonencode({
    widgets = [
      {
        type = "metric", x = 0, y = 0, width = 12, height = 6
        properties = {
          title  = "Restores (workflow executions)"
          region = data.aws_region.current.name
          stat   = "Sum"
          period = 300
          metrics = [
            for metric in ["ExecutionsStarted", "ExecutionsSucceeded", "ExecutionsFailed", "ExecutionsTimedOut", "ExecutionsAborted"] :
            ["AWS/States", metric, "StateMachineArn", var.state_machine_arn]
          ]
        }
      },
      {
        type = "metric", x = 12, y = 0, width = 12, height = 6
        properties = {
          title   = "Function errors"
          region  = data.aws_region.current.name
          stat    = "Sum"
          period  = 300
          metrics = [for name in values(var.function_names) : ["AWS/Lambda", "Errors", "FunctionName", name]]
        }
      },
      {
        type = "metric", x = 0, y = 6, width = 12, height = 6
        properties = {
          title   = "Messages waiting in dead-letter and failure queues"
          region  = data.aws_region.current.name
          stat    = "Maximum"
          period  = 300
          metrics = [for name in values(var.queue_names) : ["AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", name]]
        }
      },
      {
        type = "metric", x = 12, y = 6, width = 12, height = 6
        properties = {
          title   = "Function invocations"
          region  = data.aws_region.current.name
          stat    = "Sum"
          period  = 300
          metrics = [for name in values(var.function_names) : ["AWS/Lambda", "Invocations", "FunctionName", name]]
        }
      },
      {
        type = "metric", x = 0, y = 12, width = 12, height = 6
        properties = {
          title  = "Registry table"
          region = data.aws_region.current.name
          stat   = "Sum"
          period = 300
          metrics = [
            ["AWS/DynamoDB", "ConsumedWriteCapacityUnits", "TableName", var.registry_table_name],
            ["AWS/DynamoDB", "ConsumedReadCapacityUnits", "TableName", var.registry_table_name],
            ["AWS/DynamoDB", "ThrottledRequests", "TableName", var.registry_table_name],
          ]
        }
      },
      {
        type = "log", x = 12, y = 12, width = 12, height = 6
        properties = {
          title  = "Failed restores (finalize function)"
          region = data.aws_region.current.name
          query  = "SOURCE '/aws/lambda/${lookup(var.function_names, "finalize", "${var.name_prefix}-finalize")}' | fields @timestamp, restore_id, status, reason | filter status != 'SUCCEEDED' and ispresent(status) | sort @timestamp desc | limit 50"
        }
      },
    ]
  })
}
