output "lifecycle_config_arns" {
  description = "ARNs of the lifecycle configurations, by app type (JupyterLab, CodeEditor)."
  value       = { for app_type, config in aws_sagemaker_studio_lifecycle_config.this : app_type => config.arn }
}

output "lifecycle_config_names" {
  description = "Names of the lifecycle configurations, by app type (JupyterLab, CodeEditor)."
  value       = { for app_type, config in aws_sagemaker_studio_lifecycle_config.this : app_type => config.studio_lifecycle_config_name }
}

output "policy_arn" {
  description = "ARN of the IAM policy a space's execution role needs (attached to execution_role_names)."
  value       = aws_iam_policy.space.arn
}

output "agent_key" {
  description = "Key of the space agent in the backup bucket."
  value       = aws_s3_object.agent.key
}

output "report_function_name" {
  description = "Name of the function that records space restore reports in the registry."
  value       = module.report_function.function_name
}

output "attach_result" {
  description = "Per domain of attach_to_domain_ids: the app types attached and notes on defaults left to another lifecycle configuration; null when none is given."
  value       = local.attach ? jsondecode(aws_lambda_invocation.attach[0].result) : null
}
