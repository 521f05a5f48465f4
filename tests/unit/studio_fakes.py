"""Test doubles shared by the unit and integration tests of the event and seeding logic.

Integration tests import them as `from tests.unit.studio_fakes import ...`.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from studio_recovery.dal.sagemaker import (
    DomainDescription,
    ProfileDescription,
    ProfileSummary,
    ResourceGoneError,
)
from studio_recovery.models.registry import (
    Domain,
    Generation,
    Kind,
    ProfileKey,
    Retention,
)

EVENT_TIME = "2026-11-28T14:08:57Z"


def cloudtrail_event(
    event_name: str,
    *,
    event_id: str = "11111111-2222-3333-4444-555555555555",
    request_parameters: dict[str, Any] | None = None,
    response_elements: dict[str, Any] | None = None,
    event_time: str = EVENT_TIME,
    **detail_extra: Any,
) -> dict[str, Any]:
    """An EventBridge "AWS API Call via CloudTrail" event from aws.sagemaker."""
    detail: dict[str, Any] = {
        "eventVersion": "1.09",
        "eventTime": event_time,
        "eventSource": "sagemaker.amazonaws.com",
        "eventName": event_name,
        "awsRegion": "us-east-1",
        "eventID": event_id,
        "requestParameters": request_parameters,
        "responseElements": response_elements,
        **detail_extra,
    }
    return {
        "version": "0",
        "id": "6a7e8feb-b491-4cf7-a9f1-bf3703467718",
        "detail-type": "AWS API Call via CloudTrail",
        "source": "aws.sagemaker",
        "account": "123456789012",
        "time": event_time,
        "region": "us-east-1",
        "resources": [],
        "detail": detail,
    }


class FakeSageMaker:
    """In-memory SageMaker: domains, profiles and spaces, with call counting."""

    def __init__(self) -> None:
        self.domains: dict[str, DomainDescription] = {}
        self.profiles: dict[tuple[str, Kind, str], ProfileDescription] = {}
        self.vanish_on_describe: set[tuple[str, Kind, str]] = set()
        self.calls: list[str] = []
        self.pending_describes: dict[str, int] = {}

    def add_domain(
        self,
        domain_id: str,
        name: str,
        efs_id: str | None = "fs-0123",
        *,
        status: str = "InService",
        home_efs_creation: str | None = None,
        pending_describes: int = 0,
    ) -> None:
        """`pending_describes`: how many DescribeDomain calls answer Pending without the
        volume before the domain is InService with `efs_id`."""
        self.domains[domain_id] = DomainDescription(
            domain_id=domain_id,
            domain_name=name,
            efs_id=efs_id,
            status=status,
            created_at=datetime(2026, 1, 1, tzinfo=UTC),
            home_efs_creation=home_efs_creation,
        )
        self.pending_describes[domain_id] = pending_describes

    def add_profile(
        self,
        domain_id: str,
        kind: Kind,
        name: str,
        uid: str | None,
        *,
        sso_user_value: str | None = None,
        status: str = "InService",
    ) -> None:
        self.profiles[(domain_id, kind, name)] = ProfileDescription(
            domain_id=domain_id,
            kind=kind,
            name=name,
            uid=uid,
            sso_user_value=sso_user_value,
            status=status,
            created_at=datetime(2026, 2, 1, tzinfo=UTC),
        )

    def describe_domain(self, domain_id: str) -> DomainDescription:
        self.calls.append(f"DescribeDomain {domain_id}")
        if domain_id not in self.domains:
            raise ResourceGoneError(f"domain {domain_id}")
        if self.pending_describes.get(domain_id, 0) > 0:
            self.pending_describes[domain_id] -= 1
            return self.domains[domain_id].model_copy(
                update={"status": "Pending", "efs_id": None}
            )
        return self.domains[domain_id]

    def describe_profile(
        self, domain_id: str, kind: Kind, name: str
    ) -> ProfileDescription:
        self.calls.append(f"Describe {kind} {domain_id}/{name}")
        key = (domain_id, kind, name)
        if key not in self.profiles or key in self.vanish_on_describe:
            raise ResourceGoneError(f"{kind} {name}")
        return self.profiles[key]

    def list_domains(self) -> Iterator[DomainDescription]:
        self.calls.append("ListDomains")
        yield from list(self.domains.values())

    def list_profiles(self, domain_id: str, kind: Kind) -> Iterator[ProfileSummary]:
        self.calls.append(f"List {kind} {domain_id}")
        for (d, k, name), profile in list(self.profiles.items()):
            if d == domain_id and k == kind:
                yield ProfileSummary(
                    domain_id=d, kind=k, name=name, status=profile.status
                )


@dataclass
class FakeRegistry:
    """In-memory registry for the event logic: keeps what was written, in order."""

    generations: dict[ProfileKey, list[Generation]] = field(default_factory=dict)
    domains: dict[str, Domain] = field(default_factory=dict)
    writes: list[str] = field(default_factory=list)

    def record_generation(
        self,
        key: ProfileKey,
        *,
        domain_id: str,
        efs_id: str,
        uid: str,
        created_at: datetime,
        sso_user_value: str | None = None,
        event_id: str | None = None,
    ) -> Generation:
        history = self.generations.setdefault(key, [])
        for known in history:
            if known.domain_id == domain_id and known.uid == uid:
                return known
        generation = Generation(
            domain_name=key.domain_name,
            kind=key.kind,
            name=key.name,
            domain_id=domain_id,
            efs_id=efs_id,
            uid=uid,
            created_at=created_at,
            sso_user_value=sso_user_value,
            event_id=event_id,
            generation=len(history) + 1,
        )
        history.append(generation)
        self.writes.append(f"generation {key} {generation.generation}")
        return generation

    def mark_deleted(
        self, key: ProfileKey, domain_id: str, deleted_at: datetime
    ) -> Generation | None:
        history = self.generations.get(key, [])
        for index in reversed(range(len(history))):
            generation = history[index]
            if generation.domain_id == domain_id and generation.deleted_at is None:
                history[index] = generation.model_copy(
                    update={"deleted_at": deleted_at}
                )
                self.writes.append(f"deleted {key} {generation.generation}")
                return history[index]
        return None

    def put_domain(self, domain: Domain) -> bool:
        self.domains[domain.domain_id] = domain
        self.writes.append(f"domain {domain.domain_id}")
        return True

    def mark_domain_deleted(
        self,
        domain_name: str,
        domain_id: str,
        deleted_at: datetime,
        retention: Retention,
        event_id: str | None = None,
    ) -> bool:
        if domain_id not in self.domains:
            return False
        self.domains[domain_id] = self.domains[domain_id].model_copy(
            update={"deleted_at": deleted_at, "retention": retention}
        )
        self.writes.append(f"domain deleted {domain_id} {retention}")
        return True

    def get_domain_by_id(self, domain_id: str) -> Domain | None:
        return self.domains.get(domain_id)
