"""Shared AWS client settings and error translation for the data-access layer.

botocore retries throttling and 5xx itself (standard mode, bounded); what outlives those
retries becomes `TransientAwsError`, so the caller (Lambda async retries, Step Functions
Retry) tries again later. Other client errors propagate as they are.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from botocore.config import Config
from botocore.exceptions import ClientError, ConnectionClosedError, EndpointConnectionError

from studio_recovery.models.errors import TransientAwsError

RETRY_CONFIG = Config(retries={"mode": "standard", "max_attempts": 5}, connect_timeout=5)
"""Bounded client retries: 5 attempts with jittered exponential back-off."""

TRANSIENT_CODES = frozenset(
    {
        "ThrottlingException",
        "Throttling",
        "ThrottledException",
        "TooManyRequestsException",
        "RequestLimitExceeded",
        "ProvisionedThroughputExceededException",
        "TransactionInProgressException",
        "InternalServerError",
        "InternalFailure",
        "InternalServerException",
        "InternalException",
        "ServiceUnavailable",
        "ServiceUnavailableException",
    }
)


def error_code(exc: ClientError) -> str:
    """The AWS error code of a ClientError ("" when absent)."""
    return str(exc.response.get("Error", {}).get("Code", ""))


def is_transient(exc: ClientError) -> bool:
    """Throttling, or a server-side (5xx) error."""
    status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
    return error_code(exc) in TRANSIENT_CODES or int(status) >= 500


@contextmanager
def transient_aws_errors(action: str) -> Iterator[None]:
    """Re-raise throttling, 5xx and connection failures of `action` as TransientAwsError."""
    try:
        yield
    except ClientError as exc:
        if is_transient(exc):
            raise TransientAwsError(f"{action}: {error_code(exc)} after retries") from exc
        raise
    except (EndpointConnectionError, ConnectionClosedError) as exc:
        raise TransientAwsError(f"{action}: {exc}") from exc
