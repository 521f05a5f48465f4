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


class DomainPendingError(StudioRecoveryError):
    """A domain still Pending after a bounded wait, its home EFS volume not known yet.

    Raised so the event is retried (asynchronous invocation), then dead-lettered.
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


class ResourceGoneError(NotFoundError):
    """The SageMaker domain, profile or space does not exist (any more)."""


class ResourceNotDeletedError(StudioRecoveryError):
    """AWS refused to delete a DataSync task or location or an EFS access point (neither
    throttling nor already gone: denied, in use, ...). The clean-up keeps it on the restore
    item and carries on."""


class RegistryConflict(StudioRecoveryError):
    """A conditional registry write found the item changed since it was read; the
    registry re-reads and retries (never seen outside the data-access layer)."""


class BackupsNotStartedError(StudioRecoveryError):
    """Some scheduled backups could not be started; the others were. Raised at the end of
    the run so the invocation counts as failed (and the errors alarm fires)."""


class BackupsNotConfiguredError(StudioRecoveryError):
    """A backup, or a restore from one, while the `prepare` function has no backup bucket
    (BACKUP_BUCKET_NAME) or bucket access role (BACKUP_BUCKET_ACCESS_ROLE_ARN); a
    configuration problem, never retried."""
