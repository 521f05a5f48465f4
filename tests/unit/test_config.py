"""Settings models: parsed from the environment, clear errors naming the variable."""

from __future__ import annotations

import pytest
from studio_recovery.config import (
    EventSettings,
    FinalizeSettings,
    PrepareSettings,
    SeederSettings,
    StreamSettings,
    load_settings,
    parse_settings,
)
from studio_recovery.models.errors import ConfigurationError

PREPARE_ENV = {
    "REGISTRY_TABLE_NAME": "registry",
    "DATASYNC_SUBNET_IDS": "subnet-0abc, subnet-0def,",
    "DATASYNC_SECURITY_GROUP_ARN": "arn:aws:ec2:us-east-1:123456789012:security-group/sg-1",
    "EFS_ACCESS_ROLE_ARN": "arn:aws:iam::123456789012:role/efs",
    "DATASYNC_LOG_GROUP_ARN": "arn:aws:logs:us-east-1:123456789012:log-group:ds",
    "MAX_CONCURRENT_RESTORES": "3",
}


def test_event_settings_read_both_table_names() -> None:
    settings = parse_settings(
        EventSettings, {"REGISTRY_TABLE_NAME": "reg", "IDEMPOTENCY_TABLE_NAME": "idem"}
    )
    assert settings.registry_table_name == "reg"
    assert settings.idempotency_table_name == "idem"


def test_missing_variable_is_named_with_what_to_write() -> None:
    with pytest.raises(ConfigurationError) as caught:
        parse_settings(EventSettings, {"REGISTRY_TABLE_NAME": "reg"})
    message = str(caught.value)
    assert "IDEMPOTENCY_TABLE_NAME is not set" in message
    assert "idempotency DynamoDB table name" in message


def test_empty_variable_is_invalid() -> None:
    with pytest.raises(ConfigurationError, match="REGISTRY_TABLE_NAME is invalid"):
        parse_settings(SeederSettings, {"REGISTRY_TABLE_NAME": ""})


def test_seeder_concurrency_defaults_to_8_and_is_bounded() -> None:
    assert (
        parse_settings(SeederSettings, {"REGISTRY_TABLE_NAME": "r"}).seed_concurrency
        == 8
    )
    settings = parse_settings(
        SeederSettings, {"REGISTRY_TABLE_NAME": "r", "SEED_CONCURRENCY": "3"}
    )
    assert settings.seed_concurrency == 3
    with pytest.raises(
        ConfigurationError, match="SEED_CONCURRENCY is invalid.*1 to 64"
    ):
        parse_settings(
            SeederSettings, {"REGISTRY_TABLE_NAME": "r", "SEED_CONCURRENCY": "zero"}
        )


def test_stream_settings_default_reuse_window() -> None:
    settings = parse_settings(
        StreamSettings,
        {
            "REGISTRY_TABLE_NAME": "r",
            "IDEMPOTENCY_TABLE_NAME": "i",
            "STATE_MACHINE_ARN": "arn:aws:states:us-east-1:123456789012:stateMachine:x",
        },
    )
    assert settings.name_reuse_window_days == 30


def test_stream_settings_have_no_idempotency_table() -> None:
    """The stream path is idempotent by its deterministic execution names, not Powertools
    idempotency: the stream function takes no idempotency table (the event function does)."""
    assert "idempotency_table_name" not in StreamSettings.model_fields
    assert "idempotency_table_name" in EventSettings.model_fields


def test_prepare_settings_split_subnets_and_default_options() -> None:
    settings = parse_settings(PrepareSettings, PREPARE_ENV)
    assert settings.datasync_subnet_ids == ["subnet-0abc", "subnet-0def"]
    assert settings.in_transit_encryption == "TLS1_2"
    assert settings.home_gid == 100
    assert settings.max_concurrent_restores == 3


def test_prepare_settings_reject_unknown_encryption_mode() -> None:
    with pytest.raises(ConfigurationError, match="IN_TRANSIT_ENCRYPTION is invalid"):
        parse_settings(
            PrepareSettings, {**PREPARE_ENV, "IN_TRANSIT_ENCRYPTION": "TLS1_3"}
        )


def test_prepare_settings_reject_blank_subnet_list() -> None:
    with pytest.raises(ConfigurationError, match="DATASYNC_SUBNET_IDS"):
        parse_settings(PrepareSettings, {**PREPARE_ENV, "DATASYNC_SUBNET_IDS": " , "})


def test_finalize_settings_list_every_missing_variable() -> None:
    with pytest.raises(ConfigurationError) as caught:
        parse_settings(FinalizeSettings, {})
    for name in ("REGISTRY_TABLE_NAME", "NOTIFICATION_TOPIC_ARN", "STATE_MACHINE_ARN"):
        assert f"{name} is not set" in str(caught.value)


def test_load_settings_reads_os_environ_once(monkeypatch: pytest.MonkeyPatch) -> None:
    load_settings.cache_clear()
    monkeypatch.setenv("REGISTRY_TABLE_NAME", "first")
    monkeypatch.delenv("SEED_CONCURRENCY", raising=False)
    first = load_settings(SeederSettings)
    monkeypatch.setenv("REGISTRY_TABLE_NAME", "second")
    assert load_settings(SeederSettings) is first
    assert first.registry_table_name == "first"
    load_settings.cache_clear()
