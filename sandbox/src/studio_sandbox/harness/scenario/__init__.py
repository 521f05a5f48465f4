"""Drive the sandbox the way an admin and a data scientist would.

Used by `make demo` (`studio_sandbox.harness.demo`), `make reliability` and the end-to-end
tests: apply the real Terraform module to the sandbox (:mod:`.terraform`), create and delete
domains, profiles and spaces through the SageMaker API (:mod:`.studio`), write files into
home directories and compare trees (:mod:`.files`), read the registry (:mod:`.registry`),
run and check backups (:mod:`.backups`), write, compare and watch EBS space homes
(:mod:`.spaces`). This module re-exports what callers use.
"""

from studio_sandbox.harness.scenario.backups import (
    BackupBucket,
    BackupObject,
    ScheduleRun,
    backup_prefix_of,
    backups_of_run,
    compare_backed_up,
    run_backup_schedule,
    schedule_rule_arn,
    scheduled_event,
    wait_for_schedule_run,
)
from studio_sandbox.harness.scenario.base import (
    BACKUP_TERMINAL_STATUSES,
    SANDBOX_EXAMPLE,
    TERMINAL_STATUSES,
    Kind,
    ScenarioError,
)
from studio_sandbox.harness.scenario.files import (
    FileRecord,
    compare_restored,
    snapshot,
    write_as_owner,
    write_sample_home,
    write_small_home,
)
from studio_sandbox.harness.scenario.registry import (
    Registry,
    leftovers,
)
from studio_sandbox.harness.scenario.spaces import (
    SpaceEntry,
    backup_manifest,
    compare_space,
    restore_report,
    snapshot_space,
    space_backup_prefix,
    wait_until,
    write_space_home,
)
from studio_sandbox.harness.scenario.studio import (
    Home,
    Studio,
    create_sso_domain,
    create_sso_user,
)
from studio_sandbox.harness.scenario.terraform import (
    Terraform,
    admin,
    apply_module,
    apply_module_with,
    sandbox_root,
)

__all__ = [
    "BACKUP_TERMINAL_STATUSES",
    "SANDBOX_EXAMPLE",
    "TERMINAL_STATUSES",
    "BackupBucket",
    "BackupObject",
    "FileRecord",
    "Home",
    "Kind",
    "Registry",
    "ScenarioError",
    "ScheduleRun",
    "SpaceEntry",
    "Studio",
    "Terraform",
    "admin",
    "apply_module",
    "apply_module_with",
    "backup_manifest",
    "backup_prefix_of",
    "backups_of_run",
    "compare_backed_up",
    "compare_restored",
    "compare_space",
    "create_sso_domain",
    "create_sso_user",
    "leftovers",
    "restore_report",
    "run_backup_schedule",
    "sandbox_root",
    "schedule_rule_arn",
    "scheduled_event",
    "snapshot",
    "snapshot_space",
    "space_backup_prefix",
    "wait_for_schedule_run",
    "wait_until",
    "write_as_owner",
    "write_sample_home",
    "write_small_home",
    "write_space_home",
]
