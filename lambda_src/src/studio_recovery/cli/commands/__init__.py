"""The CLI's commands: each module has `register(subparsers, parents)` and `run(context)`."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from studio_recovery.cli.commands import (
    backups,
    copy,
    doctor,
    efs,
    history,
    migrate,
    replication,
    restore,
    seed,
    spaces,
    status,
)

Register = Callable[[Any, list[argparse.ArgumentParser]], None]

COMMANDS: tuple[Register, ...] = (
    replication.register,
    copy.register,
    migrate.register,
    efs.register,
    status.register,
    history.register,
    restore.register,
    backups.register,
    seed.register,
    doctor.register,
    spaces.register,
)
