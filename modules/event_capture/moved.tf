################################################################################
# Addresses before the shared modules (lambda_function, queue): an existing installation
# keeps every resource, nothing is replaced
################################################################################

moved {
  from = aws_sqs_queue.dead_letter
  to   = module.dead_letter_queue.aws_sqs_queue.this
}

moved {
  from = aws_sqs_queue_policy.dead_letter
  to   = module.dead_letter_queue.aws_sqs_queue_policy.this
}

moved {
  from = aws_lambda_function_event_invoke_config.event
  to   = module.function["event"].aws_lambda_function_event_invoke_config.this[0]
}

moved {
  from = aws_lambda_function.this["event"]
  to   = module.function["event"].aws_lambda_function.this
}

moved {
  from = aws_lambda_function.this["seeder"]
  to   = module.function["seeder"].aws_lambda_function.this
}

moved {
  from = aws_iam_role.function["event"]
  to   = module.function["event"].aws_iam_role.this
}

moved {
  from = aws_iam_role.function["seeder"]
  to   = module.function["seeder"].aws_iam_role.this
}

moved {
  from = aws_iam_role_policy.function["event"]
  to   = module.function["event"].aws_iam_role_policy.this
}

moved {
  from = aws_iam_role_policy.function["seeder"]
  to   = module.function["seeder"].aws_iam_role_policy.this
}

moved {
  from = aws_cloudwatch_log_group.function["event"]
  to   = module.function["event"].aws_cloudwatch_log_group.this
}

moved {
  from = aws_cloudwatch_log_group.function["seeder"]
  to   = module.function["seeder"].aws_cloudwatch_log_group.this
}
