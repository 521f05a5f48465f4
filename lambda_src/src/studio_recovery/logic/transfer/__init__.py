"""The workflow's two Lambda steps: prepare a DataSync transfer, and finalize it.

Three kinds of transfer run through them (docs/internals.md sections 4 and 7):
- a restore, EFS -> EFS: a home directory into the new home of a profile;
- a backup, EFS -> S3: a home directory into its prefix of the backup bucket (the target is
  a `BackupLocation`);
- a restore from a backup, S3 -> EFS: a backup prefix as it was at `as_of` (an older
  backup's versions staged first under `staging/<restore_id>/`), into the new home (the
  source is a `BackupLocation`).

By job: `safety` (checks made before anything is created), `prepare` (create the access
point, locations and task), `cleanup` (delete them and the staged copy, keep what is left
on the item), `finalize` (record, notify), `chain` (what a finished step of a restore
starts next).
No boto3 here: the ports are passed in (`studio_recovery.services.TransferServices`).
"""

from studio_recovery.logic.transfer.cleanup import Resources, delete_resources
from studio_recovery.logic.transfer.finalize import (
    STOPPED_ERRORS,
    STOPPED_STATUS_ERRORS,
    decide_outcome,
    finalize,
    finalize_stopped,
    needs_notification,
)
from studio_recovery.logic.transfer.prepare import STALE_SLOT_AGE, choose_subnet, prepare
from studio_recovery.logic.transfer.safety import BackupConfig, backup_config, validate_transfer

__all__ = [
    "STALE_SLOT_AGE",
    "STOPPED_ERRORS",
    "STOPPED_STATUS_ERRORS",
    "BackupConfig",
    "Resources",
    "backup_config",
    "choose_subnet",
    "decide_outcome",
    "delete_resources",
    "finalize",
    "finalize_stopped",
    "needs_notification",
    "prepare",
    "validate_transfer",
]
