output "bucket_name" {
  description = "Name of the backup bucket."
  value       = aws_s3_bucket.this.bucket
}

output "bucket_arn" {
  description = "ARN of the backup bucket."
  value       = aws_s3_bucket.this.arn
}

output "access_role_arn" {
  description = "ARN of the role DataSync assumes to reach the bucket (BucketAccessRoleArn)."
  value       = module.access_role.role_arn
}

output "access_role_name" {
  description = "Name of the role DataSync assumes to reach the bucket."
  value       = module.access_role.role_name
}

output "backup_function_name" {
  description = "Name of the function that starts the scheduled backups."
  value       = module.function.function_name
}

output "schedule_rule_name" {
  description = "Name of the EventBridge rule that runs the backup function on its schedule."
  value       = aws_cloudwatch_event_rule.schedule.name
}

output "schedule_rule_arn" {
  description = "ARN of the EventBridge rule that runs the backup function on its schedule."
  value       = aws_cloudwatch_event_rule.schedule.arn
}

output "eventbridge_notification" {
  description = "The bucket's EventBridge notification (one element when eventbridge_enabled, else none)."
  value       = aws_s3_bucket_notification.this[*].id
}
