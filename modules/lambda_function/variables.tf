variable "name" {
  description = "Name of the function; also of its role, its inline policy and its log group (/aws/lambda/<name>)."
  type        = string
  nullable    = false

  validation {
    condition     = can(regex("^[a-zA-Z0-9-_]{1,64}$", var.name))
    error_message = "name must be 1-64 letters, digits, hyphens or underscores, for example \"studio-recovery-event\"."
  }
}

variable "description" {
  description = "What the function does (shown in the Lambda console)."
  type        = string
  nullable    = false
}

variable "handler" {
  description = "Handler of the function in the zip, for example \"studio_recovery.handlers.event.handler\"."
  type        = string
  nullable    = false
}

variable "timeout" {
  description = "Longest one invocation may run, in seconds."
  type        = number
  nullable    = false

  validation {
    condition     = var.timeout >= 1 && var.timeout <= 900
    error_message = "timeout must be from 1 to 900 seconds, for example 120."
  }
}

variable "environment" {
  description = "Environment variables of this function, added to the Powertools settings (and REGISTRY_TABLE_NAME when registry is set)."
  type        = map(string)
  default     = {}
  nullable    = false
}

variable "lambda" {
  description = <<-EOT
    How the function is built: the zip and its base64 SHA-256 (filebase64sha256), the
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

variable "kms_key_arn" {
  description = "ARN of the KMS key that encrypts the log group and the environment variables; the role may use it (UseModuleKey)."
  type        = string
  nullable    = false

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:kms:", var.kms_key_arn))
    error_message = "kms_key_arn must be a KMS key ARN such as \"arn:aws:kms:us-east-1:123456789012:key/...\"."
  }
}

variable "log_retention_days" {
  description = "Retention of the function's log group, in days."
  type        = number
  default     = 365
  nullable    = false
}

variable "dead_letter_queue_arn" {
  description = "ARN of the SQS queue that receives the events the function could not process; the role may send to it."
  type        = string
  nullable    = false
}

variable "dead_letter_policy_sid" {
  description = "Sid of the statement that lets the role send to the dead-letter queue."
  type        = string
  default     = "SendToDeadLetterQueue"
  nullable    = false

  validation {
    condition     = can(regex("^[A-Za-z0-9]+$", var.dead_letter_policy_sid))
    error_message = "dead_letter_policy_sid must be letters and digits only, for example \"SendToFailureQueue\"."
  }
}

variable "registry" {
  description = <<-EOT
    The registry table the function reads and writes, or null for none. Sets
    REGISTRY_TABLE_NAME and grants ReadWriteRegistry on the table only; batch_write adds
    dynamodb:BatchWriteItem (the seeder and the event function write in batches).
  EOT
  type = object({
    table_name  = string
    table_arn   = string
    batch_write = optional(bool, false)
  })
  default = null
}

variable "policy_jsons" {
  description = "Further IAM policy documents (JSON) of the function's own statements, merged into its inline policy; every sid must be unique."
  type        = list(string)
  default     = []
  nullable    = false
}

variable "create_async_event_config" {
  description = "Bound asynchronous invocations (EventBridge targets): two retries within six hours, then the dead-letter queue."
  type        = bool
  default     = false
  nullable    = false
}

variable "tags" {
  description = "Tags added to every resource that takes tags."
  type        = map(string)
  default     = {}
  nullable    = false
}
