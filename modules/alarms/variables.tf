variable "name_prefix" {
  description = "Prefix of the alarm and dashboard names."
  type        = string
  nullable    = false

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{0,22}[a-z0-9]$", var.name_prefix))
    error_message = "name_prefix must be 2-24 characters of lowercase letters, digits and hyphens, for example \"studio-recovery\"."
  }
}

variable "notification_topic_arn" {
  description = "ARN of the SNS topic every alarm notifies (modules/notifications)."
  type        = string
  nullable    = false
}

variable "state_machine_arn" {
  description = "ARN of the restore state machine."
  type        = string
  nullable    = false
}

variable "function_names" {
  description = "Functions to alarm on when they raise errors, by short key (event, stream, ...)."
  type        = map(string)
  default     = {}
  nullable    = false
}

variable "queue_names" {
  description = "Dead-letter and failure queues to alarm on when messages wait in them, by short key."
  type        = map(string)
  default     = {}
  nullable    = false
}

variable "registry_table_name" {
  description = "Name of the registry table (shown on the dashboard)."
  type        = string
  nullable    = false
}

variable "tags" {
  description = "Tags added to every resource that takes tags."
  type        = map(string)
  default     = {}
  nullable    = false
}
