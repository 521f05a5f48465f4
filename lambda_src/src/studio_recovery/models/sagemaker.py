"""What SageMaker's Describe and List calls tell us about domains, profiles and spaces.

Built by the SageMaker gateway (`studio_recovery.dal.sagemaker`), read by the event and
seeding decisions. `uid` is raw here: the decisions validate it before use.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict

from studio_recovery.models.registry import Kind


class _Described(BaseModel):
    model_config = ConfigDict(frozen=True)


class DomainDescription(_Described):
    """What DescribeDomain / ListDomains tell us about a domain."""

    domain_id: str
    domain_name: str
    efs_id: str | None = None
    status: str | None = None
    created_at: datetime | None = None
    home_efs_creation: str | None = None
    """HomeEfsFileSystemCreation: `Enabled` (the default), or `Disabled` (no home EFS)."""

    @property
    def pending(self) -> bool:
        """Still being created: its home EFS volume may not be known yet."""
        return self.status == "Pending"

    @property
    def without_home_efs(self) -> bool:
        """A domain that has no home EFS volume and will not get one by waiting."""
        if self.efs_id:
            return False
        return self.home_efs_creation == "Disabled" or not self.pending


class ProfileDescription(_Described):
    """What DescribeUserProfile / DescribeSpace tell us. `uid` is raw: validate before use."""

    domain_id: str
    kind: Kind
    name: str
    uid: str | None = None
    sso_user_value: str | None = None
    status: str | None = None
    created_at: datetime | None = None


class ProfileSummary(_Described):
    """One row of ListUserProfiles / ListSpaces."""

    domain_id: str
    kind: Kind
    name: str
    status: str | None = None
