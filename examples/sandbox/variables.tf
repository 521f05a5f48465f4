variable "sandbox_endpoint" {
  description = "Endpoint of the offline sandbox (`studio-recovery sandbox up` prints it)."
  type        = string
  default     = "http://127.0.0.1:4599"
  nullable    = false

  validation {
    condition     = can(regex("^http://(127\\.0\\.0\\.1|localhost):[0-9]+$", var.sandbox_endpoint))
    error_message = "sandbox_endpoint must be a loopback URL such as \"http://127.0.0.1:4599\": this root never talks to AWS."
  }
}

variable "lambda_package_path" {
  description = "Path of the Lambda zip written by `make build`."
  type        = string
  default     = "../../build/lambda.zip"
  nullable    = false
}

variable "name_prefix" {
  description = "Prefix of every resource name."
  type        = string
  default     = "studio-recovery"
  nullable    = false
}

variable "seed_on_apply" {
  description = "Run the seeder at apply time (the sandbox runs it for real)."
  type        = bool
  default     = false
  nullable    = false
}

variable "max_concurrent_restores" {
  description = "Most DataSync transfers at once in the sandbox (the end-to-end tests raise it to load the task quota)."
  type        = number
  default     = 4
  nullable    = false
}

variable "transfer_timeout_seconds" {
  description = "Longest one sandbox transfer may run before the workflow cancels it (the module's minimum, so a hang test ends soon)."
  type        = number
  default     = 300
  nullable    = false
}

variable "backups_enabled" {
  description = "Create the backup bucket, the backup function and its schedule on the sandbox."
  type        = bool
  default     = true
  nullable    = false
}

variable "home_wait_timeout_seconds" {
  description = "Longest a sandbox restore waits for the new home's access point (the end-to-end tests shorten it)."
  type        = number
  default     = 60
  nullable    = false
}

variable "space_backups_enabled" {
  description = "Create the space backup lifecycle configurations and the Studio execution role they serve (needs backups_enabled)."
  type        = bool
  default     = true
  nullable    = false
}
