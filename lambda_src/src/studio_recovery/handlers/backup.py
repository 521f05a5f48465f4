"""Scheduled backups: on its EventBridge schedule, back up every recorded home directory.

Every live profile and space with replication on, whose domain's volume is not gone, gets
one backup (trigger `scheduled`) of its current home directory. The backup id comes from
the schedule event's `time`, so a retried invocation starts nothing twice. A backup that
cannot be started does not stop the others: the run goes on, then fails at the end
(`BackupsNotStartedError`) so the invocation counts as an error and the alarm fires.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from studio_recovery.logic.backups import gone_volumes, scheduled_backup
from studio_recovery.logic.restore_start import start_backup
from studio_recovery.models.errors import BackupsNotStartedError, MalformedEventError
from studio_recovery.models.registry import Domain, Profile, parse_iso
from studio_recovery.observability import logger, metrics
from studio_recovery.services import BackupServices
from studio_recovery.services import build_backup_services as build_services

PROGRESS_EVERY = 100
"""A progress line every this many profiles."""


@dataclass
class BackupRun:
    """What one scheduled run did."""

    started: int = 0
    already_started: int = 0
    skipped: int = 0
    failed: list[str] = field(default_factory=list)
    """`<profile>: <error>` of each backup that could not be started."""

    def counts(self) -> dict[str, int]:
        return {
            "started": self.started,
            "already_started": self.already_started,
            "skipped": self.skipped,
        }


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, int]:
    """Lambda entry point (`studio_recovery.handlers.backup.handler`).

    Returns `{"started", "already_started", "skipped"}`; raises `BackupsNotStartedError`
    after trying every profile when any backup could not be started.
    """
    at = schedule_time(event)
    run = run_scheduled_backups(at, build_services())
    metrics.add_metric(name="BackupsStarted", unit=MetricUnit.Count, value=run.started)
    metrics.add_metric(name="BackupsNotStarted", unit=MetricUnit.Count, value=len(run.failed))
    logger.info("Scheduled backups done", extra={**run.counts(), "failed": len(run.failed)})
    if run.failed:
        raise BackupsNotStartedError(
            f"{len(run.failed)} backup(s) could not be started "
            f"({run.started} started, {run.already_started} already started, "
            f"{run.skipped} skipped); first: {run.failed[0]}"
        )
    return run.counts()


def schedule_time(event: dict[str, Any]) -> datetime:
    """The scheduled event's `time` (the same on every retry of one schedule)."""
    value = event.get("time") if isinstance(event, dict) else None
    try:
        moment = parse_iso(value) if isinstance(value, str) else None
    except ValueError:
        moment = None
    if not isinstance(moment, datetime):
        raise MalformedEventError(
            f"the schedule event has no readable 'time' ({value!r}): invoke with "
            '{"time": "2026-11-28T00:00:00Z"}'
        )
    return moment


def run_scheduled_backups(at: datetime, services: BackupServices) -> BackupRun:
    """Start the backup of `at` of every profile that wants one; never stops on a failure."""
    run = BackupRun()
    profiles = services.registry.list_profiles()
    domains: dict[tuple[str, str], Domain | None] = {}
    logger.info("Scheduled backups", extra={"profiles": len(profiles), "time": at.isoformat()})
    for index, profile in enumerate(profiles, start=1):
        _back_up(profile, at, services, domains, run)
        if index % PROGRESS_EVERY == 0:
            logger.info(
                "Scheduled backups in progress",
                extra={"done": index, "of": len(profiles), **run.counts()},
            )
    return run


def _back_up(
    profile: Profile,
    at: datetime,
    services: BackupServices,
    domains: dict[tuple[str, str], Domain | None],
    run: BackupRun,
) -> None:
    try:
        gone = gone_volumes([_domain_of(profile, services, domains)])
        decision = scheduled_backup(profile, bucket=services.bucket, at=at, gone=gone)
        if decision.request is None:
            run.skipped += 1
            reason = decision.skip.value if decision.skip else "unknown"
            logger.debug("No backup", extra={"profile": str(profile.key), "reason": reason})
            return
        result = start_backup(
            decision.request, services.restores, services.workflow, services.clock()
        )
    except Exception as exc:  # one profile's failure must not stop the others
        run.failed.append(f"{profile.key}: {type(exc).__name__}: {exc}")
        logger.exception("Backup could not be started", extra={"profile": str(profile.key)})
        return
    if result.started:
        run.started += 1
    else:
        run.already_started += 1


def _domain_of(
    profile: Profile,
    services: BackupServices,
    domains: dict[tuple[str, str], Domain | None],
) -> Domain | None:
    """The profile's domain row, read once per domain per run."""
    key = (profile.domain_name, profile.domain_id)
    if key not in domains:
        domains[key] = services.registry.get_domain(*key)
    return domains[key]
