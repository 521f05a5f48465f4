################################################################################
# Addresses before the shared modules (lambda_function, queue): an existing installation
# keeps every resource, nothing is replaced. The backup function and its schedule moved to
# modules/backup (the root's moved blocks).
################################################################################

moved {
  from = aws_sqs_queue.failure
  to   = module.failure_queue.aws_sqs_queue.this
}

moved {
  from = aws_sqs_queue_policy.failure
  to   = module.failure_queue.aws_sqs_queue_policy.this
}

moved {
  from = aws_lambda_function_event_invoke_config.finalize
  to   = module.function["finalize"].aws_lambda_function_event_invoke_config.this[0]
}

moved {
  from = aws_lambda_function.this["stream"]
  to   = module.function["stream"].aws_lambda_function.this
}

moved {
  from = aws_iam_role.function["stream"]
  to   = module.function["stream"].aws_iam_role.this
}

moved {
  from = aws_iam_role_policy.function["stream"]
  to   = module.function["stream"].aws_iam_role_policy.this
}

moved {
  from = aws_cloudwatch_log_group.function["stream"]
  to   = module.function["stream"].aws_cloudwatch_log_group.this
}

moved {
  from = aws_lambda_function.this["prepare"]
  to   = module.function["prepare"].aws_lambda_function.this
}

moved {
  from = aws_iam_role.function["prepare"]
  to   = module.function["prepare"].aws_iam_role.this
}

moved {
  from = aws_iam_role_policy.function["prepare"]
  to   = module.function["prepare"].aws_iam_role_policy.this
}

moved {
  from = aws_cloudwatch_log_group.function["prepare"]
  to   = module.function["prepare"].aws_cloudwatch_log_group.this
}

moved {
  from = aws_lambda_function.this["finalize"]
  to   = module.function["finalize"].aws_lambda_function.this
}

moved {
  from = aws_iam_role.function["finalize"]
  to   = module.function["finalize"].aws_iam_role.this
}

moved {
  from = aws_iam_role_policy.function["finalize"]
  to   = module.function["finalize"].aws_iam_role_policy.this
}

moved {
  from = aws_cloudwatch_log_group.function["finalize"]
  to   = module.function["finalize"].aws_cloudwatch_log_group.this
}

moved {
  from = aws_iam_role.efs_access
  to   = module.efs_access_role.aws_iam_role.this
}

moved {
  from = aws_iam_role_policy.efs_access
  to   = module.efs_access_role.aws_iam_role_policy.this
}
