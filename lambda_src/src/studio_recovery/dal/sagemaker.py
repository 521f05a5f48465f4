"""Read-only SageMaker calls: describe and list domains, user profiles and spaces.

A resource that does not exist (any more) raises `ResourceGoneError`, which callers treat as
normal (a profile deleted while the seeder lists). Throttling and 5xx that outlive botocore's
retries raise `TransientAwsError`; any other failure of a Describe raises
`UnresolvableProfileError` (we could not learn where the home directory is).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import boto3
from botocore.config import Config
from botocore.endpoint import MAX_POOL_CONNECTIONS
from botocore.exceptions import ClientError

from studio_recovery.dal.aws_errors import RETRY_CONFIG, error_code, transient_aws_errors
from studio_recovery.dal.pacing import Pacer
from studio_recovery.models.errors import ResourceGoneError, UnresolvableProfileError
from studio_recovery.models.registry import Kind
from studio_recovery.models.sagemaker import DomainDescription, ProfileDescription, ProfileSummary

if TYPE_CHECKING:
    from mypy_boto3_sagemaker.client import SageMakerClient

NOT_FOUND_CODES = frozenset({"ResourceNotFound", "ResourceNotFoundException"})


LIST_PAGE_SIZE = 100
"""MaxResults of ListDomains, ListUserProfiles and ListSpaces: their largest (default 10)."""


class SageMakerGateway:
    """The SageMaker calls of this library (one client, bounded retries)."""

    def __init__(self, client: SageMakerClient | None = None, *, threads: int = 1) -> None:
        """`threads`: how many threads share the gateway, each with a kept-alive connection
        (botocore keeps 10; past that, each call of the extra threads opens a new one)."""
        pool = Config(max_pool_connections=max(MAX_POOL_CONNECTIONS, threads))
        own = client or boto3.client("sagemaker", config=RETRY_CONFIG.merge(pool))
        # Paced per operation once SageMaker throttles: the seeder's threads then go at
        # the admitted rate instead of exhausting their retries (dal/pacing.py).
        self._client = Pacer().attach(own)

    def describe_domain(self, domain_id: str) -> DomainDescription:
        """DescribeDomain: name, home EFS volume, status."""
        reply = self._describe(
            "DescribeDomain", domain_id, lambda: self._client.describe_domain(DomainId=domain_id)
        )
        return DomainDescription(
            domain_id=domain_id,
            domain_name=str(reply.get("DomainName", "")),
            efs_id=reply.get("HomeEfsFileSystemId"),
            status=reply.get("Status"),
            created_at=reply.get("CreationTime"),
            home_efs_creation=reply.get("HomeEfsFileSystemCreation"),
        )

    def describe_profile(self, domain_id: str, kind: Kind, name: str) -> ProfileDescription:
        """DescribeUserProfile or DescribeSpace: the home directory's uid and the SSO user."""
        if kind == "user":
            reply = self._describe(
                "DescribeUserProfile",
                f"{domain_id}/{name}",
                lambda: self._client.describe_user_profile(
                    DomainId=domain_id, UserProfileName=name
                ),
            )
        else:
            reply = self._describe(
                "DescribeSpace",
                f"{domain_id}/{name}",
                lambda: self._client.describe_space(DomainId=domain_id, SpaceName=name),
            )
        uid = reply.get("HomeEfsFileSystemUid")
        return ProfileDescription(
            domain_id=domain_id,
            kind=kind,
            name=name,
            uid=None if uid is None else str(uid),
            sso_user_value=reply.get("SingleSignOnUserValue"),
            status=reply.get("Status"),
            created_at=reply.get("CreationTime"),
        )

    def list_domains(self) -> Iterator[DomainDescription]:
        """Every domain of the region (ListDomains, all pages)."""
        for page in self._pages("list_domains", "ListDomains"):
            for row in page.get("Domains", []):
                yield DomainDescription(
                    domain_id=row["DomainId"],
                    domain_name=row["DomainName"],
                    status=row.get("Status"),
                    created_at=row.get("CreationTime"),
                )

    def list_profiles(self, domain_id: str, kind: Kind) -> Iterator[ProfileSummary]:
        """Every user profile (kind user) or space (kind space) of a domain, all pages."""
        if kind == "user":
            pages = self._pages("list_user_profiles", "ListUserProfiles", DomainIdEquals=domain_id)
            rows_key, name_key = "UserProfiles", "UserProfileName"
        else:
            pages = self._pages("list_spaces", "ListSpaces", DomainIdEquals=domain_id)
            rows_key, name_key = "Spaces", "SpaceName"
        for page in pages:
            for row in page.get(rows_key, []):
                yield ProfileSummary(
                    domain_id=domain_id, kind=kind, name=row[name_key], status=row.get("Status")
                )

    def _describe(self, action: str, what: str, call: Any) -> dict[str, Any]:
        try:
            with transient_aws_errors(f"SageMaker {action}"):
                return dict(call())
        except ClientError as exc:
            code = error_code(exc)
            if code in NOT_FOUND_CODES:
                raise ResourceGoneError(f"{action} {what}: not found") from exc
            raise UnresolvableProfileError(f"{action} {what} failed: {code}") from exc

    def _pages(self, operation: str, action: str, **kwargs: Any) -> Iterator[dict[str, Any]]:
        paginator: Any = self._client.get_paginator(operation)  # type: ignore[call-overload]
        # SageMaker answers 10 per page unless asked: 100 (the most) cuts the round trips.
        pages = iter(paginator.paginate(**kwargs, PaginationConfig={"PageSize": LIST_PAGE_SIZE}))
        while True:
            try:
                with transient_aws_errors(f"SageMaker {action}"):
                    page = next(pages)
            except StopIteration:
                return
            except ClientError as exc:
                if error_code(exc) in NOT_FOUND_CODES:
                    raise ResourceGoneError(f"{action} {kwargs}: not found") from exc
                raise
            yield dict(page)
