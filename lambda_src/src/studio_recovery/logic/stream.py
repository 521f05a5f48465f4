"""What the stream Lambda does with each registry change it routes here.

- A new home directory (`GEN#` INSERT): restore into it from every earlier home of the
  same person that may hold data, newest first (or carry out an admin's pending copy into
  it), or record why not. When a restore into one of those homes is still running (the
  profile was recreated again meanwhile), the new restore is recorded and waits: the end
  of the running one starts it, so that no home is read while it is still being written.
- A pending copy request (`COPY` INSERT/MODIFY, PENDING): start it at once when its target
  profile exists.
- A deleted home directory (`GEN#` MODIFY that set `deleted_at`, backups on): back it up.

Each decision reads the profile's whole history once (`HomeRegistry.read_history`: one
Query on its partition); a pending copy also reads its source profile's generations (a
second partition), and volume questions read the domain rows. Carrying a plan out is
idempotent (`logic.restore_start`): restore items are written only if absent and
executions are named by their deterministic `restore_id`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from aws_lambda_powertools.metrics import MetricUnit, single_metric

from studio_recovery.logic.backups import (
    deletion_backup,
    gone_volumes,
    latest_backups,
    pending_copy,
)
from studio_recovery.logic.restore_plan import (
    PendingCopy,
    Plan,
    SkipReason,
    SkipRestore,
    StartRestore,
    plan_copy,
    plan_restore,
)
from studio_recovery.logic.restore_start import (
    record_skip,
    start_backup,
    start_restore,
    supersede_unstarted,
)
from studio_recovery.models.errors import NotFoundError
from studio_recovery.models.history import ProfileHistory
from studio_recovery.models.registry import Generation, ProfileKey
from studio_recovery.models.restore import (
    BackupLocation,
    HomeLocation,
    RestoreItem,
    RestoreRequest,
    Trigger,
)
from studio_recovery.observability import (
    METRICS_NAMESPACE,
    append_context_keys,
    logger,
    metrics,
)

if TYPE_CHECKING:
    from studio_recovery.services import StreamServices


def on_new_generation(key: ProfileKey, number: int, services: StreamServices) -> str:
    """A new home directory of `key`: restore into it (or a pending copy), or record why not."""
    append_context_keys(domain=key.domain_name, kind=key.kind, profile=key.name)
    history = services.registry.read_history(key)
    profile = history.profile
    if profile is None:
        raise NotFoundError(f"generation {number} of {key} has no profile row")
    target = _find(history.generations, number)
    if target is None:
        logger.warning("Generation from the stream is not in the registry", extra={"n": number})
        return "ignored"
    decided = _decided_before(history, number)
    if decided is not None:
        return _resume(decided, services)
    pending = _pending_copy(history, services)
    gone, backups = _backup_knowledge(history, target, services)
    plan = plan_restore(
        profile=profile,
        target=target,
        generations=list(history.generations),
        reuse_window=services.reuse_window,
        pending_copy=pending,
        gone_volumes=gone,
        latest_backups=backups,
    )
    return _carry_out(
        plan, target, services, trigger="copy" if pending else "auto", history=history
    )


def _decided_before(history: ProfileHistory, number: int) -> RestoreItem | None:
    """The automatic restore (or skip) recorded for generation `number` already: a
    retried stream record carries it on instead of planning again (the plan may differ by
    now, a source having been found empty meanwhile)."""
    return next(
        (
            r
            for r in history.restores
            if r.trigger == "auto"
            and r.head is None
            and isinstance(r.target, HomeLocation)
            and r.target.generation == number
        ),
        None,
    )


def _resume(item: RestoreItem, services: StreamServices) -> str:
    if item.is_terminal or item.source is None:
        return f"already decided: {item.restore_id} {item.status}"
    waited = None
    if item.waiting_for is not None and item.execution_arn is None:
        waited = services.restores.get_restore(item.target.key, item.waiting_for)
    if waited is not None and not waited.is_terminal:
        return f"waiting: {item.restore_id} waits for {waited.restore_id}"
    return _start(StartRestore(item.request()), services)


def _in_flight_source(history: ProfileHistory, request: RestoreRequest) -> RestoreItem | None:
    """A running restore into one of `request`'s sources (a home of the same profile)."""
    homes = [request.source, *request.then]
    generations = {
        s.generation for s in homes if isinstance(s, HomeLocation) and s.key == request.target.key
    }
    return next(
        (
            r
            for r in reversed(history.restores)
            if not r.is_terminal
            and r.execution_arn is not None
            and isinstance(r.target, HomeLocation)
            and r.target.generation in generations
        ),
        None,
    )


def on_pending_copy(key: ProfileKey, services: StreamServices) -> str:
    """An admin asked for a copy into `key`: start it at once when the target exists."""
    append_context_keys(domain=key.domain_name, kind=key.kind, profile=key.name)
    history = services.registry.read_history(key)
    pending = _pending_copy(history, services)
    if pending is None:
        return "ignored"
    profile = history.profile
    if profile is None or profile.is_deleted:
        logger.info("Copy waits for its target profile to be created")
        return "waiting"
    target = _find(history.generations, profile.generation)
    if target is None:
        raise NotFoundError(f"{key}: current generation {profile.generation} is not recorded")
    return _carry_out(plan_copy(target=target, copy=pending), target, services, trigger="copy")


def on_deleted_generation(
    key: ProfileKey, number: int, services: StreamServices, bucket: str
) -> str:
    """Back up generation `number` of `key`, just deleted (trigger `deletion`)."""
    history = services.registry.read_history(key)
    profile = history.profile
    if profile is None:
        raise NotFoundError(f"deleted generation {number} of {key} has no profile row")
    generation = history.generation(number)
    if generation is None or generation.deleted_at is None:
        logger.warning("Deleted generation from the stream is not in the registry as deleted")
        return "ignored: generation not deleted in the registry"
    domain = services.registry.get_domain(generation.domain_name, generation.domain_id)
    decision = deletion_backup(generation, profile, bucket=bucket, gone=gone_volumes([domain]))
    if decision.request is None:
        reason = decision.skip.value if decision.skip else "unknown"
        logger.info("Deleted home directory not backed up", extra={"reason": reason})
        return f"ignored: {reason}"
    append_context_keys(restore_id=decision.request.restore_id)
    result = start_backup(decision.request, services.restores, services.workflow, services.clock())
    if result.started:
        metrics.add_metric(name="BackupsStarted", unit=MetricUnit.Count, value=1)
        return f"backup started: {result.restore_id}"
    return f"backup already started: {result.restore_id}"


def _backup_knowledge(
    history: ProfileHistory, target: Generation, services: StreamServices
) -> tuple[frozenset[str], dict[int, BackupLocation]]:
    """(EFS ids of gone volumes, generation -> latest SUCCEEDED backup) for planning the
    restore into `target`; both empty when backups are off (today's behaviour)."""
    if services.backup_bucket is None:
        return frozenset(), {}
    earlier = [g for g in history.generations if g.generation < target.generation]
    domains = {(g.domain_name, g.domain_id) for g in earlier}
    gone = gone_volumes(services.registry.get_domain(name, id_) for name, id_ in sorted(domains))
    if not any(g.efs_id in gone for g in earlier):
        return gone, {}
    return gone, latest_backups(history.backups)


def _pending_copy(history: ProfileHistory, services: StreamServices) -> PendingCopy | None:
    """The pending copy into the profile, with its source's generations (the source's
    partition: one more Query) and, with backups on, which of their volumes are gone and
    their latest backups (a gone volume's generation is copied from its backup)."""
    copy = history.pending_copy
    if copy is None:
        return None
    if services.backup_bucket is None:
        return PendingCopy(copy, services.registry.list_generations(copy.source))
    source = services.registry.read_history(copy.source)
    return pending_copy(copy, source, services.registry.get_domain)


def _carry_out(
    plan: Plan,
    target: Generation,
    services: StreamServices,
    trigger: Trigger = "auto",
    history: ProfileHistory | None = None,
) -> str:
    now = services.clock()
    if isinstance(plan, SkipRestore) and plan.reason is SkipReason.NO_EARLIER_GENERATION:
        # A profile's first home directory: nothing to restore, nothing worth a record.
        logger.info("First home directory of this profile; nothing to restore")
        return "ignored: first home directory"
    if isinstance(plan, SkipRestore):
        record_skip(plan, target, services.restores, now, trigger=trigger)
        with single_metric(
            name="RestoresSkipped", unit=MetricUnit.Count, value=1, namespace=METRICS_NAMESPACE
        ) as metric:
            metric.add_dimension(name="reason", value=plan.reason.value)
        return f"skipped: {plan.reason.value}"
    append_context_keys(restore_id=plan.request.restore_id)
    if history is not None:
        supersede_unstarted(history.restores, target.generation, services.restores, now)
    running = _in_flight_source(history, plan.request) if history and trigger == "auto" else None
    if running is not None:
        start_restore(plan, services.restores, services.workflow, now, waiting_for=running)
        # It may have ended between the read and the write: then nobody else starts it.
        again = services.restores.get_restore(running.target.key, running.restore_id)
        if again is not None and not again.is_terminal:
            return f"waiting: {plan.request.restore_id} waits for {running.restore_id}"
    return _start(plan, services)


def _start(plan: StartRestore, services: StreamServices) -> str:
    result = start_restore(plan, services.restores, services.workflow, services.clock())
    if result.started:
        metrics.add_metric(name="RestoresStarted", unit=MetricUnit.Count, value=1)
        return f"started: {result.restore_id}"
    return f"already started: {result.restore_id}"


def _find(generations: Sequence[Generation], number: int) -> Generation | None:
    return next((g for g in generations if g.generation == number), None)
