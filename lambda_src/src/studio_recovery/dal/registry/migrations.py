"""Registry reads and writes of `studio-recovery migrate` (docs/internals.md section 1).

- `domain_histories`: every profile partition of one domain name (profile rows,
  generations, copy requests, restores, backups) from one filtered Scan, grouped by
  profile: what planning a migration of thousands of pairs needs, in a few pages.
- `record_migration` / `get_migration` / `list_migrations`: the `MIGRATION#<id>` items.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from studio_recovery.dal.aws_errors import transient_aws_errors
from studio_recovery.dal.registry.table import RegistryTable
from studio_recovery.models.history import ProfileHistory
from studio_recovery.models.migration import (
    MIGRATION_PREFIX,
    MIGRATION_SK,
    PAIR_PREFIX,
    MigrationPair,
    MigrationRecord,
)
from studio_recovery.models.registry import PROFILE_PREFIX, ProfileKey


class MigrationRepository(RegistryTable):
    """What a migration reads of two domains, and its own items."""

    def domain_histories(self, domain_name: str) -> dict[ProfileKey, ProfileHistory]:
        """Every profile and space of `domain_name` with its whole partition (one
        consistent, paginated Scan filtered on the key prefix)."""
        grouped: dict[str, list[dict[str, Any]]] = {}
        items = self._scan(
            "migration scan domain",
            FilterExpression="begins_with(pk, :prefix)",
            ExpressionAttributeValues={":prefix": f"{PROFILE_PREFIX}{domain_name}#"},
            ConsistentRead=True,
        )
        for item in items:
            grouped.setdefault(str(item["pk"]), []).append(item)
        histories: dict[ProfileKey, ProfileHistory] = {}
        for pk, partition in grouped.items():
            key = ProfileKey.from_pk(pk)
            histories[key] = ProfileHistory.from_items(key, partition)
        return histories

    def record_migration(self, record: MigrationRecord, pairs: Sequence[MigrationPair]) -> bool:
        """Write the migration and its pairs; False (nothing written) when it was recorded
        before (the same map ran already)."""
        if self.get_migration(record.migration_id) is not None:
            return False
        with transient_aws_errors("migration batch write"), self._table.batch_writer() as batch:
            for pair in pairs:
                batch.put_item(Item=pair.to_item(record.migration_id))
        # The header last: a migration that has one has all its pairs.
        return self._put_if_absent(record.to_item(), "migration put")

    def get_migration(self, migration_id: str) -> MigrationRecord | None:
        item = self._get(
            {"pk": f"{MIGRATION_PREFIX}{migration_id}", "sk": MIGRATION_SK}, "migration get"
        )
        return MigrationRecord.from_item(item) if item else None

    def migration_pairs(self, migration_id: str) -> list[MigrationPair]:
        """The pairs of a recorded migration, by line number."""
        items = self._query(
            "migration query pairs",
            KeyConditionExpression="pk = :pk AND begins_with(sk, :pair)",
            ExpressionAttributeValues={
                ":pk": f"{MIGRATION_PREFIX}{migration_id}",
                ":pair": PAIR_PREFIX,
            },
            ConsistentRead=True,
        )
        return sorted((MigrationPair.from_item(i) for i in items), key=lambda p: p.line)

    def list_migrations(self) -> list[MigrationRecord]:
        """Every recorded migration, oldest first (a filtered Scan)."""
        items = self._scan(
            "migration scan",
            FilterExpression="entity = :migration",
            ExpressionAttributeValues={":migration": "migration"},
        )
        return sorted((MigrationRecord.from_item(i) for i in items), key=lambda m: m.created_at)
