"""`copy`: an admin-requested copy of one profile's home into another (any domain)."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from typing import Any

from studio_recovery.cli.args import add_profile_options, positive_int, profile_key
from studio_recovery.cli.commands.restore import (
    add_wait_options,
    report_start,
    start_now,
    wait_for,
)
from studio_recovery.cli.context import Context
from studio_recovery.cli.errors import Conflict, NotFound, UsageError
from studio_recovery.cli.exit_codes import ExitCode
from studio_recovery.logic.backups import pending_copy
from studio_recovery.logic.restore_plan import (
    PendingCopy,
    SkipRestore,
    StartRestore,
    is_safe_uid,
    plan_copy,
)
from studio_recovery.models.history import ProfileHistory
from studio_recovery.models.registry import Profile, ProfileKey
from studio_recovery.models.restore import CopyRequest


def register(subparsers: Any, parents: list[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "copy",
        parents=parents,
        help="copy a profile's or space's files into another one, in any domain",
        description=(
            "Copy the source's latest home directory that may hold data (or --from-generation "
            "N) into the target. Starts at once when the target exists, otherwise when it is "
            "created. Refused while a copy to that target is pending, unless --force. Files "
            "already in the target are never overwritten."
        ),
    )
    add_profile_options(parser, prefix="from-", role="source")
    add_profile_options(parser, prefix="to-", role="target")
    parser.add_argument(
        "--from-generation", type=positive_int, metavar="N", help="copy generation N"
    )
    parser.add_argument("--force", action="store_true", help="replace a copy request still pending")
    add_wait_options(parser)
    parser.set_defaults(run=run)


def run(context: Context) -> int:
    args = context.args
    source, target = profile_key(args, "from-"), profile_key(args, "to-")
    if source == target:
        raise UsageError(f"source and target are the same ({source})")
    registry = context.registry()
    history = _source_history(context, source, args.from_generation)
    now = datetime.now(UTC)
    request = CopyRequest(
        target=target,
        status="PENDING",
        source_pk=source.pk,
        source_generation=args.from_generation,
        requested_at=now,
        requested_by=_caller(context),
    )
    # the stream Lambda plans the same copy from the same knowledge (same restore id)
    pending = pending_copy(request, history, registry.get_domain)
    target_profile = registry.get_profile(target)
    plan = _plan_if_target_exists(context, target_profile, pending)
    if not context.restores().put_copy_request(request, replace_pending=args.force):
        raise _pending_conflict(context, target)
    if plan is None:
        return _report_waiting(context, source, target)
    result = start_now(context, plan, now)
    if not result.started:
        # This very copy ran before: do not leave the request pending forever.
        context.restores().mark_copy_started(target, result.restore_id)
    where = f"{source} generation {plan.request.source.generation}"
    report_start(context, target, result, where, what="copy")
    if args.wait:
        return wait_for(context, target, result)
    return ExitCode.OK


def _source_history(context: Context, source: ProfileKey, wanted: int | None) -> ProfileHistory:
    """The source's history (generations, backups); NotFound when none could be copied
    from."""
    history = context.registry().read_history(source)
    if history.profile is None:
        raise NotFound(f"source {source} is not in the registry")
    usable = [g for g in history.generations if is_safe_uid(g.uid)]
    if wanted is not None:
        usable = [g for g in usable if g.generation == wanted]
    else:
        usable = [g for g in usable if g.has_data is not False]
    if not usable:
        which = f"generation {wanted}" if wanted is not None else "home directory with data"
        raise NotFound(f"source {source} has no {which} on record")
    return history


def _plan_if_target_exists(
    context: Context, target: Profile | None, pending: PendingCopy
) -> StartRestore | None:
    """The start plan when the target lives now; None when it will be created later."""
    if target is None or target.is_deleted:
        return None
    current = context.registry().get_generation(target.key, target.generation)
    if current is None:
        return None
    plan = plan_copy(target=current, copy=pending)
    if isinstance(plan, SkipRestore):
        raise Conflict(f"cannot copy into {target.key}: {plan.detail}")
    return plan


def _pending_conflict(context: Context, target: ProfileKey) -> Conflict:
    existing = context.restores().get_copy(target)
    what = (
        f" from {existing.source} (requested {existing.requested_at:%Y-%m-%d %H:%M} UTC)"
        if existing is not None
        else ""
    )
    return Conflict(f"a copy to {target} is already pending{what}; use --force to replace it")


def _report_waiting(context: Context, source: ProfileKey, target: ProfileKey) -> int:
    if context.out.json_mode:
        context.out.json({"target": str(target), "source": str(source), "status": "PENDING"})
    else:
        context.out.line(
            f"Copy from {source} to {target} recorded: it starts when "
            f"{target.kind} {target.name} is created in domain {target.domain_name}."
        )
    return ExitCode.OK


def _caller(context: Context) -> str | None:
    """Who asks (the caller's ARN), for the audit trail on the copy request."""
    return str(context.aws.client("sts").get_caller_identity()["Arn"])
