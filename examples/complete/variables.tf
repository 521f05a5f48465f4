variable "region" {
  description = "AWS region to deploy to."
  type        = string
  default     = "us-east-1"
  nullable    = false
}

variable "name" {
  description = "Name of the VPC and the Studio domain."
  type        = string
  default     = "studio-recovery-demo"
  nullable    = false

  validation {
    condition     = can(regex("^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$", var.name))
    error_message = "name must be a valid Studio domain name: letters, digits and hyphens, for example \"studio-recovery-demo\"."
  }
}

variable "name_prefix" {
  description = "Prefix of the studio-recovery resources."
  type        = string
  default     = "studio-recovery"
  nullable    = false
}

variable "vpc_cidr" {
  description = "CIDR block of the new VPC."
  type        = string
  default     = "10.42.0.0/16"
  nullable    = false
}

variable "user_profile_name" {
  description = "Name of the example user profile."
  type        = string
  default     = "user1"
  nullable    = false
}

variable "space_name" {
  description = "Name of the example shared space."
  type        = string
  default     = "team-space"
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
  default     = true
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
  default     = { Project = "studio-recovery-example" }
  nullable    = false
}
