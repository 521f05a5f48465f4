"""Decide whether a new home directory gets an earlier one's files, and from where.

Pure decisions, no AWS. The stream Lambda, the finalize step (follow-up restores) and the
CLI all plan through here, so they agree on the rules and on the execution name:

- A new generation of (domain name, kind, name) is restored from the *latest* earlier
  generation that may hold data (`has_data` is not False), lives in another directory
  (volume, uid) and has a safe uid (digits, not root), unless:
  the profile is opted out; there is no earlier generation; the name was reused by a
  different IAM Identity Center identity; the earlier one was deleted longer ago than the
  name-reuse window; a newer generation exists already.
- With backups on, the caller also says which volumes are gone (their domain was deleted
  with retention Delete) and the latest SUCCEEDED backup of each earlier generation: an
  earlier generation on a gone volume is restored from that backup instead, and one with
  no backup is passed over (`VOLUME_DELETED_NO_BACKUP` when nothing else is left). With
  backups off both are empty and the rules above apply unchanged.
- A pending admin copy (`COPY` item) takes precedence over the automatic restore.
- `restore_id` (the execution name) is deterministic, so a retried stream record cannot
  start a second copy.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum

from studio_recovery.models.registry import Generation, Profile, is_valid_uid
from studio_recovery.models.restore import (
    BackupLocation,
    CopyRequest,
    HomeLocation,
    RestoreItem,
    RestoreRequest,
    Trigger,
)

MAX_EXECUTION_NAME = 80
_HASH_CHARS = 12
_UNSAFE_NAME_CHARS = re.compile(r"[^A-Za-z0-9_-]")


class SkipReason(StrEnum):
    """Why no restore starts; the value is the metric dimension and the recorded code."""

    OPTED_OUT = "opted_out"
    NO_EARLIER_GENERATION = "no_earlier_generation"
    NO_EARLIER_DATA = "no_earlier_data"
    IDENTITY_CHANGED = "identity_changed"
    OUTSIDE_REUSE_WINDOW = "outside_reuse_window"
    SUPERSEDED = "superseded"
    COPY_SOURCE_UNUSABLE = "copy_source_unusable"
    VOLUME_DELETED_NO_BACKUP = "volume_deleted_no_backup"


@dataclass(frozen=True)
class StartRestore:
    """Start the workflow with `request`."""

    request: RestoreRequest


@dataclass(frozen=True)
class SkipRestore:
    """Do not restore; record `reason` (a code) and `detail` (a sentence for people)."""

    reason: SkipReason
    detail: str


Plan = StartRestore | SkipRestore


@dataclass(frozen=True)
class PendingCopy:
    """An admin's copy request with the source profile's generations (oldest first)."""

    request: CopyRequest
    source_generations: Sequence[Generation]


def plan_restore(
    *,
    profile: Profile,
    target: Generation,
    generations: Sequence[Generation],
    reuse_window: timedelta,
    pending_copy: PendingCopy | None = None,
    gone_volumes: Collection[str] = frozenset(),
    latest_backups: Mapping[int, BackupLocation] | None = None,
) -> Plan:
    """The decision for the new home directory `target` of `profile`.

    `generations` are the profile's own generations (any order); `pending_copy`, when
    given, wins over the automatic restore. `gone_volumes` (EFS ids) and `latest_backups`
    (generation -> its latest SUCCEEDED backup, `backup_id` and `as_of` set) are what is
    known about backups; see `plan_auto`.
    """
    if target.generation < profile.generation:
        return SkipRestore(
            SkipReason.SUPERSEDED,
            f"generation {target.generation} was replaced by generation {profile.generation}",
        )
    if pending_copy is not None:
        return plan_copy(target=target, copy=pending_copy)
    return plan_auto(
        profile=profile,
        target=target,
        generations=generations,
        reuse_window=reuse_window,
        gone_volumes=gone_volumes,
        latest_backups=latest_backups,
    )


def plan_auto(
    *,
    profile: Profile,
    target: Generation,
    generations: Sequence[Generation],
    reuse_window: timedelta,
    gone_volumes: Collection[str] = frozenset(),
    latest_backups: Mapping[int, BackupLocation] | None = None,
) -> Plan:
    """The automatic restore of a recreated profile or space (trigger `auto`).

    The newest earlier generation with a usable source wins: its directory when its volume
    (`efs_id`) is not in `gone_volumes`, else its entry in `latest_backups`.
    """
    earlier = [g for g in generations if g.generation < target.generation]
    if not earlier:
        return SkipRestore(
            SkipReason.NO_EARLIER_GENERATION, "no earlier home directory is recorded"
        )
    if not profile.replication:
        return SkipRestore(SkipReason.OPTED_OUT, "the profile is opted out of restores")
    found = latest_source(earlier, target, gone_volumes, latest_backups or {})
    if found is None:
        return _nothing_to_restore(earlier, gone_volumes)
    source, location = found
    if _identity_changed(source, target):
        return SkipRestore(
            SkipReason.IDENTITY_CHANGED,
            f"the name was reused by a different IAM Identity Center user "
            f"(generation {source.generation}: {source.sso_user_value!r}, "
            f"now {target.sso_user_value!r})",
        )
    if source.deleted_at is not None and target.created_at - source.deleted_at > reuse_window:
        return SkipRestore(
            SkipReason.OUTSIDE_REUSE_WINDOW,
            f"generation {source.generation} was deleted more than "
            f"{reuse_window.days} days before the name was reused",
        )
    return StartRestore(build_request("auto", target=target, source=location or source))


def latest_source(
    candidates: Sequence[Generation],
    target: Generation,
    gone_volumes: Collection[str],
    latest_backups: Mapping[int, BackupLocation],
) -> tuple[Generation, BackupLocation | None] | None:
    """The newest candidate that may hold data and can be read: (generation, None) to read
    its directory, (generation, backup) to read its latest backup (its volume is gone)."""
    for candidate in sorted(candidates, key=lambda g: g.generation, reverse=True):
        if candidate.has_data is False or not is_safe_uid(candidate.uid):
            continue
        if candidate.efs_id in gone_volumes:
            backup = latest_backups.get(candidate.generation)
            if backup is not None:
                return candidate, backup
        elif _usable_source(candidate, target):
            return candidate, None
    return None


def _nothing_to_restore(
    earlier: Sequence[Generation], gone_volumes: Collection[str]
) -> SkipRestore:
    """Why no earlier generation can be read: its volume is gone without a backup, or no
    earlier directory may hold data."""
    stranded = [
        g
        for g in earlier
        if g.efs_id in gone_volumes and g.has_data is not False and is_safe_uid(g.uid)
    ]
    if stranded:
        newest = max(stranded, key=lambda g: g.generation)
        return SkipRestore(
            SkipReason.VOLUME_DELETED_NO_BACKUP,
            f"generation {newest.generation}'s home directory was on EFS volume "
            f"{newest.efs_id}, deleted with domain {newest.domain_name} ({newest.domain_id}) "
            "under retention policy Delete, and it has no successful backup: its files "
            "cannot be restored. See `studio-recovery backups` for why its backups failed; "
            "delete domains with RetentionPolicy HomeEfsFileSystem=Retain to keep homes",
        )
    return SkipRestore(
        SkipReason.NO_EARLIER_DATA,
        "no earlier home directory may hold data (all empty, unsafe or the same directory)",
    )


def plan_copy(*, target: Generation, copy: PendingCopy) -> Plan:
    """An admin's copy into `target`: the requested generation, else the source's latest
    generation that may hold data. Opt-out, identity and window do not apply: an admin
    asked for it by name."""
    candidates = [g for g in copy.source_generations if _usable_source(g, target)]
    wanted = copy.request.source_generation
    if wanted is not None:
        candidates = [g for g in candidates if g.generation == wanted]
    else:
        candidates = [g for g in candidates if g.has_data is not False]
    if not candidates:
        which = f"generation {wanted}" if wanted is not None else "any generation"
        return SkipRestore(
            SkipReason.COPY_SOURCE_UNUSABLE,
            f"copy source {copy.request.source}: {which} is missing, empty, unsafe "
            f"or the target's own directory",
        )
    source = max(candidates, key=lambda g: g.generation)
    return StartRestore(build_request("copy", target=target, source=source))


def plan_follow_up(
    *,
    trigger: Trigger,
    target: Generation,
    source_generations: Sequence[Generation],
    empty_generation: int,
) -> StartRestore | None:
    """After generation `empty_generation` of the source turned out empty: the next
    earlier generation that may hold data, or None. `source_generations` should already
    say `has_data=False` for the empty one (it is excluded regardless)."""
    earlier = [g for g in source_generations if g.generation < empty_generation]
    if trigger == "auto":
        earlier = [g for g in earlier if g.generation < target.generation]
    source = latest_restorable(earlier, target)
    if source is None or (trigger == "auto" and _identity_changed(source, target)):
        return None
    return StartRestore(build_request(trigger, target=target, source=source))


def plan_incomplete_source(
    *,
    target: Generation,
    source: Generation,
    restores_into_source: Sequence[RestoreItem],
    generations: Sequence[Generation],
) -> StartRestore | None:
    """After restoring `source` into `target`: the data `source` itself never received.

    When the latest automatic restore into `source` failed (the profile was recreated
    again before anyone noticed), `source` holds only part of what its own predecessor
    had. The pointer to that data must not be lost, so the predecessor is restored into
    `target` too; the task never overwrites, so what came from `source` (newer) wins.
    None when the restore into `source` succeeded, was never needed, or its source is
    no longer usable.
    """
    if source.key != target.key:
        return None
    into_source = [
        r
        for r in restores_into_source
        if r.target.generation == source.generation and r.source is not None
    ]
    if not into_source:
        return None
    latest = max(into_source, key=lambda r: r.started_at)
    # PARTIAL: the task report listed entries the source generation never received.
    incomplete = latest.status in ("FAILED", "PARTIAL")
    if not incomplete or latest.source is None or latest.source.key != source.key:
        return None
    predecessor = next((g for g in generations if g.generation == latest.source.generation), None)
    if predecessor is None or predecessor.generation >= source.generation:
        return None
    if latest_restorable([predecessor], target) is None:
        return None
    return StartRestore(build_request("auto", target=target, source=predecessor))


def latest_restorable(candidates: Sequence[Generation], target: Generation) -> Generation | None:
    """The newest generation among `candidates` that may hold data and is a safe source."""
    usable = [g for g in candidates if g.has_data is not False and _usable_source(g, target)]
    return max(usable, key=lambda g: g.generation, default=None)


def build_request(
    trigger: Trigger,
    *,
    target: Generation,
    source: Generation | BackupLocation,
    nonce: str | None = None,
) -> RestoreRequest:
    """The execution input restoring `source` (a directory, or a backup) into `target`."""
    target_location = HomeLocation.of(target)
    source_location = source if isinstance(source, BackupLocation) else HomeLocation.of(source)
    return RestoreRequest(
        restore_id=make_restore_id(trigger, target_location, source_location, nonce=nonce),
        trigger=trigger,
        target=target_location,
        source=source_location,
    )


def make_restore_id(
    trigger: Trigger,
    target: HomeLocation,
    source: HomeLocation | BackupLocation,
    *,
    nonce: str | None = None,
) -> str:
    """`<name>-g<target generation>-<12 hex>`: at most 80 characters of [A-Za-z0-9_-].

    The hash covers the target key and generation, the source key and generation, the
    backup read (for a backup source) and the trigger (and `nonce`, which the CLI sets to
    run a restore again by hand).
    """
    parts = [
        target.key.pk,
        str(target.generation),
        source.key.pk,
        str(source.generation),
        trigger,
        nonce or "",
    ]
    if isinstance(source, BackupLocation):
        parts.append(f"backup:{source.backup_id or ''}")
    digest = hashlib.sha256("|".join(parts).encode()).hexdigest()[:_HASH_CHARS]
    suffix = f"-g{target.generation}-{digest}"
    readable = _UNSAFE_NAME_CHARS.sub("-", target.name)[: MAX_EXECUTION_NAME - len(suffix)]
    return f"{readable}{suffix}"


def is_safe_uid(uid: str) -> bool:
    """Digits only and not root (0): never the root of the volume."""
    return is_valid_uid(uid)


def _usable_source(candidate: Generation, target: Generation) -> bool:
    return is_safe_uid(candidate.uid) and (candidate.efs_id, candidate.uid) != (
        target.efs_id,
        target.uid,
    )


def _identity_changed(source: Generation, target: Generation) -> bool:
    return (
        source.sso_user_value is not None
        and target.sso_user_value is not None
        and source.sso_user_value != target.sso_user_value
    )


def reuse_window_of(days: int) -> timedelta:
    """NAME_REUSE_WINDOW_DAYS as a timedelta."""
    return timedelta(days=days)


def skip_restore_id(target: Generation, trigger: Trigger = "auto") -> str:
    """The id of the SKIPPED restore item recorded for `target` (one per generation and
    trigger)."""
    location = HomeLocation.of(target)
    return make_restore_id(trigger, location, location, nonce="skipped")
