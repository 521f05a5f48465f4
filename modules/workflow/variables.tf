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
  description = "ARN of the KMS key that encrypts the queue, log groups and environment variables."
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
  description = "Retention of the workflow, function and DataSync log groups, in days."
  type        = number
  default     = 365
  nullable    = false
}

variable "workflow_log_level" {
  description = "Step Functions logging level: ALL, ERROR or FATAL (execution data is never logged)."
  type        = string
  default     = "ALL"
  nullable    = false

  validation {
    condition     = contains(["ALL", "ERROR", "FATAL"], var.workflow_log_level)
    error_message = "workflow_log_level must be \"ALL\", \"ERROR\" or \"FATAL\"."
  }
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

variable "registry_stream_arn" {
  description = "ARN of the registry table's stream."
  type        = string
  nullable    = false
}

variable "notification_topic_arn" {
  description = "ARN of the SNS topic the finalize function notifies of failed restores."
  type        = string
  nullable    = false
}

variable "vpc_id" {
  description = "VPC of the Studio EFS volumes; the DataSync security group is created in it."
  type        = string
  nullable    = false

  validation {
    condition     = can(regex("^vpc-[0-9a-f]{8,17}$", var.vpc_id))
    error_message = "vpc_id must be a VPC id such as \"vpc-0123456789abcdef0\"."
  }
}

variable "datasync_subnet_ids" {
  description = "Subnets for the DataSync network interfaces (DATASYNC_SUBNET_IDS)."
  type        = list(string)
  nullable    = false

  validation {
    condition     = length(var.datasync_subnet_ids) > 0 && alltrue([for id in var.datasync_subnet_ids : can(regex("^subnet-[0-9a-f]{8,17}$", id))])
    error_message = "datasync_subnet_ids must list at least one subnet id such as \"subnet-0123456789abcdef0\"."
  }
}

variable "studio_efs_security_group_ids" {
  description = "Studio EFS mount target security groups: NFS egress to them, and ingress on them from DataSync."
  type        = list(string)
  default     = []
  nullable    = false

  validation {
    condition     = alltrue([for id in var.studio_efs_security_group_ids : can(regex("^sg-[0-9a-f]{8,17}$", id))])
    error_message = "studio_efs_security_group_ids must contain security group ids such as \"sg-0123456789abcdef0\"."
  }
}

variable "max_concurrent_restores" {
  description = "Most DataSync transfers running at once."
  type        = number
  default     = 20
  nullable    = false

  validation {
    condition     = var.max_concurrent_restores >= 1 && var.max_concurrent_restores <= 90
    error_message = "max_concurrent_restores must be from 1 to 90, for example 20."
  }
}

variable "name_reuse_window_days" {
  description = "NAME_REUSE_WINDOW_DAYS of the stream function."
  type        = number
  default     = 30
  nullable    = false
}

variable "transfer_timeout_seconds" {
  description = "Longest one transfer may run before the workflow cancels it."
  type        = number
  default     = 21600
  nullable    = false
}

variable "home_wait_timeout_seconds" {
  description = "Longest prepare waits for the new home's access point to become available."
  type        = number
  default     = 60
  nullable    = false
}

variable "poll_interval_seconds" {
  description = "Seconds between checks of a running transfer; at most 1,500 checks fit a transfer_timeout_seconds (the root module enforces it: Step Functions' 25,000-event history)."
  type        = number
  default     = 60
  nullable    = false
}

variable "slot_wait_timeout_seconds" {
  description = "Longest a restore waits for a free transfer slot."
  type        = number
  default     = 21600
  nullable    = false
}

variable "in_transit_encryption" {
  description = "Mount the volumes with TLS 1.2 (IN_TRANSIT_ENCRYPTION = TLS1_2, else NONE)."
  type        = bool
  default     = true
  nullable    = false
}

variable "home_gid" {
  description = "POSIX group of restored files (HOME_GID)."
  type        = number
  default     = 100
  nullable    = false
}

variable "stream_filter_enabled" {
  description = "Filter the stream to new GEN# items, pending COPY items and (backups on) GEN# items just marked deleted before invoking the function."
  type        = bool
  default     = true
  nullable    = false
}

variable "stream_batch_size" {
  description = "Stream records per invocation of the stream function."
  type        = number
  default     = 10
  nullable    = false

  validation {
    condition     = var.stream_batch_size >= 1 && var.stream_batch_size <= 100
    error_message = "stream_batch_size must be from 1 to 100, for example 10."
  }
}

variable "stream_maximum_retry_attempts" {
  description = "Retries of a failing stream batch (halved by bisection) before its records go to the failure queue."
  type        = number
  default     = 5
  nullable    = false

  validation {
    condition     = var.stream_maximum_retry_attempts >= 0 && var.stream_maximum_retry_attempts <= 20
    error_message = "stream_maximum_retry_attempts must be from 0 to 20, for example 5."
  }
}

variable "stream_maximum_record_age_seconds" {
  description = "Oldest stream record the function is still given; older ones go to the failure queue."
  type        = number
  default     = 21600
  nullable    = false

  validation {
    condition     = var.stream_maximum_record_age_seconds >= 60 && var.stream_maximum_record_age_seconds <= 604800
    error_message = "stream_maximum_record_age_seconds must be from 60 to 604800, for example 21600."
  }
}

variable "backup" {
  description = <<-EOT
    Backups to S3: enabled, and the bucket, role and schedule rule from modules/backup
    (required when enabled). Off: no S3 grants, no backup stream filter, and empty BACKUP_*
    variables.
  EOT
  type = object({
    enabled                = optional(bool, false)
    bucket_name            = optional(string)
    bucket_arn             = optional(string)
    bucket_access_role_arn = optional(string)
    schedule_rule_arn      = optional(string)
  })
  default  = {}
  nullable = false

  validation {
    condition     = !var.backup.enabled || (var.backup.bucket_name != null && var.backup.bucket_arn != null && var.backup.bucket_access_role_arn != null && var.backup.schedule_rule_arn != null)
    error_message = "backup.enabled = true needs backup.bucket_name, backup.bucket_arn, backup.bucket_access_role_arn and backup.schedule_rule_arn (the outputs of modules/backup)."
  }
}

variable "tags" {
  description = "Tags added to every resource that takes tags."
  type        = map(string)
  default     = {}
  nullable    = false
}
