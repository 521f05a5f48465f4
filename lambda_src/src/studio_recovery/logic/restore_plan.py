"""Decide whether a new home directory gets an earlier one's files, and from where.

Pure decisions, no AWS. The stream Lambda, the finalize step (follow-up restores) and the
CLI all plan through here, so they agree on the rules and on the execution name:

- A new generation of (domain name, kind, name) is restored from the *latest* earlier
  generation that may hold data (`has_data` is not False), lives in another directory
  (volume, uid) and has a safe uid (digits, not root), unless:
  the profile is opted out; there is no earlier generation; the name was reused by a
  different IAM Identity Center identity; the earlier one was deleted longer ago than the
  name-reuse window; a newer generation exists already.
- A pending admin copy (`COPY` item) takes precedence over the automatic restore.
- `restore_id` (the execution name) is deterministic, so a retried stream record cannot
  start a second copy.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum

from studio_recovery.models.registry import Generation, Profile, is_valid_uid
from studio_recovery.models.restore import (
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
) -> Plan:
    """The decision for the new home directory `target` of `profile`.

    `generations` are the profile's own generations (any order); `pending_copy`, when
    given, wins over the automatic restore.
    """
    if target.generation < profile.generation:
        return SkipRestore(
            SkipReason.SUPERSEDED,
            f"generation {target.generation} was replaced by generation {profile.generation}",
        )
    if pending_copy is not None:
        return plan_copy(target=target, copy=pending_copy)
    return plan_auto(
        profile=profile, target=target, generations=generations, reuse_window=reuse_window
    )


def plan_auto(
    *,
    profile: Profile,
    target: Generation,
    generations: Sequence[Generation],
    reuse_window: timedelta,
) -> Plan:
    """The automatic restore of a recreated profile or space (trigger `auto`)."""
    earlier = [g for g in generations if g.generation < target.generation]
    if not earlier:
        return SkipRestore(
            SkipReason.NO_EARLIER_GENERATION, "no earlier home directory is recorded"
        )
    if not profile.replication:
        return SkipRestore(SkipReason.OPTED_OUT, "the profile is opted out of restores")
    source = latest_restorable(earlier, target)
    if source is None:
        return SkipRestore(
            SkipReason.NO_EARLIER_DATA,
            "no earlier home directory may hold data (all empty, unsafe or the same directory)",
        )
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
    return StartRestore(build_request("auto", target=target, source=source))


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
    if latest.status != "FAILED" or latest.source is None or latest.source.key != source.key:
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
    trigger: Trigger, *, target: Generation, source: Generation, nonce: str | None = None
) -> RestoreRequest:
    """The execution input restoring `source` into `target`."""
    target_location = HomeLocation.of(target)
    source_location = HomeLocation.of(source)
    return RestoreRequest(
        restore_id=make_restore_id(trigger, target_location, source_location, nonce=nonce),
        trigger=trigger,
        target=target_location,
        source=source_location,
    )


def make_restore_id(
    trigger: Trigger, target: HomeLocation, source: HomeLocation, *, nonce: str | None = None
) -> str:
    """`<name>-g<target generation>-<12 hex>`: at most 80 characters of [A-Za-z0-9_-].

    The hash covers the target key and generation, the source key and generation and the
    trigger (and `nonce`, which the CLI sets to run a restore again by hand).
    """
    material = "|".join(
        [
            target.key.pk,
            str(target.generation),
            source.key.pk,
            str(source.generation),
            trigger,
            nonce or "",
        ]
    )
    digest = hashlib.sha256(material.encode()).hexdigest()[:_HASH_CHARS]
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
