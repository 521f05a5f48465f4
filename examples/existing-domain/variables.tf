variable "region" {
  description = "AWS region of the domain."
  type        = string
  default     = "us-east-1"
  nullable    = false
}

variable "domain_id" {
  description = "ID of the existing Studio domain (d-...), used to find its EFS security group."
  type        = string
  nullable    = false

  validation {
    condition     = can(regex("^d-[a-z0-9]+$", var.domain_id))
    error_message = "domain_id must be a Studio domain id such as \"d-abcdefghijkl\"."
  }
}

variable "vpc_id" {
  description = "VPC of the domain."
  type        = string
  nullable    = false
}

variable "subnet_ids" {
  description = "Subnets of the domain (DataSync places its network interfaces there)."
  type        = list(string)
  nullable    = false
}

variable "studio_efs_security_group_ids" {
  description = "The domain's EFS security groups; empty to look up security-group-for-inbound-nfs-<domain_id>."
  type        = list(string)
  default     = []
  nullable    = false
}

variable "kms_key_arn" {
  description = "A KMS key to use instead of creating one, or null."
  type        = string
  default     = null
}

variable "name_prefix" {
  description = "Prefix of the studio-recovery resources."
  type        = string
  default     = "studio-recovery"
  nullable    = false
}

variable "lambda_package_path" {
  description = "The zip from `make build`; null uses build/lambda.zip of this repository."
  type        = string
  default     = null
}

variable "create_cloudtrail" {
  description = "Create a trail (turn on in accounts without one)."
  type        = bool
  default     = false
  nullable    = false
}

variable "alarm_email" {
  description = "Email address for alarms and failed restores, or null."
  type        = string
  default     = null
}

variable "tags" {
  description = "Tags added to every resource."
  type        = map(string)
  default     = {}
  nullable    = false
}
