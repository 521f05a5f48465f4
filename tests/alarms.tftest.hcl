# The alarms submodule: alarms and dashboard (the topic is modules/notifications).

mock_provider "aws" {
  source          = "./tests/tf_fixtures/mocks"
  override_during = plan
}

variables {
  name_prefix            = "sr-test"
  notification_topic_arn = "arn:aws:sns:us-east-1:123456789012:sr-test-notifications"
  state_machine_arn      = "arn:aws:states:us-east-1:123456789012:stateMachine:sr-test-restore"
  registry_table_name    = "sr-test-registry"
  function_names = {
    event    = "sr-test-event"
    seeder   = "sr-test-seeder"
    stream   = "sr-test-stream"
    prepare  = "sr-test-prepare"
    finalize = "sr-test-finalize"
  }
  queue_names = {
    event_dlq       = "sr-test-event-dlq"
    stream_failures = "sr-test-stream-failures"
  }
}

run "alarms_cover_workflow_functions_and_queues" {
  command = plan

  module {
    source = "./modules/alarms"
  }

  assert {
    condition     = toset([for alarm in aws_cloudwatch_metric_alarm.workflow : alarm.metric_name]) == toset(["ExecutionsFailed", "ExecutionsTimedOut", "ExecutionsAborted"])
    error_message = "Failed, timed-out and aborted executions must alarm."
  }

  assert {
    condition     = toset(keys(aws_cloudwatch_metric_alarm.function_errors)) == toset(keys(var.function_names)) && alltrue([for alarm in aws_cloudwatch_metric_alarm.function_errors : alarm.metric_name == "Errors"])
    error_message = "Every function must have an Errors alarm."
  }

  assert {
    condition     = toset([for alarm in aws_cloudwatch_metric_alarm.queue_messages : alarm.dimensions["QueueName"]]) == toset(values(var.queue_names)) && alltrue([for alarm in aws_cloudwatch_metric_alarm.queue_messages : alarm.metric_name == "ApproximateNumberOfMessagesVisible"])
    error_message = "Every dead-letter and failure queue must alarm when messages wait in it."
  }

  assert {
    condition = alltrue([
      for alarm in concat(values(aws_cloudwatch_metric_alarm.workflow), values(aws_cloudwatch_metric_alarm.function_errors), values(aws_cloudwatch_metric_alarm.queue_messages)) :
      alarm.alarm_actions == toset([var.notification_topic_arn]) && alarm.ok_actions == toset([var.notification_topic_arn])
    ])
    error_message = "Every alarm must notify the topic."
  }

  assert {
    condition     = length(jsondecode(aws_cloudwatch_dashboard.this.dashboard_body).widgets) >= 4
    error_message = "The dashboard must show restores and failures."
  }
}
