variable "name_prefix" {
  description = "Prefix of the table names: <name_prefix>-registry and <name_prefix>-idempotency."
  type        = string
  nullable    = false

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{0,22}[a-z0-9]$", var.name_prefix))
    error_message = "name_prefix must be 2-24 characters of lowercase letters, digits and hyphens, for example \"studio-recovery\"."
  }
}

variable "kms_key_arn" {
  description = "ARN of the customer managed KMS key that encrypts both tables."
  type        = string
  nullable    = false

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:kms:", var.kms_key_arn))
    error_message = "kms_key_arn must be a KMS key ARN such as \"arn:aws:kms:us-east-1:123456789012:key/...\"."
  }
}

variable "deletion_protection_enabled" {
  description = "Turn on DynamoDB deletion protection for the registry table."
  type        = bool
  default     = true
  nullable    = false
}

variable "tags" {
  description = "Tags added to both tables."
  type        = map(string)
  default     = {}
  nullable    = false
}
