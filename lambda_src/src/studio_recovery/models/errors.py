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


class SlotUnavailable(StudioRecoveryError):
    """Every DataSync concurrency slot is taken; the workflow retries with jittered back-off."""


class SlotWaitTimeout(StudioRecoveryError):
    """No DataSync slot became free within the workflow's slot wait; never retried."""


class NoUsableSubnetError(StudioRecoveryError):
    """No configured DataSync subnet is in the VPC and zone of one of the volume's mount
    targets: DataSync could not reach it. A configuration problem; never retried."""


class CleanupIncompleteError(StudioRecoveryError):
    """DataSync or EFS resources of a restore could not be deleted; their ARNs are on the
    restore item. Never retried: creating more would only leak more."""


class RestoreStoppedError(StudioRecoveryError):
    """The restore was finished (stopped by hand, timed out) while this step was running."""


class HomeDirectoryTimeout(StudioRecoveryError):
    """The new home directory (created through the new uid's access point) did not become
    available within the configured wait; never retried."""
