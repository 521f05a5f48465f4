data "aws_partition" "current" {}
data "aws_region" "current" {}
data "aws_caller_identity" "current" {}

locals {
  account_id = data.aws_caller_identity.current.account_id
  partition  = data.aws_partition.current.partition
  region     = data.aws_region.current.name

  # The agent the lifecycle script fetches: content-addressed, so an app started by an
  # earlier configuration still finds the agent it expects.
  agent_path   = "${path.module}/agent/space_agent.py"
  agent_sha256 = filesha256(local.agent_path)
  agent_key    = "agent/space_agent-${substr(local.agent_sha256, 0, 16)}.py"

  # The bucket layout (docs/internals.md): one prefix per space; the owner's profile name is
  # a whole path segment right after spaces/private/, so ${aws:SourceIdentity} can fence it.
  private_prefix = "spaces/private/"
  shared_prefix  = "spaces/shared/"

  app_types = {
    JupyterLab = "jupyterlab"
    CodeEditor = "codeeditor"
  }
}

################################################################################
# The agent, in the backup bucket
################################################################################

resource "aws_s3_object" "agent" {
  bucket       = var.bucket_name
  key          = local.agent_key
  source       = local.agent_path
  source_hash  = local.agent_sha256
  content_type = "text/x-python"
  tags         = var.tags
}

################################################################################
# One lifecycle configuration per app type
################################################################################

resource "aws_sagemaker_studio_lifecycle_config" "this" {
  for_each = local.app_types

  studio_lifecycle_config_name     = "${var.name_prefix}-space-backup-${each.value}"
  studio_lifecycle_config_app_type = each.key
  studio_lifecycle_config_content = base64encode(templatefile("${path.module}/templates/lifecycle.sh.tftpl", {
    app_type         = each.key
    bucket           = var.bucket_name
    region           = local.region
    interval_seconds = var.interval_minutes * 60
    exclude_json     = jsonencode(var.exclude)
    agent_key        = local.agent_key
    agent_sha256     = local.agent_sha256
  }))
  tags = var.tags

  depends_on = [aws_s3_object.agent]
}
