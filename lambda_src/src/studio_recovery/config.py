"""Environment of each Lambda function, parsed once into a pydantic model.

Every function reads its settings through `load_settings(SettingsClass)`: the environment is
validated on first use (the cold start) and a missing or malformed variable raises
`ConfigurationError` naming the variable and what to write. Field aliases are the variable
names listed in docs/internals.md section 3.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Mapping
from typing import Annotated, Literal, TypeVar

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

from studio_recovery.models.errors import ConfigurationError


def _split_csv(value: object) -> object:
    """Turn `"a, b,,c"` into `["a", "b", "c"]`; other values go through unchanged."""
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


NonEmptyStr = Annotated[str, Field(min_length=1)]
OptionalStr = Annotated[str | None, BeforeValidator(lambda v: v or None)]
"""Unset or empty means "not configured" (backups off)."""
CsvList = Annotated[list[NonEmptyStr], BeforeValidator(_split_csv), Field(min_length=1)]


class _Settings(BaseModel):
    """Base of every settings model: immutable, built from environment variable names."""

    model_config = ConfigDict(frozen=True, extra="ignore", populate_by_name=True)


class EventSettings(_Settings):
    """The `event` function: CloudTrail event -> registry."""

    registry_table_name: NonEmptyStr = Field(
        alias="REGISTRY_TABLE_NAME", description="the registry DynamoDB table name"
    )
    idempotency_table_name: NonEmptyStr = Field(
        alias="IDEMPOTENCY_TABLE_NAME", description="the idempotency DynamoDB table name"
    )


class SeederSettings(_Settings):
    """The `seeder` function: records every existing domain, profile and space."""

    registry_table_name: NonEmptyStr = Field(
        alias="REGISTRY_TABLE_NAME", description="the registry DynamoDB table name"
    )
    seed_concurrency: int = Field(
        default=8,
        ge=1,
        le=64,
        alias="SEED_CONCURRENCY",
        description="an integer from 1 to 64 (parallel Describe calls; default 8)",
    )


class StreamSettings(_Settings):
    """The `stream` function: registry stream -> workflow executions."""

    registry_table_name: NonEmptyStr = Field(
        alias="REGISTRY_TABLE_NAME", description="the registry DynamoDB table name"
    )
    state_machine_arn: NonEmptyStr = Field(
        alias="STATE_MACHINE_ARN", description="the restore state machine ARN"
    )
    name_reuse_window_days: int = Field(
        default=30,
        ge=0,
        alias="NAME_REUSE_WINDOW_DAYS",
        description="a whole number of days, 0 or more (default 30)",
    )
    backup_bucket_name: OptionalStr = Field(
        default=None,
        alias="BACKUP_BUCKET_NAME",
        description="the backup S3 bucket name, or empty when backups are off",
    )


class PrepareSettings(_Settings):
    """The `prepare` function: DataSync locations, access points and task."""

    registry_table_name: NonEmptyStr = Field(
        alias="REGISTRY_TABLE_NAME", description="the registry DynamoDB table name"
    )
    datasync_subnet_ids: CsvList = Field(
        alias="DATASYNC_SUBNET_IDS",
        description="comma-separated subnet ids, e.g. subnet-0abc,subnet-0def",
    )
    datasync_security_group_arn: NonEmptyStr = Field(
        alias="DATASYNC_SECURITY_GROUP_ARN", description="the DataSync security group ARN"
    )
    efs_access_role_arn: NonEmptyStr = Field(
        alias="EFS_ACCESS_ROLE_ARN", description="the IAM role ARN DataSync uses to reach EFS"
    )
    in_transit_encryption: Literal["TLS1_2", "NONE"] = Field(
        default="TLS1_2",
        alias="IN_TRANSIT_ENCRYPTION",
        description="TLS1_2 or NONE (default TLS1_2)",
    )
    home_gid: int = Field(
        default=100,
        ge=0,
        alias="HOME_GID",
        description="a POSIX group id, 0 or more (default 100)",
    )
    datasync_log_group_arn: NonEmptyStr = Field(
        alias="DATASYNC_LOG_GROUP_ARN", description="the CloudWatch log group ARN for DataSync"
    )
    max_concurrent_restores: int = Field(
        ge=1,
        alias="MAX_CONCURRENT_RESTORES",
        description="a positive integer (DataSync transfers running at once)",
    )
    home_wait_timeout_seconds: int = Field(
        default=60,
        ge=1,
        le=90,
        alias="HOME_WAIT_TIMEOUT_SECONDS",
        description="whole seconds from 1 to 90 to wait for the new home's access point "
        "(default 60; the function's timeout is 120 s, 900 s with backups on)",
    )
    backup_bucket_access_role_arn: OptionalStr = Field(
        default=None,
        alias="BACKUP_BUCKET_ACCESS_ROLE_ARN",
        description="the IAM role ARN DataSync uses to reach the backup bucket "
        "(empty when backups are off)",
    )
    backup_bucket_name: OptionalStr = Field(
        default=None,
        alias="BACKUP_BUCKET_NAME",
        description="the backup S3 bucket name (a restore from an older backup stages "
        "the versions it reads under staging/<restore id>/ there)",
    )
    report_bucket_name: OptionalStr = Field(
        default=None,
        alias="REPORT_BUCKET_NAME",
        description="the S3 bucket DataSync writes restores' task reports to "
        "(the module always creates it; empty: no task report, outcomes from counters)",
    )
    report_access_role_arn: OptionalStr = Field(
        default=None,
        alias="REPORT_ACCESS_ROLE_ARN",
        description="the IAM role ARN DataSync uses to write task reports",
    )


class FinalizeSettings(_Settings):
    """The `finalize` function: clean-up, result, notification."""

    registry_table_name: NonEmptyStr = Field(
        alias="REGISTRY_TABLE_NAME", description="the registry DynamoDB table name"
    )
    notification_topic_arn: NonEmptyStr = Field(
        alias="NOTIFICATION_TOPIC_ARN", description="the SNS topic ARN for failures"
    )
    state_machine_arn: NonEmptyStr = Field(
        alias="STATE_MACHINE_ARN", description="the restore state machine ARN"
    )
    backup_bucket_name: OptionalStr = Field(
        default=None,
        alias="BACKUP_BUCKET_NAME",
        description="the backup S3 bucket name, whose staging/ prefixes finalize deletes "
        "(empty when backups are off)",
    )


class BackupSettings(_Settings):
    """The `backup` function: on its schedule, starts one backup per recorded home."""

    registry_table_name: NonEmptyStr = Field(
        alias="REGISTRY_TABLE_NAME", description="the registry DynamoDB table name"
    )
    state_machine_arn: NonEmptyStr = Field(
        alias="STATE_MACHINE_ARN", description="the restore state machine ARN"
    )
    backup_bucket_name: NonEmptyStr = Field(
        alias="BACKUP_BUCKET_NAME", description="the backup S3 bucket name"
    )


class SpaceReportSettings(_Settings):
    """The `space-report` function: EBS space restore reports -> registry."""

    registry_table_name: NonEmptyStr = Field(
        alias="REGISTRY_TABLE_NAME", description="the registry DynamoDB table name"
    )


SettingsT = TypeVar("SettingsT", bound=_Settings)


def parse_settings(model_cls: type[SettingsT], environ: Mapping[str, str]) -> SettingsT:
    """Validate `environ` into `model_cls`; raise ConfigurationError naming each bad variable."""
    try:
        return model_cls.model_validate(dict(environ))
    except ValidationError as exc:
        raise ConfigurationError(_describe(model_cls, exc)) from None


@functools.cache
def load_settings(model_cls: type[SettingsT]) -> SettingsT:
    """Settings of this process, parsed from os.environ once.

    Tests that change the environment call `load_settings.cache_clear()`.
    """
    return parse_settings(model_cls, os.environ)


def _describe(model_cls: type[_Settings], exc: ValidationError) -> str:
    """One sentence per invalid variable: its name, the problem and what to write."""
    problems: list[str] = []
    for error in exc.errors():
        variable = str(error["loc"][0]) if error["loc"] else "?"
        field = next(
            (f for f in model_cls.model_fields.values() if f.alias == variable),
            None,
        )
        expected = field.description if field is not None and field.description else "a value"
        if error["type"] == "missing":
            problems.append(f"{variable} is not set: set it to {expected}")
        else:
            problems.append(f"{variable} is invalid ({error['msg']}): set it to {expected}")
    return f"{model_cls.__name__}: " + "; ".join(problems)
