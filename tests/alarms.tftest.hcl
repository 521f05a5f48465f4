# The alarms submodule: notification topic, alarms, dashboard.

mock_provider "aws" {
  source          = "./tests/tf_fixtures/mocks"
  override_during = plan
}

variables {
  name_prefix         = "sr-test"
  kms_key_arn         = "arn:aws:kms:us-east-1:123456789012:key/11111111-2222-3333-4444-555555555555"
  state_machine_arn   = "arn:aws:states:us-east-1:123456789012:stateMachine:sr-test-restore"
  registry_table_name = "sr-test-registry"
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

run "topic_is_encrypted_and_has_no_subscription_by_default" {
  command = plan

  module {
    source = "./modules/alarms"
  }

  assert {
    condition     = aws_sns_topic.this.kms_master_key_id == var.kms_key_arn
    error_message = "The topic must be encrypted with the module's key."
  }

  assert {
    condition     = length(aws_sns_topic_subscription.email) == 0
    error_message = "No alarm_email must plan no subscription."
  }
}

run "email_subscription_when_asked" {
  command = plan

  module {
    source = "./modules/alarms"
  }

  variables {
    alarm_email = "ml-platform@example.com"
  }

  assert {
    condition     = length(aws_sns_topic_subscription.email) == 1 && aws_sns_topic_subscription.email[0].protocol == "email" && aws_sns_topic_subscription.email[0].endpoint == "ml-platform@example.com"
    error_message = "alarm_email must plan one email subscription."
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
      alarm.alarm_actions == toset([aws_sns_topic.this.arn])
    ])
    error_message = "Every alarm must notify the topic."
  }

  assert {
    condition     = length(jsondecode(aws_cloudwatch_dashboard.this.dashboard_body).widgets) >= 4
    error_message = "The dashboard must show restores and failures."
  }
}

run "alarm_email_is_validated" {
  command = plan

  module {
    source = "./modules/alarms"
  }

  variables {
    alarm_email = "not-an-email"
  }

  expect_failures = [var.alarm_email]
}
