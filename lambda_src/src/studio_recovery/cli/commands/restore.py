"""`restore`: start a restore by hand, and optionally follow it until it ends."""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from studio_recovery.cli import ebs
from studio_recovery.cli.args import (
    add_profile_options,
    backup_time,
    positive_int,
    positive_seconds,
    profile_key,
)
from studio_recovery.cli.commands.spaces import request_space_restore
from studio_recovery.cli.context import Context
from studio_recovery.cli.errors import CliError, Conflict, NotFound, RestoreFailed, UsageError
from studio_recovery.cli.exit_codes import ExitCode
from studio_recovery.cli.render import human_bytes
from studio_recovery.dal.workflow import execution_arn_of
from studio_recovery.logic.backups import as_source, choose_backup
from studio_recovery.logic.restore_plan import StartRestore, build_request, latest_restorable
from studio_recovery.logic.restore_start import StartResult, start_restore
from studio_recovery.models.registry import Generation, ProfileKey, to_iso
from studio_recovery.models.restore import RestoreItem

RUNNING = "RUNNING"
DEFAULT_POLL_SECONDS = 5.0
DEFAULT_TIMEOUT_SECONDS = 4 * 3600


def register(subparsers: Any, parents: list[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "restore",
        parents=parents,
        help="restore a profile or space by hand from an earlier home directory",
        description=(
            "Start a restore into the profile's current home directory from an earlier one "
            "(the latest that may hold data, or --from-generation N), or from a backup "
            "(--from-backup TIME). Applies even to opted-out profiles and reused names: an "
            "admin asked for it. Files already in the new home are never overwritten. A space "
            "on EBS is restored by its own agent: this writes a restore request for the backup "
            "at or before TIME (or its latest) that the agent serves at its next backup "
            "interval, or on the space's next start when its app is not running."
        ),
    )
    add_profile_options(parser)
    source = parser.add_mutually_exclusive_group()
    source.add_argument(
        "--from-generation", type=positive_int, metavar="N", help="restore from generation N"
    )
    source.add_argument(
        "--from-backup",
        type=backup_time,
        metavar="TIME",
        help=(
            "restore from the latest successful backup started at or before TIME (ISO "
            "date/time, UTC unless it says otherwise; a date alone means the end of that "
            "day), or from the backup with that id (see `studio-recovery backups`)"
        ),
    )
    add_wait_options(parser)
    parser.set_defaults(run=run)


def add_wait_options(parser: argparse.ArgumentParser) -> None:
    """`--wait`, `--poll-seconds`, `--timeout` (shared with `copy`)."""
    parser.add_argument(
        "--wait", action="store_true", help="show progress until it ends; exit 7 if it fails"
    )
    parser.add_argument(
        "--poll-seconds",
        type=positive_seconds,
        default=DEFAULT_POLL_SECONDS,
        metavar="S",
        help=f"seconds between progress checks (default {DEFAULT_POLL_SECONDS:g})",
    )
    parser.add_argument(
        "--timeout",
        type=positive_int,
        default=DEFAULT_TIMEOUT_SECONDS,
        metavar="S",
        help=f"stop waiting after S seconds (default {DEFAULT_TIMEOUT_SECONDS})",
    )


def run(context: Context) -> int:
    key = profile_key(context.args)
    registry = context.registry()
    if key.kind == "space" and registry.get_profile(key) is None:
        spaces = ebs.spaces_of(registry, key)
        if spaces:
            return request_space_restore(context, key, spaces)
    if context.args.from_backup is not None:
        return run_from_backup(context, key, context.args.from_backup)
    target, source = choose_generations(context, key, context.args.from_generation)
    now = datetime.now(UTC)
    request = build_request("manual", target=target, source=source, nonce=to_iso(now))
    result = start_now(context, StartRestore(request), now)
    report_start(context, key, result, f"generation {source.generation} (uid {source.uid})")
    if context.args.wait:
        return wait_for(context, key, result)
    return ExitCode.OK


def run_from_backup(context: Context, key: ProfileKey, when: datetime | str) -> int:
    """Restore the backup `when` names into the profile's current home directory."""
    target = current_generation(context, key)
    backups = context.restores().list_backups(key)
    chosen = choose_backup(backups, when)
    if chosen is None:
        wanted = (
            f"backup {when}" if isinstance(when, str) else f"backup at or before {to_iso(when)}"
        )
        raise NotFound(
            f"{key}: no successful {wanted} ({len(backups)} backups on record; "
            "see `studio-recovery backups`)"
        )
    source = as_source(chosen)
    described = (
        f"backup {chosen.restore_id} (generation {source.generation}, "
        f"started {to_iso(chosen.started_at)}, as of {to_iso(source.as_of or chosen.started_at)})"
    )
    context.out.line(
        f"Using {described}: {chosen.files_transferred} files, "
        f"{human_bytes(chosen.bytes_written)} written"
    )
    now = datetime.now(UTC)
    request = build_request("manual", target=target, source=source, nonce=to_iso(now))
    result = start_now(context, StartRestore(request), now)
    report_start(context, key, result, described)
    if context.args.wait:
        return wait_for(context, key, result)
    return ExitCode.OK


def current_generation(context: Context, key: ProfileKey) -> Generation:
    """The profile's current home directory (NotFound when unknown or deleted)."""
    profile = context.registry().get_profile(key)
    if profile is None:
        raise NotFound(f"{key.kind} {key.name} of domain {key.domain_name} is not in the registry")
    if profile.is_deleted:
        raise NotFound(f"{key.kind} {key.name} is deleted: recreate it, then restore")
    target = context.registry().get_generation(key, profile.generation)
    if target is None:
        raise NotFound(f"{key}: generation {profile.generation} is missing from the registry")
    return target


def choose_generations(
    context: Context, key: ProfileKey, wanted: int | None
) -> tuple[Generation, Generation]:
    """(target, source): the current home directory and the one to restore from."""
    profile = context.registry().get_profile(key)
    if profile is None:
        raise NotFound(f"{key.kind} {key.name} of domain {key.domain_name} is not in the registry")
    if profile.is_deleted:
        raise NotFound(f"{key.kind} {key.name} is deleted: recreate it, then restore")
    generations = context.registry().list_generations(key)
    current = [g for g in generations if g.generation == profile.generation]
    if not current:
        raise NotFound(f"{key}: generation {profile.generation} is missing from the registry")
    target = current[0]
    earlier = [g for g in generations if g.generation < target.generation]
    if wanted is not None:
        if wanted >= target.generation:
            raise UsageError(
                f"--from-generation {wanted}: pick an earlier generation than the current "
                f"one ({target.generation}); see `studio-recovery history`"
            )
        earlier = [g for g in earlier if g.generation == wanted]
        if not earlier:
            raise NotFound(f"{key} has no generation {wanted}")
    source = latest_restorable(earlier, target)
    if source is None and wanted is None:
        raise NotFound(f"{key}: no earlier home directory that may hold data is on record")
    if source is None:
        raise Conflict(
            f"{key}: generation {wanted} cannot be restored from: it was found empty, "
            "its uid is unsafe, or it is the current directory"
        )
    return target, source


def start_now(context: Context, plan: StartRestore, now: datetime) -> StartResult:
    """Record the restore and start its execution (the library's own start sequence)."""
    return start_restore(plan, context.restores(), context.workflow(), now)


def report_start(
    context: Context, key: ProfileKey, result: StartResult, source: str, what: str = "restore"
) -> None:
    """Say what was started (or that it had been started before)."""
    out = context.out
    if out.json_mode and not context.args.wait:
        out.json(
            {
                "restore_id": result.restore_id,
                "execution_arn": result.execution_arn,
                "started": result.started,
                "target": str(key),
                "source": source,
            }
        )
        return
    verb = "Started" if result.started else "Already started earlier:"
    out.line(f"{verb} {what} {result.restore_id} into {key} from {source}")
    out.line(f"Execution: {result.execution_arn}")


# ------------------------------------------------------------------- waiting


@dataclass
class Progress:
    """Where a followed restore stands."""

    restore_id: str
    execution_arn: str
    execution_status: str = RUNNING
    item: RestoreItem | None = None
    output: dict[str, Any] | None = None
    error: str | None = None

    @property
    def state(self) -> str:
        """`RUNNING (execution RUNNING)`: the registry's status and the execution's."""
        status = self.item.status if self.item else "PENDING"
        return f"{status} (execution {self.execution_status})"

    def summary(self, elapsed: float) -> str:
        text = f"Restore {self.restore_id}: {self.state}, {elapsed:.0f}s"
        if self.item and self.item.bytes_written:
            text += f", {human_bytes(self.item.bytes_written)}"
            text += f", {self.item.files_transferred} files"
        return text


def wait_for(context: Context, key: ProfileKey, result: StartResult) -> int:
    """Follow the execution (and any follow-up restore) until it ends; 0 or 7."""
    if result.execution_arn is None:
        raise CliError(f"restore {result.restore_id} has no execution to follow")
    progress = Progress(result.restore_id, result.execution_arn)
    deadline = time.monotonic() + context.args.timeout
    started = time.monotonic()
    show: Callable[[Progress, float], None]
    with _StatusDisplay(context) as show:
        while True:
            _poll(context, key, progress)
            show(progress, time.monotonic() - started)
            if progress.execution_status != RUNNING:
                follow_up = (progress.output or {}).get("follow_up_restore_id")
                if progress.execution_status == "SUCCEEDED" and follow_up:
                    progress = _follow(context, str(follow_up))
                    continue
                break
            if time.monotonic() >= deadline:
                raise CliError(
                    f"restore {progress.restore_id} still running after {context.args.timeout}s; "
                    "follow it with `studio-recovery history`"
                )
            time.sleep(context.args.poll_seconds)
    return _finish(context, progress)


def _follow(context: Context, restore_id: str) -> Progress:
    arn = execution_arn_of(context.resources.require("state_machine_arn"), restore_id)
    context.out.line(f"Source was empty; following the next restore {restore_id}")
    return Progress(restore_id, arn)


def _poll(context: Context, key: ProfileKey, progress: Progress) -> None:
    described = context.aws.client("stepfunctions").describe_execution(
        executionArn=progress.execution_arn
    )
    progress.execution_status = str(described["status"])
    if described.get("output"):
        try:
            progress.output = json.loads(described["output"])
        except json.JSONDecodeError:
            progress.output = None
    if described.get("error") or described.get("cause"):
        progress.error = f"{described.get('error', '')}: {described.get('cause', '')}".strip(": ")
    progress.item = context.restores().get_restore(key, progress.restore_id)


class _StatusDisplay:
    """A rich spinner on a terminal; otherwise one line per change of state (none in --json)."""

    def __init__(self, context: Context) -> None:
        self._context = context
        self._status: Any = None
        self._last = ""

    def __enter__(self) -> Callable[[Progress, float], None]:
        if self._context.out.interactive:
            self._status = self._context.out.console.status("")
            self._status.__enter__()
        return self._show

    def __exit__(self, *exc: object) -> None:
        if self._status is not None:
            self._status.__exit__(*exc)

    def _show(self, progress: Progress, elapsed: float) -> None:
        if self._status is not None:
            self._status.update(progress.summary(elapsed))
        elif progress.state != self._last:
            self._last = progress.state
            self._context.out.line(progress.summary(elapsed))


def _finish(context: Context, progress: Progress) -> int:
    item = progress.item
    output = progress.output or {}
    # The registry's final word, else the workflow's output ({"status", "reason"}).
    status = item.status if item is not None and item.is_terminal else output.get("status")
    reason = (item.reason if item else None) or output.get("reason") or progress.error or ""
    succeeded = progress.execution_status == "SUCCEEDED" and status in {None, "SUCCEEDED"}
    if context.out.json_mode:
        context.out.json(
            {
                "restore_id": progress.restore_id,
                "execution_arn": progress.execution_arn,
                "execution_status": progress.execution_status,
                "status": status,
                "reason": reason or None,
                "bytes_written": item.bytes_written if item else None,
                "files_transferred": item.files_transferred if item else None,
                "total_duration_ms": item.total_duration_ms if item else None,
            }
        )
    if succeeded:
        if item is not None:
            context.out.line(
                f"Restore {progress.restore_id} SUCCEEDED: {human_bytes(item.bytes_written)}, "
                f"{item.files_transferred} files"
            )
        else:
            context.out.line(f"Restore {progress.restore_id} SUCCEEDED")
        return ExitCode.OK
    raise RestoreFailed(
        f"restore {progress.restore_id} ended {status or progress.execution_status}"
        + (f": {reason}" if reason else "")
    )
