variable "name_prefix" {
  description = "Prefix of every resource name."
  type        = string
  nullable    = false

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{0,22}[a-z0-9]$", var.name_prefix))
    error_message = "name_prefix must be 2-24 characters of lowercase letters, digits and hyphens, for example \"studio-recovery\"."
  }
}

variable "kms_key_arn" {
  description = "ARN of the KMS key that encrypts the queue, log groups, environment variables and trail."
  type        = string
  nullable    = false

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:kms:", var.kms_key_arn))
    error_message = "kms_key_arn must be a KMS key ARN such as \"arn:aws:kms:us-east-1:123456789012:key/...\"."
  }
}

variable "lambda" {
  description = <<-EOT
    How the functions are built: the zip and its base64 SHA-256 (filebase64sha256), the
    runtime, memory in MB, layer ARNs and the Powertools log level.
  EOT
  type = object({
    package_path     = string
    source_code_hash = string
    runtime          = string
    memory_size      = number
    layer_arns       = list(string)
    log_level        = string
  })
  nullable = false

  validation {
    condition     = endswith(var.lambda.package_path, ".zip") && var.lambda.memory_size >= 128 && var.lambda.memory_size <= 10240
    error_message = "lambda.package_path must end in .zip (the zip from `make build`) and lambda.memory_size must be from 128 to 10240."
  }
}

variable "log_retention_days" {
  description = "Retention of the functions' log groups, in days."
  type        = number
  default     = 365
  nullable    = false
}

variable "registry_table_name" {
  description = "Name of the registry table."
  type        = string
  nullable    = false
}

variable "registry_table_arn" {
  description = "ARN of the registry table."
  type        = string
  nullable    = false
}

variable "idempotency_table_name" {
  description = "Name of the idempotency table."
  type        = string
  nullable    = false
}

variable "idempotency_table_arn" {
  description = "ARN of the idempotency table."
  type        = string
  nullable    = false
}

variable "create_cloudtrail" {
  description = "Create a single-region trail of write management events, with its bucket."
  type        = bool
  default     = false
  nullable    = false
}

variable "trail_log_expiration_days" {
  description = "Days the trail's log files are kept."
  type        = number
  default     = 365
  nullable    = false

  validation {
    condition     = var.trail_log_expiration_days >= 1
    error_message = "trail_log_expiration_days must be 1 or more, for example 365."
  }
}

variable "seed_on_apply" {
  description = "Invoke the seeder once at apply time (again when the code changes)."
  type        = bool
  default     = true
  nullable    = false
}

variable "seed_concurrency" {
  description = "SEED_CONCURRENCY of the seeder: Describe calls it makes at once."
  type        = number
  default     = 8
  nullable    = false

  validation {
    condition     = var.seed_concurrency >= 1 && var.seed_concurrency <= 32
    error_message = "seed_concurrency must be from 1 to 32, for example 8."
  }
}

variable "tags" {
  description = "Tags added to every resource that takes tags."
  type        = map(string)
  default     = {}
  nullable    = false
}
