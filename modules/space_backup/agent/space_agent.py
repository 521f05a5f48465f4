"""studio-recovery space agent: backs up a Studio space's EBS home to S3 and restores it.

The lifecycle configuration of modules/space_backup starts this program in the background
when a JupyterLab or Code Editor app starts. It needs only the standard library and boto3
(both in the SageMaker Distribution image). In order:

1. It finds out which space it runs in: DomainId and SpaceName from the resource metadata
   file, the owner and sharing type from DescribeSpace.
2. Restore (once per space): when the home has no completed-restore marker, it brings back
   the latest backup of this space (or of the space an admin mapped it to with a
   restore-source.json object) without overwriting any file that exists, verifying each
   file's SHA-256, and restoring modes and modification times. Every attempt writes a report
   to S3 (restores/<time>.json) and, when it completed, the marker in the home.
   An admin's restore request (restore-request.json, written by `studio-recovery restore`)
   names one backup (a manifest version) of this space: the agent restores it the same way
   at its next interval (or, when the app is not running, on its next start, instead of the
   latest backup), then removes the request once that restore completed.
3. Backup, every interval and once more on SIGTERM (DeleteApp, idle shutdown): only files
   whose size, mode or mtime changed are uploaded; then the manifest (the list of every
   file with its object version) is written; files gone from the home are deleted from
   the current view (their versions stay for the bucket's retention). Backups never run
   before the restore completed (a failed restore is retried first) and never two at once.

Key layout under the bucket (the execution role may touch only its own owner's prefix):
  spaces/private/<owner profile>/<domain id>/<space name>/   private spaces
  spaces/shared/<domain id>/<space name>/                     shared spaces
each with manifest.json, files/<path in the home>, restores/<time>.json and, written by an
admin, restore-source.json ({"space_name": "<earlier space of the same owner>"}) and
restore-request.json ({"request_id": ..., "manifest_version_id": ...}).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import fnmatch
import hashlib
import json
import os
import signal
import stat
import sys
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import IO, Any, Protocol

FORMAT = 1
UTC = dt.timezone.utc  # noqa: UP017 (datetime.UTC is 3.11+; SageMaker Distribution 1.x has 3.10)
STATE_DIR = ".studio-recovery"
MARKER = "restore-done.json"
REQUEST = "restore-request.json"
# Never backed up, whatever the exclusion list says: the agent's own state, and the user's
# EFS folder (the EFS home is protected by the module's EFS backups and restores).
ALWAYS_EXCLUDED = (STATE_DIR, "user-default-efs")
MAX_OBJECT_BYTES = 5 * 1024**3  # one PutObject
LISTED = 1000  # most paths a report lists by name


@dataclass(frozen=True)
class Space:
    domain_id: str
    space_name: str
    owner: str | None  # the owner's user profile for a private space, None for shared

    @property
    def prefix(self) -> str:
        if self.owner is None:
            return f"spaces/shared/{self.domain_id}/{self.space_name}/"
        return f"spaces/private/{self.owner}/{self.domain_id}/{self.space_name}/"

    def renamed(self, space_name: str) -> Space:
        """The same owner's (or the same domain's shared) space of another name."""
        if not space_name or "/" in space_name:
            raise ValueError(f"not a space name: {space_name!r}")
        return Space(self.domain_id, space_name, self.owner)


class Sink(Protocol):
    def write(self, data: bytes, /) -> int: ...


class Store(Protocol):
    """The S3 operations the agent uses (S3Store; an in-memory fake in the unit tests)."""

    def get_json(self, key: str, version_id: str | None = None) -> Any | None: ...
    def put_json(self, key: str, value: Any) -> str | None: ...
    def put_file(self, key: str, body: IO[bytes], length: int) -> str | None: ...
    def download(self, key: str, version_id: str | None, out: Sink) -> None: ...
    def delete(self, key: str) -> None: ...


class S3Store:
    def __init__(self, client: Any, bucket: str) -> None:
        self.client = client
        self.bucket = bucket

    def get_json(self, key: str, version_id: str | None = None) -> Any | None:
        if version_id:  # one version, named by the admin: a missing one is an error
            return json.loads(
                self.client.get_object(
                    Bucket=self.bucket, Key=key, VersionId=version_id
                )["Body"].read()
            )
        # Listed first: S3 answers a GetObject of a missing key with 403, not 404, when the
        # caller's ListBucket permission depends on a condition; a listing says it plainly.
        listed = self.client.list_objects_v2(Bucket=self.bucket, Prefix=key, MaxKeys=1)
        if not any(item["Key"] == key for item in listed.get("Contents", [])):
            return None
        return json.loads(
            self.client.get_object(Bucket=self.bucket, Key=key)["Body"].read()
        )

    def put_json(self, key: str, value: Any) -> str | None:
        body = json.dumps(value, sort_keys=True).encode()
        response = self.client.put_object(
            Bucket=self.bucket, Key=key, Body=body, ContentType="application/json"
        )
        return response.get("VersionId")  # type: ignore[no-any-return]

    def put_file(self, key: str, body: IO[bytes], length: int) -> str | None:
        response = self.client.put_object(
            Bucket=self.bucket, Key=key, Body=body, ContentLength=length
        )
        return response.get("VersionId")  # type: ignore[no-any-return]

    def download(self, key: str, version_id: str | None, out: Sink) -> None:
        extra = {"VersionId": version_id} if version_id else {}
        body = self.client.get_object(Bucket=self.bucket, Key=key, **extra)["Body"]
        for chunk in iter(lambda: body.read(1024 * 1024), b""):
            out.write(chunk)

    def delete(self, key: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=key)


################################################################################
# Walking the home
################################################################################


def excluded(relpath: str, patterns: Sequence[str]) -> bool:
    """A pattern without "/" matches any path component ("node_modules", ".cache");
    one with "/" matches the path from the home, or any of its parents (".conda/envs")."""
    parts = relpath.split("/")
    if parts[0] in ALWAYS_EXCLUDED:
        return True
    for pattern in patterns:
        if "/" in pattern:
            pattern = pattern.strip("/")
            if any(
                fnmatch.fnmatchcase("/".join(parts[:n]), pattern)
                for n in range(1, len(parts) + 1)
            ):
                return True
        elif any(fnmatch.fnmatchcase(part, pattern) for part in parts):
            return True
    return False


def scan(home: str, patterns: Sequence[str]) -> dict[str, dict[str, Any]]:
    """Every directory, regular file and symbolic link of the home that is not excluded,
    by path relative to the home. Sockets, pipes and devices are not backed up."""
    entries: dict[str, dict[str, Any]] = {}
    for root, dirs, files in os.walk(home):
        rel_root = os.path.relpath(root, home)
        rel_root = "" if rel_root == "." else rel_root + "/"
        kept_dirs = []
        for name in sorted(dirs):
            rel = rel_root + name
            if excluded(rel, patterns):
                continue
            st = os.lstat(os.path.join(root, name))
            if stat.S_ISLNK(st.st_mode):  # os.walk lists links to directories here
                entries[rel] = {
                    "type": "link",
                    "target": os.readlink(os.path.join(root, name)),
                }
                continue
            entries[rel] = {
                "type": "dir",
                "mode": stat.S_IMODE(st.st_mode),
                "mtime_ns": st.st_mtime_ns,
            }
            kept_dirs.append(name)
        dirs[:] = kept_dirs
        for name in sorted(files):
            rel = rel_root + name
            if excluded(rel, patterns):
                continue
            path = os.path.join(root, name)
            st = os.lstat(path)
            if stat.S_ISLNK(st.st_mode):
                entries[rel] = {"type": "link", "target": os.readlink(path)}
            elif stat.S_ISREG(st.st_mode):
                entries[rel] = {
                    "type": "file",
                    "mode": stat.S_IMODE(st.st_mode),
                    "mtime_ns": st.st_mtime_ns,
                    "size": st.st_size,
                }
    return entries


def sha256_of(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1024 * 1024), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _unchanged(now: Mapping[str, Any], before: Mapping[str, Any] | None) -> bool:
    return before is not None and all(
        before.get(k) == now.get(k) for k in ("type", "size", "mode", "mtime_ns")
    )


################################################################################
# Backup
################################################################################


@dataclass
class BackupResult:
    manifest: dict[str, Any]
    uploaded: int = 0
    uploaded_bytes: int = 0
    deleted: int = 0
    skipped: list[str] = field(default_factory=list)


def backup(
    store: Store,
    space: Space,
    home: str,
    patterns: Sequence[str],
    previous: Mapping[str, Any] | None,
) -> BackupResult:
    """Uploads what changed since `previous` (the last manifest), then the new manifest,
    then deletes the current view of files that are gone (their versions stay)."""
    before: Mapping[str, Any] = (previous or {}).get("entries", {})
    entries: dict[str, dict[str, Any]] = {}
    result = BackupResult(manifest={})
    for rel, entry in scan(home, patterns).items():
        if entry["type"] != "file":
            entries[rel] = entry
            continue
        if _unchanged(entry, before.get(rel)):
            entries[rel] = dict(before[rel])
            continue
        if entry["size"] > MAX_OBJECT_BYTES:
            result.skipped.append(rel)
            continue
        path = os.path.join(home, rel)
        try:
            digest = sha256_of(path)
            with open(path, "rb") as body:
                version = store.put_file(
                    space.prefix + "files/" + rel, body, entry["size"]
                )
            after = os.lstat(path)
        except FileNotFoundError:  # removed while we looked
            continue
        if after.st_size != entry["size"] or after.st_mtime_ns != entry["mtime_ns"]:
            # Changed while it was read: the next backup takes it; keep the last good copy.
            if rel in before and before[rel].get("type") == "file":
                entries[rel] = dict(before[rel])
            continue
        entries[rel] = {**entry, "sha256": digest, "version_id": version}
        result.uploaded += 1
        result.uploaded_bytes += entry["size"]
    manifest = {
        "format": FORMAT,
        "created_at": _now(),
        "domain_id": space.domain_id,
        "space_name": space.space_name,
        "owner": space.owner,
        "entries": entries,
        "skipped_too_large": result.skipped[:LISTED],
    }
    store.put_json(space.prefix + "manifest.json", manifest)
    for rel, entry in before.items():
        if entry.get("type") == "file" and entries.get(rel, {}).get("type") != "file":
            store.delete(space.prefix + "files/" + rel)
            result.deleted += 1
    result.manifest = manifest
    return result


################################################################################
# Restore
################################################################################


@dataclass
class RestoreReport:
    status: str  # SUCCEEDED | PARTIAL | FAILED | NOTHING_TO_RESTORE
    source_prefix: str
    started_at: str
    manifest_version_id: str | None = None  # None: the latest backup
    request_id: str | None = None  # the admin's restore request, if one asked for it
    files: int = 0
    bytes: int = 0
    kept: list[str] = field(default_factory=list)
    missing: list[dict[str, str]] = field(default_factory=list)
    duration_seconds: float = 0.0
    error: str | None = None

    def as_json(self, space: Space) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "status": self.status,
            "domain_id": space.domain_id,
            "space_name": space.space_name,
            "owner": space.owner,
            "source_prefix": self.source_prefix,
            "manifest_version_id": self.manifest_version_id,
            "request_id": self.request_id,
            "started_at": self.started_at,
            "finished_at": _now(),
            "duration_seconds": round(self.duration_seconds, 3),
            "files": self.files,
            "bytes": self.bytes,
            "kept_count": len(self.kept),
            "kept": self.kept[:LISTED],
            "missing_count": len(self.missing),
            "missing": self.missing[:LISTED],
            "error": self.error,
        }


def _safe_target(home: str, rel: str) -> str | None:
    """The absolute path of `rel` in the home, or None when it would leave the home
    (an absolute path, "..", or a directory on the way that is a link out of it)."""
    parts = rel.split("/")
    if not rel or rel.startswith("/") or any(p in ("", ".", "..") for p in parts):
        return None
    real_home = os.path.realpath(home)
    parent = os.path.realpath(os.path.join(home, *parts[:-1]))
    if parent != real_home and not parent.startswith(real_home + os.sep):
        return None
    return os.path.join(parent, parts[-1])


def _restore_file(store: Store, key: str, entry: Mapping[str, Any], target: str) -> str:
    """Writes the file beside its target, checks it, then links it into place, which fails
    if a file appeared there meanwhile: an existing file is never replaced. Returns
    "restored" or "kept"; raises on a failed or corrupt download."""
    directory, name = os.path.split(target)
    temporary = os.path.join(directory, f".{name}.studio-recovery-{os.getpid()}")
    try:
        digest = hashlib.sha256()
        with open(temporary, "xb") as out:
            store.download(key, entry.get("version_id"), _Hashing(out, digest))
        if digest.hexdigest() != entry.get("sha256"):
            raise ValueError("content differs from the backup (SHA-256)")
        os.chmod(temporary, entry["mode"])
        os.utime(temporary, ns=(entry["mtime_ns"], entry["mtime_ns"]))
        try:
            os.link(temporary, target)
        except FileExistsError:
            return "kept"
        return "restored"
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)


class _Hashing:
    def __init__(self, out: IO[bytes], digest: Any) -> None:
        self.out = out
        self.digest = digest

    def write(self, data: bytes) -> int:
        self.digest.update(data)
        return self.out.write(data)


def restore_from(
    store: Store, source: Space, home: str, version_id: str | None = None
) -> RestoreReport:
    """Brings the latest backup of `source` (or the manifest version `version_id`) into
    `home`, keeping every path that exists."""
    started = time.monotonic()
    report = RestoreReport(
        status="FAILED",
        source_prefix=source.prefix,
        started_at=_now(),
        manifest_version_id=version_id,
    )
    try:
        manifest = store.get_json(source.prefix + "manifest.json", version_id)
    except Exception as error:  # AccessDenied, network: visible in the report
        report.error = f"cannot read the backup: {error}"
        report.duration_seconds = time.monotonic() - started
        return report
    if manifest is None:
        report.status = "NOTHING_TO_RESTORE"
        report.duration_seconds = time.monotonic() - started
        return report
    entries: Mapping[str, Mapping[str, Any]] = manifest.get("entries", {})
    created_dirs: list[tuple[str, Mapping[str, Any]]] = []
    for rel in sorted(entries):  # parents sort before their children
        entry = entries[rel]
        target = _safe_target(home, rel)
        if target is None:
            report.missing.append({"path": rel, "reason": "path outside the home"})
            continue
        try:
            if entry["type"] == "dir":
                if os.path.lexists(target):
                    continue
                os.mkdir(target, 0o700)
                created_dirs.append((target, entry))
            elif entry["type"] == "link":
                try:
                    os.symlink(entry["target"], target)
                    report.files += 1
                except FileExistsError:
                    report.kept.append(rel)
            elif os.path.lexists(target):
                report.kept.append(rel)
            else:
                key = source.prefix + "files/" + rel
                if _restore_file(store, key, entry, target) == "kept":
                    report.kept.append(rel)
                else:
                    report.files += 1
                    report.bytes += int(entry["size"])
        except Exception as error:
            report.missing.append({"path": rel, "reason": str(error)[:300]})
    for target, entry in reversed(
        created_dirs
    ):  # children first: their writes touch parents
        with contextlib.suppress(OSError):
            os.chmod(target, entry["mode"])
            os.utime(target, ns=(entry["mtime_ns"], entry["mtime_ns"]))
    report.status = "PARTIAL" if report.missing else "SUCCEEDED"
    report.duration_seconds = time.monotonic() - started
    return report


def restore_source(store: Store, space: Space) -> Space:
    """This space, or the space an admin mapped it to (restore-source.json)."""
    mapping = store.get_json(space.prefix + "restore-source.json")
    if isinstance(mapping, dict) and mapping.get("space_name"):
        return space.renamed(str(mapping["space_name"]))
    return space


def restore_request(store: Store, space: Space) -> dict[str, Any] | None:
    """The admin's pending restore request of this space, if any."""
    request = store.get_json(space.prefix + REQUEST)
    if isinstance(request, dict) and request.get("manifest_version_id"):
        return request
    return None


def restore_once(
    store: Store, space: Space, home: str, request: Mapping[str, Any] | None = None
) -> dict[str, Any] | None:
    """Restores unless this home has a completed restore; returns the report written, or
    None when the marker says it was done. The marker is written only when the restore
    completed (SUCCEEDED or NOTHING_TO_RESTORE): otherwise the next attempt tries again
    (a retry never overwrites, so it adds only what is missing).

    With an admin's `request`, it restores the backup the request names (a manifest version
    of this space), marker or not, and removes the request once that restore completed."""
    marker = os.path.join(home, STATE_DIR, MARKER)
    if request is None and os.path.exists(marker):
        return None
    if request is not None:
        report = restore_from(store, space, home, str(request["manifest_version_id"]))
        report.request_id = str(request.get("request_id") or "") or None
    else:
        try:
            source = restore_source(store, space)
        except Exception as error:
            report = RestoreReport(
                "FAILED", space.prefix, _now(), error=f"restore-source: {error}"
            )
        else:
            report = restore_from(store, source, home)
    document = report.as_json(space)
    stamp = dt.datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    with contextlib.suppress(
        Exception
    ):  # the local marker and log still say what happened
        store.put_json(f"{space.prefix}restores/{stamp}.json", document)
    if report.status in ("SUCCEEDED", "NOTHING_TO_RESTORE"):
        os.makedirs(os.path.dirname(marker), exist_ok=True)
        with open(marker, "w") as handle:
            json.dump(document, handle, sort_keys=True)
        if request is not None:
            _clear_request(store, space, request)
    return document


def _clear_request(store: Store, space: Space, request: Mapping[str, Any]) -> None:
    """Removes the request just served, unless the admin replaced it meanwhile."""
    if store.get_json(space.prefix + REQUEST) == request:
        store.delete(space.prefix + REQUEST)


################################################################################
# The agent: identity, loop, signals
################################################################################


def read_space(metadata_path: str, describe_space: Any) -> Space:
    """DomainId and SpaceName from the app's metadata file; owner from DescribeSpace."""
    with open(metadata_path) as handle:
        metadata = json.load(handle)
    domain_id, space_name = metadata["DomainId"], metadata["SpaceName"]
    described = describe_space(DomainId=domain_id, SpaceName=space_name)
    sharing = described.get("SpaceSharingSettings", {}).get("SharingType", "Private")
    owner = described.get("OwnershipSettings", {}).get("OwnerUserProfileName")
    if sharing == "Private" and not owner:
        raise ValueError(f"private space {space_name} has no owner in DescribeSpace")
    return Space(domain_id, space_name, owner if sharing == "Private" else None)


class Agent:
    def __init__(
        self, store: Store, space: Space, home: str, patterns: Sequence[str]
    ) -> None:
        self.store, self.space, self.home, self.patterns = store, space, home, patterns
        self.lock = (
            threading.Lock()
        )  # never two backups (or a backup and a restore) at once
        self.stop = threading.Event()
        self.restored = False
        self.manifest: Mapping[str, Any] | None = None

    def tick(self) -> None:
        with self.lock:
            request = restore_request(self.store, self.space)
            if not self.restored or request is not None:
                report = restore_once(self.store, self.space, self.home, request)
                _log("restore", report or "already done")
                self.restored = os.path.exists(
                    os.path.join(self.home, STATE_DIR, MARKER)
                )
                if not self.restored:
                    return  # no backup over an unfinished restore: it would hide files
            if self.manifest is None:
                self.manifest = self.store.get_json(self.space.prefix + "manifest.json")
            result = backup(
                self.store, self.space, self.home, self.patterns, self.manifest
            )
            self.manifest = result.manifest
            _log(
                "backup",
                {
                    "uploaded": result.uploaded,
                    "bytes": result.uploaded_bytes,
                    "deleted": result.deleted,
                    "skipped": result.skipped[:10],
                },
            )

    def run(self, interval: float) -> None:
        signal.signal(signal.SIGTERM, lambda *_: self.stop.set())
        signal.signal(signal.SIGINT, lambda *_: self.stop.set())
        while True:
            try:
                self.tick()
            except Exception as error:  # keep going: the next interval tries again
                _log("error", repr(error))
            if self.stop.wait(interval):
                break
        try:  # the final backup, after the running one finished (the lock)
            self.tick()
            _log("final backup", "done")
        except Exception as error:
            _log("final backup failed", repr(error))


def _now() -> str:
    return dt.datetime.now(UTC).isoformat(timespec="milliseconds")


def _log(event: str, detail: Any) -> None:
    print(
        json.dumps({"time": _now(), "event": event, "detail": detail}, default=str),
        flush=True,
    )


@contextlib.contextmanager
def single_instance(home: str) -> Iterator[bool]:
    os.makedirs(os.path.join(home, STATE_DIR), exist_ok=True)
    with open(os.path.join(home, STATE_DIR, "agent.lock"), "w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            yield False
            return
        yield True


def main(argv: Sequence[str] = sys.argv[1:]) -> int:
    import boto3  # in the app image; imported here so the logic above needs no AWS

    env = os.environ
    home = env.get("HOME", "/home/sagemaker-user")
    patterns = [p for p in json.loads(env.get("STUDIO_RECOVERY_EXCLUDE", "[]")) if p]
    interval = float(env.get("STUDIO_RECOVERY_INTERVAL_SECONDS", "3600"))
    bucket = env["STUDIO_RECOVERY_BUCKET"]
    metadata = (
        env.get("STUDIO_SANDBOX_ROOT", "") + "/opt/ml/metadata/resource-metadata.json"
    )
    with contextlib.suppress(OSError):
        os.setsid()  # outlive the lifecycle script's process group
    with single_instance(home) as alone:
        if not alone:
            _log("exit", "another agent runs in this space")
            return 0
        session = boto3.session.Session(region_name=env.get("STUDIO_RECOVERY_REGION"))
        space = read_space(metadata, session.client("sagemaker").describe_space)
        _log(
            "start", {"prefix": space.prefix, "interval": interval, "exclude": patterns}
        )
        Agent(S3Store(session.client("s3"), bucket), space, home, patterns).run(
            interval
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
