"""Decide which home directories are backed up, and which backup a restore reads.

Pure decisions, no AWS (docs: /tmp/backup-contract.md, "Who starts what"):

- Scheduled: every live profile or space with replication on whose volume is not gone
  gets one backup of its current home directory per schedule time.
- On deletion: a generation just marked deleted gets one backup, when its profile has
  replication on and its volume is not gone.
- A backup's id is `make_backup_id(home, time, trigger)`, the schedule's time or the
  deletion time, so a retried invocation or stream record starts nothing twice.
- A restore from a backup reads the latest SUCCEEDED backup at or before a time (or one
  named by id), as it was when that backup ended (`as_of = ended_at`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from studio_recovery.logic.restore_plan import PendingCopy
from studio_recovery.models.history import ProfileHistory
from studio_recovery.models.registry import Domain, Generation, Profile
from studio_recovery.models.restore import (
    BackupLocation,
    CopyRequest,
    HomeLocation,
    RestoreItem,
    RestoreRequest,
    Trigger,
    make_backup_id,
)


class BackupSkip(StrEnum):
    """Why a home directory gets no backup; the value is logged and counted."""

    DELETED = "deleted"
    OPTED_OUT = "opted_out"
    VOLUME_GONE = "volume_gone"


@dataclass(frozen=True)
class BackupDecision:
    """A backup to start (`request`), or why none (`skip`)."""

    request: RestoreRequest | None = None
    skip: BackupSkip | None = None


def volume_gone(domain: Domain | None) -> bool:
    """True when the domain was deleted with retention Delete: its EFS volume is gone.

    An unknown domain (None) is not known to be gone.
    """
    return domain is not None and domain.deleted_at is not None and domain.retention == "Delete"


def pending_copy(
    request: CopyRequest,
    source: ProfileHistory,
    get_domain: Callable[[str, str], Domain | None],
) -> PendingCopy:
    """A copy request with what its source's history says: its generations, which of
    their volumes are gone (one domain row each) and, then, their latest backups."""
    domains = sorted({(g.domain_name, g.domain_id) for g in source.generations})
    gone = gone_volumes(get_domain(name, domain_id) for name, domain_id in domains)
    backups = latest_backups(source.backups) if gone else {}
    return PendingCopy(request, list(source.generations), gone, backups)


def gone_volumes(domains: Iterable[Domain | None]) -> frozenset[str]:
    """The EFS ids of the domains whose volume is gone."""
    return frozenset(
        d.efs_id for d in domains if d is not None and d.efs_id is not None and volume_gone(d)
    )


def backup_request(
    home: HomeLocation, bucket: str, at: datetime, trigger: Trigger
) -> RestoreRequest:
    """The execution input backing up `home` into `bucket` (id from `at` and `trigger`)."""
    return RestoreRequest(
        restore_id=make_backup_id(home, at, trigger),
        trigger=trigger,
        source=home,
        target=BackupLocation.of(home, bucket),
    )


def scheduled_backup(
    profile: Profile, *, bucket: str, at: datetime, gone: frozenset[str]
) -> BackupDecision:
    """The scheduled backup (trigger `scheduled`) of `profile`'s current home, or why not."""
    if profile.is_deleted:
        return BackupDecision(skip=BackupSkip.DELETED)
    if not profile.replication:
        return BackupDecision(skip=BackupSkip.OPTED_OUT)
    if profile.efs_id in gone:
        return BackupDecision(skip=BackupSkip.VOLUME_GONE)
    return BackupDecision(request=backup_request(HomeLocation.of(profile), bucket, at, "scheduled"))


def deletion_backup(
    generation: Generation, profile: Profile, *, bucket: str, gone: frozenset[str]
) -> BackupDecision:
    """The backup (trigger `deletion`) of a generation just marked deleted, or why not.

    Its id comes from the deletion time, so the same deletion never backs up twice.
    """
    if generation.deleted_at is None:
        raise ValueError(f"generation {generation.generation} of {generation.key} is not deleted")
    if not profile.replication:
        return BackupDecision(skip=BackupSkip.OPTED_OUT)
    if generation.efs_id in gone:
        return BackupDecision(skip=BackupSkip.VOLUME_GONE)
    home = HomeLocation.of(generation)
    return BackupDecision(request=backup_request(home, bucket, generation.deleted_at, "deletion"))


def as_source(backup: RestoreItem) -> BackupLocation:
    """A SUCCEEDED backup item as a restore's source: its prefix as it was at its end."""
    if not isinstance(backup.target, BackupLocation) or backup.status != "SUCCEEDED":
        raise ValueError(f"{backup.restore_id} is not a succeeded backup")
    if backup.ended_at is None:
        raise ValueError(f"backup {backup.restore_id} has no end time")
    return backup.target.model_copy(
        update={"backup_id": backup.restore_id, "as_of": backup.ended_at}
    )


def _succeeded(backups: Iterable[RestoreItem]) -> list[RestoreItem]:
    return [
        b for b in backups if b.is_backup and b.status == "SUCCEEDED" and b.ended_at is not None
    ]


def latest_backups(backups: Iterable[RestoreItem]) -> dict[int, BackupLocation]:
    """Generation -> its latest SUCCEEDED backup (by start time), as a restore source."""
    latest: dict[int, RestoreItem] = {}
    for backup in _succeeded(backups):
        number = backup.target.generation
        if number not in latest or backup.started_at > latest[number].started_at:
            latest[number] = backup
    return {number: as_source(item) for number, item in latest.items()}


def choose_backup(backups: Sequence[RestoreItem], when: datetime | str) -> RestoreItem | None:
    """The backup an admin means by `when`: the one with that id (a string), or the latest
    SUCCEEDED one started at or before that time (any generation). None when there is none
    (a named backup that did not succeed counts as none)."""
    succeeded = _succeeded(backups)
    if isinstance(when, str):
        return next((b for b in succeeded if b.restore_id == when), None)
    earlier = [b for b in succeeded if b.started_at <= when]
    return max(earlier, key=lambda b: b.started_at, default=None)
