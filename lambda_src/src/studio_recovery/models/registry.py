"""Registry items for domains, profiles and generations (docs/internals.md section 1).

A profile's identity is `ProfileKey(domain_name, kind, name)`: a user and a space with the
same name never collide. `to_item()` / `from_item()` convert between models and DynamoDB
items (the boto3 resource API's Python values); times are ISO 8601 UTC strings.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated, Any, Literal, Self

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
)

from studio_recovery.models.errors import MalformedEventError

NAME_PATTERN = r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$"
"""Studio profile, space and domain names."""

UID_PATTERN = r"^[1-9][0-9]{0,9}$"
"""A home directory's POSIX uid: digits only, never empty, never 0 (the volume's root owner)."""

Kind = Literal["user", "space"]
Retention = Literal["Retain", "Delete"]

PROFILE_PREFIX = "PROFILE#"
PROFILE_SK = "PROFILE"
GENERATION_PREFIX = "GEN#"
DOMAIN_PREFIX = "DOMAIN#"


def to_iso(moment: datetime) -> str:
    """`2026-11-28T14:08:57Z`: UTC, whole seconds. A naive datetime is taken as UTC."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_iso(value: object) -> object:
    """ISO 8601 string -> aware UTC datetime; a naive datetime is taken as UTC."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if isinstance(value, datetime):
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)
    return value


UtcDateTime = Annotated[
    datetime,
    BeforeValidator(parse_iso),
    PlainSerializer(to_iso, return_type=str, when_used="always"),
]
"""A datetime stored as `2026-11-28T14:08:57Z`."""


MAX_UID = 2**32 - 1
"""The largest POSIX uid EFS accepts (an access point's `PosixUser.Uid`)."""


def _check_uid(value: str) -> str:
    if not is_valid_uid(value):
        raise ValueError(
            f"uid must be a whole number from 1 to {MAX_UID} written in digits, got {value!r}"
        )
    return value


Name = Annotated[str, Field(pattern=NAME_PATTERN)]
Uid = Annotated[str, AfterValidator(_check_uid)]


def is_valid_uid(value: object) -> bool:
    """True when `value` is a string a home directory can be named after."""
    return (
        isinstance(value, str)
        and re.fullmatch(UID_PATTERN, value) is not None
        and int(value) <= MAX_UID
    )


class _Item(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    def to_item(self) -> dict[str, Any]:
        """Attributes of this model, None ones left out (the keys are added by subclasses)."""
        return self.model_dump(mode="json", exclude_none=True)


class ProfileKey(BaseModel):
    """Identity of a user profile or space: (domain name, kind, name)."""

    model_config = ConfigDict(frozen=True)

    domain_name: Name
    kind: Kind
    name: Name

    @property
    def pk(self) -> str:
        """Partition key shared by the profile row, its generations and its restores."""
        return f"{PROFILE_PREFIX}{self.domain_name}#{self.kind}#{self.name}"

    @classmethod
    def from_pk(cls, pk: str) -> ProfileKey:
        """Inverse of `.pk`; MalformedEventError when `pk` is not a profile key."""
        parts = pk.split("#")
        if len(parts) != 4 or parts[0] + "#" != PROFILE_PREFIX:
            raise MalformedEventError(f"not a profile key: {pk!r}")
        return cls(domain_name=parts[1], kind=parts[2], name=parts[3])

    def __str__(self) -> str:
        return f"{self.domain_name}/{self.kind}/{self.name}"


class Domain(_Item):
    """A SageMaker domain as the registry knows it (one item per domain id)."""

    domain_id: str = Field(min_length=1)
    domain_name: Name
    efs_id: str | None = Field(default=None, min_length=1)
    """The home EFS volume; None for a domain created with HomeEfsFileSystemCreation
    Disabled (nothing of it can be restored)."""
    created_at: UtcDateTime
    deleted_at: UtcDateTime | None = None
    retention: Retention | None = None
    event_id: str | None = None

    @property
    def pk(self) -> str:
        return f"{DOMAIN_PREFIX}{self.domain_name}"

    @property
    def sk(self) -> str:
        return f"{DOMAIN_PREFIX}{self.domain_id}"

    def to_item(self) -> dict[str, Any]:
        return {"pk": self.pk, "sk": self.sk, "entity": "domain", **super().to_item()}

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> Self:
        return cls.model_validate(item)


class _ProfileFields(_Item):
    """Fields a profile row and a generation have in common."""

    domain_name: Name
    kind: Kind
    name: Name
    domain_id: str = Field(min_length=1)
    efs_id: str = Field(min_length=1)
    uid: Uid
    sso_user_value: str | None = None
    created_at: UtcDateTime
    deleted_at: UtcDateTime | None = None

    @property
    def key(self) -> ProfileKey:
        return ProfileKey(domain_name=self.domain_name, kind=self.kind, name=self.name)

    @property
    def pk(self) -> str:
        return self.key.pk


class Generation(_ProfileFields):
    """One home directory a profile has ever held; numbered 1, 2, ... per ProfileKey."""

    generation: int = Field(ge=1)
    has_data: bool | None = None
    event_id: str | None = None

    @property
    def sk(self) -> str:
        return generation_sk(self.generation)

    def to_item(self) -> dict[str, Any]:
        return {"pk": self.pk, "sk": self.sk, "entity": "generation", **super().to_item()}

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> Self:
        return cls.model_validate(item)


class Profile(_ProfileFields):
    """Current state of a profile or space, with its opt-in flag and its last restore."""

    generation: int = Field(ge=1)
    replication: bool = True
    # Last restore (written by the workflow's finalize step).
    replication_status: str | None = None
    replication_reason: str | None = None
    bytes_written: int | None = None
    bytes_file_transferred: int | None = None
    files_transferred: int | None = None
    total_duration_ms: int | None = None
    execution_arn: str | None = None
    restore_id: str | None = None
    restore_started_at: UtcDateTime | None = None
    restore_ended_at: UtcDateTime | None = None

    @property
    def sk(self) -> str:
        return PROFILE_SK

    @property
    def is_deleted(self) -> bool:
        return self.deleted_at is not None

    def to_item(self) -> dict[str, Any]:
        return {"pk": self.pk, "sk": self.sk, "entity": "profile", **super().to_item()}

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> Self:
        return cls.model_validate(item)


class HomeDirectory(BaseModel):
    """A profile's home directory as observed (event or seeding), before it is recorded."""

    model_config = ConfigDict(frozen=True)

    key: ProfileKey
    domain_id: str = Field(min_length=1)
    efs_id: str = Field(min_length=1)
    uid: Uid
    created_at: UtcDateTime
    sso_user_value: str | None = None
    event_id: str | None = None

    def as_generation(self, number: int) -> Generation:
        """The generation item this observation becomes under `number`."""
        return Generation(
            domain_name=self.key.domain_name,
            kind=self.key.kind,
            name=self.key.name,
            domain_id=self.domain_id,
            efs_id=self.efs_id,
            uid=self.uid,
            sso_user_value=self.sso_user_value,
            created_at=self.created_at,
            generation=number,
            event_id=self.event_id,
        )


def generation_sk(number: int) -> str:
    """`GEN#000002`: sorts oldest first."""
    return f"{GENERATION_PREFIX}{number:06d}"
