"""DataSync S3 locations in the sandbox, and executions between EFS and S3 that really copy.

Extends :mod:`.copier` (same tasks, options, phases, counters and faults) with:

- `CreateLocationS3`/`DescribeLocationS3` validated like AWS: the bucket must exist in the
  sandbox's S3, `S3Config.BucketAccessRoleArn` must name an existing IAM role that
  DataSync (`datasync.amazonaws.com`) may assume;
- `ManifestConfig` on tasks (Action TRANSFER, Format CSV, Source.S3);
- EFS -> S3 executions: each entry becomes an object under the location's prefix
  (directories as `dir/` markers), its POSIX metadata in the object's user metadata
  (`file-owner`, `file-group`, `file-permissions`, `file-mtime`, `file-atime`, the keys
  File Gateway and DataSync use); a removal is `DeleteObject` (a delete marker on a
  versioned bucket);
- S3 -> EFS executions: the current objects under the prefix, or exactly the
  `<relative path>,<version id>` lines of the task's manifest, restored with their metadata
  through the EFS location's rules (access point identity, OverwriteMode NEVER, ...).

Objects are read and written through moto's in-process S3 backend, so bucket versioning
and encryption are moto's.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import stat
import time
from collections.abc import Callable
from typing import Any, BinaryIO

from moto.datasync.exceptions import InvalidRequestException
from moto.iam.models import iam_backends
from moto.s3.models import FakeKey, S3Backend, s3_backends
from moto.utilities.utils import get_partition

from studio_sandbox.datasync.copier import Plan, Runner, as_efs_location
from studio_sandbox.datasync.models import (
    EfsLocation,
    Entry,
    Execution,
    ExecutionFailed,
    S3Location,
    normalise_subdirectory,
    parse_arn,
)

DATASYNC_PRINCIPAL = "datasync.amazonaws.com"
STORAGE_CLASSES = (
    "STANDARD",
    "STANDARD_IA",
    "ONEZONE_IA",
    "INTELLIGENT_TIERING",
    "GLACIER",
    "DEEP_ARCHIVE",
    "OUTPOSTS",
    "GLACIER_INSTANT_RETRIEVAL",
)

META_OWNER = "x-amz-meta-file-owner"
META_GROUP = "x-amz-meta-file-group"
META_PERMISSIONS = "x-amz-meta-file-permissions"
META_MTIME = "x-amz-meta-file-mtime"
META_ATIME = "x-amz-meta-file-atime"
META_AGENT = "x-amz-meta-user-agent"

_TYPE_BITS = {"file": stat.S_IFREG, "dir": stat.S_IFDIR, "symlink": stat.S_IFLNK}
_IMPLIED_DIR_MODE = 0o755


# --------------------------------------------------------------------------- locations


def new_location(params: dict[str, Any], arn: str, account_id: str, region: str) -> S3Location:
    """A validated S3 location from CreateLocationS3's parameters."""
    bucket_arn = params.get("S3BucketArn")
    bucket = _bucket_name(bucket_arn, "S3BucketArn")
    _check_bucket(account_id, region, bucket)
    s3_config = params.get("S3Config")
    if not isinstance(s3_config, dict) or not s3_config.get("BucketAccessRoleArn"):
        raise InvalidRequestException("S3Config.BucketAccessRoleArn is required.")
    check_role(account_id, s3_config["BucketAccessRoleArn"], "S3Config.BucketAccessRoleArn")
    storage_class = params.get("S3StorageClass") or "STANDARD"
    if storage_class not in STORAGE_CLASSES:
        raise InvalidRequestException(
            f"Invalid S3StorageClass {storage_class!r}; expected one of "
            f"{', '.join(STORAGE_CLASSES)}."
        )
    return S3Location(
        arn=arn,
        region=region,
        bucket=bucket,
        bucket_arn=str(bucket_arn),
        subdirectory=normalise_subdirectory(params.get("Subdirectory")),
        s3_config={"BucketAccessRoleArn": s3_config["BucketAccessRoleArn"]},
        storage_class=storage_class,
        tags=params.get("Tags") or [],
    )


def _bucket_name(bucket_arn: Any, what: str) -> str:
    prefix = "arn:aws:s3:::"
    name = bucket_arn[len(prefix) :] if isinstance(bucket_arn, str) else ""
    if not isinstance(bucket_arn, str) or not bucket_arn.startswith(prefix) or not name:
        raise InvalidRequestException(f"Invalid {what}: {bucket_arn!r}")
    if "/" in name:
        raise InvalidRequestException(
            f"Invalid {what}: {bucket_arn!r}; the sandbox supports bucket ARNs only "
            "(no access points or outposts)."
        )
    return name


def _s3(account_id: str, region: str) -> S3Backend:
    return s3_backends[account_id][get_partition(region)]


def _check_bucket(account_id: str, region: str, bucket: str) -> None:
    if bucket not in _s3(account_id, region).buckets:
        raise InvalidRequestException(
            f"DataSync location access test failed: could not perform s3:ListObjectsV2 on "
            f"bucket {bucket}. The specified bucket does not exist."
        )


def check_role(account_id: str, role_arn: Any, what: str) -> None:
    """`role_arn` is an existing role whose trust policy lets DataSync assume it."""
    _, _, resource = parse_arn(role_arn, "iam", "role", what)
    name = resource.rsplit("/", 1)[-1]
    iam = iam_backends[account_id]["global"]
    try:
        role = iam.get_role(name)
    except Exception:  # moto's IAMNotFoundException
        raise InvalidRequestException(f"{what} {role_arn} does not exist.") from None
    if not _trusts_datasync(role.assume_role_policy_document):
        raise InvalidRequestException(
            f"DataSync cannot assume {what} {role_arn}: its trust policy must allow "
            f"sts:AssumeRole to the service principal {DATASYNC_PRINCIPAL}."
        )


def _trusts_datasync(document: Any) -> bool:
    try:
        policy = json.loads(document) if isinstance(document, str) else document
    except ValueError:
        return False
    statements = policy.get("Statement", []) if isinstance(policy, dict) else []
    for statement in statements if isinstance(statements, list) else [statements]:
        actions = _as_list(statement.get("Action"))
        services = _as_list((statement.get("Principal") or {}).get("Service"))
        if (
            statement.get("Effect") == "Allow"
            and any(a in ("sts:AssumeRole", "sts:*", "*") for a in actions)
            and DATASYNC_PRINCIPAL in services
        ):
            return True
    return False


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value] if value is not None else []


def validate_manifest_config(config: Any, account_id: str) -> dict[str, Any]:
    """ManifestConfig as stored on a task: Action TRANSFER, Format CSV, Source.S3."""
    if not isinstance(config, dict):
        raise InvalidRequestException("Invalid ManifestConfig.")
    action, fmt = config.get("Action", "TRANSFER"), config.get("Format", "CSV")
    if action != "TRANSFER":
        raise InvalidRequestException(f"Invalid ManifestConfig.Action {action!r}: TRANSFER.")
    if fmt != "CSV":
        raise InvalidRequestException(f"Invalid ManifestConfig.Format {fmt!r}: CSV.")
    source = (config.get("Source") or {}).get("S3")
    if not isinstance(source, dict):
        raise InvalidRequestException("ManifestConfig.Source.S3 is required.")
    path = source.get("ManifestObjectPath")
    if not isinstance(path, str) or not path or len(path) > 1024:
        raise InvalidRequestException("ManifestConfig.Source.S3.ManifestObjectPath is required.")
    _bucket_name(source.get("S3BucketArn"), "ManifestConfig.Source.S3.S3BucketArn")
    role = source.get("BucketAccessRoleArn")
    check_role(account_id, role, "ManifestConfig.Source.S3.BucketAccessRoleArn")
    kept = ("ManifestObjectPath", "S3BucketArn", "BucketAccessRoleArn", "ManifestObjectVersionId")
    return {
        "Action": action,
        "Format": fmt,
        "Source": {"S3": {k: source[k] for k in kept if source.get(k)}},
    }


# --------------------------------------------------------------------------- objects


def _object_metadata(entry: Entry, uid: int | None, gid: int | None) -> dict[str, str]:
    """The user metadata DataSync keeps on an object (POSIX metadata of the entry)."""
    metadata = {
        META_AGENT: "aws-datasync",
        META_PERMISSIONS: format(_TYPE_BITS[entry.kind] | entry.mode, "07o"),
        META_MTIME: f"{entry.mtime_ns}ns",
        META_ATIME: f"{entry.atime_ns}ns",
    }
    if uid is not None:
        metadata[META_OWNER] = str(uid)
    if gid is not None:
        metadata[META_GROUP] = str(gid)
    return metadata


def _object_entry(rel: str, key: FakeKey) -> Entry:
    """The POSIX entry an object stands for (defaults where metadata is missing)."""
    metadata = key.metadata
    is_dir = key.name.endswith("/")
    default_bits = (stat.S_IFDIR | 0o755) if is_dir else (stat.S_IFREG | 0o644)
    bits = _int(metadata.get(META_PERMISSIONS), default_bits, base=8)
    kind = "dir" if is_dir else "symlink" if stat.S_ISLNK(bits) else "file"
    modified_ns = int(key.last_modified.timestamp() * 10**9)
    mtime_ns = _int(str(metadata.get(META_MTIME, "")).removesuffix("ns"), modified_ns)
    atime_ns = _int(str(metadata.get(META_ATIME, "")).removesuffix("ns"), mtime_ns)
    return Entry(
        rel=rel,
        kind=kind,
        size=key.size if kind == "file" else 0,
        mode=stat.S_IMODE(bits),
        uid=_int(metadata.get(META_OWNER), 0),
        gid=_int(metadata.get(META_GROUP), 0),
        mtime_ns=mtime_ns,
        atime_ns=atime_ns,
        link=key.value.decode("utf-8", "surrogateescape") if kind == "symlink" else None,
    )


def _int(value: Any, default: int, base: int = 10) -> int:
    try:
        return int(str(value), base) if value not in (None, "") else default
    except ValueError:
        return default


def _rel(prefix: str, key_name: str) -> str | None:
    """The entry path of an object under `prefix` ('' for the prefix's own marker)."""
    if not key_name.startswith(prefix):
        return None
    return key_name[len(prefix) :].rstrip("/")


def _key_name(prefix: str, entry: Entry) -> str:
    name = prefix + entry.rel
    return name + "/" if entry.kind == "dir" and entry.rel else name


def _current_objects(backend: S3Backend, bucket: str, prefix: str) -> dict[str, FakeKey]:
    """Every current object (not a delete marker) under `prefix`, by key name."""
    keys = backend.get_bucket(bucket).keys
    found: dict[str, FakeKey] = {}
    for name in sorted(list(keys)):
        if not name.startswith(prefix):
            continue
        versions = keys.getlist(name, [])
        if versions and isinstance(versions[-1], FakeKey):
            found[name] = versions[-1]
    return found


def read_manifest(text: str) -> list[tuple[str, str | None]]:
    """The `(relative path, version id or None)` lines of a CSV manifest."""
    rows: list[tuple[str, str | None]] = []
    for number, row in enumerate(csv.reader(io.StringIO(text)), start=1):
        if not row or (len(row) == 1 and not row[0].strip()):
            continue
        if len(row) > 2 or not row[0]:
            raise ExecutionFailed(
                "InvalidManifest",
                f"Manifest line {number} is not '<object path>[,<version id>]': {row!r}",
            )
        if row[0].endswith("/"):  # the manifest guide: "You can't specify only a directory"
            raise ExecutionFailed(
                "InvalidManifest",
                f"Manifest line {number} names a directory ({row[0]!r}): specify the full "
                "path of each file or object; a directory or folder alone can't be listed.",
            )
        rows.append((row[0].lstrip("/"), row[1] if len(row) == 2 and row[1] else None))
    return rows


# --------------------------------------------------------------------------- runners


def runner(
    execution: Execution,
    source: EfsLocation | S3Location,
    destination: EfsLocation | S3Location,
    manifest_config: dict[str, Any] | None,
    account_id: str,
    region: str,
) -> Runner:
    """The runner of an execution with an S3 location on one side."""
    if isinstance(source, EfsLocation) and isinstance(destination, S3Location):
        if manifest_config is not None:
            raise InvalidRequestException(
                "The sandbox supports ManifestConfig only on tasks whose source is S3."
            )
        return ToS3Runner(execution, source, destination, account_id, region)
    if isinstance(source, S3Location) and isinstance(destination, EfsLocation):
        return FromS3Runner(execution, source, destination, account_id, region, manifest_config)
    raise InvalidRequestException("The sandbox copies EFS to EFS, EFS to S3 and S3 to EFS only.")


class ToS3Runner(Runner):
    """EFS -> S3: entries become objects under the prefix, metadata in user metadata."""

    def __init__(
        self,
        execution: Execution,
        source: EfsLocation,
        destination: S3Location,
        account_id: str,
        region: str,
    ) -> None:
        super().__init__(execution, source, destination, account_id, region)
        self.bucket = destination.bucket
        self.prefix = destination.prefix
        self.storage_class = destination.storage_class
        self.s3 = _s3(account_id, region)

    def _mount(self) -> None:
        self.source_root = self._mount_source(as_efs_location(self.source))
        _check_bucket_for_execution(self.s3, self.bucket)

    def _list_source(self, keep: Callable[[str, bool], bool]) -> dict[str, Entry]:
        entries = super()._list_source(keep)
        if not self.prefix:  # the bucket's root has no marker object
            entries.pop("", None)
        return entries

    def _list_destination(self, keep: Callable[[str, bool], bool]) -> dict[str, Entry]:
        entries: dict[str, Entry] = {}
        for name, key in _current_objects(self.s3, self.bucket, self.prefix).items():
            rel = _rel(self.prefix, name)
            if rel is not None and (not rel or keep(rel, name.endswith("/"))):
                entries[rel] = _object_entry(rel, key)
        return entries

    def _transfer(self, plan: Plan) -> None:
        counters = self.execution.counters
        for entry in plan.delete:
            self._check_cancel()
            self.s3.delete_object(self.bucket, _key_name(self.prefix, entry))
            counters.files_deleted += 1
        for entry in plan.transfer:
            self._check_cancel()
            data = self._entry_bytes(entry)
            key = self.s3.put_object(
                self.bucket, _key_name(self.prefix, entry), data, storage=self.storage_class
            )
            key.set_metadata(_object_metadata(entry, *self._owner_for(entry)))
            if entry.kind == "file" and entry.rel not in plan.metadata_only:
                counters.bytes_written += len(data)
            counters.files_transferred += 1

    def _entry_bytes(self, entry: Entry) -> bytes:
        if entry.kind == "symlink":
            return (entry.link or "").encode("utf-8", "surrogateescape")
        if entry.kind == "dir":
            return b""
        buffer = bytearray()
        with self._open_source(entry) as reader:
            for chunk in iter(lambda: reader.read(1 << 20), b""):
                self._check_cancel()
                buffer += chunk
        return bytes(buffer)

    def _verify_entry(self, entry: Entry) -> None:
        key = self.s3.get_object(self.bucket, _key_name(self.prefix, entry))
        expected = hashlib.sha256(self._entry_bytes(entry)).digest()
        if key is None or hashlib.sha256(key.value).digest() != expected:
            raise ExecutionFailed(
                "VerificationFailed",
                f"Verification failed: /{entry.rel} differs between source and destination.",
            )


class FromS3Runner(Runner):
    """S3 -> EFS: the current objects under the prefix, or the manifest's object versions."""

    def __init__(
        self,
        execution: Execution,
        source: S3Location,
        destination: EfsLocation,
        account_id: str,
        region: str,
        manifest_config: dict[str, Any] | None,
    ) -> None:
        super().__init__(execution, source, destination, account_id, region)
        self.bucket = source.bucket
        self.prefix = source.prefix
        self.manifest_config = manifest_config
        self.s3 = _s3(account_id, region)
        self.objects: dict[str, FakeKey] = {}
        self.implied: set[str] = set()  # parent directories no marker object stands for

    def _mount(self) -> None:
        _check_bucket_for_execution(self.s3, self.bucket)
        self.destination_root = self._location_root(
            as_efs_location(self.destination), for_write=True
        )

    def _list_source(self, keep: Callable[[str, bool], bool]) -> dict[str, Entry]:
        listed = self._manifest_objects() if self.manifest_config else self._prefix_objects()
        entries: dict[str, Entry] = {}
        for rel, key in listed.items():
            if rel and not keep(rel, key.name.endswith("/")):
                continue
            entries[rel] = _object_entry(rel, key)
            self.objects[rel] = key
        self._add_implied_parents(entries)
        return entries

    def _prefix_objects(self) -> dict[str, FakeKey]:
        found: dict[str, FakeKey] = {}
        for name, key in _current_objects(self.s3, self.bucket, self.prefix).items():
            rel = _rel(self.prefix, name)
            if rel is not None:
                found[rel] = key
        return found

    def _manifest_objects(self) -> dict[str, FakeKey]:
        found: dict[str, FakeKey] = {}
        for rel_path, version_id in read_manifest(self._manifest_text()):
            name = self.prefix + rel_path
            key = self.s3.get_object(self.bucket, name, version_id=version_id)
            if key is None:
                version = f" version {version_id}" if version_id else ""
                raise ExecutionFailed(
                    "ManifestEntryNotFound",
                    f"Manifest entry {rel_path!r}: object s3://{self.bucket}/{name}{version} "
                    "does not exist (or is a delete marker).",
                )
            found[rel_path.rstrip("/")] = key
        return found

    def _manifest_text(self) -> str:
        source = (self.manifest_config or {})["Source"]["S3"]
        bucket = _bucket_name(source["S3BucketArn"], "S3BucketArn")
        path = source["ManifestObjectPath"]
        manifest = None
        if bucket in self.s3.buckets:
            manifest = self.s3.get_object(
                bucket, path, version_id=source.get("ManifestObjectVersionId")
            )
        if manifest is None:
            raise ExecutionFailed(
                "ManifestNotFound", f"Manifest s3://{bucket}/{path} does not exist."
            )
        try:
            return manifest.value.decode("utf-8")
        except UnicodeDecodeError:
            raise ExecutionFailed(
                "InvalidManifest", f"Manifest s3://{bucket}/{path} is not UTF-8 text."
            ) from None

    def _add_implied_parents(self, entries: dict[str, Entry]) -> None:
        """Directories that hold listed entries but have no marker object of their own."""
        now_ns = time.time_ns()
        for rel in list(entries):
            parts = rel.split("/")[:-1]
            for depth in range(1, len(parts) + 1):
                parent = "/".join(parts[:depth])
                if parent not in entries:
                    entries[parent] = Entry(
                        parent, "dir", 0, _IMPLIED_DIR_MODE, 0, 0, now_ns, now_ns
                    )
                    self.implied.add(parent)

    def _decide(self, src: Entry, dst: Entry | None) -> str:
        if src.rel in self.implied:
            return "skip" if dst is not None else "copy"
        return super()._decide(src, dst)

    def _open_source(self, entry: Entry) -> BinaryIO:
        return io.BytesIO(self.objects[entry.rel].value)


def _check_bucket_for_execution(backend: S3Backend, bucket: str) -> None:
    if bucket not in backend.buckets:
        raise ExecutionFailed(
            "S3BucketNotFound", f"Bucket {bucket} does not exist or is not accessible."
        )
