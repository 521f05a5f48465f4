################################################################################
# Addresses before issue 15: the notification topic left modules/alarms for
# modules/notifications, the backup function and its schedule left modules/workflow for
# modules/backup. An existing installation keeps every resource; nothing is replaced.
# (Moves inside a part are in that part's moved.tf.)
################################################################################

moved {
  from = module.alarms.aws_sns_topic.this
  to   = module.notifications.aws_sns_topic.this
}

moved {
  from = module.alarms.aws_sns_topic_policy.this
  to   = module.notifications.aws_sns_topic_policy.this
}

moved {
  from = module.alarms.aws_sns_topic_subscription.email
  to   = module.notifications.aws_sns_topic_subscription.email
}

moved {
  from = module.workflow.aws_lambda_function.this["backup"]
  to   = module.backup[0].module.function.aws_lambda_function.this
}

moved {
  from = module.workflow.aws_iam_role.function["backup"]
  to   = module.backup[0].module.function.aws_iam_role.this
}

moved {
  from = module.workflow.aws_iam_role_policy.function["backup"]
  to   = module.backup[0].module.function.aws_iam_role_policy.this
}

moved {
  from = module.workflow.aws_cloudwatch_log_group.function["backup"]
  to   = module.backup[0].module.function.aws_cloudwatch_log_group.this
}

moved {
  from = module.workflow.aws_cloudwatch_event_rule.backup[0]
  to   = module.backup[0].aws_cloudwatch_event_rule.schedule
}

moved {
  from = module.workflow.aws_cloudwatch_event_target.backup[0]
  to   = module.backup[0].aws_cloudwatch_event_target.schedule
}

moved {
  from = module.workflow.aws_lambda_permission.backup[0]
  to   = module.backup[0].aws_lambda_permission.schedule
}
