"""Read a restore's DataSync task report: what the new home got, misses, and kept.

A restore's task is created with a STANDARD task report (`models.datasync.TaskReport`):
every entry DataSync attempted to transfer and every entry it skipped is listed with its
result, errors of verification too (docs/internals.md section 4). In Basic mode that is the
only per-file account DataSync gives: `FilesListed` is reported for Enhanced-mode tasks only
and `FilesTransferred` counts directories and "is not an exact indication".

- an entry transferred (and not failing verification) is restored;
- an entry skipped because the new home already has that path is kept as the user left it:
  a conflict when the two differ in kind (file / directory) or, for two files, in size or
  modification time (an identical file, say from an earlier run of the same restore, is
  simply present); what lies under a source directory the user's file stands in for is
  part of that conflict;
- every other entry (failed to transfer or verify, or skipped for another reason) is
  missing.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from typing import Any

from studio_recovery.models.report import (
    MAX_LISTED,
    Conflict,
    ConflictKind,
    CopyCheck,
    short_path,
)
from studio_recovery.models.restore import RestoreOutcome, TransferStats

ASPECTS = ("Transferred", "Skipped", "Verified")
"""The detailed reports a restore reads (a restore never deletes)."""
_OK = {"SUCCESS", "SUCCEEDED", "OK"}


def check_copy(
    documents: Iterable[Mapping[str, Any]], restored_before: Collection[str] = frozenset()
) -> CopyCheck:
    """The digest of an execution's report documents (any order, any split into objects).

    `restored_before`: the paths earlier steps of the same restore transferred into the new
    home (a newer home's version, docs/internals.md section 4). Such a path, skipped now, is
    the newer version kept as planned, not a conflict with something the user made."""
    transferred: set[str] = set()
    failed: set[str] = set()
    skipped: dict[str, Mapping[str, Any]] = {}
    for document in documents:
        for aspect in ASPECTS:
            entries = document.get(aspect)
            for entry in entries if isinstance(entries, list) else []:
                if not isinstance(entry, Mapping):
                    continue
                path = _path(entry)
                if path is None:
                    continue
                ok = _succeeded(entry)
                if not ok:
                    failed.add(path)
                elif aspect == "Transferred":
                    transferred.add(path)
                elif aspect == "Skipped":
                    skipped[path] = entry
    kinds: dict[str, ConflictKind] = {}
    identical = 0
    newer: set[str] = set()
    """Paths an earlier step filled with a non-directory: the older tree under them is
    replaced by the newer version, neither missing nor a conflict."""
    for path, entry in skipped.items():
        if path in restored_before:
            identical += 1
            if _type(entry.get("DstMetadata")) != "Directory":
                newer.add(path)
            continue
        kind = _conflict_kind(entry)
        if kind is not None:
            kinds[path] = kind
        elif isinstance(entry.get("DstMetadata"), Mapping):
            identical += 1
    source = transferred | failed | set(skipped)
    blocked: dict[str, int] = dict.fromkeys(kinds, 0)
    missing: list[str] = []
    for path in sorted(source):
        if path in kinds or path in newer:
            continue
        if _under(path, newer):
            identical += 1
            continue
        owner = _conflicting_ancestor(path, kinds)
        if owner is not None:
            blocked[owner] += 1
        elif path in failed or (path in skipped and not _has_dst(skipped[path])):
            missing.append(path)
    conflicts = [
        Conflict(path=short_path(path), kind=kinds[path], blocked=blocked[path])
        for path in sorted(kinds)
    ]
    return CopyCheck(
        source_entries=len(source),
        restored=len(transferred - failed) + identical,
        missing=[short_path(p) for p in missing[:MAX_LISTED]],
        missing_count=len(missing),
        conflicts=conflicts[:MAX_LISTED],
        conflict_count=len(conflicts),
    )


def _path(entry: Mapping[str, Any]) -> str | None:
    """`/a/b` for an entry, None for the location's root (it exists by construction)."""
    raw = entry.get("RelativePath")
    if not isinstance(raw, str):
        return None
    parts = [p for p in raw.split("/") if p not in ("", ".")]
    return "/" + "/".join(parts) if parts else None


def _succeeded(entry: Mapping[str, Any]) -> bool:
    if entry.get("ErrorCode"):
        return False
    for key in ("Status", "TransferStatus", "VerifyStatus", "SkipStatus"):
        value = entry.get(key)
        if isinstance(value, str):
            return value.upper() in _OK
    return True


def _type(metadata: object) -> str:
    return str(metadata.get("Type", "")) if isinstance(metadata, Mapping) else ""


def _has_dst(entry: Mapping[str, Any]) -> bool:
    return isinstance(entry.get("DstMetadata"), Mapping)


def _conflict_kind(entry: Mapping[str, Any]) -> ConflictKind | None:
    source, destination = entry.get("SrcMetadata"), entry.get("DstMetadata")
    if not isinstance(destination, Mapping) or not isinstance(source, Mapping):
        return None
    source_dir, destination_dir = _type(source) == "Directory", _type(destination) == "Directory"
    if source_dir and destination_dir:
        return None  # both directories: their contents merge
    if source_dir:
        return "file-over-directory"
    if destination_dir:
        return "directory-over-file"
    same = all(source.get(key) == destination.get(key) for key in ("Type", "ContentSize", "Mtime"))
    return None if same else "changed-file"


def _under(path: str, parents: Collection[str]) -> bool:
    parent = path.rsplit("/", 1)[0]
    while parent:
        if parent in parents:
            return True
        parent = parent.rsplit("/", 1)[0]
    return False


def _conflicting_ancestor(path: str, kinds: Mapping[str, ConflictKind]) -> str | None:
    parent = path.rsplit("/", 1)[0]
    while parent:
        if kinds.get(parent) == "file-over-directory":
            return parent
        parent = parent.rsplit("/", 1)[0]
    return None


def outcome_from_report(
    source_name: str,
    describe: Mapping[str, Any],
    documents: Sequence[Mapping[str, Any]] | None,
    stats: TransferStats,
    restored_before: Collection[str] = frozenset(),
) -> RestoreOutcome:
    """SUCCEEDED only when the report accounts for every entry of the source: restored,
    or kept because the user already had that path (a conflict, named). Otherwise PARTIAL
    (some entries restored, the missing ones listed) or FAILED. `documents` None: the
    report was not found; `restored_before` as in `check_copy`."""
    status = describe.get("Status")
    error = _datasync_error(describe) if status == "ERROR" else None
    report_result = _mapping(describe.get("ReportResult"))
    if documents is None or report_result.get("Status") != "SUCCESS":
        said = report_result.get("Status") or "no report"
        detail = report_result.get("ErrorDetail") or report_result.get("ErrorCode")
        unknown = (
            f"DataSync made no complete task report ({said}{': ' + str(detail) if detail else ''})"
            ", so what the new home got is unknown; restore again"
        )
        reason = f"{error}; {unknown}" if error else f"the transfer ended {status} but {unknown}"
        return RestoreOutcome(status="FAILED", reason=reason, stats=stats)
    check = check_copy(documents, restored_before)
    if check.source_entries == 0:
        if error is not None:
            return RestoreOutcome(status="FAILED", reason=error, stats=stats, check=check)
        return RestoreOutcome(
            status="SOURCE_EMPTY",
            reason=f"{source_name} had no files",
            stats=stats,
            check=check,
        )
    kept = f"; kept the user's version of {check.conflict_count} paths: " if check.conflicts else ""
    kept += check.describe_conflicts() if check.conflicts else ""
    if check.complete and error is None:
        return RestoreOutcome(
            status="SUCCEEDED",
            reason=f"restored {check.restored} of {check.source_entries} entries "
            f"({stats.bytes_file_transferred} bytes){kept}",
            stats=stats,
            check=check,
        )
    if check.complete:  # ERROR, yet the report lists nothing that failed: not to be trusted
        return RestoreOutcome(
            status="FAILED",
            reason=f"{error}; the task report names no missing entry, so what is missing is "
            f"unknown; restore again{kept}",
            stats=stats,
            check=check,
        )
    missing = (
        f"{check.missing_count} of {check.source_entries} entries missing from the new home: "
        f"{check.describe_missing()}"
    )
    status_now = "PARTIAL" if check.restored or check.conflicts else "FAILED"
    said = f" ({error})" if error else ""
    return RestoreOutcome(
        status=status_now,
        reason=f"{missing}{said}; restored {check.restored}{kept}",
        stats=stats,
        check=check,
    )


def _datasync_error(describe: Mapping[str, Any]) -> str:
    result = _mapping(describe.get("Result"))
    code = result.get("ErrorCode") or "DataSync error"
    detail = result.get("ErrorDetail") or "no detail given"
    return f"{code}: {detail}"


def _mapping(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def transferred_paths(documents: Iterable[Mapping[str, Any]]) -> set[str]:
    """The paths an execution's report lists as transferred without error."""
    found: set[str] = set()
    for document in documents:
        entries = document.get("Transferred")
        for entry in entries if isinstance(entries, list) else []:
            if isinstance(entry, Mapping) and _succeeded(entry):
                path = _path(entry)
                if path is not None:
                    found.add(path)
    return found
