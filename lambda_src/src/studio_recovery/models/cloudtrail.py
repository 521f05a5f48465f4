"""The CloudTrail-via-EventBridge event of a SageMaker API call (only the fields we use).

Powertools has no CloudTrail model, so this one subclasses its `EventBridgeModel` and types
`detail`. Unknown fields are ignored; field names follow CloudTrail's camelCase via aliases.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal

from aws_lambda_powertools.utilities.parser.models import EventBridgeModel
from pydantic import BaseModel, ConfigDict, Field, field_validator

# CloudTrail started in 2013; the upper bound keeps every time convertible to UTC and
# storable as a four-digit ISO year.
EARLIEST_EVENT_YEAR = 1970
LATEST_EVENT_YEAR = 9998


class _CloudTrailPart(BaseModel):
    model_config = ConfigDict(populate_by_name=True, extra="ignore", frozen=True)


class RetentionPolicy(_CloudTrailPart):
    """DeleteDomain's `RetentionPolicy`: SageMaker retains the EFS volume unless told Delete."""

    home_efs_file_system: Literal["Retain", "Delete"] = Field(
        default="Retain", alias="homeEfsFileSystem"
    )


class RequestParameters(_CloudTrailPart):
    """The request of CreateUserProfile, CreateSpace, Delete*, CreateDomain, DeleteDomain."""

    domain_id: str | None = Field(default=None, alias="domainId")
    domain_name: str | None = Field(default=None, alias="domainName")
    user_profile_name: str | None = Field(default=None, alias="userProfileName")
    space_name: str | None = Field(default=None, alias="spaceName")
    # Usually absent: profiles inherit the domain's execution role. Never required.
    user_settings: dict[str, Any] | None = Field(default=None, alias="userSettings")
    single_sign_on_user_value: str | None = Field(default=None, alias="singleSignOnUserValue")
    retention_policy: RetentionPolicy | None = Field(default=None, alias="retentionPolicy")


class ResponseElements(_CloudTrailPart):
    """The reply of a Create call (absent on Delete calls and on failed calls)."""

    domain_arn: str | None = Field(default=None, alias="domainArn")
    user_profile_arn: str | None = Field(default=None, alias="userProfileArn")
    space_arn: str | None = Field(default=None, alias="spaceArn")


class CloudTrailDetail(_CloudTrailPart):
    """`detail` of an "AWS API Call via CloudTrail" event."""

    event_name: str = Field(alias="eventName", min_length=1)
    event_id: str = Field(alias="eventID", min_length=1)
    event_time: datetime = Field(alias="eventTime")
    event_source: str | None = Field(default=None, alias="eventSource")
    error_code: str | None = Field(default=None, alias="errorCode")
    error_message: str | None = Field(default=None, alias="errorMessage")
    request_parameters: RequestParameters | None = Field(default=None, alias="requestParameters")
    response_elements: ResponseElements | None = Field(default=None, alias="responseElements")

    @field_validator("event_time")
    @classmethod
    def _plausible_utc_time(cls, value: datetime) -> datetime:
        """An event time we can store and read back: UTC, between 1970 and 9998."""
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        if not EARLIEST_EVENT_YEAR <= value.year <= LATEST_EVENT_YEAR:
            raise ValueError(
                f"eventTime {value.isoformat()} is not a plausible CloudTrail time "
                f"(years {EARLIEST_EVENT_YEAR} to {LATEST_EVENT_YEAR})"
            )
        return value.astimezone(UTC)


class SageMakerCloudTrailEvent(EventBridgeModel):
    """EventBridge event: `source = aws.sagemaker`, `detail-type = AWS API Call via CloudTrail`."""

    detail: CloudTrailDetail
