output "registry_table_name" {
  description = "Name of the registry DynamoDB table."
  value       = module.studio_recovery.registry_table_name
}

output "registry_table_arn" {
  description = "ARN of the registry DynamoDB table."
  value       = module.studio_recovery.registry_table_arn
}

output "registry_stream_arn" {
  description = "ARN of the registry table's stream (NEW_AND_OLD_IMAGES)."
  value       = module.studio_recovery.registry_stream_arn
}

output "idempotency_table_name" {
  description = "Name of the Powertools idempotency DynamoDB table."
  value       = module.studio_recovery.idempotency_table_name
}

output "state_machine_arn" {
  description = "ARN of the restore workflow (Step Functions state machine)."
  value       = module.studio_recovery.state_machine_arn
}

output "event_function_name" {
  description = "Name of the Lambda function that records SageMaker CloudTrail events."
  value       = module.studio_recovery.event_function_name
}

output "seeder_function_name" {
  description = "Name of the Lambda function that records existing domains, profiles and spaces."
  value       = module.studio_recovery.seeder_function_name
}

output "stream_function_name" {
  description = "Name of the Lambda function that reads the registry stream and starts restores."
  value       = module.studio_recovery.stream_function_name
}

output "prepare_function_name" {
  description = "Name of the Lambda function that creates the DataSync locations and task of a restore."
  value       = module.studio_recovery.prepare_function_name
}

output "finalize_function_name" {
  description = "Name of the Lambda function that records a restore's result and cleans up."
  value       = module.studio_recovery.finalize_function_name
}

output "datasync_security_group_id" {
  description = "ID of the security group DataSync uses to reach the Studio EFS volumes."
  value       = module.studio_recovery.datasync_security_group_id
}

output "datasync_security_group_arn" {
  description = "ARN of the security group DataSync uses to reach the Studio EFS volumes."
  value       = module.studio_recovery.datasync_security_group_arn
}

output "notification_topic_arn" {
  description = "ARN of the SNS topic that receives alarms and failed restores."
  value       = module.studio_recovery.notification_topic_arn
}

output "event_dead_letter_queue_url" {
  description = "URL of the SQS queue that keeps SageMaker events the event function could not record."
  value       = module.studio_recovery.event_dead_letter_queue_url
}

output "stream_failure_queue_url" {
  description = "URL of the SQS queue that keeps registry stream records, and workflow events, that failed."
  value       = module.studio_recovery.stream_failure_queue_url
}

output "event_rule_names" {
  description = "Names of the EventBridge rules, by SageMaker API call."
  value       = module.studio_recovery.event_rule_names
}

output "kms_key_arn" {
  description = "ARN of the KMS key that encrypts the tables, queues, topic, log groups and trail."
  value       = module.studio_recovery.kms_key_arn
}

output "dashboard_name" {
  description = "Name of the CloudWatch dashboard of restores and failures."
  value       = module.studio_recovery.dashboard_name
}

output "trail_arn" {
  description = "ARN of the CloudTrail trail the module created, or null when create_cloudtrail is false."
  value       = module.studio_recovery.trail_arn
}

output "backup_bucket_name" {
  description = "Name of the S3 bucket that holds the backups of the home directories, or null when backups are off."
  value       = module.studio_recovery.backup_bucket_name
}

output "backup_bucket_arn" {
  description = "ARN of the backup bucket, or null when backups are off."
  value       = module.studio_recovery.backup_bucket_arn
}

output "backup_function_name" {
  description = "Name of the Lambda function that starts the scheduled backups, or null when backups are off."
  value       = module.studio_recovery.backup_function_name
}

output "sandbox_endpoint" {
  description = "Endpoint of the sandbox this root was applied to."
  value       = var.sandbox_endpoint
}

output "subnet_ids" {
  description = "Subnets of the sandbox VPC (for a Studio domain)."
  value       = aws_subnet.studio[*].id
}

output "vpc_id" {
  description = "The sandbox VPC."
  value       = aws_vpc.this.id
}

output "studio_execution_role_arn" {
  description = "ARN of the execution role of the sandbox's Studio domains and spaces."
  value       = aws_iam_role.studio_execution.arn
}

output "space_backup_lifecycle_config_arns" {
  description = "ARNs of the space backup lifecycle configurations, by app type; null when space backups are off."
  value       = module.studio_recovery.space_backup_lifecycle_config_arns
}
