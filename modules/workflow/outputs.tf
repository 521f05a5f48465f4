output "state_machine_arn" {
  description = "ARN of the restore state machine (known before it exists, from its name: modules/backup's function names it, and the state machine runs that function's backups)."
  value       = local.state_machine_arn
}

output "state_machine_name" {
  description = "Name of the restore state machine."
  value       = aws_sfn_state_machine.this.name
}

output "stream_function_name" {
  description = "Name of the stream function."
  value       = module.function["stream"].function_name
}

output "prepare_function_name" {
  description = "Name of the prepare function."
  value       = module.function["prepare"].function_name
}

output "finalize_function_name" {
  description = "Name of the finalize function."
  value       = module.function["finalize"].function_name
}

output "function_names" {
  description = "Names of this part's functions, by key (stream, prepare, finalize)."
  value       = { for key, function in module.function : key => function.function_name }
}

output "stream_event_source_mapping_uuid" {
  description = "UUID of the registry stream's event source mapping."
  value       = aws_lambda_event_source_mapping.stream.uuid
}

output "failure_queue_url" {
  description = "URL of the failure queue (stream records, and finalize and backup events, that failed)."
  value       = module.failure_queue.queue_url
}

output "failure_queue_arn" {
  description = "ARN of the failure queue."
  value       = module.failure_queue.queue_arn
}

output "queue_names" {
  description = "Names of this part's queues, by key."
  value       = { stream_failures = module.failure_queue.queue_name }
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
  value       = module.efs_access_role.role_arn
}
