output "event_function_name" {
  description = "Name of the event function."
  value       = module.function["event"].function_name
}

output "event_function_arn" {
  description = "ARN of the event function."
  value       = module.function["event"].function_arn
}

output "seeder_function_name" {
  description = "Name of the seeder function."
  value       = module.function["seeder"].function_name
}

output "function_names" {
  description = "Names of this part's functions, by key (event, seeder)."
  value       = { for key, function in module.function : key => function.function_name }
}

output "dead_letter_queue_url" {
  description = "URL of the event dead-letter queue."
  value       = module.dead_letter_queue.queue_url
}

output "dead_letter_queue_arn" {
  description = "ARN of the event dead-letter queue."
  value       = module.dead_letter_queue.queue_arn
}

output "queue_names" {
  description = "Names of this part's queues, by key."
  value       = { event_dlq = module.dead_letter_queue.queue_name }
}

output "event_rule_names" {
  description = "Names of the EventBridge rules, by SageMaker API call."
  value       = { for event_name, rule in aws_cloudwatch_event_rule.this : event_name => rule.name }
}

output "trail_arn" {
  description = "ARN of the trail, or null when none is created."
  value       = try(aws_cloudtrail.this[0].arn, null)
}

output "trail_bucket_name" {
  description = "Name of the trail's bucket, or null when no trail is created."
  value       = try(aws_s3_bucket.trail[0].id, null)
}
