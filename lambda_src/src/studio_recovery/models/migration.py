"""The registry items of a bulk migration (`studio-recovery migrate`).

`MIGRATION#<id>` / `MIGRATION`: what was migrated (domains, pair count, who and when);
`MIGRATION#<id>` / `PAIR#<line>`: one pair of its map. The copies themselves are the
targets' `COPY` and `RESTORE#` items (`migration_id` on the `COPY` item); these items only
let `migrate --status` find them again without the map file.
"""

from __future__ import annotations

from typing import Any, Self

from pydantic import BaseModel, ConfigDict, Field

from studio_recovery.models.registry import Name, ProfileKey, UtcDateTime

MIGRATION_PREFIX = "MIGRATION#"
MIGRATION_SK = "MIGRATION"
PAIR_PREFIX = "PAIR#"


class MigrationRecord(BaseModel):
    """One migration: the map's id, its domains and size, who ran it first and when."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    migration_id: str = Field(pattern=r"^mig-[0-9a-f]{12}$")
    from_domain: Name
    to_domain: Name
    pairs: int = Field(ge=0)
    created_at: UtcDateTime
    created_by: str | None = None
    map_name: str | None = None

    @property
    def pk(self) -> str:
        return f"{MIGRATION_PREFIX}{self.migration_id}"

    def to_item(self) -> dict[str, Any]:
        body = self.model_dump(mode="json", exclude_none=True)
        return {"pk": self.pk, "sk": MIGRATION_SK, "entity": "migration", **body}

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> Self:
        return cls.model_validate({k: int(v) if k == "pairs" else v for k, v in item.items()})


class MigrationPair(BaseModel):
    """One pair of a migration's map (line number, source and target)."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    line: int = Field(ge=1)
    source: ProfileKey
    target: ProfileKey

    def to_item(self, migration_id: str) -> dict[str, Any]:
        return {
            "pk": f"{MIGRATION_PREFIX}{migration_id}",
            "sk": f"{PAIR_PREFIX}{self.line:06d}",
            "entity": "migration_pair",
            "line": self.line,
            "source_pk": self.source.pk,
            "target_pk": self.target.pk,
        }

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> Self:
        return cls(
            line=int(item["line"]),
            source=ProfileKey.from_pk(str(item["source_pk"])),
            target=ProfileKey.from_pk(str(item["target_pk"])),
        )
