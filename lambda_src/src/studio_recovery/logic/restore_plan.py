"""Decide whether a new home directory gets earlier ones' files, and from where.

Pure decisions, no AWS. The stream Lambda, the finalize step (the next step of a restore)
and the CLI all plan through here, so they agree on the rules and on the execution names:

- A new generation of (domain name, kind, name) is restored from *every* earlier
  generation that qualifies (`restore_sources`), newest first, one execution after
  another (`build_chain`): same IAM Identity Center identity (compared generation by
  generation), deleted within the name-reuse window, may hold data (`has_data` is not
  False), another directory (volume, uid) with a safe uid (digits, not root). The task
  never overwrites, so the new home gets the newest version of each path and keeps what
  it already has. Nothing starts when the profile is opted out, there is no earlier
  generation, none qualifies (the reason names why the newest one does not), or a newer
  generation exists already.
- With backups on, the caller also says which volumes are gone (their domain was deleted
  with retention Delete) and the latest SUCCEEDED backup of each earlier generation: an
  earlier generation on a gone volume is read from that backup instead, and one with
  no backup is passed over (`VOLUME_DELETED_NO_BACKUP` when nothing else is left). With
  backups off both are empty.
- A pending admin copy (`COPY` item) takes precedence over the automatic restore.
- `restore_id` (the execution name) is deterministic, so a retried stream record cannot
  start a second copy.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from enum import StrEnum

from studio_recovery.models.registry import Generation, Profile, is_valid_uid
from studio_recovery.models.restore import (
    BackupLocation,
    CopyRequest,
    HomeLocation,
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
    """An admin's copy request with the source profile's generations (oldest first), and
    what is known of its volumes: EFS ids that are gone (`gone_volumes`) and each
    generation's latest SUCCEEDED backup (`latest_backups`); both empty without backups."""

    request: CopyRequest
    source_generations: Sequence[Generation]
    gone_volumes: Collection[str] = frozenset()
    latest_backups: Mapping[int, BackupLocation] = field(default_factory=dict)


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
    """The automatic restore of a recreated profile or space (trigger `auto`): every
    source `restore_sources` finds, newest first, one step after another."""
    earlier = [g for g in generations if g.generation < target.generation]
    if not earlier:
        return SkipRestore(
            SkipReason.NO_EARLIER_GENERATION, "no earlier home directory is recorded"
        )
    if not profile.replication:
        return SkipRestore(SkipReason.OPTED_OUT, "the profile is opted out of restores")
    backups = latest_backups or {}
    sources = restore_sources(earlier, target, reuse_window, gone_volumes, backups)
    if not sources:
        return _nothing_to_restore(earlier, target, reuse_window, gone_volumes)
    return StartRestore(build_chain("auto", target=target, sources=sources))


def restore_sources(
    candidates: Sequence[Generation],
    target: Generation,
    reuse_window: timedelta,
    gone_volumes: Collection[str] = frozenset(),
    latest_backups: Mapping[int, BackupLocation] | None = None,
) -> list[HomeLocation | BackupLocation]:
    """Every earlier generation `target` is restored from, newest first.

    A candidate is a source when it is older than `target`, of the same identity
    (`sso_user_value`, compared generation by generation: a name that went to another
    person and back restores the first person's own homes), deleted at most
    `reuse_window` before `target` was created, may hold data (`has_data` is not False:
    False once a transfer found its directory empty or missing), has a safe uid and is
    another directory. Its directory is read, or, when its volume is gone, its latest
    SUCCEEDED backup (passed over without one). Copied newest first into a home that never
    overwrites, the union keeps the newest version of each path.
    """
    backups = latest_backups or {}
    sources: list[HomeLocation | BackupLocation] = []
    seen: set[tuple[str, str]] = set()
    for candidate in sorted(candidates, key=lambda g: g.generation, reverse=True):
        if (
            candidate.generation >= target.generation
            or not _may_restore(candidate, target, reuse_window)
            or (candidate.efs_id, candidate.uid) in seen
        ):
            continue
        seen.add((candidate.efs_id, candidate.uid))
        if candidate.efs_id in gone_volumes:
            backup = backups.get(candidate.generation)
            if backup is not None:
                sources.append(backup)
        elif _usable_source(candidate, target):
            sources.append(HomeLocation.of(candidate))
    return sources


def _may_restore(candidate: Generation, target: Generation, reuse_window: timedelta) -> bool:
    """The same profile and identity, inside the window, may hold data, safe uid."""
    return (
        candidate.key == target.key
        and not _identity_changed(candidate, target)
        and not _outside_window(candidate, target, reuse_window)
        and candidate.has_data is not False
        and is_safe_uid(candidate.uid)
    )


def _outside_window(candidate: Generation, target: Generation, reuse_window: timedelta) -> bool:
    return (
        candidate.deleted_at is not None and target.created_at - candidate.deleted_at > reuse_window
    )


def _nothing_to_restore(
    earlier: Sequence[Generation],
    target: Generation,
    reuse_window: timedelta,
    gone_volumes: Collection[str],
) -> SkipRestore:
    """Why no earlier generation is a source, judged on the newest one that may hold data:
    another identity, outside the window, its volume gone without a backup, or none may
    hold data."""
    holding = [g for g in earlier if g.has_data is not False and _usable_source(g, target)]
    newest = max(holding, key=lambda g: g.generation, default=None)
    if newest is None:
        return SkipRestore(
            SkipReason.NO_EARLIER_DATA,
            "no earlier home directory may hold data (all empty, unsafe or the same directory)",
        )
    if _identity_changed(newest, target):
        return SkipRestore(
            SkipReason.IDENTITY_CHANGED,
            f"the name was reused by a different IAM Identity Center user "
            f"(generation {newest.generation}: {newest.sso_user_value!r}, "
            f"now {target.sso_user_value!r}) and no earlier home of "
            f"{target.sso_user_value!r} may hold data",
        )
    if _outside_window(newest, target, reuse_window):
        return SkipRestore(
            SkipReason.OUTSIDE_REUSE_WINDOW,
            f"generation {newest.generation} was deleted more than "
            f"{reuse_window.days} days before the name was reused",
        )
    if newest.efs_id in gone_volumes:
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
    asked for it by name. A source generation whose volume is gone is read from its latest
    SUCCEEDED backup (none: nothing to copy). A retried `migrate` pair (`attempt`) gets a
    restore id of its own, the same wherever it is planned."""
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
    attempt = copy.request.attempt
    nonce = f"attempt-{attempt}" if attempt is not None else None
    if source.efs_id not in copy.gone_volumes:
        return StartRestore(build_request("copy", target=target, source=source, nonce=nonce))
    backup = copy.latest_backups.get(source.generation)
    if backup is None:
        return SkipRestore(
            SkipReason.VOLUME_DELETED_NO_BACKUP,
            f"copy source {copy.request.source} generation {source.generation}: its volume "
            f"{source.efs_id} was deleted with its domain (retention Delete) and it has no "
            "successful backup",
        )
    return StartRestore(build_request("copy", target=target, source=backup, nonce=nonce))


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


def build_chain(
    trigger: Trigger,
    *,
    target: Generation | HomeLocation,
    sources: Sequence[HomeLocation | BackupLocation],
    step: int = 1,
    head: str | None = None,
) -> RestoreRequest:
    """Step `step` of restoring `sources` (newest first) into `target`: the first source
    now, the rest (`then`) by finalize, one execution after another. Every step's id is
    deterministic (target, its own source, trigger), so a retry never starts it twice;
    `head` is the first step's id (None for the first step itself)."""
    if not sources:
        raise ValueError("a restore needs at least one source")
    target_location = target if isinstance(target, HomeLocation) else HomeLocation.of(target)
    source = sources[0]
    return RestoreRequest(
        restore_id=make_restore_id(trigger, target_location, source),
        trigger=trigger,
        target=target_location,
        source=source,
        step=step,
        head=head,
        then=list(sources[1:]),
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
