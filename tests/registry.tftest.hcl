# The registry submodule: the tables the Lambda library reads and writes.

mock_provider "aws" {
  source          = "./tests/tf_fixtures/mocks"
  override_during = plan
}

variables {
  name_prefix = "sr-test"
  kms_key_arn = "arn:aws:kms:us-east-1:123456789012:key/11111111-2222-3333-4444-555555555555"
}

run "registry_table_streams_new_and_old_images" {
  command = plan

  module {
    source = "./modules/registry"
  }

  assert {
    condition     = aws_dynamodb_table.this.stream_enabled && aws_dynamodb_table.this.stream_view_type == "NEW_AND_OLD_IMAGES"
    error_message = "The registry table must stream NEW_AND_OLD_IMAGES: the stream function reads both images."
  }

  assert {
    condition     = aws_dynamodb_table.this.hash_key == "pk" && aws_dynamodb_table.this.range_key == "sk"
    error_message = "The registry table's keys must be pk (hash) and sk (range), as in docs/internals.md."
  }

  assert {
    condition     = aws_dynamodb_table.this.billing_mode == "PAY_PER_REQUEST" && aws_dynamodb_table.idempotency.billing_mode == "PAY_PER_REQUEST"
    error_message = "Both tables must bill on demand."
  }

  assert {
    condition     = aws_dynamodb_table.this.point_in_time_recovery[0].enabled && aws_dynamodb_table.idempotency.point_in_time_recovery[0].enabled
    error_message = "Both tables must have point-in-time recovery."
  }

  assert {
    condition     = aws_dynamodb_table.this.deletion_protection_enabled
    error_message = "Deletion protection is on by default."
  }
}

run "tables_are_encrypted_with_the_given_key" {
  command = plan

  module {
    source = "./modules/registry"
  }

  assert {
    condition = alltrue([
      for table in [aws_dynamodb_table.this, aws_dynamodb_table.idempotency] :
      table.server_side_encryption[0].enabled && table.server_side_encryption[0].kms_key_arn == var.kms_key_arn
    ])
    error_message = "Every table must be encrypted with the module's KMS key."
  }
}

run "idempotency_table_matches_powertools" {
  command = plan

  module {
    source = "./modules/registry"
  }

  assert {
    condition     = aws_dynamodb_table.idempotency.hash_key == "id" && aws_dynamodb_table.idempotency.range_key == null
    error_message = "The Powertools persistence layer keys records on id alone."
  }

  assert {
    condition     = aws_dynamodb_table.idempotency.ttl[0].enabled && aws_dynamodb_table.idempotency.ttl[0].attribute_name == "expiration"
    error_message = "The idempotency table must expire records on the expiration attribute."
  }
}

run "deletion_protection_can_be_turned_off" {
  command = plan

  module {
    source = "./modules/registry"
  }

  variables {
    deletion_protection_enabled = false
  }

  assert {
    condition     = !aws_dynamodb_table.this.deletion_protection_enabled
    error_message = "deletion_protection_enabled = false must reach the table."
  }
}
