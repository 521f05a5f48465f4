"""The backup bucket: DataSync manifests of restores from a backup.

A restore from a backup reads every object of one home directory's prefix as it was at
`as_of` (the backup's end). The bucket is versioned, so that state is, per key, the newest
version or delete marker written at or before `as_of`; a key whose newest such entry is a
delete marker did not exist then. `choose_versions` picks them from ListObjectVersions.

When that state is the prefix's current state (the usual case: the latest backup), no
manifest is needed: a task without one transfers the current objects, directories with
their own metadata (DataSync keeps folder permissions as S3 user metadata and restores
them: "Understanding how DataSync handles file and object metadata"), so `.ssh` comes
back 0700. Otherwise `manifest_csv` writes the DataSync CSV manifest (`<path relative to
the prefix>,<version id>`, one line per file: the manifest guide says "You can't specify
only a directory or folder", so directory markers are left out and such directories come
back with default modes), and `ManifestWriter` stores it at `manifests/<restore_id>.csv`
(docs/internals.md section 7).

Throttling or a 5xx that outlives botocore's retries becomes `TransientAwsError`.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3

from studio_recovery.dal.aws_errors import RETRY_CONFIG, transient_aws_errors
from studio_recovery.models.aws import Manifest
from studio_recovery.models.restore import MANIFEST_ROOT


@dataclass(frozen=True)
class ObjectVersion:
    """One entry of ListObjectVersions: a version, or a delete marker."""

    key: str
    version_id: str
    last_modified: datetime
    is_delete_marker: bool = False
    is_latest: bool = False
    """The key's current entry (newer than every other version or marker of it)."""
    listed_at: int = 0
    """Position in S3's listing (S3 lists a key's entries newest first)."""


@dataclass(frozen=True)
class ManifestEntry:
    """One line of a manifest: an object path relative to the prefix, and its version."""

    path: str
    version_id: str


def manifest_key(restore_id: str) -> str:
    """`manifests/<restore_id>.csv`."""
    return f"{MANIFEST_ROOT}/{restore_id}.csv"


def cutoff(as_of: datetime) -> datetime:
    """The first moment after `as_of` as the registry means it.

    Registry times are kept to the whole second (`2026-11-28T14:08:57Z`), while S3 keeps
    milliseconds: an object written during the second a backup ended was written before
    its end, so the whole of that second counts.
    """
    moment = as_of if as_of.tzinfo is not None else as_of.replace(tzinfo=UTC)
    if moment.microsecond == 0:
        return moment + timedelta(seconds=1)
    return moment + timedelta(microseconds=1)


NOW_AND_LATER = datetime(9000, 1, 1, tzinfo=UTC)
"""An `as_of` after every entry: the prefix's current state."""


def is_directory(entry: ManifestEntry) -> bool:
    """A directory marker (`dir/`): never a manifest line."""
    return entry.path.endswith("/")


def choose_versions(
    entries: Iterable[ObjectVersion], prefix: str, as_of: datetime
) -> list[ManifestEntry]:
    """Per key under `prefix`: the newest entry written by `as_of`, unless it is a delete
    marker. Directory markers (`dir/`) are part of that state (a manifest leaves them
    out: `is_directory`); the prefix's own marker (the home root) is not: the new home's
    root belongs to the access point. Sorted by path.

    Between entries of one key with the same time: the key's latest entry (`IsLatest`)
    wins, then the one S3 listed first (S3 lists newest first); between a version and a
    delete marker neither of which is the latest, the version, so that a tie never loses
    a file.
    """
    before = cutoff(as_of)
    newest: dict[str, ObjectVersion] = {}
    for entry in entries:
        if not entry.key.startswith(prefix) or entry.key == prefix:
            continue
        if _utc(entry.last_modified) >= before:
            continue
        best = newest.get(entry.key)
        if best is None or _newer(entry, best):
            newest[entry.key] = entry
    return sorted(
        (
            ManifestEntry(path=key[len(prefix) :], version_id=entry.version_id)
            for key, entry in newest.items()
            if not entry.is_delete_marker
        ),
        key=lambda line: line.path,
    )


def _newer(candidate: ObjectVersion, best: ObjectVersion) -> bool:
    """Is `candidate` a newer entry of its key than `best`?"""
    candidate_time, best_time = _utc(candidate.last_modified), _utc(best.last_modified)
    if candidate_time != best_time:
        return candidate_time > best_time
    if candidate.is_latest != best.is_latest:
        return candidate.is_latest
    if candidate.is_delete_marker != best.is_delete_marker:
        return not candidate.is_delete_marker
    return candidate.listed_at < best.listed_at


def _utc(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def manifest_csv(entries: Iterable[ManifestEntry]) -> str:
    """The CSV DataSync reads: `<path>,<version id>` per line; a field with a comma, a
    quote or a line break is quoted (quotes doubled)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, quoting=csv.QUOTE_MINIMAL, lineterminator="\n")
    for entry in entries:
        writer.writerow([entry.path, entry.version_id])
    return buffer.getvalue()


def parse_versions(page: Mapping[str, Any], start: int = 0) -> list[ObjectVersion]:
    """The versions and delete markers of one ListObjectVersions page."""
    found: list[ObjectVersion] = []
    for field, is_marker in (("Versions", False), ("DeleteMarkers", True)):
        for raw in page.get(field) or []:
            found.append(
                ObjectVersion(
                    key=str(raw["Key"]),
                    version_id=str(raw.get("VersionId") or "null"),
                    last_modified=raw["LastModified"],
                    is_delete_marker=is_marker,
                    is_latest=bool(raw.get("IsLatest")),
                    listed_at=start + len(found),
                )
            )
    return found


class ManifestWriter:
    """Lists a backup prefix's object versions and writes restore manifests."""

    def __init__(self, client: Any | None = None, *, page_size: int | None = None) -> None:
        self._client: Any = client or boto3.client("s3", config=RETRY_CONFIG)
        self._page_size = page_size

    def list_versions(self, bucket: str, prefix: str) -> Iterator[ObjectVersion]:
        """Every version and delete marker under `prefix` (all pages)."""
        kwargs: dict[str, Any] = {"Bucket": bucket, "Prefix": prefix}
        if self._page_size is not None:
            kwargs["MaxKeys"] = self._page_size
        listed = 0
        while True:
            with transient_aws_errors("s3 list_object_versions"):
                page = self._client.list_object_versions(**kwargs)
            entries = parse_versions(page, start=listed)
            listed += len(entries)
            yield from entries
            if not page.get("IsTruncated"):
                return
            kwargs["KeyMarker"] = page.get("NextKeyMarker")
            kwargs["VersionIdMarker"] = page.get("NextVersionIdMarker")

    def write_manifest(
        self,
        *,
        source_bucket: str,
        prefix: str,
        as_of: datetime,
        manifest_bucket: str,
        restore_id: str,
    ) -> Manifest | None:
        """Write `manifests/<restore_id>.csv` in `manifest_bucket`: the files of
        `source_bucket`/`prefix` as they were at `as_of`; None (nothing written) when that
        is the prefix's current state, so the task needs no manifest."""
        versions = list(self.list_versions(source_bucket, prefix))
        state = choose_versions(versions, prefix, as_of)
        if state == choose_versions(versions, prefix, NOW_AND_LATER):
            return None
        entries = [entry for entry in state if not is_directory(entry)]
        key = manifest_key(restore_id)
        with transient_aws_errors("s3 put_object"):
            reply = self._client.put_object(
                Bucket=manifest_bucket,
                Key=key,
                Body=manifest_csv(entries).encode("utf-8"),
                ContentType="text/csv",
            )
        version_id = reply.get("VersionId")
        return Manifest(
            bucket=manifest_bucket,
            key=key,
            version_id=str(version_id) if version_id and version_id != "null" else None,
            entries=len(entries),
        )
