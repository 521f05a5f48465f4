"""Safety checks of a transfer, made before anything is created (docs/internals.md section 4).

A transfer that could read or write the wrong files is refused with `UnsafeTransferError`
(never retried); one that needs the backup bucket while backups are not configured with
`BackupsNotConfiguredError`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from studio_recovery.logic.restore_plan import is_safe_uid
from studio_recovery.models.errors import (
    BackupsNotConfiguredError,
    MalformedEventError,
    UnsafeTransferError,
)
from studio_recovery.models.restore import (
    BackupLocation,
    Endpoint,
    PrepareInput,
    backup_prefix,
    is_backup_id,
)

if TYPE_CHECKING:
    from studio_recovery.config import PrepareSettings


def validate_transfer(source: Endpoint, target: Endpoint) -> None:
    """Refuse a transfer that could read or write the wrong files (UnsafeTransferError).

    Both uids must be positive numbers (an EFS side would otherwise be the volume's root,
    a backup side another directory's prefix); an EFS->EFS transfer needs two different
    directories; a backup writes only into its own directory's prefix; a restore from a
    backup names the moment it reads (`as_of`); S3->S3 is not a transfer this product makes.
    """
    for role, location in (("source", source), ("target", target)):
        if not is_safe_uid(location.uid):
            raise UnsafeTransferError(
                f"{role} uid {location.uid!r} is not a positive number: it would point "
                f"DataSync at the root of volume {location.efs_id}"
            )
    if isinstance(source, BackupLocation) and isinstance(target, BackupLocation):
        raise UnsafeTransferError("source and target are both backups: nothing would reach EFS")
    if isinstance(target, BackupLocation):
        _validate_backup(source, target)
    elif isinstance(source, BackupLocation):
        if source.as_of is None:
            raise UnsafeTransferError(
                f"a restore from a backup needs the time it reads (as_of): {source}"
            )
    elif source.directory == target.directory:
        raise UnsafeTransferError(
            f"source and target are the same directory {source.efs_id}:/{source.uid}"
        )


def _validate_backup(source: Endpoint, target: BackupLocation) -> None:
    """A backup's prefix must be its source directory's own: written anywhere else, a
    later restore of that other directory would hand these files to someone else."""
    own = backup_prefix(source.key, source.efs_id, source.uid)
    if target.prefix != own:
        raise UnsafeTransferError(
            f"the backup of {source} would be written to {target.prefix}, "
            f"not to its own prefix {own}"
        )


def validate_id(request: PrepareInput) -> None:
    """A backup's id is a backup id (its item lives at `BACKUP#`), a restore's is not."""
    backup = isinstance(request.target, BackupLocation)
    if backup != is_backup_id(request.restore_id):
        what = "backup" if backup else "restore"
        raise MalformedEventError(
            f"{request.restore_id!r} is not a {what} id: backup ids end in "
            "-b<YYYYMMDDHHMMSS>-<12 hex> (make_backup_id) and only backups have them"
        )


@dataclass(frozen=True)
class BackupConfig:
    """What a transfer to or from the backup bucket needs from the settings."""

    bucket: str
    access_role_arn: str


def backup_config(request: PrepareInput, settings: PrepareSettings) -> BackupConfig | None:
    """The backup settings when the transfer has an S3 side (None for EFS->EFS).

    Raises BackupsNotConfiguredError when they are missing, and UnsafeTransferError when
    the S3 side names another bucket than the configured one (DataSync's role reaches only
    that one, and nothing may be written elsewhere)."""
    backup = next(
        (side for side in (request.target, request.source) if isinstance(side, BackupLocation)),
        None,
    )
    if backup is None:
        return None
    bucket, role = settings.backup_bucket_name, settings.backup_bucket_access_role_arn
    if not bucket or not role:
        missing = [
            name
            for name, value in (
                ("BACKUP_BUCKET_NAME", bucket),
                ("BACKUP_BUCKET_ACCESS_ROLE_ARN", role),
            )
            if not value
        ]
        raise BackupsNotConfiguredError(
            f"{request.restore_id} needs the backup bucket, but backups are not configured "
            f"for the prepare function ({' and '.join(missing)} not set): enable backups in "
            "the module, or restore from a home directory instead"
        )
    if backup.bucket != bucket:
        raise UnsafeTransferError(
            f"{request.restore_id} names bucket {backup.bucket}, not the backup bucket "
            f"{bucket} this module writes"
        )
    return BackupConfig(bucket=bucket, access_role_arn=role)
