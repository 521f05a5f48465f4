"""A space agent's restore report (modules/space_backup) and the S3 event that announces it."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

SpaceRestoreStatus = Literal["SUCCEEDED", "PARTIAL", "FAILED", "NOTHING_TO_RESTORE"]


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")


class S3Bucket(_Model):
    name: str = Field(min_length=1)


class S3Object(_Model):
    key: str = Field(min_length=1)


class S3ObjectCreatedDetail(_Model):
    bucket: S3Bucket
    object: S3Object


class S3ObjectCreatedEvent(_Model):
    """EventBridge "Object Created" from S3 (the fields used)."""

    source: Literal["aws.s3"]
    detail_type: Literal["Object Created"] = Field(alias="detail-type")
    detail: S3ObjectCreatedDetail


class SpaceRestoreReport(_Model):
    """What the agent wrote (restores/<time>.json). Written with the space's credentials: the
    counters are the space's own account of itself; who it is comes from the object key."""

    status: SpaceRestoreStatus
    source_prefix: str
    started_at: str
    finished_at: str
    duration_seconds: float = Field(ge=0)
    files: int = Field(ge=0)
    bytes: int = Field(ge=0)
    kept_count: int = Field(default=0, ge=0)
    missing_count: int = Field(default=0, ge=0)
    error: str | None = None


class SpaceRestoreRecord(_Model):
    """A space's restore in the registry (sk RESTORE#<time>; the space row's last_restore)."""

    sk: str
    status: SpaceRestoreStatus
    files: int = 0
    bytes: int = 0
    duration_seconds: float = 0
    kept_count: int = 0
    missing_count: int = 0
    source_prefix: str | None = None
    started_at: str | None = None
    finished_at: str | None = None
    error: str | None = None


class EbsSpace(_Model):
    """An EBS space's row in the registry (pk SPACE#<domain id>#<owner>#<space>, sk SPACE),
    written by the space-report function: where its home lives, its last restore."""

    pk: str
    domain_id: str
    space_name: str
    owner: str
    """The owner profile, or `_shared` for a shared space."""
    backup_prefix: str
    last_restore: SpaceRestoreRecord | None = None

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> EbsSpace:
        home = item.get("home") or {}
        return cls.model_validate({**item, "backup_prefix": home.get("backup_prefix", "")})
