"""The backup bucket: what a restore from a backup reads, staged when it is an older one.

A restore from a backup reads every object of one home directory's prefix as it was at
`as_of` (the backup's end). The bucket is versioned, so that state is, per key, the newest
version or delete marker written at or before `as_of`; a key whose newest such entry is a
delete marker did not exist then. `choose_versions` picks them from ListObjectVersions.

DataSync keeps the POSIX metadata of files and folders (modification and access times,
uid and gid, permissions) as S3 user metadata and restores it when it copies the objects
back to a file system ("Understanding how DataSync handles file and object metadata"). A
task without a manifest reads the current objects of its location, folders included, so:

- when the state at `as_of` is the prefix's current state (the usual case: the latest
  backup), the task reads the prefix itself;
- otherwise `BackupStaging.stage` copies each chosen version, folder objects (`dir/`)
  included, server side (CopyObject, which keeps the user metadata; UploadPartCopy over
  5 GiB) to `staging/<restore_id>/`, and the task reads that prefix, again without a
  manifest. A DataSync manifest could not do this: it lists files only ("You can't specify
  only a directory or folder", manifest guide), so folders would come back with default
  modes. `delete_staged` removes every version under the staging prefix once the restore
  ended (finalize); a lifecycle rule on `staging/` is the safety net (docs/internals.md
  section 7).

Throttling or a 5xx that outlives botocore's retries becomes `TransientAwsError`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

import boto3
from botocore.config import Config

from studio_recovery.dal.aws_errors import transient_aws_errors
from studio_recovery.models.aws import Staged
from studio_recovery.models.restore import STAGING_ROOT


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
    size: int = 0


@dataclass(frozen=True)
class ChosenVersion:
    """One object of the state a restore reads: its path relative to the prefix, its
    version, and its size."""

    path: str
    version_id: str
    size: int = 0


STAGING_WORKERS = 16
"""Copies (and deletions) of a staging run at once: server-side calls, I/O bound."""
COPY_OBJECT_LIMIT = 5 * 1024**3
"""CopyObject copies objects up to 5 GiB; larger ones are copied in parts."""
COPY_PART_SIZE = 512 * 1024**2
"""Part size of a multipart copy (S3 allows 5 MiB to 5 GiB, at most 10,000 parts)."""
STAGING_CONFIG = Config(
    retries={"mode": "standard", "max_attempts": 5},
    connect_timeout=5,
    max_pool_connections=STAGING_WORKERS,
)


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


def is_directory(entry: ChosenVersion) -> bool:
    """A folder object (`dir/`): DataSync's record of a directory and its metadata."""
    return entry.path.endswith("/")


def choose_versions(
    entries: Iterable[ObjectVersion], prefix: str, as_of: datetime
) -> list[ChosenVersion]:
    """Per key under `prefix`: the newest entry written by `as_of`, unless it is a delete
    marker. Folder objects (`dir/`) are part of that state (they carry the directories'
    modes); the prefix's own marker (the home root) is not: the new home's root belongs to
    the access point. Sorted by path.

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
            ChosenVersion(path=key[len(prefix) :], version_id=entry.version_id, size=entry.size)
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
                    size=int(raw.get("Size") or 0),
                )
            )
    return found


def check_staging_prefix(prefix: str) -> None:
    """Only `staging/<restore_id>/` is ever staged into or deleted: never a backup."""
    parts = prefix.split("/")
    if len(parts) != 3 or parts[0] != STAGING_ROOT or not parts[1] or parts[2]:
        raise ValueError(f"not a staging prefix: {prefix!r} (expected {STAGING_ROOT}/<id>/)")


class BackupStaging:
    """Lists a backup prefix's object versions, stages a restore's chosen versions, and
    deletes them again."""

    def __init__(
        self,
        client: Any | None = None,
        *,
        page_size: int | None = None,
        workers: int = STAGING_WORKERS,
        copy_limit: int = COPY_OBJECT_LIMIT,
        part_size: int = COPY_PART_SIZE,
    ) -> None:
        self._client: Any = client or boto3.client("s3", config=STAGING_CONFIG)
        self._page_size = page_size
        self._workers = workers
        self._copy_limit = copy_limit
        self._part_size = part_size

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

    def stage(
        self, *, bucket: str, prefix: str, as_of: datetime, staging_prefix: str
    ) -> Staged | None:
        """Copy the objects of `bucket`/`prefix` as they were at `as_of`, folder objects
        included, to `staging_prefix` (whatever an earlier attempt left there is deleted
        first); None (nothing copied) when that is the prefix's current state, so the
        restore reads the prefix itself."""
        check_staging_prefix(staging_prefix)
        versions = list(self.list_versions(bucket, prefix))
        state = choose_versions(versions, prefix, as_of)
        if state == choose_versions(versions, prefix, NOW_AND_LATER):
            return None
        self.delete_staged(bucket, staging_prefix)
        self._each(
            [partial(self._copy, bucket, prefix, chosen, staging_prefix) for chosen in state]
        )
        return Staged(
            bucket=bucket,
            prefix=staging_prefix,
            objects=len(state),
            bytes=sum(chosen.size for chosen in state),
        )

    def delete_staged(self, bucket: str, staging_prefix: str) -> int:
        """Delete every version and delete marker under `staging_prefix` (only a staging
        prefix: `check_staging_prefix`); returns how many there were."""
        check_staging_prefix(staging_prefix)
        entries = list(self.list_versions(bucket, staging_prefix))
        self._each([partial(self._delete, bucket, entry) for entry in entries])
        return len(entries)

    def _each(self, calls: Sequence[Callable[[], None]]) -> None:
        """Run the calls `workers` at a time; the first failure is raised once all ended."""
        if not calls:
            return
        with ThreadPoolExecutor(max_workers=min(self._workers, len(calls))) as pool:
            futures = [pool.submit(call) for call in calls]
        for future in futures:
            future.result()

    def _copy(self, bucket: str, prefix: str, chosen: ChosenVersion, staging_prefix: str) -> None:
        source = {"Bucket": bucket, "Key": prefix + chosen.path, "VersionId": chosen.version_id}
        key = staging_prefix + chosen.path
        if chosen.size > self._copy_limit:
            self._copy_in_parts(bucket, source, key, chosen.size)
            return
        with transient_aws_errors("s3 copy_object"):
            # The user metadata (DataSync's POSIX metadata) is copied; tags are not needed.
            self._client.copy_object(
                Bucket=bucket,
                Key=key,
                CopySource=source,
                MetadataDirective="COPY",
                TaggingDirective="REPLACE",
            )

    def _copy_in_parts(self, bucket: str, source: dict[str, str], key: str, size: int) -> None:
        """UploadPartCopy, with the source version's user metadata and content type."""
        with transient_aws_errors("s3 head_object"):
            head = self._client.head_object(
                Bucket=bucket, Key=source["Key"], VersionId=source["VersionId"]
            )
        extra: dict[str, Any] = {"Metadata": head.get("Metadata") or {}}
        if head.get("ContentType"):
            extra["ContentType"] = head["ContentType"]
        with transient_aws_errors("s3 create_multipart_upload"):
            upload_id = self._client.create_multipart_upload(Bucket=bucket, Key=key, **extra)[
                "UploadId"
            ]
        try:
            parts = []
            for number, start in enumerate(range(0, size, self._part_size), start=1):
                end = min(start + self._part_size, size) - 1
                with transient_aws_errors("s3 upload_part_copy"):
                    reply = self._client.upload_part_copy(
                        Bucket=bucket,
                        Key=key,
                        UploadId=upload_id,
                        PartNumber=number,
                        CopySource=source,
                        CopySourceRange=f"bytes={start}-{end}",
                    )
                parts.append({"PartNumber": number, "ETag": reply["CopyPartResult"]["ETag"]})
            with transient_aws_errors("s3 complete_multipart_upload"):
                self._client.complete_multipart_upload(
                    Bucket=bucket, Key=key, UploadId=upload_id, MultipartUpload={"Parts": parts}
                )
        except Exception:
            self._client.abort_multipart_upload(Bucket=bucket, Key=key, UploadId=upload_id)
            raise

    def _delete(self, bucket: str, entry: ObjectVersion) -> None:
        with transient_aws_errors("s3 delete_object"):
            self._client.delete_object(Bucket=bucket, Key=entry.key, VersionId=entry.version_id)
