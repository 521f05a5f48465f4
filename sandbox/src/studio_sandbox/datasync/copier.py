"""DataSync in the sandbox: the runner of one EFS -> EFS execution, which really copies.

It walks the phases QUEUED -> LAUNCHING -> PREPARING -> TRANSFERRING -> VERIFYING,
honouring the task options:

- `OverwriteMode` NEVER never touches an existing destination entry; a source directory
  whose path the destination holds as a file or a symlink is skipped with everything in it
  (the destination's entry stays; each one is a skipped entry of the task report);
- `PreserveDeletedFiles` REMOVE deletes destination entries missing at the source;
- `TransferMode` CHANGED skips entries whose size and mtime (and kept metadata) match;
- `PosixPermissions`, `Uid`, `Gid`, `Mtime`, `Atime` decide which metadata is copied;
- a location with an access point writes as its POSIX user (files belong to it),
  so `Uid`/`Gid` cannot change the owner there (as on a real mount);
- `VerifyMode` re-reads what was written;
- hard links between files of the source stay hard links at an EFS destination;
- `TaskReportConfig`: what was transferred, skipped, verified and deleted is written to S3
  (:mod:`.reports`) before the final status is published.

:mod:`.s3_locations` subclasses :class:`Runner` for the S3 ends.
"""

from __future__ import annotations

import fnmatch
import logging
import os
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from studio_sandbox import efs, posix
from studio_sandbox.datasync.models import (
    WRITER_GID,
    WRITER_UID,
    Cancelled,
    EfsLocation,
    Entry,
    Execution,
    ExecutionFailed,
    Location,
    faults,
    phase_durations,
)
from studio_sandbox.datasync.reports import ReportLog, write_reports
from studio_sandbox.datasync.trees import path_filter, scan, sha256

LOG = logging.getLogger(__name__)


@dataclass
class Plan:
    transfer: list[Entry]
    metadata_only: set[str]
    delete: list[Entry]
    skipped: int


def as_efs_location(location: Location) -> EfsLocation:
    if not isinstance(location, EfsLocation):
        raise ExecutionFailed("InvalidLocation", f"{location.arn} is not an EFS location.")
    return location


class Runner:
    """Runs one execution: QUEUED -> LAUNCHING -> PREPARING -> TRANSFERRING -> VERIFYING."""

    def __init__(
        self,
        execution: Execution,
        source: Location,
        destination: Location,
        account_id: str,
        region: str,
    ) -> None:
        self.execution = execution
        self.source = source
        self.destination = destination
        self.account_id = account_id
        self.region = region
        self.options = execution.options
        self.mount: efs.AccessPointMount | None = None
        self.source_root = Path()  # the EFS side(s), set by `_mount`
        self.destination_root = Path()
        self.phase = "Prepare"  # the Result.<phase>Status an error is reported under
        self.dir_metadata: list[tuple[Path, Entry]] = []
        self.report = ReportLog()
        self.linked: dict[tuple[int, int], Path] = {}  # source inode -> its first copy
        self.failed_files = 0

    # ---- driver

    def run(self) -> None:
        """Run every phase; the final status is published last, with the durations set."""
        execution = self.execution
        started = time.monotonic()
        self.phase = "Prepare"
        final = "ERROR"
        try:
            self._run_phases()
            final = "SUCCESS"
        except Cancelled:
            self._fail("OpCancelled", "The task execution was cancelled.")
        except ExecutionFailed as failure:
            self._fail(failure.code, failure.detail)
        except OSError as error:
            self._fail("OpFailed", f"{type(error).__name__}: {error}")
        except Exception as error:  # a sandbox bug must still end the execution, loudly
            LOG.exception("DataSync execution %s failed unexpectedly", execution.arn)
            self._fail("InternalError", f"{type(error).__name__}: {error}")
        finally:
            execution.result["TotalDuration"] = int((time.monotonic() - started) * 1000)
            self._write_reports(final)
            with execution.status_lock:
                execution.status = final
                execution.done_event.set()

    def _authorize_location_roles(self) -> None:
        """DataSync uses the locations' roles (studio_sandbox.iam.datasync)."""
        from studio_sandbox.iam import datasync as iam_datasync
        from studio_sandbox.iam.enforce import AccessDenied

        manifest = getattr(self, "manifest_config", None)
        try:
            iam_datasync.check_execution(self.source, self.destination, manifest)
        except AccessDenied as denied:
            raise ExecutionFailed("AccessDenied", denied.message) from None

    def _run_phases(self) -> None:
        self._enter("LAUNCHING")
        self._authorize_location_roles()
        self._mount()
        phase_start = time.monotonic()
        self._enter("PREPARING")
        plan, source_entries = self._prepare()
        self._finish_phase(phase_start)
        self.phase, phase_start = "Transfer", time.monotonic()
        self._enter("TRANSFERRING")
        self._inject_faults()
        with posix.batch():
            self._transfer(plan)
        if self.failed_files:
            raise ExecutionFailed(
                "OpFailed",
                f"{self.failed_files} files failed to transfer; the task report lists them.",
            )
        self._finish_phase(phase_start)
        self.phase, phase_start = "Verify", time.monotonic()
        self._enter("VERIFYING")
        self._verify(plan, source_entries)
        self._finish_phase(phase_start)

    def _enter(self, status: str) -> None:
        with self.execution.status_lock:
            self._check_cancel()
            self.execution.status = status
        if faults.phase_delay and self.execution.cancel_event.wait(faults.phase_delay):
            raise Cancelled
        spent = phase_durations.of(status)
        if spent and self.execution.cancel_event.wait(spent):
            raise Cancelled
        self._check_cancel()

    def _check_cancel(self) -> None:
        if self.execution.cancel_event.is_set():
            raise Cancelled

    def _finish_phase(self, started: float) -> None:
        result = self.execution.result
        result[f"{self.phase}Duration"] = int((time.monotonic() - started) * 1000)
        result[f"{self.phase}Status"] = "SUCCESS"

    def _fail(self, code: str, detail: str) -> None:
        result = self.execution.result
        result[f"{self.phase}Status"] = "ERROR"
        result["ErrorCode"] = code
        result["ErrorDetail"] = detail

    def _write_reports(self, final: str) -> None:
        config = self.execution.task_report_config
        if config is None:
            return
        summary = {
            "Status": final,
            "Result": dict(self.execution.result),
            "SourceLocationArn": self.source.arn,
            "DestinationLocationArn": self.destination.arn,
            "Options": dict(self.options),
        }
        try:
            self.execution.report_result = write_reports(
                config, self.report, self.execution.arn, summary, self.account_id, self.region
            )
        except Exception as error:  # the report must not keep the execution from ending
            LOG.exception("DataSync task report of %s failed", self.execution.arn)
            self.execution.report_result = {
                "Status": "ERROR",
                "ErrorCode": "ReportUploadFailed",
                "ErrorDetail": f"{type(error).__name__}: {error}",
            }

    def _inject_faults(self) -> None:
        if faults.hang:
            self.execution.cancel_event.wait()
            raise Cancelled
        if faults.error is not None:
            raise ExecutionFailed(*faults.error)

    # ---- locations

    def _mount(self) -> None:
        self.source_root = self._mount_source(as_efs_location(self.source))
        self.destination_root = self._location_root(
            as_efs_location(self.destination), for_write=True
        )

    def _mount_source(self, source: EfsLocation) -> Path:
        root = self._location_root(source, for_write=False)
        if not root.is_dir():
            raise ExecutionFailed(
                "SourceNotFound",
                f"Source location {source.uri} does not exist: mount.nfs4: mounting "
                f"{source.file_system_id}:{source.subdirectory} failed, reason "
                "given by server: No such file or directory",
            )
        return root

    def _location_root(self, location: EfsLocation, *, for_write: bool) -> Path:
        ap_id = location.access_point_id
        if ap_id is None:
            base = efs.file_system_path(location.file_system_id)
            if not base.is_dir():
                raise ExecutionFailed(
                    "LocationNotFound", f"EFS file system {location.file_system_id} is gone."
                )
            root = efs.resolve_under(base, location.subdirectory)
            if for_write and not root.is_dir():
                self._make_writer_dirs(base, root)
            return root
        try:
            mount = efs.mount_access_point(ap_id, account_id=self.account_id, region=self.region)
        except efs.AccessPointMountError as error:
            raise ExecutionFailed("AccessPointMountFailed", str(error)) from error
        except Exception as error:  # moto's AccessPointNotFound
            raise ExecutionFailed("AccessPointMountFailed", f"{ap_id}: {error}") from error
        root = efs.resolve_under(mount.root, location.subdirectory)
        if for_write:
            self.mount = mount
            if not root.is_dir():
                mount.make_dirs(root)
        return root

    @staticmethod
    def _make_writer_dirs(base: Path, root: Path) -> None:
        missing = []
        current = root
        while not current.exists() and current != base:
            missing.append(current)
            current = current.parent
        for path in reversed(missing):
            path.mkdir()
            posix.set_owner(path, WRITER_UID, WRITER_GID)

    # ---- prepare

    def _list_source(self, keep: Callable[[str, bool], bool]) -> dict[str, Entry]:
        return scan(self.source_root, keep)

    def _list_destination(self, keep: Callable[[str, bool], bool]) -> dict[str, Entry]:
        return scan(self.destination_root, keep)

    def _prepare(self) -> tuple[Plan, dict[str, Entry]]:
        keep = path_filter(self.execution.excludes, self.execution.includes)
        source = self._list_source(keep)
        destination = self._list_destination(keep)
        plan = Plan(transfer=[], metadata_only=set(), delete=[], skipped=0)
        kept: list[str] = []  # source directories the destination holds as non-directories
        for rel in sorted(source, key=lambda r: (r.count("/"), r) if r else (-1, "")):
            src, dst = source[rel], destination.get(rel)
            if any(rel.startswith(k + "/") for k in kept):
                plan.skipped += 1  # under a kept destination file: nothing to write into
                self.report.add("Skipped", src)
                continue
            decision = self._decide(src, dst)
            if decision == "skip":
                plan.skipped += 1
                self.report.add("Skipped", src, destination=dst)
                if src.kind == "dir" and dst is not None and dst.kind != "dir":
                    kept.append(rel)
                continue
            if decision == "metadata":
                plan.metadata_only.add(rel)
            plan.transfer.append(source[rel])
        if self.options["PreserveDeletedFiles"] == "REMOVE":
            plan.delete = sorted(
                (e for rel, e in destination.items() if rel and rel not in source),
                key=lambda e: -e.depth,
            )
        c = self.execution.counters
        c.listed_at_source = len(source)
        c.listed_at_destination = len(destination) if plan.delete else 0
        c.estimated_files = len(plan.transfer)
        c.estimated_bytes = sum(
            e.size for e in plan.transfer if e.kind == "file" and e.rel not in plan.metadata_only
        )
        c.estimated_deletes = len(plan.delete)
        c.prepared = len(plan.transfer)
        c.files_skipped = plan.skipped
        return plan, source

    def _decide(self, src: Entry, dst: Entry | None) -> str:
        """'copy', 'metadata' (data unchanged, metadata differs) or 'skip'."""
        if dst is None:
            return "copy"
        never = self.options["OverwriteMode"] == "NEVER"
        if src.rel == "":
            # The location root exists by construction: only its metadata can change.
            return "skip" if never or self._same_metadata(src, dst) else "metadata"
        if never:
            return "skip"
        if self.options["TransferMode"] == "ALL" or src.kind != dst.kind:
            return "copy"
        if src.kind == "file" and (src.size != dst.size or not self._same_mtime(src, dst)):
            return "copy"
        if src.kind == "symlink" and src.link != dst.link:
            return "copy"
        return "skip" if self._same_metadata(src, dst) else "metadata"

    def _same_mtime(self, src: Entry, dst: Entry) -> bool:
        return self.options["Mtime"] == "NONE" or src.mtime_ns // 10**9 == dst.mtime_ns // 10**9

    def _same_metadata(self, src: Entry, dst: Entry) -> bool:
        uid, gid = self._owner_for(src)
        if src.kind == "symlink":
            return (uid is None or uid == dst.uid) and (gid is None or gid == dst.gid)
        same_mode = self.options["PosixPermissions"] == "NONE" or src.mode == dst.mode
        same_owner = (uid is None or uid == dst.uid) and (gid is None or gid == dst.gid)
        same_time = src.kind == "dir" or self._same_mtime(src, dst)
        return same_mode and same_owner and same_time

    def _owner_for(self, src: Entry) -> tuple[int | None, int | None]:
        """Who should own the copy of `src` (None: whoever writes it)."""
        if self.mount is not None and self.mount.uid is not None:
            return self.mount.uid, self.mount.gid
        uid = src.uid if self.options["Uid"] != "NONE" else None
        gid = src.gid if self.options["Gid"] != "NONE" else None
        return uid, gid

    # ---- transfer

    def _transfer(self, plan: Plan) -> None:
        destination_root = self.destination_root
        failing = faults.fail_paths
        if failing and faults.fail_paths_runs > 0:
            faults.fail_paths_runs -= 1
            if faults.fail_paths_runs == 0:
                faults.fail_paths = ()
        for entry in plan.delete:
            self._check_cancel()
            self._delete(destination_root / entry.rel)
            self.execution.counters.files_deleted += 1
            self.report.add("Deleted", entry)
        for entry in plan.transfer:
            self._check_cancel()
            target = destination_root / entry.rel if entry.rel else destination_root
            if entry.kind == "file" and _matches(entry.rel, failing):
                self.failed_files += 1
                self.execution.counters.files_failed += 1
                error = ("OpFailed", f"Input/output error reading /{entry.rel}")
                self.report.add("Transferred", entry, error=error)
                continue
            if entry.rel in plan.metadata_only:
                self._apply_metadata(target, entry, created=False)
            else:
                self._copy_entry(entry, target)
            self.execution.counters.files_transferred += 1
            self.report.add("Transferred", entry)
        # Directory times and modes last: writing children changes a directory's mtime,
        # and a read-only directory mode would stop the copy into it.
        for path, entry in sorted(self.dir_metadata, key=lambda item: -item[1].depth):
            self._apply_metadata(path, entry, created=False, directory_pass=True)

    def _delete(self, path: Path) -> None:
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        elif path.exists() or path.is_symlink():
            path.unlink()
        posix.forget(path)

    def _copy_entry(self, entry: Entry, target: Path) -> None:
        if entry.kind == "dir":
            if target.is_symlink() or (target.exists() and not target.is_dir()):
                self._delete(target)
            created = not target.exists()
            if created:
                self._check_writable(target.parent)
                target.mkdir()
                posix.forget(target)
            self._apply_metadata(target, entry, created=created)
            return
        if target.is_symlink() or target.exists():
            self._delete(target)
        self._check_writable(target.parent)
        if entry.kind == "symlink":
            os.symlink(entry.link or "", target)
        elif entry.inode is not None and entry.inode in self.linked:
            os.link(self.linked[entry.inode], target)  # a hard link stays a hard link
        else:
            self._copy_bytes(entry, target)
            if entry.inode is not None and self._links_preserved():
                self.linked[entry.inode] = target
        self._apply_metadata(target, entry, created=True)

    def _links_preserved(self) -> bool:
        """Hard links are kept between NFS-like locations (EFS here), not in S3."""
        return isinstance(self.destination, EfsLocation)

    def _copy_bytes(self, entry: Entry, target: Path) -> None:
        counters = self.execution.counters
        with self._open_source(entry) as reader, target.open("wb") as writer:
            for chunk in iter(lambda: reader.read(1 << 20), b""):
                self._check_cancel()
                writer.write(chunk)
                counters.bytes_written += len(chunk)

    def _open_source(self, entry: Entry) -> BinaryIO:
        """The bytes of the source file `entry`."""
        return (self.source_root / entry.rel).open("rb")

    def _check_writable(self, directory: Path) -> None:
        if self.mount is None:
            return
        try:
            self.mount.check_writable(directory)
        except PermissionError as error:
            self.execution.counters.files_failed += 1
            raise ExecutionFailed("PermissionDenied", str(error)) from error

    def _apply_metadata(
        self, path: Path, entry: Entry, *, created: bool, directory_pass: bool = False
    ) -> None:
        """Owner now; for directories, mode and times in a last pass (see `_transfer`)."""
        if not created and not directory_pass:
            self._check_may_change(path)
        uid, gid = self._owner_for(entry)
        self._set_owner(path, uid, gid, created=created)
        if entry.kind == "dir" and not directory_pass:
            self.dir_metadata.append((path, entry))
            return
        if entry.kind != "symlink" and self.options["PosixPermissions"] == "PRESERVE":
            posix.set_mode(path, entry.mode)
        self._set_times(path, entry)

    def _check_may_change(self, path: Path) -> None:
        """Through an access point, only the owner may change an entry (else EPERM)."""
        if self.mount is None or self.mount.uid in (None, 0):
            return
        owner, _ = posix.stat_owner(path)
        if owner != self.mount.uid:
            self.execution.counters.files_failed += 1
            raise ExecutionFailed(
                "PermissionDenied",
                f"Operation not permitted: uid {self.mount.uid} cannot change the metadata "
                f"of {path.name or '/'} owned by uid {owner}",
            )

    def _set_owner(self, path: Path, uid: int | None, gid: int | None, *, created: bool) -> None:
        """Apply the wanted owner; an unset side is the writer's on new entries, else kept."""
        if created:
            writer_uid, writer_gid = WRITER_UID, WRITER_GID
            if self.mount is not None and self.mount.uid is not None:
                writer_uid, writer_gid = self.mount.uid, self.mount.gid or 0
        else:
            writer_uid, writer_gid = posix.stat_owner(path)
        posix.set_owner(
            path, writer_uid if uid is None else uid, writer_gid if gid is None else gid
        )

    def _set_times(self, path: Path, entry: Entry) -> None:
        if self.options["Mtime"] != "PRESERVE":
            return
        info = os.lstat(path)
        atime = entry.atime_ns if self.options["Atime"] == "BEST_EFFORT" else info.st_atime_ns
        os.utime(path, ns=(atime, entry.mtime_ns), follow_symlinks=False)

    # ---- verify

    def _verify(self, plan: Plan, source_entries: dict[str, Entry]) -> None:
        mode = self.options["VerifyMode"]
        if mode == "NONE":
            self.execution.result["VerifyStatus"] = "SUCCESS"
            return
        if mode == "ONLY_FILES_TRANSFERRED":
            to_check = [e for e in plan.transfer if e.rel not in plan.metadata_only]
        else:
            kept = self.options["OverwriteMode"] == "NEVER"
            transferred = {e.rel for e in plan.transfer}
            to_check = [e for e in source_entries.values() if not kept or e.rel in transferred]
        for entry in to_check:
            self._check_cancel()
            try:
                self._verify_entry(entry)
            except ExecutionFailed as failure:
                self.report.add("Verified", entry, error=(failure.code, failure.detail))
                raise
            self.execution.counters.files_verified += 1
            self.report.add("Verified", entry)

    def _verify_entry(self, entry: Entry) -> None:
        target = self.destination_root / entry.rel if entry.rel else self.destination_root
        ok = target.exists() or target.is_symlink()
        if ok and entry.kind == "file":
            with self._open_source(entry) as source:
                ok = sha256(source) == sha256(target)
        elif ok and entry.kind == "symlink":
            ok = target.is_symlink() and os.readlink(target) == entry.link
        if not ok:
            raise ExecutionFailed(
                "VerificationFailed",
                f"Verification failed: /{entry.rel} differs between source and destination.",
            )


def _matches(rel: str, patterns: tuple[str, ...]) -> bool:
    return any(fnmatch.fnmatchcase(rel, pattern) for pattern in patterns)
