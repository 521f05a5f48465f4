"""Plan a bulk migration (`studio-recovery migrate`): one copy per pair of the map.

Pure, no AWS: the caller reads both domains' registry partitions (`ProfileHistory`) and
the volumes that are gone or retained, this decides each pair. A pair is carried out by
the same mechanism as `studio-recovery copy`: a `COPY` item on the target, started at
once when the target exists (`plan_copy`, deterministic restore id), otherwise when the
target is created (the stream Lambda). So a pair is never copied twice: a restore into
the target from that source (trigger `copy`) that ran or runs already is reported, not
started again.

A pair whose latest copy ended FAILED or PARTIAL is retried when `migrate` runs again
(`retry_failed`, off for `--status`): a new attempt with an id of its own
(`CopyRequest.attempt`). Safe, because the copy never overwrites: the new attempt adds only
what the target is missing. A pair whose copy is running, waiting or succeeded is never
started again.

A source generation whose volume is gone (its domain deleted with retention Delete) is
copied from its latest SUCCEEDED backup in S3, as the automatic restore does.

A pair is refused (with the reason) when: the line could not be read; two lines map to
one target; source and target are the same; the source is not in the registry, has no
home directory that may hold data, or its volume is gone without a successful backup; the
target is opted out, has a different IAM Identity Center user than the source, or waits
for a copy from another source.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from studio_recovery.logic.backups import latest_backups
from studio_recovery.logic.migration_map import MapRow, MigrationMap
from studio_recovery.logic.restore_plan import (
    PendingCopy,
    StartRestore,
    is_safe_uid,
    plan_copy,
)
from studio_recovery.models.history import ProfileHistory
from studio_recovery.models.registry import Generation, ProfileKey
from studio_recovery.models.restore import (
    BackupLocation,
    CopyRequest,
    HomeLocation,
    RestoreItem,
)


class Action(StrEnum):
    """What happens to a pair (the value is shown in the plan table)."""

    COPY_NOW = "copy now"
    RETRY = "retry"
    COPY_ON_CREATE = "copy when created"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    REFUSED = "refused"


class Progress(StrEnum):
    """The four states progress is counted in."""

    DONE = "done"
    RUNNING = "running"
    WAITING = "waiting"
    FAILED = "failed"


PROGRESS_OF: dict[Action, Progress] = {
    Action.COPY_NOW: Progress.WAITING,
    Action.RETRY: Progress.WAITING,
    Action.COPY_ON_CREATE: Progress.WAITING,
    Action.RUNNING: Progress.RUNNING,
    Action.DONE: Progress.DONE,
    Action.FAILED: Progress.FAILED,
    Action.REFUSED: Progress.FAILED,
}

RETRIED_STATUSES = frozenset({"FAILED", "PARTIAL"})
"""A copy that ended so is tried again when `migrate` runs again."""
NOT_CREATED = "not created yet"
DELETED = "deleted (recreated later)"


@dataclass(frozen=True)
class PairPlan:
    """The decision for one line of the map."""

    line: int
    source: ProfileKey | None
    target: ProfileKey | None
    action: Action
    detail: str = ""
    """The reason (refused, failed) or the restore id (running, done)."""
    source_generation: int | None = None
    data_at: str = ""
    target_state: str = ""
    start: StartRestore | None = None
    """COPY_NOW, RETRY: the request `start_restore` carries out (its id is deterministic)."""
    restore_id: str | None = None
    attempt: int | None = None
    """RETRY: the attempt number (2, 3, ...), carried by the pair's `COPY` item."""

    @property
    def progress(self) -> Progress:
        return PROGRESS_OF[self.action]

    @property
    def starts_now(self) -> bool:
        """The pair is to be started by this run (a first copy or a retry)."""
        return self.action in (Action.COPY_NOW, Action.RETRY)

    @property
    def doable(self) -> bool:
        return self.action is not Action.REFUSED


@dataclass(frozen=True)
class Volumes:
    """What is known about the source's volumes: EFS ids of domains deleted with
    retention Delete (`gone`) and with Retain (`retained`)."""

    gone: Collection[str] = frozenset()
    retained: Collection[str] = frozenset()


def plan_migration(
    mapping: MigrationMap,
    *,
    sources: Mapping[ProfileKey, ProfileHistory],
    targets: Mapping[ProfileKey, ProfileHistory],
    volumes: Volumes,
    requested_at: datetime,
    retry_failed: bool = True,
) -> list[PairPlan]:
    """One `PairPlan` per line of the map (malformed lines included), by line number.
    `retry_failed` plans a new attempt for a pair whose copy failed (a run); without it
    the failure is reported (`--status`)."""
    plans = [
        PairPlan(e.line, None, None, Action.REFUSED, f"line {e.line}: {e.problem}")
        for e in mapping.errors
    ]
    migration_id = mapping.migration_id
    lines_of: dict[ProfileKey, list[int]] = {}
    for row in mapping.rows:
        lines_of.setdefault(row.target, []).append(row.line)
    for row in mapping.rows:
        shared = lines_of[row.target]
        if len(shared) > 1:
            others = ", ".join(str(n) for n in shared if n != row.line)
            plans.append(
                _refused(row, f"two sources map to one target (also line {others}): keep one")
            )
            continue
        plans.append(
            plan_pair(
                row,
                source=sources.get(row.source),
                target=targets.get(row.target),
                volumes=volumes,
                requested_at=requested_at,
                migration_id=migration_id,
                retry_failed=retry_failed,
            )
        )
    return sorted(plans, key=lambda p: p.line)


def plan_pair(
    row: MapRow,
    *,
    source: ProfileHistory | None,
    target: ProfileHistory | None,
    volumes: Volumes,
    requested_at: datetime,
    migration_id: str | None = None,
    retry_failed: bool = True,
) -> PairPlan:
    """The decision for one pair (see the module docstring for the refusals)."""
    if row.source == row.target:
        return _refused(row, "source and target are the same")
    if source is None or source.profile is None:
        return _refused(
            row, "source is not in the registry (check the name; `studio-recovery seed`)"
        )
    generation = newest_with_data(source.generations)
    if generation is None:
        return _refused(row, "source has no data (no home directory that may hold data)")
    backups = latest_backups(source.backups) if generation.efs_id in volumes.gone else {}
    data_at = _where(generation, volumes, backups.get(generation.generation))
    found = _Found(row, generation, data_at)
    if generation.efs_id in volumes.gone and generation.generation not in backups:
        return found.refused(
            f"source volume {generation.efs_id} was deleted with its domain (retention "
            "Delete) and this home has no successful backup: nothing to copy from"
        )
    profile = target.profile if target is not None else None
    if profile is None or profile.is_deleted or target is None:
        return _plan_later(found, target, profile is not None)
    current = target.generation(profile.generation)
    if current is None:
        return found.refused(f"target generation {profile.generation} is not in the registry")
    state = _target_state(target, current)
    earlier = _latest_copy(target.restores, row.source)
    attempt = None
    if earlier is not None:
        if not (retry_failed and earlier.status in RETRIED_STATUSES):
            return found.from_restore(earlier, state)
        tried = _attempts(target.restores, row.source, current.generation)
        # none into the current generation (the target was recreated): a first attempt
        attempt = tried + 1 if tried else None
    if not profile.replication:
        return found.refused("target is opted out of restores (opt it in first)", state)
    if _other_identity(generation, current):
        return found.refused(
            f"target belongs to another identity (Identity Center user "
            f"{current.sso_user_value!r}, source {generation.sso_user_value!r})",
            state,
        )
    blocking = _blocking_copy(target.copy, row.source)
    if blocking is not None:
        return found.refused(blocking, state)
    request = copy_request(row, requested_at, migration_id, attempt)
    pending = PendingCopy(request, source.generations, frozenset(volumes.gone), backups)
    plan = plan_copy(target=current, copy=pending)
    if not isinstance(plan, StartRestore):
        return found.refused(plan.detail, state)
    detail = plan.request.restore_id
    if earlier is not None:
        detail = (
            f"attempt {attempt or 1} ({detail}) after {earlier.restore_id} {earlier.status}: "
            f"{earlier.reason or 'no reason recorded'}"
        )
    return found.make(
        Action.RETRY if earlier is not None else Action.COPY_NOW,
        detail,
        state,
        start=plan,
        restore_id=plan.request.restore_id,
        attempt=attempt,
    )


def _plan_later(found: _Found, target: ProfileHistory | None, deleted: bool) -> PairPlan:
    """The target does not exist (now): the copy waits for its creation."""
    state = DELETED if deleted else NOT_CREATED
    blocking = _blocking_copy(target.copy if target is not None else None, found.row.source)
    if blocking is not None:
        return found.refused(blocking, state)
    return found.make(Action.COPY_ON_CREATE, "starts when the target is created", state)


@dataclass(frozen=True)
class _Found:
    """A pair whose source generation is known: builds its plans."""

    row: MapRow
    generation: Generation
    data_at: str

    def make(
        self,
        action: Action,
        detail: str,
        state: str,
        *,
        start: StartRestore | None = None,
        restore_id: str | None = None,
        attempt: int | None = None,
    ) -> PairPlan:
        return PairPlan(
            line=self.row.line,
            source=self.row.source,
            target=self.row.target,
            action=action,
            detail=detail,
            source_generation=self.generation.generation,
            data_at=self.data_at,
            target_state=state,
            start=start,
            restore_id=restore_id,
            attempt=attempt,
        )

    def refused(self, why: str, state: str = "") -> PairPlan:
        return self.make(Action.REFUSED, why, state)

    def from_restore(self, item: RestoreItem, state: str) -> PairPlan:
        """The pair was started before: report that copy, never start another."""
        if item.status == "SUCCEEDED":
            detail = f"{item.restore_id}: {item.files_transferred} files"
            return self.make(Action.DONE, detail, state, restore_id=item.restore_id)
        if item.status == "SOURCE_EMPTY":
            detail = f"{item.restore_id}: the source was empty, nothing to copy"
            return self.make(Action.DONE, detail, state, restore_id=item.restore_id)
        if item.is_terminal:
            detail = f"{item.restore_id} {item.status}: {item.reason or 'no reason recorded'}"
            return self.make(Action.FAILED, detail, state, restore_id=item.restore_id)
        return self.make(Action.RUNNING, item.restore_id, state, restore_id=item.restore_id)


def copy_request(
    row: MapRow, requested_at: datetime, migration_id: str | None, attempt: int | None = None
) -> CopyRequest:
    """The `COPY` item of a pair: the source's latest generation that may hold data (as
    `copy` without `--from-generation`) and the attempt, so the stream Lambda plans the
    same restore id."""
    return CopyRequest(
        target=row.target,
        status="PENDING",
        source_pk=row.source.pk,
        requested_at=requested_at,
        migration_id=migration_id,
        attempt=attempt,
    )


def newest_with_data(generations: Sequence[Generation]) -> Generation | None:
    """The source generation `plan_copy` would pick: the newest that may hold data and
    has a safe uid."""
    usable = [g for g in generations if g.has_data is not False and is_safe_uid(g.uid)]
    return max(usable, key=lambda g: g.generation, default=None)


def _where(generation: Generation, volumes: Volumes, backup: BackupLocation | None) -> str:
    place = f"{generation.efs_id}:/{generation.uid}"
    if backup is not None:
        as_of = f" as of {backup.as_of:%Y-%m-%d %H:%M} UTC" if backup.as_of else ""
        return f"backup in S3 s3://{backup.bucket}/{backup.prefix}{as_of}"
    if generation.efs_id in volumes.gone:
        return f"deleted volume {place}"
    if generation.efs_id in volumes.retained:
        return f"retained volume {place}"
    return f"EFS {place}"


def _target_state(target: ProfileHistory, current: Generation) -> str:
    """`exists`, and whether files were copied into this home directory before."""
    into_current = [
        r
        for r in target.restores
        if isinstance(r.target, HomeLocation)
        and r.target.generation == current.generation
        and r.status == "SUCCEEDED"
        and r.files_transferred > 0
    ]
    if into_current:
        files = sum(r.files_transferred for r in into_current)
        return f"exists, has files ({files} restored)"
    return "exists, nothing restored yet"


def _copies(restores: Sequence[RestoreItem], source: ProfileKey) -> list[RestoreItem]:
    """The copies (trigger `copy`) into the target from `source`, any generation."""
    return [
        r
        for r in restores
        if r.trigger == "copy" and r.source is not None and r.source.key == source
    ]


def _latest_copy(restores: Sequence[RestoreItem], source: ProfileKey) -> RestoreItem | None:
    """The copy that says where the pair stands: one not ended yet if any (a step's own
    retry, an attempt still running), else the latest."""
    copies = _copies(restores, source)
    unfinished = [r for r in copies if not r.is_terminal]
    return max(unfinished or copies, key=lambda r: r.started_at, default=None)


def _attempts(restores: Sequence[RestoreItem], source: ProfileKey, generation: int) -> int:
    """How many attempts copied `source` into the target's generation `generation` (the
    first step of each; a step's own automatic retry is not an attempt)."""
    return sum(
        1
        for r in _copies(restores, source)
        if r.head is None
        and isinstance(r.target, HomeLocation)
        and r.target.generation == generation
    )


def _blocking_copy(copy: CopyRequest | None, source: ProfileKey) -> str | None:
    """Why a pending copy on the target stops this pair; None when there is none, or it
    is this pair's own (a run that was interrupted)."""
    if copy is None or copy.status != "PENDING" or copy.source == source:
        return None
    return (
        f"target waits for a copy from {copy.source} (requested "
        f"{copy.requested_at:%Y-%m-%d %H:%M} UTC); replace it with `copy --force` or fix the map"
    )


def _other_identity(source: Generation, target: Generation) -> bool:
    return (
        source.sso_user_value is not None
        and target.sso_user_value is not None
        and source.sso_user_value.casefold() != target.sso_user_value.casefold()
    )


def _refused(row: MapRow, why: str) -> PairPlan:
    return PairPlan(row.line, row.source, row.target, Action.REFUSED, why)


def tally(plans: Sequence[PairPlan]) -> Counter[Progress]:
    """How many pairs are done, running, waiting and failed (refused counts as failed)."""
    counts: Counter[Progress] = Counter({p: 0 for p in Progress})
    counts.update(plan.progress for plan in plans)
    return counts


def progress_line(plans: Sequence[PairPlan]) -> str:
    """`40 pairs: 12 done, 4 running, 22 waiting, 2 failed`."""
    counts = tally(plans)
    parts = ", ".join(f"{counts[p]} {p.value}" for p in Progress)
    return f"{len(plans)} pairs: {parts}"
