"""SageMakerGateway with botocore's Stubber: pagination, not-found, errors. No AWS."""

from __future__ import annotations

from collections.abc import Iterator

import boto3
import pytest
from botocore.stub import Stubber
from studio_recovery.dal.sagemaker import SageMakerGateway
from studio_recovery.models.errors import (
    ResourceGoneError,
    TransientAwsError,
    UnresolvableProfileError,
)


@pytest.fixture
def stubbed() -> Iterator[tuple[SageMakerGateway, Stubber]]:
    client = boto3.client(
        "sagemaker",
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    with Stubber(client) as stubber:
        yield SageMakerGateway(client), stubber


def test_list_domains_follows_every_page(
    stubbed: tuple[SageMakerGateway, Stubber],
) -> None:
    gateway, stubber = stubbed
    stubber.add_response(
        "list_domains",
        {"Domains": [{"DomainId": "d-1", "DomainName": "one"}], "NextToken": "t1"},
        {"MaxResults": 100},
    )
    stubber.add_response(
        "list_domains",
        {"Domains": [{"DomainId": "d-2", "DomainName": "two", "Status": "InService"}]},
        {"MaxResults": 100, "NextToken": "t1"},
    )
    assert [d.domain_id for d in gateway.list_domains()] == ["d-1", "d-2"]
    stubber.assert_no_pending_responses()


def test_list_profiles_and_spaces_follow_every_page(
    stubbed: tuple[SageMakerGateway, Stubber],
) -> None:
    gateway, stubber = stubbed
    stubber.add_response(
        "list_user_profiles",
        {
            "UserProfiles": [{"DomainId": "d-1", "UserProfileName": "a"}],
            "NextToken": "n",
        },
        {"DomainIdEquals": "d-1", "MaxResults": 100},
    )
    stubber.add_response(
        "list_user_profiles",
        {
            "UserProfiles": [
                {"DomainId": "d-1", "UserProfileName": "b", "Status": "Deleting"}
            ]
        },
        {"DomainIdEquals": "d-1", "MaxResults": 100, "NextToken": "n"},
    )
    stubber.add_response(
        "list_spaces",
        {"Spaces": [{"DomainId": "d-1", "SpaceName": "s"}]},
        {"DomainIdEquals": "d-1", "MaxResults": 100},
    )
    users = list(gateway.list_profiles("d-1", "user"))
    spaces = list(gateway.list_profiles("d-1", "space"))
    assert [(u.name, u.status) for u in users] == [("a", None), ("b", "Deleting")]
    assert [(s.kind, s.name) for s in spaces] == [("space", "s")]


def test_describe_space_reads_uid(stubbed: tuple[SageMakerGateway, Stubber]) -> None:
    gateway, stubber = stubbed
    stubber.add_response(
        "describe_space",
        {"DomainId": "d-1", "SpaceName": "s", "HomeEfsFileSystemUid": "200004"},
        {"DomainId": "d-1", "SpaceName": "s"},
    )
    described = gateway.describe_profile("d-1", "space", "s")
    assert (described.kind, described.uid, described.sso_user_value) == (
        "space",
        "200004",
        None,
    )


def test_describe_of_a_deleted_profile_is_resource_gone(
    stubbed: tuple[SageMakerGateway, Stubber],
) -> None:
    gateway, stubber = stubbed
    stubber.add_client_error(
        "describe_user_profile", service_error_code="ResourceNotFound"
    )
    with pytest.raises(ResourceGoneError):
        gateway.describe_profile("d-1", "user", "gone")


def test_describe_access_denied_is_unresolvable(
    stubbed: tuple[SageMakerGateway, Stubber],
) -> None:
    gateway, stubber = stubbed
    stubber.add_client_error(
        "describe_domain",
        service_error_code="AccessDeniedException",
        http_status_code=403,
    )
    with pytest.raises(UnresolvableProfileError, match="AccessDeniedException"):
        gateway.describe_domain("d-1")


def test_server_error_is_transient(stubbed: tuple[SageMakerGateway, Stubber]) -> None:
    gateway, stubber = stubbed
    for _ in range(5):
        stubber.add_client_error(
            "list_domains", service_error_code="InternalFailure", http_status_code=500
        )
    with pytest.raises(TransientAwsError):
        list(gateway.list_domains())
