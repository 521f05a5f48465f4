"""What a SageMaker CloudTrail event means for the registry (no boto3 here).

`handle_event` takes the parsed event and the two data-access objects. A profile's home
directory is recorded only when its uid has been read and is all digits; anything else
raises a typed error with nothing written (a row without a uid would point DataSync at the
root of the volume).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from pydantic import ValidationError

from studio_recovery.logic.ports import EventRegistry, SageMakerReader
from studio_recovery.models.cloudtrail import CloudTrailDetail, RequestParameters
from studio_recovery.models.errors import (
    DomainPendingError,
    MalformedEventError,
    ResourceGoneError,
    UnresolvableProfileError,
    UnsupportedEventError,
)
from studio_recovery.models.registry import (
    Domain,
    Kind,
    ProfileKey,
    Retention,
    is_valid_uid,
)
from studio_recovery.models.sagemaker import DomainDescription, ProfileDescription
from studio_recovery.observability import append_context_keys, logger

Action = Literal[
    "generation_recorded",
    "already_recorded",
    "profile_deleted",
    "domain_recorded",
    "domain_deleted",
    "ignored",
    "skipped_no_home_efs",
]

PENDING_WAIT_SECONDS = 40.0
"""How long one invocation waits for a Pending domain's home EFS (the function has 60 s);
then DomainPendingError, and the asynchronous invocation's retries try again."""
PENDING_FIRST_POLL_SECONDS = 0.5
PENDING_MAX_POLL_SECONDS = 8.0

NO_HOME_EFS = "the domain has no home EFS volume (HomeEfsFileSystemCreation Disabled)"


@dataclass(frozen=True)
class EventOutcome:
    """What an event changed in the registry."""

    event_name: str
    event_id: str
    action: Action
    reason: str = ""
    domain_id: str | None = None
    domain_name: str | None = None
    kind: Kind | None = None
    name: str | None = None
    generation: int | None = None

    @property
    def recorded(self) -> bool:
        """True when this event wrote something new."""
        return self.action in {
            "generation_recorded",
            "profile_deleted",
            "domain_recorded",
            "domain_deleted",
        }

    def as_dict(self) -> dict[str, object]:
        """JSON-ready summary (`name` is written `profile`: `name` is reserved in log records)."""
        fields = {**self.__dict__, "profile": self.name, "name": None}
        return {key: value for key, value in fields.items() if value is not None}


def handle_event(
    detail: CloudTrailDetail,
    registry: EventRegistry,
    sagemaker: SageMakerReader,
    *,
    sleep: Callable[[float], None] = time.sleep,
) -> EventOutcome:
    """Apply one CloudTrail event to the registry.

    A domain still Pending is described again (`sleep` between tries) for up to
    PENDING_WAIT_SECONDS. Events of profiles and spaces of a domain without a home EFS
    volume are skipped (`skipped_no_home_efs`): there is no home directory to restore.

    Raises UnsupportedEventError (unknown event name), MalformedEventError (a field we
    need is missing or invalid), UnresolvableProfileError (home directory unreadable),
    DomainPendingError (the domain stayed Pending), TransientAwsError (AWS throttling/5xx):
    in every case nothing was written.
    """
    handler = _HANDLERS.get(detail.event_name)
    if handler is None:
        raise UnsupportedEventError(
            f"event {detail.event_name!r} is not handled; expected one of {sorted(_HANDLERS)}"
        )
    if detail.error_code:
        logger.info("The API call failed; nothing to record", extra={"error": detail.error_code})
        return EventOutcome(detail.event_name, detail.event_id, "ignored", "the API call failed")
    params = detail.request_parameters or RequestParameters()
    reader = _PatientReader(sagemaker, sleep)
    try:
        return handler(detail, params, registry, reader)
    except ValidationError as exc:
        raise MalformedEventError(f"{detail.event_name} {detail.event_id}: {exc}") from None


# --------------------------------------------------------------- profiles and spaces


def _created_user(
    detail: CloudTrailDetail,
    params: RequestParameters,
    registry: EventRegistry,
    sm: SageMakerReader,
) -> EventOutcome:
    return _created(detail, "user", params.user_profile_name, params, registry, sm)


def _created_space(
    detail: CloudTrailDetail,
    params: RequestParameters,
    registry: EventRegistry,
    sm: SageMakerReader,
) -> EventOutcome:
    return _created(detail, "space", params.space_name, params, registry, sm)


def _deleted_user(
    detail: CloudTrailDetail,
    params: RequestParameters,
    registry: EventRegistry,
    sm: SageMakerReader,
) -> EventOutcome:
    return _deleted(detail, "user", params.user_profile_name, params, registry, sm)


def _deleted_space(
    detail: CloudTrailDetail,
    params: RequestParameters,
    registry: EventRegistry,
    sm: SageMakerReader,
) -> EventOutcome:
    return _deleted(detail, "space", params.space_name, params, registry, sm)


def _created(
    detail: CloudTrailDetail,
    kind: Kind,
    name: str | None,
    params: RequestParameters,
    registry: EventRegistry,
    sagemaker: SageMakerReader,
) -> EventOutcome:
    """Create*: resolve the new home directory (volume + uid) and record a generation."""
    domain_id = _required(detail, "domainId", params.domain_id)
    name = _required(detail, "userProfileName" if kind == "user" else "spaceName", name)
    append_context_keys(kind=kind, profile=name)
    domain = _describe_domain_for(detail, domain_id, f"{kind} {name}", sagemaker)
    key = ProfileKey(domain_name=domain.domain_name, kind=kind, name=name)
    append_context_keys(domain=key.domain_name)
    if domain.efs_id is None:
        logger.info("Profile event of a domain without a home EFS volume: skipped")
        return EventOutcome(
            detail.event_name,
            detail.event_id,
            "skipped_no_home_efs",
            NO_HOME_EFS,
            domain_id=domain_id,
            domain_name=key.domain_name,
            kind=kind,
            name=name,
        )
    try:
        profile = sagemaker.describe_profile(domain_id, kind, name)
    except ResourceGoneError as exc:
        raise UnresolvableProfileError(f"{key}: deleted before its home could be read") from exc
    if not is_valid_uid(profile.uid):
        raise UnresolvableProfileError(
            f"{key}: HomeEfsFileSystemUid is {profile.uid!r}, not a uid; nothing recorded"
        )
    assert profile.uid is not None  # for the type checker: is_valid_uid checked it
    generation = registry.record_generation(
        key,
        domain_id=domain_id,
        efs_id=domain.efs_id,
        uid=profile.uid,
        created_at=detail.event_time,
        sso_user_value=profile.sso_user_value or params.single_sign_on_user_value,
        event_id=detail.event_id,
    )
    fresh = generation.event_id == detail.event_id
    return EventOutcome(
        detail.event_name,
        detail.event_id,
        "generation_recorded" if fresh else "already_recorded",
        domain_id=domain_id,
        domain_name=key.domain_name,
        kind=kind,
        name=name,
        generation=generation.generation,
    )


def _deleted(
    detail: CloudTrailDetail,
    kind: Kind,
    name: str | None,
    params: RequestParameters,
    registry: EventRegistry,
    sagemaker: SageMakerReader,
) -> EventOutcome:
    """Delete*: mark the profile's current home directory deleted (it stays on the volume)."""
    domain_id = _required(detail, "domainId", params.domain_id)
    name = _required(detail, "userProfileName" if kind == "user" else "spaceName", name)
    append_context_keys(kind=kind, profile=name)
    domain_name = _domain_name(domain_id, registry, sagemaker)
    if domain_name is None:
        logger.info("Delete in a domain the registry never saw: nothing to mark")
        return EventOutcome(
            detail.event_name, detail.event_id, "ignored", "unknown domain", domain_id=domain_id
        )
    key = ProfileKey(domain_name=domain_name, kind=kind, name=name)
    append_context_keys(domain=domain_name)
    generation = registry.mark_deleted(key, domain_id, detail.event_time)
    return EventOutcome(
        detail.event_name,
        detail.event_id,
        "profile_deleted" if generation is not None else "ignored",
        "" if generation is not None else "no live generation",
        domain_id=domain_id,
        domain_name=domain_name,
        kind=kind,
        name=name,
        generation=generation.generation if generation is not None else None,
    )


# --------------------------------------------------------------------------- domains


def _created_domain(
    detail: CloudTrailDetail,
    params: RequestParameters,
    registry: EventRegistry,
    sm: SageMakerReader,
) -> EventOutcome:
    """CreateDomain: record the domain and its home EFS volume."""
    arn = detail.response_elements.domain_arn if detail.response_elements else None
    domain_id = _required(detail, "responseElements.domainArn", _arn_id(arn) or params.domain_id)
    described = _describe_domain_for(detail, domain_id, "the domain", sm)
    domain = Domain(
        domain_id=domain_id,
        domain_name=described.domain_name,
        efs_id=described.efs_id,
        created_at=detail.event_time,
        event_id=detail.event_id,
    )
    append_context_keys(domain=domain.domain_name)
    written = registry.put_domain(domain)
    reason = NO_HOME_EFS if described.efs_id is None else ""
    return EventOutcome(
        detail.event_name,
        detail.event_id,
        "domain_recorded" if written else "ignored",
        reason if written else "domain already deleted",
        domain_id=domain_id,
        domain_name=domain.domain_name,
    )


def _deleted_domain(
    detail: CloudTrailDetail,
    params: RequestParameters,
    registry: EventRegistry,
    sm: SageMakerReader,
) -> EventOutcome:
    """DeleteDomain: record the deletion and whether the EFS volume was retained."""
    domain_id = _required(detail, "domainId", params.domain_id)
    policy = params.retention_policy
    retention: Retention = policy.home_efs_file_system if policy is not None else "Retain"
    domain_name = _domain_name(domain_id, registry, sm, registry_first=True)
    if domain_name is None:
        logger.info("Delete of a domain the registry never saw: nothing to mark")
        return EventOutcome(
            detail.event_name, detail.event_id, "ignored", "unknown domain", domain_id=domain_id
        )
    append_context_keys(domain=domain_name)
    marked = registry.mark_domain_deleted(
        domain_name, domain_id, detail.event_time, retention, event_id=detail.event_id
    )
    return EventOutcome(
        detail.event_name,
        detail.event_id,
        "domain_deleted" if marked else "ignored",
        f"retention {retention}" if marked else "unknown domain",
        domain_id=domain_id,
        domain_name=domain_name,
    )


# --------------------------------------------------------------------------- helpers


def _required(detail: CloudTrailDetail, field: str, value: str | None) -> str:
    if not value:
        raise MalformedEventError(f"{detail.event_name} {detail.event_id}: {field} is missing")
    return value


def _arn_id(arn: str | None) -> str | None:
    """`arn:aws:sagemaker:us-east-1:123456789012:domain/d-abc` -> `d-abc`."""
    if not arn or "/" not in arn:
        return None
    return arn.rsplit("/", 1)[1] or None


def _describe_domain_for(
    detail: CloudTrailDetail, domain_id: str, what: str, sagemaker: SageMakerReader
) -> DomainDescription:
    """DescribeDomain, requiring the name, and the home EFS id unless the domain has none
    (then `efs_id` is None). A Pending domain is waited for (`_PatientReader`)."""
    try:
        domain = sagemaker.describe_domain(domain_id)
    except ResourceGoneError as exc:
        raise UnresolvableProfileError(
            f"{detail.event_name} for {what}: domain {domain_id} no longer exists"
        ) from exc
    if not domain.domain_name:
        raise UnresolvableProfileError(
            f"{detail.event_name} for {what}: domain {domain_id} has no name"
        )
    if not domain.efs_id and not domain.without_home_efs:
        raise DomainPendingError(
            f"{detail.event_name} for {what}: domain {domain_id} is still {domain.status} "
            f"after {PENDING_WAIT_SECONDS:.0f} s, its home EFS volume not known yet"
        )
    return domain


class _PatientReader:
    """A SageMakerReader whose DescribeDomain waits, within bounds, while a domain is
    Pending without its home EFS volume."""

    def __init__(self, sagemaker: SageMakerReader, sleep: Callable[[float], None]) -> None:
        self._sagemaker = sagemaker
        self._sleep = sleep

    def describe_domain(self, domain_id: str) -> DomainDescription:
        waited, pause = 0.0, PENDING_FIRST_POLL_SECONDS
        while True:
            domain = self._sagemaker.describe_domain(domain_id)
            if domain.efs_id or domain.without_home_efs or waited >= PENDING_WAIT_SECONDS:
                return domain
            logger.info(
                "Domain still Pending; describing it again",
                extra={"domain_id": domain_id, "waited_seconds": waited},
            )
            pause = min(pause, PENDING_WAIT_SECONDS - waited)
            self._sleep(pause)
            waited += pause
            pause = min(pause * 2, PENDING_MAX_POLL_SECONDS)

    def describe_profile(self, domain_id: str, kind: Kind, name: str) -> ProfileDescription:
        return self._sagemaker.describe_profile(domain_id, kind, name)


def _domain_name(
    domain_id: str,
    registry: EventRegistry,
    sagemaker: SageMakerReader,
    *,
    registry_first: bool = False,
) -> str | None:
    """Name of a domain by id: DescribeDomain (cheap) or the registry (a Scan), or None."""

    def from_registry() -> str | None:
        domain = registry.get_domain_by_id(domain_id)
        return domain.domain_name if domain is not None else None

    def from_sagemaker() -> str | None:
        try:
            return sagemaker.describe_domain(domain_id).domain_name or None
        except ResourceGoneError:
            return None

    lookups = (from_registry, from_sagemaker) if registry_first else (from_sagemaker, from_registry)
    for lookup in lookups:
        name = lookup()
        if name:
            return name
    return None


_Handler = Callable[
    [CloudTrailDetail, RequestParameters, EventRegistry, SageMakerReader], EventOutcome
]

_HANDLERS: dict[str, _Handler] = {
    "CreateUserProfile": _created_user,
    "CreateSpace": _created_space,
    "DeleteUserProfile": _deleted_user,
    "DeleteSpace": _deleted_space,
    "CreateDomain": _created_domain,
    "DeleteDomain": _deleted_domain,
}

SUPPORTED_EVENTS = frozenset(_HANDLERS)
