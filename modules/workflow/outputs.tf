output "state_machine_arn" {
  description = "ARN of the restore state machine."
  value       = aws_sfn_state_machine.this.arn
}

output "state_machine_name" {
  description = "Name of the restore state machine."
  value       = aws_sfn_state_machine.this.name
}

output "stream_function_name" {
  description = "Name of the stream function."
  value       = aws_lambda_function.this["stream"].function_name
}

output "prepare_function_name" {
  description = "Name of the prepare function."
  value       = aws_lambda_function.this["prepare"].function_name
}

output "finalize_function_name" {
  description = "Name of the finalize function."
  value       = aws_lambda_function.this["finalize"].function_name
}

output "backup_function_name" {
  description = "Name of the backup function, or null when backups are off."
  value       = try(aws_lambda_function.this["backup"].function_name, null)
}

output "backup_rule_name" {
  description = "Name of the EventBridge rule that runs the backup function on its schedule, or null when backups are off."
  value       = one(aws_cloudwatch_event_rule.backup[*].name)
}

output "function_names" {
  description = "Names of this part's functions, by key (stream, prepare, finalize, and backup when backups are on)."
  value       = { for key, function in aws_lambda_function.this : key => function.function_name }
}

output "stream_event_source_mapping_uuid" {
  description = "UUID of the registry stream's event source mapping."
  value       = aws_lambda_event_source_mapping.stream.uuid
}

output "failure_queue_url" {
  description = "URL of the failure queue (stream records and finalize events that failed)."
  value       = aws_sqs_queue.failure.id
}

output "failure_queue_arn" {
  description = "ARN of the failure queue."
  value       = aws_sqs_queue.failure.arn
}

output "queue_names" {
  description = "Names of this part's queues, by key."
  value       = { stream_failures = aws_sqs_queue.failure.name }
}

output "datasync_security_group_id" {
  description = "ID of the DataSync security group."
  value       = aws_security_group.datasync.id
}

output "datasync_security_group_arn" {
  description = "ARN of the DataSync security group."
  value       = aws_security_group.datasync.arn
}

output "datasync_log_group_arn" {
  description = "ARN of the DataSync log group."
  value       = aws_cloudwatch_log_group.datasync.arn
}

output "efs_access_role_arn" {
  description = "ARN of the role DataSync assumes to mount the volumes through access points."
  value       = aws_iam_role.efs_access.arn
}
