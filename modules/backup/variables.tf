variable "name_prefix" {
  description = "Prefix of the bucket and role names: <name_prefix>-backups-<account>-<region> and <name_prefix>-datasync-s3."
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

variable "tags" {
  description = "Tags added to the bucket and the role."
  type        = map(string)
  default     = {}
  nullable    = false
}
