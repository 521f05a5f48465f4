# The notifications submodule: the topic that alarms and failed restores notify.

mock_provider "aws" {
  source          = "./tests/tf_fixtures/mocks"
  override_during = plan
}

variables {
  name_prefix = "sr-test"
  kms_key_arn = "arn:aws:kms:us-east-1:123456789012:key/11111111-2222-3333-4444-555555555555"
}

run "topic_is_encrypted_and_has_no_subscription_by_default" {
  command = plan

  module {
    source = "./modules/notifications"
  }

  assert {
    condition     = aws_sns_topic.this.kms_master_key_id == var.kms_key_arn
    error_message = "The topic must be encrypted with the module's key."
  }

  assert {
    condition     = length(aws_sns_topic_subscription.email) == 0
    error_message = "No alarm_email must plan no subscription."
  }

  assert {
    condition     = aws_sns_topic.this.name == "sr-test-notifications"
    error_message = "The topic is named <name_prefix>-notifications."
  }

  assert {
    condition = anytrue([
      for statement in data.aws_iam_policy_document.topic.statement :
      statement.effect == "Deny" && anytrue([for condition in statement.condition : condition.variable == "aws:SecureTransport" && contains(tolist(condition.values), "false")])
    ])
    error_message = "The topic policy must deny publishing without TLS."
  }
}

run "email_subscription_when_asked" {
  command = plan

  module {
    source = "./modules/notifications"
  }

  variables {
    alarm_email = "ml-platform@example.com"
  }

  assert {
    condition     = length(aws_sns_topic_subscription.email) == 1 && aws_sns_topic_subscription.email[0].protocol == "email" && aws_sns_topic_subscription.email[0].endpoint == "ml-platform@example.com"
    error_message = "alarm_email must plan one email subscription."
  }
}

run "alarm_email_is_validated" {
  command = plan

  module {
    source = "./modules/notifications"
  }

  variables {
    alarm_email = "not-an-email"
  }

  expect_failures = [var.alarm_email]
}
