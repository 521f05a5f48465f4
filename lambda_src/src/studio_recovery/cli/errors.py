"""CLI errors and the translation of AWS and library errors into one line and an exit code."""

from __future__ import annotations

import re

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    NoCredentialsError,
    NoRegionError,
    PartialCredentialsError,
    ProfileNotFound,
    ReadTimeoutError,
)

from studio_recovery.cli.exit_codes import ExitCode
from studio_recovery.models.errors import NotFoundError, StudioRecoveryError


class CliError(Exception):
    """An error the CLI reports as one line, with its exit code."""

    def __init__(self, message: str, code: ExitCode = ExitCode.AWS_ERROR) -> None:
        super().__init__(message)
        self.message = message
        self.code = code


class UsageError(CliError):
    """Bad arguments or configuration; raised before any AWS call."""

    def __init__(self, message: str) -> None:
        super().__init__(message, ExitCode.USAGE)


class NotFound(CliError):
    """The named profile, space or resource does not exist."""

    def __init__(self, message: str) -> None:
        super().__init__(message, ExitCode.NOT_FOUND)


class Conflict(CliError):
    """The request clashes with the current state (e.g. a pending copy)."""

    def __init__(self, message: str) -> None:
        super().__init__(message, ExitCode.CONFLICT)


class RestoreFailed(CliError):
    """A restore the CLI waited on ended in another state than SUCCEEDED."""

    def __init__(self, message: str) -> None:
        super().__init__(message, ExitCode.RESTORE_FAILED)


ACCESS_DENIED_CODES = frozenset(
    {
        "AccessDenied",
        "AccessDeniedException",
        "UnauthorizedOperation",
        "AuthorizationError",
        "AuthorizationErrorException",
        "UnrecognizedClientException",
        "InvalidClientTokenId",
        "ExpiredToken",
        "ExpiredTokenException",
    }
)
NOT_FOUND_CODES = frozenset(
    {
        "ResourceNotFoundException",
        "ResourceNotFound",
        "StateMachineDoesNotExist",
        "ExecutionDoesNotExist",
        "FileSystemNotFound",
        "MountTargetNotFound",
        "InvalidGroup.NotFound",
        "InvalidSubnetID.NotFound",
        "AWS.SimpleQueueService.NonExistentQueue",
        "QueueDoesNotExist",
        "TrailNotFoundException",
    }
)
_ACTION_IN_MESSAGE = re.compile(r"perform:?\s+([A-Za-z0-9-]+:[A-Za-z0-9*]+)")
_UNREACHABLE = (EndpointConnectionError, ConnectTimeoutError, ConnectionClosedError)


def denied_action(error: ClientError, fallback: str | None) -> str:
    """The IAM action an AccessDenied error is about: from its message, else `fallback`."""
    message = str(error.response.get("Error", {}).get("Message", ""))
    match = _ACTION_IN_MESSAGE.search(message)
    if match:
        return match.group(1)
    return fallback or error.operation_name


def translate(error: BaseException, last_action: str | None = None) -> CliError | None:
    """Turn an AWS or library error into a `CliError`; None when it is not one we know.

    `last_action` is the IAM action (`service:Operation`) of the last AWS call, used to
    name the missing permission when the error message does not.
    """
    if isinstance(error, CliError):
        return error
    if isinstance(error, NotFoundError):
        return NotFound(str(error))
    if isinstance(error, StudioRecoveryError) and error.__cause__ is not None:
        # The library wraps throttling and connection failures (TransientAwsError): report
        # what really happened.
        return translate(error.__cause__, last_action) or CliError(str(error))
    if isinstance(error, StudioRecoveryError):
        return CliError(str(error))
    if isinstance(error, ClientError):
        return _translate_client_error(error, last_action)
    if isinstance(error, _UNREACHABLE):
        return CliError(f"cannot reach the AWS endpoint: {error}", ExitCode.UNREACHABLE)
    if isinstance(error, ReadTimeoutError):
        return CliError(f"the AWS endpoint did not answer in time: {error}", ExitCode.UNREACHABLE)
    if isinstance(error, ProfileNotFound):
        return UsageError(f"{error}: check --profile")
    if isinstance(error, NoRegionError):
        return UsageError("no AWS region: pass --region or set AWS_REGION")
    if isinstance(error, NoCredentialsError | PartialCredentialsError):
        return CliError(
            "no AWS credentials found: pass --profile or configure the standard credential chain",
            ExitCode.ACCESS_DENIED,
        )
    if isinstance(error, BotoCoreError):
        return CliError(f"AWS client error: {error}", ExitCode.AWS_ERROR)
    return None


def _translate_client_error(error: ClientError, last_action: str | None) -> CliError:
    details = error.response.get("Error", {})
    code = str(details.get("Code", ""))
    message = str(details.get("Message", "")) or str(error)
    if code in ACCESS_DENIED_CODES:
        action = denied_action(error, last_action)
        return CliError(
            f"access denied: this needs permission for {action} ({code}: {message})",
            ExitCode.ACCESS_DENIED,
        )
    if code in NOT_FOUND_CODES or code.endswith(".NotFound"):
        return NotFound(f"not found: {message} ({code} in {error.operation_name})")
    return CliError(f"AWS error {code} in {error.operation_name}: {message}", ExitCode.AWS_ERROR)
