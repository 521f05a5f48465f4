variable "name" {
  description = "Name of the role and of its inline policy."
  type        = string
  nullable    = false

  validation {
    condition     = can(regex("^[a-zA-Z0-9+=,.@_-]{1,64}$", var.name))
    error_message = "name must be 1-64 characters of letters, digits and +=,.@_-, for example \"studio-recovery-datasync-efs\"."
  }
}

variable "description" {
  description = "What DataSync does with the role (shown in the IAM console)."
  type        = string
  nullable    = false
}

variable "policy_json" {
  description = "The role's inline policy (JSON): what DataSync may do with it."
  type        = string
  nullable    = false
}

variable "tags" {
  description = "Tags added to the role."
  type        = map(string)
  default     = {}
  nullable    = false
}
