variable "name_prefix" {
  description = "Prefix of the names: bucket <name_prefix>-backups-<account>-<region>, role <name_prefix>-datasync-s3, function and rule <name_prefix>-backup."
  type        = string
  nullable    = false

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{0,22}[a-z0-9]$", var.name_prefix))
    error_message = "name_prefix must be 2-24 characters of lowercase letters, digits and hyphens, for example \"studio-recovery\"."
  }
}

variable "kms_key_arn" {
  description = "ARN of the KMS key the bucket encrypts every object with (SSE-KMS, with an S3 Bucket Key)."
  type        = string
  nullable    = false

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:kms:", var.kms_key_arn))
    error_message = "kms_key_arn must be a KMS key ARN such as \"arn:aws:kms:us-east-1:123456789012:key/...\"."
  }
}

variable "retention_days" {
  description = <<-EOT
    Days an overwritten or deleted file's earlier version is kept under homes/ (noncurrent
    version expiration): how far back a restore from a backup can reach for it.
  EOT
  type        = number
  default     = 35
  nullable    = false

  validation {
    condition     = var.retention_days >= 1 && floor(var.retention_days) == var.retention_days
    error_message = "retention_days must be a whole number of days, 1 or more, for example 35."
  }
}

variable "transition_days" {
  description = "Days after which current versions under homes/ move to storage_class."
  type        = number
  default     = 30
  nullable    = false

  validation {
    condition     = var.transition_days >= 0 && floor(var.transition_days) == var.transition_days
    error_message = "transition_days must be a whole number of days, 0 or more, for example 30."
  }
}

variable "storage_class" {
  description = <<-EOT
    Storage class current versions under homes/ move to after transition_days. STANDARD
    keeps them where DataSync wrote them (no transition). Only classes DataSync can read back
    without a restore request are allowed.
  EOT
  type        = string
  default     = "STANDARD_IA"
  nullable    = false

  validation {
    condition     = contains(["STANDARD", "STANDARD_IA", "ONEZONE_IA", "INTELLIGENT_TIERING", "GLACIER_IR"], var.storage_class)
    error_message = "storage_class must be STANDARD, STANDARD_IA, ONEZONE_IA, INTELLIGENT_TIERING or GLACIER_IR (DataSync cannot read GLACIER or DEEP_ARCHIVE objects back)."
  }
}

variable "force_destroy" {
  description = "Let `terraform destroy` delete the bucket with every backup in it. Keep false outside sandboxes."
  type        = bool
  default     = false
  nullable    = false
}

variable "schedule_expression" {
  description = "When the backup function runs: an EventBridge rate() or cron() expression."
  type        = string
  default     = "rate(1 day)"
  nullable    = false

  validation {
    condition     = can(regex("^(rate\\([1-9][0-9]* (minute|minutes|hour|hours|day|days)\\)|cron\\([^)]+\\))$", var.schedule_expression))
    error_message = "schedule_expression must be an EventBridge schedule such as \"rate(1 day)\" or \"cron(0 2 * * ? *)\"."
  }
}

variable "lambda" {
  description = <<-EOT
    How the backup function is built: the zip and its base64 SHA-256 (filebase64sha256), the
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
  description = "Retention of the backup function's log group, in days."
  type        = number
  default     = 365
  nullable    = false
}

variable "registry_table_name" {
  description = "Name of the registry table (the backup function reads the recorded home directories)."
  type        = string
  nullable    = false
}

variable "registry_table_arn" {
  description = "ARN of the registry table."
  type        = string
  nullable    = false
}

variable "state_machine_arn" {
  description = "ARN of the restore state machine, which also runs the backups (modules/workflow)."
  type        = string
  nullable    = false
}

variable "failure_queue_arn" {
  description = "ARN of the failure queue of modules/workflow: the backup function's dead-letter queue and its schedule's."
  type        = string
  nullable    = false
}

variable "tags" {
  description = "Tags added to every resource that takes tags."
  type        = map(string)
  default     = {}
  nullable    = false
}

variable "eventbridge_enabled" {
  description = "Send the bucket's object events to EventBridge (on with space_backups: the space restore reports reach the registry through them)."
  type        = bool
  default     = false
  nullable    = false
}
