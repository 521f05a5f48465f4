variable "name" {
  description = "Name of the queue."
  type        = string
  nullable    = false

  validation {
    condition     = can(regex("^[a-zA-Z0-9_-]{1,80}$", var.name))
    error_message = "name must be 1-80 letters, digits, hyphens or underscores, for example \"studio-recovery-event-dlq\"."
  }
}

variable "kms_key_arn" {
  description = "ARN of the KMS key that encrypts the queue (its policy must let the senders use it)."
  type        = string
  nullable    = false

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:kms:", var.kms_key_arn))
    error_message = "kms_key_arn must be a KMS key ARN such as \"arn:aws:kms:us-east-1:123456789012:key/...\"."
  }
}

variable "eventbridge_senders" {
  description = <<-EOT
    The EventBridge rules whose targets send undelivered events here: the sid of the
    statement that allows them, and their ARNs (aws:SourceArn). Null: no rule may send.
  EOT
  type = object({
    sid       = string
    rule_arns = list(string)
  })
  default = null
}

variable "tags" {
  description = "Tags added to the queue."
  type        = map(string)
  default     = {}
  nullable    = false
}
