output "registry_table_name" {
  description = "Name of the registry table."
  value       = aws_dynamodb_table.this.name
}

output "registry_table_arn" {
  description = "ARN of the registry table."
  value       = aws_dynamodb_table.this.arn
}

output "registry_stream_arn" {
  description = "ARN of the registry table's stream (NEW_AND_OLD_IMAGES)."
  value       = aws_dynamodb_table.this.stream_arn
}

output "idempotency_table_name" {
  description = "Name of the idempotency table."
  value       = aws_dynamodb_table.idempotency.name
}

output "idempotency_table_arn" {
  description = "ARN of the idempotency table."
  value       = aws_dynamodb_table.idempotency.arn
}
