"""`ProfileHistory`: everything the registry holds in one profile's partition, read at once.

A profile's partition `PROFILE#<domain_name>#<kind>#<name>` holds its row (`PROFILE`),
every home directory it has had (`GEN#<n>`), an admin's copy request into it (`COPY`),
every restore into it (`RESTORE#<id>`) and every backup of its homes (`BACKUP#<id>`)
(docs/internals.md section 1). The stream Lambda decides from one consistent Query of
that partition (`RegistryRepository.read_history`) instead of reading it item by item.

Each part is parsed into its model when first read, so a malformed item fails only the
decisions that need it (a broken restore item never stops a profile's next restore).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Self

from studio_recovery.models.registry import (
    GENERATION_PREFIX,
    PROFILE_SK,
    Generation,
    Profile,
    ProfileKey,
    generation_sk,
)
from studio_recovery.models.restore import (
    BACKUP_PREFIX,
    COPY_SK,
    RESTORE_PREFIX,
    CopyRequest,
    RestoreItem,
)


@dataclass(frozen=True)
class ProfileHistory:
    """One profile's registry partition; its parts as models (lists oldest first)."""

    key: ProfileKey
    items: tuple[dict[str, Any], ...]
    """The partition's raw items, as the Query returned them."""

    @classmethod
    def from_items(cls, key: ProfileKey, items: Iterable[dict[str, Any]]) -> Self:
        return cls(key=key, items=tuple(items))

    @cached_property
    def profile(self) -> Profile | None:
        """The profile row; None when the profile was never recorded."""
        item = self._item(PROFILE_SK)
        return Profile.from_item(item) if item is not None else None

    @cached_property
    def generations(self) -> tuple[Generation, ...]:
        """Every home directory the profile has held, by generation number."""
        found = (Generation.from_item(item) for item in self._items(GENERATION_PREFIX))
        return tuple(sorted(found, key=lambda g: g.generation))

    def generation(self, number: int) -> Generation | None:
        """Generation `number` alone (the others are not parsed), or None."""
        item = self._item(generation_sk(number))
        return Generation.from_item(item) if item is not None else None

    @cached_property
    def copy(self) -> CopyRequest | None:
        """The admin's copy request into this profile (pending or started), if any."""
        item = self._item(COPY_SK)
        return CopyRequest.from_item(item) if item is not None else None

    @property
    def pending_copy(self) -> CopyRequest | None:
        """The copy request when it still waits to be started (status PENDING)."""
        copy = self.copy
        return copy if copy is not None and copy.status == "PENDING" else None

    @cached_property
    def restores(self) -> tuple[RestoreItem, ...]:
        """Every restore into this profile, by start time."""
        return _by_start(RestoreItem.from_item(item) for item in self._items(RESTORE_PREFIX))

    @cached_property
    def backups(self) -> tuple[RestoreItem, ...]:
        """Every backup of this profile's home directories, by start time."""
        return _by_start(RestoreItem.from_item(item) for item in self._items(BACKUP_PREFIX))

    def _item(self, sk: str) -> dict[str, Any] | None:
        return next((item for item in self.items if item.get("sk") == sk), None)

    def _items(self, prefix: str) -> list[dict[str, Any]]:
        return [item for item in self.items if str(item.get("sk", "")).startswith(prefix)]


def _by_start(items: Iterable[RestoreItem]) -> tuple[RestoreItem, ...]:
    return tuple(sorted(items, key=lambda r: r.started_at))
