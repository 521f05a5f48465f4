variable "name_prefix" {
  description = "Prefix of the names: lifecycle configurations <name_prefix>-space-backup-jupyterlab and -codeeditor, policy <name_prefix>-space-backup."
  type        = string
  nullable    = false

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{0,22}[a-z0-9]$", var.name_prefix))
    error_message = "name_prefix must be 2-24 characters of lowercase letters, digits and hyphens, for example \"studio-recovery\"."
  }
}

variable "bucket_name" {
  description = "Name of the backup bucket (modules/backup): the agent and every space's backups live there."
  type        = string
  nullable    = false
}

variable "bucket_arn" {
  description = "ARN of the backup bucket."
  type        = string
  nullable    = false

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:s3:::[a-z0-9.-]+$", var.bucket_arn))
    error_message = "bucket_arn must be an S3 bucket ARN such as \"arn:aws:s3:::studio-recovery-backups-123456789012-us-east-1\"."
  }
}

variable "kms_key_arn" {
  description = "ARN of the KMS key the bucket encrypts with (the agent uses it through S3 only)."
  type        = string
  nullable    = false

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:kms:", var.kms_key_arn))
    error_message = "kms_key_arn must be a KMS key ARN such as \"arn:aws:kms:us-east-1:123456789012:key/...\"."
  }
}

variable "execution_role_names" {
  description = <<-EOT
    Names of the execution roles of the Studio spaces to protect (the domains' and profiles'
    ExecutionRole, DefaultSpaceSettings' for shared spaces). Each gets the policy that lets
    the agent read and write its own space's backups. Empty: attach `policy_arn` yourself.
  EOT
  type        = list(string)
  default     = []
  nullable    = false

  validation {
    condition     = alltrue([for name in var.execution_role_names : can(regex("^[\\w+=,.@-]{1,64}$", name))])
    error_message = "execution_role_names must be IAM role names (not ARNs), such as \"AmazonSageMaker-ExecutionRole-20260101T000000\"."
  }
}

variable "interval_minutes" {
  description = "Minutes between two backups of a running space (a last one runs when the app stops)."
  type        = number
  default     = 60
  nullable    = false

  validation {
    condition     = var.interval_minutes >= 1 && var.interval_minutes <= 1440 && floor(var.interval_minutes) == var.interval_minutes
    error_message = "interval_minutes must be a whole number of minutes from 1 to 1440, for example 60."
  }
}

variable "exclude" {
  description = <<-EOT
    What is not backed up, because it can be rebuilt: a name without "/" matches any file or
    directory of that name anywhere in the home ("node_modules"); a path with "/" matches
    that path from the home (".conda/envs"). Shell wildcards (*, ?, [...]) work in both.
    ~/.studio-recovery (the agent's state) and ~/user-default-efs (on the EFS home, protected
    by the EFS backups) are never backed up.
  EOT
  type        = list(string)
  default     = [".cache", ".conda/envs", ".conda/pkgs", ".local/lib", ".npm", ".yarn", "node_modules", "__pycache__", ".venv", ".ipynb_checkpoints", ".Trash-*", ".local/share/jupyter/runtime"]
  nullable    = false

  validation {
    condition     = alltrue([for pattern in var.exclude : can(regex("^[^'\"\\\\]+$", pattern)) && !startswith(pattern, "/") && !contains(split("/", pattern), "..")])
    error_message = "exclude entries must be names or paths relative to the home, without quotes, backslashes, a leading \"/\" or \"..\", for example \"node_modules\" or \".conda/envs\"."
  }
}

variable "tags" {
  description = "Tags added to every resource that takes tags."
  type        = map(string)
  default     = {}
  nullable    = false
}

variable "lambda" {
  description = <<-EOT
    How the space-report function is built: the zip and its base64 SHA-256
    (filebase64sha256), the runtime, memory in MB, layer ARNs and the Powertools log level.
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
}

variable "log_retention_days" {
  description = "Retention of the space-report function's log group, in days."
  type        = number
  default     = 365
  nullable    = false
}

variable "registry_table_name" {
  description = "Name of the registry table the space-report function records restores in."
  type        = string
  nullable    = false
}

variable "registry_table_arn" {
  description = "ARN of the registry table."
  type        = string
  nullable    = false
}

variable "dead_letter_queue_arn" {
  description = "ARN of the queue that keeps report events the function could not record (the workflow's failure queue)."
  type        = string
  nullable    = false
}

variable "attach_to_domain_ids" {
  description = <<-EOT
    Domains (ids) whose default user settings (JupyterLab, Code Editor) and default space
    settings (JupyterLab) get the lifecycle configurations, as the default where no other
    configuration is the default (another default is kept: the result says so), at apply;
    destroy, or removing a domain from the list, detaches them. Empty: attach by hand
    (`studio-recovery attach-space-backup`).
  EOT
  type        = list(string)
  default     = []
  nullable    = false

  validation {
    condition     = alltrue([for id in var.attach_to_domain_ids : can(regex("^d-[a-z0-9]{1,63}$", id))])
    error_message = "attach_to_domain_ids must be SageMaker domain ids, such as \"d-abc123def456\"."
  }
}
