"""The CloudTrail-via-EventBridge model."""

from __future__ import annotations

import pytest
from aws_lambda_powertools.utilities.parser import parse
from pydantic import ValidationError
from studio_recovery.models.cloudtrail import SageMakerCloudTrailEvent

from .studio_fakes import cloudtrail_event


def test_create_user_profile_without_user_settings_parses() -> None:
    event = cloudtrail_event(
        "CreateUserProfile",
        request_parameters={"domainId": "d-abc", "userProfileName": "user1"},
        response_elements={
            "userProfileArn": "arn:aws:sagemaker:::user-profile/d-abc/user1"
        },
    )
    parsed = parse(event=event, model=SageMakerCloudTrailEvent)
    assert parsed.detail.event_name == "CreateUserProfile"
    assert parsed.detail.request_parameters is not None
    assert parsed.detail.request_parameters.user_profile_name == "user1"
    assert parsed.detail.request_parameters.user_settings is None
    assert parsed.detail.event_time.year == 2026


def test_delete_domain_retention_policy() -> None:
    event = cloudtrail_event(
        "DeleteDomain",
        request_parameters={
            "domainId": "d-abc",
            "retentionPolicy": {"homeEfsFileSystem": "Delete"},
        },
    )
    parsed = SageMakerCloudTrailEvent.model_validate(event)
    assert parsed.detail.request_parameters is not None
    policy = parsed.detail.request_parameters.retention_policy
    assert policy is not None
    assert policy.home_efs_file_system == "Delete"


def test_event_without_event_id_is_rejected() -> None:
    event = cloudtrail_event("CreateSpace", request_parameters={"domainId": "d-abc"})
    del event["detail"]["eventID"]
    with pytest.raises(ValidationError):
        SageMakerCloudTrailEvent.model_validate(event)
