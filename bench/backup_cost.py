"""The cost model of backups to S3, per user per month (no I/O: bench/backups.py measures).

One user's home: `home_gb` of files of `mean_file_kib` on average, `daily_change` of the
bytes rewritten every day, backed up by the schedule `backups_per_month` times, with the
module's bucket defaults (versioned; current versions move to `storage_class` after
`transition_days`; earlier versions kept `retention_days`). Every assumption is a field
of `BackupAssumptions`, printed beside the figures; the prices are in bench/prices.py.

What DataSync (Basic mode, EFS to S3, TransferMode CHANGED) asks of S3 per backup, as
assumed here (the sandbox cannot count it: its DataSync writes to S3 in-process):
- preparing: one LIST per 1,000 objects of the prefix and one HEAD per object (DataSync
  compares each object's `file-mtime`/size metadata, which LIST does not return);
- transferring: one PUT per new or changed file or directory (files under the multipart
  threshold; DataSync's threshold is not published: a multi-part file adds a request per
  part);
- verifying (ONLY_FILES_TRANSFERRED): one HEAD/GET per transferred object;
- removals (PreserveDeletedFiles REMOVE) are DELETE requests: free.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, replace
from typing import Any

from bench import prices

GIB_IN_KIB = 1024 * 1024


@dataclass(frozen=True)
class BackupAssumptions:
    """Everything the monthly figure depends on, with the value used and why."""

    home_gb: float = 5.0
    """The issue's example home."""
    daily_change: float = 0.02
    """Share of the home's bytes rewritten per day (the issue's 2%)."""
    hot_set: bool = True
    """The same files change every day (notebooks, checkpoints); the rest stays cold, so
    it reaches `storage_class` after `transition_days`."""
    mean_file_kib: float = 256.0
    """Mean file size: notebooks, scripts and small data beside a few large files. With
    5 GB that is 20,480 files. All files are taken as >= 128 KiB: S3 lifecycle does not
    transition smaller objects, and IA bills each object as at least 128 KiB."""
    dirs_per_file: float = 0.1
    """One directory per 10 files; each is a zero-byte `dir/` object."""
    backups_per_month: int = 30
    """`backups.schedule_expression` default: rate(1 day). Deletion backups are rare."""
    retention_days: int = 35
    """`backups.retention_days` default: earlier versions kept 35 days."""
    transition_days: int = 30
    """`backups.transition_days` default."""
    storage_class: str = "STANDARD_IA"
    """`backups.storage_class` default; `STANDARD` means no transition."""
    heads_per_object: float = 1.0
    """HEAD requests per object of the prefix per backup (preparing)."""
    verify_reads_per_transferred: float = 1.0
    """Reads per transferred object while verifying."""
    objects_per_changed_file: float = 1.0
    """PUTs per changed file; the sandbox measures it (objects written per changed file)."""
    workflow_dollars_per_backup: float = 0.0
    """Step Functions, Lambda and DynamoDB per backup run; the sandbox measures it."""

    @property
    def files(self) -> int:
        return math.ceil(self.home_gb * GIB_IN_KIB / self.mean_file_kib)

    @property
    def dirs(self) -> int:
        return math.ceil(self.files * self.dirs_per_file)

    @property
    def changed_files(self) -> float:
        return self.files * self.daily_change

    @property
    def changed_gb(self) -> float:
        return self.home_gb * self.daily_change

    @property
    def transitions(self) -> bool:
        return self.storage_class != "STANDARD"

    def describe(self) -> dict[str, Any]:
        return {**asdict(self), "files": self.files, "dirs": self.dirs}


@dataclass(frozen=True)
class BackupCost:
    """Dollars per user per month in steady state (after the first month), by part."""

    storage: float
    requests: float
    datasync: float
    workflow: float
    first_backup: float
    """One-time: the first full copy (DataSync and PUTs) and the lifecycle transitions."""
    gb_stored: dict[str, float]
    requests_per_backup: dict[str, float]

    @property
    def monthly(self) -> float:
        return self.storage + self.requests + self.datasync + self.workflow

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "monthly": self.monthly}


def storage_price(storage_class: str) -> float:
    try:
        return prices.S3_STORAGE_PER_GB_MONTH[storage_class]
    except KeyError:
        raise ValueError(
            f"no price for storage class {storage_class!r}; "
            f"known: {', '.join(sorted(prices.S3_STORAGE_PER_GB_MONTH))}"
        ) from None


def read_price(storage_class: str) -> float:
    return prices.S3_GET_PER_REQUEST.get(
        storage_class, prices.S3_GET_PER_REQUEST["STANDARD"]
    )


def monthly_cost(a: BackupAssumptions) -> BackupCost:
    """The steady-state month of one user's backups under `a`."""
    if not 0 <= a.daily_change <= 1:
        raise ValueError(
            f"daily_change must be a share from 0 to 1, not {a.daily_change}"
        )
    cold_class = a.storage_class if a.transitions and a.hot_set else "STANDARD"
    hot_gb = a.changed_gb if a.hot_set else 0.0
    cold_gb = a.home_gb - hot_gb
    # A changed file's earlier version is noncurrent from the next backup on, kept
    # retention_days; it was written less than a day before, so it never transitioned.
    noncurrent_gb = a.changed_gb * a.retention_days
    standard_gb = hot_gb + noncurrent_gb
    storage = standard_gb * storage_price("STANDARD") + cold_gb * storage_price(
        cold_class
    )
    cold_files = a.files - (a.changed_files if a.hot_set else 0.0)
    hot_objects = a.dirs + (a.changed_files if a.hot_set else 0.0)
    lists = math.ceil((a.files + a.dirs) / 1000)
    heads_cold = cold_files * a.heads_per_object
    heads_hot = hot_objects * a.heads_per_object
    puts = a.changed_files * a.objects_per_changed_file
    verifies = puts * a.verify_reads_per_transferred
    per_backup = (
        (lists + puts) * prices.S3_PUT_PER_REQUEST
        + heads_cold * read_price(cold_class)
        + (heads_hot + verifies) * read_price("STANDARD")
    )
    first = (
        a.home_gb * prices.DATASYNC_PER_GB
        + (a.files + a.dirs) * prices.S3_PUT_PER_REQUEST
        + (cold_files * prices.S3_TRANSITION_PER_REQUEST.get(cold_class, 0.0))
    )
    return BackupCost(
        storage=storage,
        requests=a.backups_per_month * per_backup,
        datasync=a.backups_per_month * a.changed_gb * prices.DATASYNC_PER_GB,
        workflow=a.backups_per_month * a.workflow_dollars_per_backup,
        first_backup=first,
        gb_stored={
            "current_standard": hot_gb,
            f"current_{cold_class.lower()}": cold_gb,
            "noncurrent_standard": noncurrent_gb,
        },
        requests_per_backup={
            "LIST": lists,
            "HEAD_cold": heads_cold,
            "HEAD_hot": heads_hot,
            "PUT": puts,
            "verify": verifies,
            "dollars": per_backup,
        },
    )


def with_standard(a: BackupAssumptions) -> BackupAssumptions:
    """The same home with `backups.storage_class = "STANDARD"` (no transition)."""
    return replace(a, storage_class="STANDARD")
