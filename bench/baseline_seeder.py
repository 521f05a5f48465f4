"""What the original sample's seeder did, as a measurement stand-in (not product code).

One ListDomains call (no pagination), then for each domain a DescribeDomain and, for each
user profile and space, a Describe call one after the other and one PutItem per row. The
profile and space listings are paginated here (the sample's were not), so that both
seeders record the same rows and the times compare the same work.
"""

from __future__ import annotations

from typing import Any


def seed_like_the_sample(
    sagemaker: Any, table: Any, only: list[str] | None = None
) -> int:
    """Record every profile and space, sequentially; returns the number of rows written.

    `only` restricts the run to those domain ids (a sample of a larger sandbox).
    """
    written = 0
    for domain in sagemaker.list_domains().get("Domains", []):
        domain_id = domain["DomainId"]
        if only is not None and domain_id not in only:
            continue
        described = sagemaker.describe_domain(DomainId=domain_id)
        efs_id = described.get("HomeEfsFileSystemId", "")
        for page in sagemaker.get_paginator("list_user_profiles").paginate(
            DomainIdEquals=domain_id
        ):
            for row in page.get("UserProfiles", []):
                name = row["UserProfileName"]
                profile = sagemaker.describe_user_profile(
                    DomainId=domain_id, UserProfileName=name
                )
                table.put_item(Item=_row(domain["DomainName"], name, efs_id, profile))
                written += 1
        for page in sagemaker.get_paginator("list_spaces").paginate(
            DomainIdEquals=domain_id
        ):
            for row in page.get("Spaces", []):
                name = row["SpaceName"]
                space = sagemaker.describe_space(DomainId=domain_id, SpaceName=name)
                table.put_item(Item=_row(domain["DomainName"], name, efs_id, space))
                written += 1
    return written


def _row(
    domain_name: str, name: str, efs_id: str, reply: dict[str, Any]
) -> dict[str, Any]:
    """The sample's item: keyed by profile name and domain name only."""
    return {
        "pk": f"{domain_name}#{name}",
        "sk": "profile",
        "profile_name": name,
        "domain_name": domain_name,
        "efs_id": efs_id,
        "uid": str(reply.get("HomeEfsFileSystemUid", "")),
    }
