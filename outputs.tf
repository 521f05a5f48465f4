output "registry_table_name" {
  description = "Name of the registry DynamoDB table."
  value       = module.registry.registry_table_name
}

output "registry_table_arn" {
  description = "ARN of the registry DynamoDB table."
  value       = module.registry.registry_table_arn
}

output "registry_stream_arn" {
  description = "ARN of the registry table's stream (NEW_AND_OLD_IMAGES)."
  value       = module.registry.registry_stream_arn
}

output "idempotency_table_name" {
  description = "Name of the Powertools idempotency DynamoDB table."
  value       = module.registry.idempotency_table_name
}

output "state_machine_arn" {
  description = "ARN of the restore workflow (Step Functions state machine)."
  value       = module.workflow.state_machine_arn
}

output "event_function_name" {
  description = "Name of the Lambda function that records SageMaker CloudTrail events."
  value       = module.event_capture.event_function_name
}

output "seeder_function_name" {
  description = "Name of the Lambda function that records existing domains, profiles and spaces."
  value       = module.event_capture.seeder_function_name
}

output "stream_function_name" {
  description = "Name of the Lambda function that reads the registry stream and starts restores."
  value       = module.workflow.stream_function_name
}

output "prepare_function_name" {
  description = "Name of the Lambda function that creates the DataSync locations and task of a restore."
  value       = module.workflow.prepare_function_name
}

output "finalize_function_name" {
  description = "Name of the Lambda function that records a restore's result and cleans up."
  value       = module.workflow.finalize_function_name
}

output "datasync_security_group_id" {
  description = "ID of the security group DataSync uses to reach the Studio EFS volumes."
  value       = module.workflow.datasync_security_group_id
}

output "datasync_security_group_arn" {
  description = "ARN of the security group DataSync uses to reach the Studio EFS volumes."
  value       = module.workflow.datasync_security_group_arn
}

output "notification_topic_arn" {
  description = "ARN of the SNS topic that receives alarms and failed restores."
  value       = module.notifications.notification_topic_arn
}

output "event_dead_letter_queue_url" {
  description = "URL of the SQS queue that keeps SageMaker events the event function could not record."
  value       = module.event_capture.dead_letter_queue_url
}

output "stream_failure_queue_url" {
  description = "URL of the SQS queue that keeps registry stream records, and workflow events, that failed."
  value       = module.workflow.failure_queue_url
}

output "event_rule_names" {
  description = "Names of the EventBridge rules, by SageMaker API call."
  value       = module.event_capture.event_rule_names
}

output "kms_key_arn" {
  description = "ARN of the KMS key that encrypts the tables, queues, topic, log groups and trail."
  value       = local.kms_key_arn
}

output "dashboard_name" {
  description = "Name of the CloudWatch dashboard of restores and failures."
  value       = module.alarms.dashboard_name
}

output "trail_arn" {
  description = "ARN of the CloudTrail trail the module created, or null when create_cloudtrail is false."
  value       = module.event_capture.trail_arn
}

output "backup_bucket_name" {
  description = "Name of the S3 bucket that holds the backups of the home directories, or null when backups are off."
  value       = one(module.backup[*].bucket_name)
}

output "backup_bucket_arn" {
  description = "ARN of the backup bucket, or null when backups are off."
  value       = one(module.backup[*].bucket_arn)
}

output "backup_function_name" {
  description = "Name of the Lambda function that starts the scheduled backups, or null when backups are off."
  value       = one(module.backup[*].backup_function_name)
}

output "space_backup_lifecycle_config_arns" {
  description = "ARNs of the lifecycle configurations that protect EBS space homes, by app type (JupyterLab, CodeEditor); null unless space_backups.enabled."
  value       = one(module.space_backup[*].lifecycle_config_arns)
}

output "space_backup_policy_arn" {
  description = "ARN of the IAM policy a space's execution role needs for its backups; null unless space_backups.enabled."
  value       = one(module.space_backup[*].policy_arn)
}

output "space_backup_attach_result" {
  description = "Per domain of space_backups.attach_to_domain_ids: what was attached, and notes where another lifecycle configuration stays the default; null without domains."
  value       = one(module.space_backup[*].attach_result)
}
