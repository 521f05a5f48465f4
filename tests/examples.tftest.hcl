# The examples plan against a mocked provider: each is a small root calling this module.

mock_provider "aws" {
  source          = "./tests/tf_fixtures/mocks"
  override_during = plan
}

run "example_complete" {
  command = plan

  module {
    source = "./examples/complete"
  }

  assert {
    condition     = output.registry_table_name == "studio-recovery-registry"
    error_message = "The complete example deploys the module with its defaults."
  }

  assert {
    condition     = aws_sagemaker_domain.this.retention_policy[0].home_efs_file_system == "Retain"
    error_message = "The example domain must retain its EFS volume when deleted."
  }
}

run "example_existing_domain" {
  command = plan

  module {
    source = "./examples/existing-domain"
  }

  variables {
    domain_id                     = "d-abcdefghijkl"
    vpc_id                        = "vpc-0123456789abcdef0"
    subnet_ids                    = ["subnet-0123456789abcdef0"]
    studio_efs_security_group_ids = ["sg-0123456789abcdef0"]
  }

  assert {
    condition     = output.datasync_security_group_id != null && output.state_machine_arn != null
    error_message = "The existing-domain example deploys the module."
  }
}
