"""The CLI's exit codes: the one place they are defined, and their help text."""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """What `studio-recovery` returns to the shell. Each failure kind has its own code."""

    OK = 0
    AWS_ERROR = 1
    USAGE = 2
    NOT_FOUND = 3
    ACCESS_DENIED = 4
    UNREACHABLE = 5
    CONFLICT = 6
    RESTORE_FAILED = 7
    CHECK_FAILED = 8
    INCOMPLETE = 9
    INTERRUPTED = 130


_MEANINGS: dict[ExitCode, str] = {
    ExitCode.OK: "success",
    ExitCode.AWS_ERROR: "any other AWS error (the message says which)",
    ExitCode.USAGE: "bad usage or an invalid name; nothing was called",
    ExitCode.NOT_FOUND: "a profile, space, table, file system or other resource does not exist",
    ExitCode.ACCESS_DENIED: "access denied or no credentials; the message names the IAM action",
    ExitCode.UNREACHABLE: "the endpoint cannot be reached",
    ExitCode.CONFLICT: "conflict, e.g. a copy to that target is already pending (see --force)",
    ExitCode.RESTORE_FAILED: (
        "the restore waited on with --wait did not succeed; migrate: a pair failed or was refused"
    ),
    ExitCode.CHECK_FAILED: "doctor: at least one check failed",
    ExitCode.INCOMPLETE: "migrate: no pair failed, but some are not finished yet (run it again)",
    ExitCode.INTERRUPTED: "interrupted (Ctrl-C); migrate goes on where it stopped when run again",
}


def exit_codes_epilog() -> str:
    """The help epilog listing every exit code and its meaning."""
    lines = ["exit codes:"]
    lines += [f"  {code.value}  {_MEANINGS[code]}" for code in ExitCode]
    return "\n".join(lines)
