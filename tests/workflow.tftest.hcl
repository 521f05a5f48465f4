# The workflow submodule: stream consumer, transfer functions, state machine, DataSync network and IAM.

mock_provider "aws" {
  source          = "./tests/tf_fixtures/mocks"
  override_during = plan
}

variables {
  name_prefix            = "sr-test"
  kms_key_arn            = "arn:aws:kms:us-east-1:123456789012:key/11111111-2222-3333-4444-555555555555"
  registry_table_name    = "sr-test-registry"
  registry_table_arn     = "arn:aws:dynamodb:us-east-1:123456789012:table/sr-test-registry"
  registry_stream_arn    = "arn:aws:dynamodb:us-east-1:123456789012:table/sr-test-registry/stream/2026-11-28T00:00:00.000"
  notification_topic_arn = "arn:aws:sns:us-east-1:123456789012:sr-test-notifications"
  vpc_id                 = "vpc-0123456789abcdef0"
  datasync_subnet_ids    = ["subnet-0123456789abcdef0", "subnet-0123456789abcdef1"]
  lambda = {
    package_path     = "build/lambda.zip"
    source_code_hash = "bW9jaw=="
    runtime          = "python3.12"
    memory_size      = 256
    layer_arns       = ["arn:aws:lambda:us-east-1:017000801446:layer:AWSLambdaPowertoolsPythonV3-python312-x86_64:27"]
    log_level        = "INFO"
  }
}

run "stream_mapping_reports_failures_and_bounds_retries" {
  command = plan

  module {
    source = "./modules/workflow"
  }

  assert {
    condition     = aws_lambda_event_source_mapping.stream.function_response_types == toset(["ReportBatchItemFailures"])
    error_message = "The stream mapping must let the function report partial batch failures."
  }

  assert {
    condition     = aws_lambda_event_source_mapping.stream.bisect_batch_on_function_error
    error_message = "A failing batch must be bisected so one poison record cannot block the shard."
  }

  assert {
    condition     = aws_lambda_event_source_mapping.stream.maximum_retry_attempts >= 0 && aws_lambda_event_source_mapping.stream.maximum_retry_attempts <= 20
    error_message = "Stream retries must be bounded."
  }

  assert {
    condition     = aws_lambda_event_source_mapping.stream.maximum_record_age_in_seconds > 0 && aws_lambda_event_source_mapping.stream.maximum_record_age_in_seconds <= 604800
    error_message = "Stream records must have a bounded age."
  }

  assert {
    condition     = aws_lambda_event_source_mapping.stream.destination_config[0].on_failure[0].destination_arn == module.failure_queue.queue_arn
    error_message = "Records that keep failing must go to the failure queue."
  }

  assert {
    condition     = aws_lambda_event_source_mapping.stream.batch_size == 10 && aws_lambda_event_source_mapping.stream.event_source_arn == var.registry_stream_arn
    error_message = "The stream mapping reads the registry stream, 10 records at a time."
  }

  assert {
    condition     = length(aws_lambda_event_source_mapping.stream.filter_criteria) == 1 && length(one(aws_lambda_event_source_mapping.stream.filter_criteria).filter) == 2
    error_message = "By default the stream is filtered to GEN# inserts and pending COPY items."
  }
}

run "stream_filter_can_be_turned_off" {
  command = plan

  module {
    source = "./modules/workflow"
  }

  variables {
    stream_filter_enabled = false
  }

  assert {
    condition     = length(aws_lambda_event_source_mapping.stream.filter_criteria) == 0
    error_message = "stream_filter_enabled = false must plan no filter criteria."
  }
}

run "everything_is_encrypted_and_logged" {
  command = plan

  module {
    source = "./modules/workflow"
  }

  # The queue and the functions (their keys, logs and traces) are modules/queue and
  # modules/lambda_function, tested in tests/shared_modules.tftest.hcl.
  assert {
    condition     = aws_cloudwatch_log_group.workflow.kms_key_id == var.kms_key_arn && aws_cloudwatch_log_group.datasync.kms_key_id == var.kms_key_arn
    error_message = "The workflow and DataSync log groups must be encrypted with the module's key."
  }

  assert {
    condition     = toset(keys(module.function)) == toset(["stream", "prepare", "finalize"]) && alltrue([for key, function in module.function : function.log_group_name == "/aws/lambda/sr-test-${key}"])
    error_message = "The stream, prepare and finalize functions are built by modules/lambda_function, each with its own log group."
  }

  assert {
    condition     = aws_sfn_state_machine.this.tracing_configuration[0].enabled && aws_sfn_state_machine.this.logging_configuration[0].include_execution_data == false
    error_message = "The state machine must trace, and must not log execution data (it names people's directories)."
  }

  assert {
    condition     = aws_sfn_state_machine.this.logging_configuration[0].level == "ALL" && startswith(aws_sfn_state_machine.this.logging_configuration[0].log_destination, aws_cloudwatch_log_group.workflow.arn)
    error_message = "The state machine must log to its own log group."
  }
}

run "functions_follow_the_contract" {
  command = plan

  module {
    source = "./modules/workflow"
  }

  assert {
    condition = (
      local.functions["stream"].handler == "studio_recovery.handlers.stream.handler" &&
      local.functions["prepare"].handler == "studio_recovery.handlers.transfer.prepare_handler" &&
      local.functions["finalize"].handler == "studio_recovery.handlers.transfer.finalize_handler"
    )
    error_message = "Handler strings must match docs/internals.md section 3."
  }

  assert {
    condition = (
      module.function["stream"].function_environment["STATE_MACHINE_ARN"] == "arn:aws:states:us-east-1:123456789012:stateMachine:sr-test-restore" &&
      module.function["stream"].function_environment["NAME_REUSE_WINDOW_DAYS"] == "30" &&
      module.function["prepare"].function_environment["DATASYNC_SUBNET_IDS"] == "subnet-0123456789abcdef0,subnet-0123456789abcdef1" &&
      module.function["prepare"].function_environment["IN_TRANSIT_ENCRYPTION"] == "TLS1_2" &&
      module.function["prepare"].function_environment["HOME_GID"] == "100" &&
      module.function["prepare"].function_environment["MAX_CONCURRENT_RESTORES"] == "20" &&
      module.function["prepare"].function_environment["HOME_WAIT_TIMEOUT_SECONDS"] == "60" &&
      module.function["finalize"].function_environment["NOTIFICATION_TOPIC_ARN"] == var.notification_topic_arn
    )
    error_message = "Environment variables must match docs/internals.md section 3."
  }

  assert {
    condition     = alltrue([for function in module.function : function.function_environment["POWERTOOLS_SERVICE_NAME"] == "studio-recovery" && function.function_environment["REGISTRY_TABLE_NAME"] == var.registry_table_name])
    error_message = "Every function gets the Powertools service name and the registry table name."
  }

  assert {
    condition     = !contains(keys(module.function["stream"].function_environment), "IDEMPOTENCY_TABLE_NAME")
    error_message = "The stream function keeps no idempotency records: it gets no IDEMPOTENCY_TABLE_NAME (only the event function does)."
  }
}

run "in_transit_encryption_off_reaches_prepare" {
  command = plan

  module {
    source = "./modules/workflow"
  }

  variables {
    in_transit_encryption = false
  }

  assert {
    condition     = module.function["prepare"].function_environment["IN_TRANSIT_ENCRYPTION"] == "NONE"
    error_message = "in_transit_encryption = false must give IN_TRANSIT_ENCRYPTION = NONE."
  }
}

run "iam_names_the_module_resources" {
  command = plan

  module {
    source = "./modules/workflow"
  }

  # Every resource named by any statement of the module's policies.
  assert {
    condition = alltrue([
      for document in [data.aws_iam_policy_document.stream, data.aws_iam_policy_document.prepare, data.aws_iam_policy_document.cleanup, data.aws_iam_policy_document.finalize, data.aws_iam_policy_document.workflow] :
      alltrue([for statement in document.statement : statement.sid != null && statement.sid != ""])
    ])
    error_message = "Every IAM statement must have a sid."
  }

  assert {
    condition = alltrue([
      for document in [data.aws_iam_policy_document.stream, data.aws_iam_policy_document.prepare, data.aws_iam_policy_document.cleanup, data.aws_iam_policy_document.finalize, data.aws_iam_policy_document.workflow] :
      alltrue([for resource in flatten([for statement in document.statement : tolist(statement.resources)]) : !can(regex(":table/\\*", resource))])
    ])
    error_message = "No statement may name every table (table/*)."
  }

  assert {
    condition     = one([for statement in data.aws_iam_policy_document.stream.statement : statement.resources if statement.sid == "ReadRegistryStream"]) == toset([var.registry_stream_arn, "${var.registry_table_arn}/stream/*"])
    error_message = "The stream function may read the registry table's stream only."
  }

  assert {
    condition = (
      one([for statement in data.aws_iam_policy_document.stream.statement : statement.resources if statement.sid == "ListRegistryStreams"]) == toset(["*"]) &&
      [for statement in data.aws_iam_policy_document.stream.statement : statement.sid if contains(tolist(statement.actions), "dynamodb:ListStreams")] == ["ListRegistryStreams"]
    )
    error_message = "dynamodb:ListStreams supports only Resource \"*\" (IAM reference): it has its own statement on \"*\", and no grant on stream ARNs."
  }

  assert {
    condition     = !anytrue([for statement in data.aws_iam_policy_document.stream.statement : statement.sid == "IdempotencyRecords" || anytrue([for resource in statement.resources : endswith(resource, "-idempotency")])])
    error_message = "The stream function keeps no idempotency records: no grant on the idempotency table."
  }

  assert {
    condition     = one([for statement in data.aws_iam_policy_document.stream.statement : statement.resources if statement.sid == "StartRestores"]) == toset(["arn:aws:states:us-east-1:123456789012:stateMachine:sr-test-restore"])
    error_message = "The stream function may start executions of this module's state machine only."
  }

  assert {
    condition     = alltrue([for function in values(local.functions) : length(function.policy_jsons) > 0]) && alltrue([for key in keys(local.functions) : module.function[key].role_name == "sr-test-${key}"])
    error_message = "Every function has its own role, named after it, with its own statements (its failure queue and key grants come from modules/lambda_function)."
  }

  assert {
    condition     = one([for statement in data.aws_iam_policy_document.finalize.statement : statement.resources if statement.sid == "NotifyFailures"]) == toset([var.notification_topic_arn])
    error_message = "The finalize function may publish to the module's topic only."
  }

  assert {
    condition     = one([for statement in data.aws_iam_policy_document.workflow.statement : statement.resources if statement.sid == "ReleaseConcurrencySlot"]) == toset([var.registry_table_arn])
    error_message = "The state machine may update the registry table only."
  }

  assert {
    condition = alltrue([
      for document in [data.aws_iam_policy_document.stream, data.aws_iam_policy_document.prepare, data.aws_iam_policy_document.cleanup, data.aws_iam_policy_document.finalize, data.aws_iam_policy_document.workflow] :
      alltrue([for statement in document.statement : !contains(tolist(statement.resources), "*") || contains(["XRayTraces", "CreateDataSyncLocations", "DescribeNetwork", "DeliverExecutionLogs", "ListTaskExecutions", "ListRegistryStreams"], statement.sid)])
    ])
    error_message = "A wildcard resource is allowed only in the statements where AWS offers nothing narrower."
  }

  assert {
    condition = alltrue([
      for statement in concat(tolist(data.aws_iam_policy_document.prepare.statement), tolist(data.aws_iam_policy_document.cleanup.statement), tolist(data.aws_iam_policy_document.workflow.statement)) :
      anytrue([for condition in statement.condition : startswith(condition.variable, "aws:RequestTag/managed-by") || startswith(condition.variable, "aws:ResourceTag/managed-by")])
      if anytrue([for action in statement.actions : contains(["datasync:CreateLocationEfs", "datasync:CreateTask", "datasync:DeleteTask", "datasync:DeleteLocation", "datasync:StartTaskExecution", "elasticfilesystem:CreateAccessPoint", "elasticfilesystem:DeleteAccessPoint"], action)])
    ])
    error_message = "Creating, starting and deleting DataSync tasks, locations and access points must be conditioned on the module's managed-by tag."
  }

  assert {
    condition = (
      length([for statement in data.aws_iam_policy_document.cleanup.statement : statement.sid if contains(["DeleteOwnDataSyncTasksAndLocations", "DeleteOwnAccessPoints"], statement.sid)]) == 2 &&
      # (the mocked documents share one JSON: counted, not compared)
      length(local.functions["prepare"].policy_jsons) == 2 &&
      # finalize: its own, the clean-up, and reading task reports (finalize_reports)
      length(local.functions["finalize"].policy_jsons) == 3 &&
      length(local.functions["stream"].policy_jsons) == 1
    )
    error_message = "Both prepare (leftovers of an earlier attempt) and finalize, and only they, may delete the module's tagged DataSync and EFS resources."
  }

  assert {
    condition = (
      one([for statement in data.aws_iam_policy_document.report_access.statement : statement.actions if statement.sid == "WriteTaskReports"]) == toset(["s3:PutObject"]) &&
      one([for statement in data.aws_iam_policy_document.report_access.statement : statement.resources if statement.sid == "WriteTaskReports"]) == toset(["${local.report_bucket_arn}/reports/*"]) &&
      one([for statement in data.aws_iam_policy_document.finalize_reports.statement : statement.resources if statement.sid == "ReadTaskReports"]) == toset(["${local.report_bucket_arn}/reports/*"]) &&
      one([for statement in data.aws_iam_policy_document.finalize_reports.statement : statement.resources if statement.sid == "ListTaskReports"]) == toset([local.report_bucket_arn]) &&
      local.report_bucket_arn == "arn:aws:s3:::${var.name_prefix}-reports-123456789012-us-east-1"
    )
    error_message = "DataSync may only put task reports under reports/ of the report bucket, and finalize only list and read them there."
  }

  assert {
    condition     = alltrue([for resource in one([for statement in data.aws_iam_policy_document.efs_access.statement : statement.resources if statement.sid == "MountStudioVolumes"]) : startswith(resource, "arn:aws:elasticfilesystem:us-east-1:123456789012:file-system/")])
    error_message = "DataSync's EFS role may mount file systems of this account and region only."
  }
}

run "security_group_without_studio_groups_allows_nfs_to_the_vpc_only" {
  command = plan

  module {
    source = "./modules/workflow"
  }

  assert {
    condition     = length(aws_vpc_security_group_egress_rule.nfs_to_vpc) == 1 && aws_vpc_security_group_egress_rule.nfs_to_vpc[0].cidr_ipv4 == "10.20.0.0/16"
    error_message = "Without Studio groups, NFS egress goes to the VPC CIDR."
  }

  assert {
    condition     = aws_vpc_security_group_egress_rule.nfs_to_vpc[0].from_port == 2049 && aws_vpc_security_group_egress_rule.nfs_to_vpc[0].to_port == 2049 && aws_vpc_security_group_egress_rule.nfs_to_vpc[0].ip_protocol == "tcp"
    error_message = "Egress is TCP 2049 only."
  }

  assert {
    condition     = length(aws_vpc_security_group_ingress_rule.studio_from_datasync) == 0 && length(aws_vpc_security_group_egress_rule.nfs_to_studio) == 0
    error_message = "No Studio group is touched when none is named."
  }
}

run "studio_groups_get_ingress_from_datasync" {
  command = plan

  module {
    source = "./modules/workflow"
  }

  variables {
    studio_efs_security_group_ids = ["sg-0aaaaaaaaaaaaaaaa", "sg-0bbbbbbbbbbbbbbbb"]
  }

  assert {
    condition     = length(aws_vpc_security_group_egress_rule.nfs_to_vpc) == 0 && length(aws_vpc_security_group_egress_rule.nfs_to_studio) == 2
    error_message = "With Studio groups, egress goes to those groups only."
  }

  assert {
    condition     = alltrue([for rule in aws_vpc_security_group_ingress_rule.studio_from_datasync : rule.from_port == 2049 && rule.to_port == 2049 && rule.referenced_security_group_id == aws_security_group.datasync.id])
    error_message = "Each Studio group allows NFS from the DataSync group only."
  }

  assert {
    condition     = toset([for rule in aws_vpc_security_group_ingress_rule.studio_from_datasync : rule.security_group_id]) == toset(var.studio_efs_security_group_ids)
    error_message = "Every named Studio group gets an ingress rule."
  }
}

run "abort_rule_targets_finalize" {
  command = plan

  module {
    source = "./modules/workflow"
  }

  assert {
    condition     = jsondecode(aws_cloudwatch_event_rule.execution_ended.event_pattern).detail.status == ["ABORTED", "FAILED", "TIMED_OUT"]
    error_message = "Aborted, failed and timed-out executions must reach the finalize function."
  }

  assert {
    condition     = jsondecode(aws_cloudwatch_event_rule.execution_ended.event_pattern).detail.stateMachineArn == ["arn:aws:states:us-east-1:123456789012:stateMachine:sr-test-restore"]
    error_message = "The rule must match this module's state machine only."
  }

  assert {
    condition     = aws_cloudwatch_event_target.execution_ended.dead_letter_config[0].arn == module.failure_queue.queue_arn && aws_cloudwatch_event_target.execution_ended.retry_policy[0].maximum_retry_attempts > 0
    error_message = "The finalize target must retry and keep undelivered events in the failure queue."
  }
}

run "max_concurrent_restores_is_bounded" {
  command = plan

  module {
    source = "./modules/workflow"
  }

  variables {
    max_concurrent_restores = 91
  }

  expect_failures = [var.max_concurrent_restores]
}

run "prepare_scopes_datasync_creation_as_the_iam_reference_allows" {
  command = plan

  module {
    source = "./modules/workflow"
  }

  assert {
    condition = (
      one([for statement in data.aws_iam_policy_document.prepare.statement : statement.resources if statement.sid == "CreateDataSyncTasks"]) == toset(["arn:aws:datasync:us-east-1:123456789012:location/*"]) &&
      one([for statement in data.aws_iam_policy_document.prepare.statement : statement.actions if statement.sid == "CreateDataSyncTasks"]) == toset(["datasync:CreateTask"])
    )
    error_message = "CreateTask is scoped to this account's and region's DataSync locations (the IAM reference's resource type), not \"*\"."
  }

  assert {
    condition = (
      one([for statement in data.aws_iam_policy_document.prepare.statement : statement.resources if statement.sid == "TagDataSyncLocationsAndTasks"]) == toset(["arn:aws:datasync:us-east-1:123456789012:location/*", "arn:aws:datasync:us-east-1:123456789012:task/*"]) &&
      one([for statement in data.aws_iam_policy_document.prepare.statement : statement.actions if statement.sid == "TagDataSyncLocationsAndTasks"]) == toset(["datasync:TagResource"])
    )
    error_message = "TagResource is scoped to DataSync locations and tasks of this account and region."
  }

  assert {
    condition = alltrue([
      for statement in data.aws_iam_policy_document.prepare.statement :
      anytrue([for condition in statement.condition : condition.variable == "aws:RequestTag/managed-by" && toset(condition.values) == toset(["studio-recovery"])]) &&
      anytrue([for condition in statement.condition : condition.variable == "aws:RequestedRegion" && toset(condition.values) == toset(["us-east-1"])])
      if contains(["CreateDataSyncLocations", "CreateDataSyncTasks", "TagDataSyncLocationsAndTasks"], statement.sid)
    ])
    error_message = "Creating and tagging DataSync locations and tasks needs the module's request tag, in this region."
  }

  assert {
    condition = (
      one([for statement in data.aws_iam_policy_document.prepare.statement : statement.resources if statement.sid == "CreateDataSyncNetworkInterfaces"]) == toset([
        "arn:aws:ec2:us-east-1:123456789012:network-interface/*",
        "arn:aws:ec2:us-east-1:123456789012:security-group/sg-0123456789abcdef0",
        "arn:aws:ec2:us-east-1:123456789012:subnet/subnet-0123456789abcdef0",
        "arn:aws:ec2:us-east-1:123456789012:subnet/subnet-0123456789abcdef1",
      ]) &&
      one([for statement in data.aws_iam_policy_document.prepare.statement : statement.actions if statement.sid == "CreateDataSyncNetworkInterfaces"]) == toset(["ec2:CreateNetworkInterface"])
    )
    error_message = "DataSync creates each task's network interfaces with the caller's permission: prepare may create them in the module's DataSync subnets, with its security group, only."
  }

  assert {
    condition = (
      one([for statement in data.aws_iam_policy_document.prepare.statement : statement.resources if statement.sid == "LetDataSyncUseItsNetworkInterfaces"]) == toset(["arn:aws:ec2:us-east-1:123456789012:network-interface/*"]) &&
      one([for statement in data.aws_iam_policy_document.prepare.statement : statement.actions if statement.sid == "LetDataSyncUseItsNetworkInterfaces"]) == toset(["ec2:CreateNetworkInterfacePermission"]) &&
      anytrue([for condition in one([for statement in data.aws_iam_policy_document.prepare.statement : statement if statement.sid == "LetDataSyncUseItsNetworkInterfaces"]).condition : condition.test == "ArnEquals" && condition.variable == "ec2:Subnet" && toset(condition.values) == toset(["arn:aws:ec2:us-east-1:123456789012:subnet/subnet-0123456789abcdef0", "arn:aws:ec2:us-east-1:123456789012:subnet/subnet-0123456789abcdef1"])])
    )
    error_message = "prepare may grant network interface permissions only on interfaces in the module's DataSync subnets."
  }

  assert {
    condition = alltrue([
      for document in [data.aws_iam_policy_document.stream, data.aws_iam_policy_document.prepare, data.aws_iam_policy_document.cleanup, data.aws_iam_policy_document.finalize, data.aws_iam_policy_document.workflow] :
      alltrue([for statement in document.statement : !anytrue([for action in statement.actions : startswith(action, "ec2:") && !startswith(action, "ec2:Describe")]) || contains(["CreateDataSyncNetworkInterfaces", "LetDataSyncUseItsNetworkInterfaces"], statement.sid)])
    ])
    error_message = "Only the two DataSync network interface statements of prepare may change EC2 resources."
  }
}
