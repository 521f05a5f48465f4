variable "name_prefix" {
  description = <<-EOT
    Prefix of every resource name (tables, functions, queues, state machine, roles).
    Lowercase letters, digits and hyphens, 2 to 24 characters, starting with a letter.
  EOT
  type        = string
  default     = "studio-recovery"
  nullable    = false

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{0,22}[a-z0-9]$", var.name_prefix))
    error_message = "name_prefix must be 2-24 characters of lowercase letters, digits and hyphens, start with a letter and not end with a hyphen, for example \"studio-recovery\"."
  }
}

variable "vpc_id" {
  description = "The VPC of the Studio domains' EFS volumes: the DataSync security group is created in it."
  type        = string
  nullable    = false

  validation {
    condition     = can(regex("^vpc-[0-9a-f]{8,17}$", var.vpc_id))
    error_message = "vpc_id must be a VPC id such as \"vpc-0123456789abcdef0\"."
  }
}

variable "datasync_subnet_ids" {
  description = <<-EOT
    Subnets DataSync may place its network interfaces in, one or more per Availability Zone
    of the Studio EFS mount targets (the domain's own subnets are a good choice).
  EOT
  type        = list(string)
  nullable    = false

  validation {
    condition     = length(var.datasync_subnet_ids) > 0 && alltrue([for id in var.datasync_subnet_ids : can(regex("^subnet-[0-9a-f]{8,17}$", id))])
    error_message = "datasync_subnet_ids must list at least one subnet id such as \"subnet-0123456789abcdef0\"."
  }
}

variable "studio_efs_security_group_ids" {
  description = <<-EOT
    Security groups of the Studio domains' EFS mount targets (SageMaker names them
    "security-group-for-inbound-nfs-<domain id>"). When given, the DataSync security group may
    reach only these groups, and each of them gets an ingress rule for NFS (TCP 2049) from it.
    Leave empty to allow NFS to the whole VPC CIDR and open the groups yourself (or with the
    admin CLI).
  EOT
  type        = list(string)
  default     = []
  nullable    = false

  validation {
    condition     = alltrue([for id in var.studio_efs_security_group_ids : can(regex("^sg-[0-9a-f]{8,17}$", id))])
    error_message = "studio_efs_security_group_ids must contain security group ids such as \"sg-0123456789abcdef0\"."
  }
}

variable "kms_key_arn" {
  description = <<-EOT
    ARN of a customer managed KMS key for the tables, queues, topic, log groups, trail and
    backup bucket.
    Null (the default) creates one, with rotation and a key policy for the AWS services used.
    A key you bring must allow the same services (see the README).
  EOT
  type        = string
  default     = null

  validation {
    condition     = var.kms_key_arn == null || can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/[0-9a-f-]{36}$", var.kms_key_arn))
    error_message = "kms_key_arn must be a key ARN such as \"arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab\" (not an alias), or null to create a key."
  }
}

variable "create_cloudtrail" {
  description = <<-EOT
    Create a single-region CloudTrail trail (write management events) with its own encrypted
    S3 bucket. EventBridge only receives the SageMaker API calls while some trail logs
    management events: turn this on in accounts without one (an organization trail counts).
  EOT
  type        = bool
  default     = false
  nullable    = false
}

variable "trail_log_expiration_days" {
  description = "Days the trail's log files are kept in its S3 bucket (only with create_cloudtrail)."
  type        = number
  default     = 365
  nullable    = false

  validation {
    condition     = var.trail_log_expiration_days >= 1 && floor(var.trail_log_expiration_days) == var.trail_log_expiration_days
    error_message = "trail_log_expiration_days must be a whole number of days, 1 or more, for example 365."
  }
}

variable "lambda_package_path" {
  description = "Path of the Lambda deployment zip written by `make build` (for example \"build/lambda.zip\")."
  type        = string
  nullable    = false

  validation {
    condition     = endswith(var.lambda_package_path, ".zip")
    error_message = "lambda_package_path must be the path of the zip written by `make build`, ending in .zip, for example \"build/lambda.zip\"."
  }
}

variable "powertools_layer_arn" {
  description = <<-EOT
    Lambda layer with Powertools for AWS Lambda (Python) v3 and pydantic. Null (the default)
    uses the official layer of the deployment region for the chosen runtime; an empty string
    attaches no layer (when Powertools is installed some other way).
  EOT
  type        = string
  default     = null

  validation {
    condition     = var.powertools_layer_arn == null || var.powertools_layer_arn == "" || can(regex("^arn:aws[a-z-]*:lambda:[a-z0-9-]+:[0-9]{12}:layer:[A-Za-z0-9_-]+:[0-9]+$", var.powertools_layer_arn))
    error_message = "powertools_layer_arn must be a layer version ARN such as \"arn:aws:lambda:us-east-1:017000801446:layer:AWSLambdaPowertoolsPythonV3-python312-x86_64:27\", an empty string for no layer, or null for the official layer."
  }
}

variable "lambda_runtime" {
  description = "Python runtime of every function."
  type        = string
  default     = "python3.12"
  nullable    = false

  validation {
    condition     = contains(["python3.12", "python3.13"], var.lambda_runtime)
    error_message = "lambda_runtime must be \"python3.12\" or \"python3.13\"."
  }
}

variable "lambda_memory_size" {
  description = "Memory of every function, in MB."
  type        = number
  default     = 256
  nullable    = false

  validation {
    condition     = var.lambda_memory_size >= 128 && var.lambda_memory_size <= 10240 && floor(var.lambda_memory_size) == var.lambda_memory_size
    error_message = "lambda_memory_size must be a whole number of MB between 128 and 10240, for example 256."
  }
}

variable "log_level" {
  description = "POWERTOOLS_LOG_LEVEL of every function."
  type        = string
  default     = "INFO"
  nullable    = false

  validation {
    condition     = contains(["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"], var.log_level)
    error_message = "log_level must be one of DEBUG, INFO, WARNING, ERROR or CRITICAL."
  }
}

variable "log_retention_days" {
  description = "Retention of every log group the module creates, in days."
  type        = number
  default     = 365
  nullable    = false

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days must be a CloudWatch Logs retention: 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288 or 3653."
  }
}

variable "alarm_email" {
  description = "Email address subscribed to the notification topic (alarms and failed restores). Null for no subscription."
  type        = string
  default     = null

  validation {
    condition     = var.alarm_email == null || can(regex("^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$", var.alarm_email))
    error_message = "alarm_email must be an email address such as \"ml-platform@example.com\", or null."
  }
}

variable "seed_on_apply" {
  description = <<-EOT
    Run the seeder once at apply time, recording every existing domain, user profile and
    space of the region, so that a later recreation finds its earlier home directory.
  EOT
  type        = bool
  default     = true
  nullable    = false
}

variable "max_concurrent_restores" {
  description = "Most DataSync transfers running at once (each holds a task of the 100-per-region quota)."
  type        = number
  default     = 20
  nullable    = false

  validation {
    condition     = var.max_concurrent_restores >= 1 && var.max_concurrent_restores <= 90 && floor(var.max_concurrent_restores) == var.max_concurrent_restores
    error_message = "max_concurrent_restores must be a whole number from 1 to 90 (DataSync allows 100 tasks per region; leave room for others), for example 20."
  }
}

variable "name_reuse_window_days" {
  description = <<-EOT
    A profile recreated under the same name more than this many days after its deletion is
    treated as a different person and gets no automatic restore. 0 disables the check.
  EOT
  type        = number
  default     = 30
  nullable    = false

  validation {
    condition     = var.name_reuse_window_days >= 0 && var.name_reuse_window_days <= 3650 && floor(var.name_reuse_window_days) == var.name_reuse_window_days
    error_message = "name_reuse_window_days must be a whole number of days from 0 to 3650, for example 30."
  }
}

variable "transfer_timeout_seconds" {
  description = "Longest one DataSync transfer may run before the workflow cancels it and fails."
  type        = number
  default     = 21600
  nullable    = false

  validation {
    condition     = var.transfer_timeout_seconds >= 300 && var.transfer_timeout_seconds <= 604800 && floor(var.transfer_timeout_seconds) == var.transfer_timeout_seconds
    error_message = "transfer_timeout_seconds must be a whole number of seconds from 300 to 604800 (7 days), for example 21600."
  }
}

variable "home_wait_timeout_seconds" {
  description = "Longest a restore waits for the new home directory (the new uid's EFS access point) to become available before it fails."
  type        = number
  default     = 60
  nullable    = false

  validation {
    condition     = var.home_wait_timeout_seconds >= 1 && var.home_wait_timeout_seconds <= 90 && floor(var.home_wait_timeout_seconds) == var.home_wait_timeout_seconds
    error_message = "home_wait_timeout_seconds must be a whole number of seconds from 1 to 90 (the prepare function's timeout is 120), for example 60."
  }
}

variable "poll_interval_seconds" {
  description = "How often the workflow checks a running transfer (each check is a billed state transition)."
  type        = number
  default     = 60
  nullable    = false

  validation {
    condition     = var.poll_interval_seconds >= 10 && var.poll_interval_seconds <= 3600 && floor(var.poll_interval_seconds) == var.poll_interval_seconds
    error_message = "poll_interval_seconds must be a whole number of seconds from 10 to 3600, for example 60."
  }
}

variable "slot_wait_timeout_seconds" {
  description = "Longest a restore waits for a free transfer slot (see max_concurrent_restores) before it fails."
  type        = number
  default     = 21600
  nullable    = false

  validation {
    condition     = var.slot_wait_timeout_seconds >= 60 && var.slot_wait_timeout_seconds <= 604800 && floor(var.slot_wait_timeout_seconds) == var.slot_wait_timeout_seconds
    error_message = "slot_wait_timeout_seconds must be a whole number of seconds from 60 to 604800, for example 21600."
  }
}

variable "in_transit_encryption" {
  description = "Mount the Studio EFS volumes with TLS 1.2 for DataSync transfers."
  type        = bool
  default     = true
  nullable    = false
}

variable "home_gid" {
  description = "POSIX group of restored files (SageMaker Studio home directories use 100, \"users\")."
  type        = number
  default     = 100
  nullable    = false

  validation {
    condition     = var.home_gid >= 0 && var.home_gid <= 4294967294 && floor(var.home_gid) == var.home_gid
    error_message = "home_gid must be a whole number from 0 to 4294967294; SageMaker Studio uses 100."
  }
}

variable "stream_filter_enabled" {
  description = <<-EOT
    Filter the registry stream before it reaches the stream function (new GEN# items,
    pending COPY items and, with backups on, GEN# items just marked deleted), so the
    function is not invoked for other changes.
  EOT
  type        = bool
  default     = true
  nullable    = false
}

variable "backups" {
  description = <<-EOT
    Backups of every home directory to an S3 bucket the module creates (versioned, SSE-KMS
    with the module's key, TLS only), so a home survives the deletion of its domain's volume.
    enabled: create the bucket, the backup function and its schedule, and back up each
    profile or space when it is deleted. schedule_expression: how often every home is backed
    up (EventBridge rate() or cron()). retention_days: how long a changed or removed file's
    earlier version is kept. transition_days and storage_class: when current versions move
    to a cheaper class (STANDARD: never). force_destroy: let `terraform destroy` delete the
    bucket with the backups in it.
  EOT
  type = object({
    enabled             = optional(bool, true)
    schedule_expression = optional(string, "rate(1 day)")
    retention_days      = optional(number, 35)
    transition_days     = optional(number, 30)
    storage_class       = optional(string, "STANDARD_IA")
    force_destroy       = optional(bool, false)
  })
  default  = {}
  nullable = false

  validation {
    condition     = can(regex("^(rate\\([1-9][0-9]* (minute|minutes|hour|hours|day|days)\\)|cron\\([^)]+\\))$", var.backups.schedule_expression))
    error_message = "backups.schedule_expression must be an EventBridge schedule such as \"rate(1 day)\", \"rate(12 hours)\" or \"cron(0 2 * * ? *)\" (02:00 UTC daily)."
  }

  validation {
    condition     = var.backups.retention_days >= 1 && var.backups.retention_days <= 3650 && floor(var.backups.retention_days) == var.backups.retention_days
    error_message = "backups.retention_days must be a whole number of days from 1 to 3650, for example 35."
  }

  validation {
    condition     = contains(["STANDARD", "STANDARD_IA", "ONEZONE_IA", "INTELLIGENT_TIERING", "GLACIER_IR"], var.backups.storage_class)
    error_message = "backups.storage_class must be STANDARD (no transition), STANDARD_IA, ONEZONE_IA, INTELLIGENT_TIERING or GLACIER_IR; DataSync cannot read GLACIER or DEEP_ARCHIVE objects back without a restore request."
  }

  validation {
    condition     = var.backups.transition_days >= 0 && floor(var.backups.transition_days) == var.backups.transition_days && (var.backups.transition_days >= 30 || !contains(["STANDARD_IA", "ONEZONE_IA"], var.backups.storage_class))
    error_message = "backups.transition_days must be a whole number of days, and 30 or more for STANDARD_IA and ONEZONE_IA (S3 moves objects there no sooner), for example 30."
  }
}

variable "space_backups" {
  description = <<-EOT
    Backups of Studio JupyterLab and Code Editor spaces' EBS homes to the backup bucket under
    spaces/ (needs backups.enabled; modules/space_backup). enabled: create the lifecycle
    configurations and the execution-role policy. execution_role_names: roles given that
    policy. interval_minutes: between two backups of a running space (one more when the app
    stops). exclude: rebuildable paths not backed up. attach_to_domain_ids: domains given
    the lifecycle configurations as default at apply.
  EOT
  type = object({
    enabled              = optional(bool, false)
    execution_role_names = optional(list(string), [])
    attach_to_domain_ids = optional(list(string), [])
    interval_minutes     = optional(number, 60)
    exclude              = optional(list(string), [".cache", ".conda/envs", ".conda/pkgs", ".local/lib", ".npm", ".yarn", "node_modules", "__pycache__", ".venv", ".ipynb_checkpoints", ".Trash-*", ".local/share/jupyter/runtime"])
  })
  default  = {}
  nullable = false

  validation {
    condition     = var.space_backups.interval_minutes >= 1 && var.space_backups.interval_minutes <= 1440 && floor(var.space_backups.interval_minutes) == var.space_backups.interval_minutes
    error_message = "space_backups.interval_minutes must be a whole number of minutes from 1 to 1440, for example 60."
  }

  validation {
    condition     = alltrue([for id in var.space_backups.attach_to_domain_ids : can(regex("^d-[a-z0-9]{1,63}$", id))])
    error_message = "space_backups.attach_to_domain_ids must be SageMaker domain ids, such as \"d-abc123def456\"."
  }

  validation {
    condition     = alltrue([for name in var.space_backups.execution_role_names : can(regex("^[\\w+=,.@-]{1,64}$", name))])
    error_message = "space_backups.execution_role_names must be IAM role names (not ARNs), such as \"AmazonSageMaker-ExecutionRole-20260101T000000\"."
  }

  validation {
    condition     = alltrue([for pattern in var.space_backups.exclude : can(regex("^[^'\"\\\\]+$", pattern)) && !startswith(pattern, "/") && !contains(split("/", pattern), "..")])
    error_message = "space_backups.exclude entries must be names or paths relative to the home, without quotes, backslashes, a leading \"/\" or \"..\", for example \"node_modules\" or \".conda/envs\"."
  }
}

variable "registry_deletion_protection" {
  description = "Turn on DynamoDB deletion protection for the registry table (it is the only record of where old home directories are)."
  type        = bool
  default     = true
  nullable    = false
}

variable "tags" {
  description = "Tags added to every resource that takes tags."
  type        = map(string)
  default     = {}
  nullable    = false
}
