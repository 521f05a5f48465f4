"""argparse pieces shared by the commands: one-line errors and validated names."""

from __future__ import annotations

import argparse
import re
import sys
from datetime import UTC, datetime, time
from typing import NoReturn

from studio_recovery.cli.exit_codes import ExitCode
from studio_recovery.models.registry import NAME_PATTERN, Kind, ProfileKey
from studio_recovery.models.restore import is_backup_id

_NAME = re.compile(NAME_PATTERN)
_DOMAIN_ID = re.compile(r"^d-[a-z0-9]{1,63}$")
_EFS_ID = re.compile(r"^fs-[0-9a-f]{8,40}$")
_SG_ID = re.compile(r"^sg-[0-9a-f]{8,17}$")
_DATE_ONLY = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")


class Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line, with exit code `ExitCode.USAGE`."""

    def error(self, message: str) -> NoReturn:
        sys.stderr.write(f"{self.prog}: error: {message} (see {self.prog} --help)\n")
        raise SystemExit(ExitCode.USAGE)


def studio_name(value: str) -> str:
    """A domain, user profile or space name (the Studio pattern)."""
    if not _NAME.fullmatch(value):
        raise argparse.ArgumentTypeError(
            f"{value!r} is not a valid Studio name: 1-63 letters, digits and inner hyphens"
        )
    return value


def domain_id(value: str) -> str:
    """A SageMaker domain id (`d-...`)."""
    if not _DOMAIN_ID.fullmatch(value):
        raise argparse.ArgumentTypeError(f"{value!r} is not a domain id (d-xxxxxxxxxxxx)")
    return value


def efs_id(value: str) -> str:
    """An EFS file system id (`fs-...`)."""
    if not _EFS_ID.fullmatch(value):
        raise argparse.ArgumentTypeError(f"{value!r} is not an EFS id (fs-0123456789abcdef0)")
    return value


def security_group_id(value: str) -> str:
    """An EC2 security group id (`sg-...`)."""
    if not _SG_ID.fullmatch(value):
        raise argparse.ArgumentTypeError(f"{value!r} is not a security group id (sg-...)")
    return value


def positive_int(value: str) -> int:
    """A whole number of 1 or more."""
    try:
        number = int(value)
    except ValueError:
        number = 0
    if number < 1:
        raise argparse.ArgumentTypeError(f"{value!r} is not a whole number of 1 or more")
    return number


def positive_seconds(value: str) -> float:
    """A number of seconds greater than 0."""
    try:
        number = float(value)
    except ValueError:
        number = 0.0
    if not number > 0:
        raise argparse.ArgumentTypeError(f"{value!r} is not a number of seconds above 0")
    return number


def backup_time(value: str) -> datetime | str:
    """`--from-backup`: a backup id, or an ISO 8601 date/time (UTC unless it says
    otherwise; a date alone means the end of that day)."""
    if is_backup_id(value):
        return value
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{value!r} is neither a backup id nor a date/time: write e.g. 2026-11-28, "
            "2026-11-28T14:00:00Z or an id from `studio-recovery backups`"
        ) from None
    if _DATE_ONLY.fullmatch(value):
        moment = datetime.combine(moment.date(), time(23, 59, 59))
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def add_profile_options(parser: argparse.ArgumentParser, prefix: str = "", role: str = "") -> None:
    """`--<prefix>domain` and one of `--<prefix>user` / `--<prefix>space` (all required)."""
    what = f"{role} " if role else ""
    parser.add_argument(
        f"--{prefix}domain",
        required=True,
        type=studio_name,
        metavar="NAME",
        help=f"the {what}domain's name",
    )
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument(
        f"--{prefix}user", type=studio_name, metavar="NAME", help=f"the {what}user profile"
    )
    group.add_argument(
        f"--{prefix}space", type=studio_name, metavar="NAME", help=f"the {what}space"
    )


def profile_key(args: argparse.Namespace, prefix: str = "") -> ProfileKey:
    """The ProfileKey named by `add_profile_options(prefix=...)` arguments."""
    attr = prefix.replace("-", "_")
    domain: str = getattr(args, f"{attr}domain")
    user: str | None = getattr(args, f"{attr}user")
    space: str | None = getattr(args, f"{attr}space")
    kind: Kind = "user" if user is not None else "space"
    name = user if user is not None else space
    assert name is not None  # argparse's required mutually exclusive group
    return ProfileKey(domain_name=domain, kind=kind, name=name)
