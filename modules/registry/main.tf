locals {
  registry_table_name    = "${var.name_prefix}-registry"
  idempotency_table_name = "${var.name_prefix}-idempotency"
}

################################################################################
# Registry: domains, profiles, generations (home directories), restores
################################################################################

resource "aws_dynamodb_table" "this" {
  name                        = local.registry_table_name
  billing_mode                = "PAY_PER_REQUEST"
  hash_key                    = "pk"
  range_key                   = "sk"
  stream_enabled              = true
  stream_view_type            = "NEW_AND_OLD_IMAGES"
  deletion_protection_enabled = var.deletion_protection_enabled

  attribute {
    name = "pk"
    type = "S"
  }

  attribute {
    name = "sk"
    type = "S"
  }

  point_in_time_recovery {
    enabled = true
  }

  server_side_encryption {
    enabled     = true
    kms_key_arn = var.kms_key_arn
  }

  tags = merge(var.tags, { Name = local.registry_table_name })
}

################################################################################
# Idempotency records of the Lambda functions (Powertools DynamoDBPersistenceLayer)
################################################################################

resource "aws_dynamodb_table" "idempotency" {
  name         = local.idempotency_table_name
  billing_mode = "PAY_PER_REQUEST"
  hash_key     = "id"

  attribute {
    name = "id"
    type = "S"
  }

  ttl {
    attribute_name = "expiration"
    enabled        = true
  }

  point_in_time_recovery {
    enabled = true
  }

  server_side_encryption {
    enabled     = true
    kms_key_arn = var.kms_key_arn
  }

  tags = merge(var.tags, { Name = local.idempotency_table_name })
}
