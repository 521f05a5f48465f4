output "notification_topic_arn" {
  description = "ARN of the notification topic."
  value       = aws_sns_topic.this.arn
}
