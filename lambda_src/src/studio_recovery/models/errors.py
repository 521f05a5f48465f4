"""Typed domain errors. Their class names are what Step Functions sees as `Error`."""

from __future__ import annotations


class StudioRecoveryError(Exception):
    """Base of every error this library raises on purpose."""


class ConfigurationError(StudioRecoveryError):
    """An environment variable is missing or malformed."""


class MalformedEventError(StudioRecoveryError):
    """An event or record does not have the shape we expect; nothing was written."""


class UnsupportedEventError(StudioRecoveryError):
    """A CloudTrail event name this product does not handle; nothing was written."""


class UnresolvableProfileError(StudioRecoveryError):
    """A profile's home directory (uid) cannot be read or is not all digits.

    Raised so the event goes to the dead-letter queue: recording such a row would point
    DataSync at the root of the volume.
    """


class TransientAwsError(StudioRecoveryError):
    """Throttling or a 5xx from AWS that outlived our own retries; the caller retries."""


class UnsafeTransferError(StudioRecoveryError):
    """A transfer that would read from or write to the wrong directory; never retried."""


class NotFoundError(StudioRecoveryError):
    """A registry item that should exist does not."""
