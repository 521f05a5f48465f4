"""EFS in the sandbox: every file system is a local directory.

moto keeps EFS file systems, mount targets and access points as records only. This
extension gives each file system a directory, `state.efs_root(fs_id)`, created by
CreateFileSystem and removed by DeleteFileSystem, and makes access points behave as they do
on a real mount: their root directory is created from `RootDirectory.CreationInfo` when
missing, and their `PosixUser` becomes the owner of everything written through them.
It also adds the checks AWS makes and moto skips (unknown file system or access point, bad
POSIX identities), and the access point life cycle: `creating`, then `available`. By
default an access point is available at once; `faults.access_point_creating_seconds`
keeps new ones `creating` that long (`math.inf`: they never become available, as when
the home directory cannot be created).
"""

from __future__ import annotations

import math
import os
import re
import shutil
import stat
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from moto.efs import models as efs_models
from moto.efs.exceptions import AccessPointNotFound, BadRequest, FileSystemNotFound

from studio_sandbox import posix
from studio_sandbox.moto_ext import ServiceExtension

ROOT_MODE = 0o755
_MAX_ID = 4294967295
_PERMISSIONS = re.compile(r"^[0-7]{3,4}$")


@dataclass
class Faults:
    """Module-level switch for reliability tests: how long new access points stay
    `creating` (0: available at once; `math.inf`: never)."""

    access_point_creating_seconds: float = 0.0


faults = Faults()


def reset_faults() -> None:
    """Access points are available at once again."""
    faults.access_point_creating_seconds = 0.0


class _AccessPoint(efs_models.AccessPoint):
    """moto's access point with a life cycle: `creating` until `available_at`."""

    available_at: float = 0.0

    @property
    def life_cycle_state(self) -> str:
        return "available" if time.monotonic() >= self.available_at else "creating"

    def info_json(self) -> dict[str, Any]:
        return {**super().info_json(), "LifeCycleState": self.life_cycle_state}


class AccessPointMountError(OSError):
    """Mounting through an access point failed (as `mount.nfs4` would on a real client)."""


@dataclass(frozen=True)
class AccessPointMount:
    """A file system mounted through an access point: where it lands and who writes."""

    access_point_id: str
    file_system_id: str
    root: Path
    uid: int | None
    gid: int | None
    secondary_gids: tuple[int, ...] = ()

    def write_file(self, rel_path: str, data: bytes, mode: int = 0o644) -> Path:
        """Write `data` to `rel_path` under the access point root, as its POSIX user."""
        target = resolve_under(self.root, rel_path)
        self.make_dirs(target.parent)
        self.check_writable(target.parent)
        target.write_bytes(data)
        self.apply_identity(target, mode)
        return target

    def make_dirs(self, directory: Path) -> None:
        """Create `directory` and missing parents under the root, owned by the POSIX user."""
        missing: list[Path] = []
        current = directory
        while not current.exists() and current != self.root:
            missing.append(current)
            current = current.parent
        for path in reversed(missing):
            self.check_writable(path.parent)
            path.mkdir()
            self.apply_identity(path, 0o755)

    def apply_identity(self, path: Path, mode: int | None) -> None:
        """Give `path` the access point's owner (when it enforces one) and `mode`."""
        if mode is not None:
            posix.set_mode(path, mode)
        if self.uid is not None and self.gid is not None:
            posix.set_owner(path, self.uid, self.gid)

    def check_writable(self, directory: Path) -> None:
        """Refuse, like NFS with EACCES, when the POSIX user may not write in `directory`."""
        if self.uid is None or self.uid == 0:
            return
        uid, gid = posix.stat_owner(directory)
        mode = posix.stat_mode(directory)
        gids = {self.gid, *self.secondary_gids}
        if uid == self.uid:
            allowed = mode & stat.S_IWUSR and mode & stat.S_IXUSR
        elif gid in gids:
            allowed = mode & stat.S_IWGRP and mode & stat.S_IXGRP
        else:
            allowed = mode & stat.S_IWOTH and mode & stat.S_IXOTH
        if not allowed:
            raise PermissionError(
                f"Permission denied: uid {self.uid} cannot write in {directory} "
                f"(owner {uid}:{gid}, mode {mode:04o})"
            )


class SandboxEFSBackend(efs_models.EFSBackend):
    """moto's EFS backend, with a local directory per file system."""

    @property
    def _url_module(self) -> Any:
        """moto finds a service's URLs next to its backend's module: point it at moto's."""
        from moto.efs import urls

        return urls

    def create_file_system(self, *args: Any, **kwargs: Any) -> efs_models.FileSystem:
        file_system = super().create_file_system(*args, **kwargs)
        root = file_system_path(file_system.file_system_id)
        posix.init_root(root)
        os.chmod(root, ROOT_MODE)
        return file_system

    def delete_file_system(self, file_system_id: str) -> None:
        super().delete_file_system(file_system_id)
        for access_point_id in [
            ap_id for ap_id, ap in self.access_points.items() if ap.file_system_id == file_system_id
        ]:
            del self.access_points[access_point_id]
        root = file_system_path(file_system_id)
        shutil.rmtree(root, ignore_errors=True)
        posix.forget_root(root)

    def create_access_point(
        self,
        client_token: str,
        tags: list[dict[str, str]],
        file_system_id: str,
        posix_user: dict[str, Any] | None,
        root_directory: dict[str, Any] | None,
    ) -> efs_models.AccessPoint:
        if file_system_id not in self.file_systems_by_id:
            raise FileSystemNotFound(file_system_id)
        for existing in self.access_points.values():
            if existing.client_token == client_token and client_token:
                return existing  # idempotent retry of the same request
        _validate_posix_user(posix_user)
        _validate_root_directory(root_directory)
        access_point = super().create_access_point(
            client_token,
            tags=tags,
            file_system_id=file_system_id,
            posix_user=posix_user or {},
            root_directory=root_directory or {},
        )
        # moto builds the record; it becomes our subclass, which adds the life cycle.
        with_life_cycle: Any = access_point
        with_life_cycle.__class__ = _AccessPoint
        delay = faults.access_point_creating_seconds
        with_life_cycle.available_at = math.inf if math.isinf(delay) else time.monotonic() + delay
        return access_point

    def delete_access_point(self, access_point_id: str) -> None:
        if access_point_id not in self.access_points:
            raise AccessPointNotFound(access_point_id)
        super().delete_access_point(access_point_id)


def _validate_posix_user(posix_user: dict[str, Any] | None) -> None:
    if not posix_user:
        return
    for key in ("Uid", "Gid"):
        _check_id(posix_user.get(key), f"PosixUser.{key}")
    for gid in posix_user.get("SecondaryGids") or []:
        _check_id(gid, "PosixUser.SecondaryGids")


def _validate_root_directory(root_directory: dict[str, Any] | None) -> None:
    if not root_directory:
        return
    path = root_directory.get("Path", "/")
    if not isinstance(path, str) or not path.startswith("/") or ".." in path.split("/"):
        raise BadRequest(f"RootDirectory.Path must be an absolute path: {path!r}")
    creation = root_directory.get("CreationInfo")
    if creation is None:
        return
    _check_id(creation.get("OwnerUid"), "CreationInfo.OwnerUid")
    _check_id(creation.get("OwnerGid"), "CreationInfo.OwnerGid")
    permissions = str(creation.get("Permissions", ""))
    if not _PERMISSIONS.match(permissions):
        raise BadRequest(
            f"CreationInfo.Permissions must be an octal string like 0755, got {permissions!r}"
        )


def _check_id(value: Any, name: str) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= _MAX_ID:
        raise BadRequest(f"{name} must be an integer between 0 and {_MAX_ID}, got {value!r}")


def file_system_path(file_system_id: str) -> Path:
    """The local directory of EFS file system `file_system_id`."""
    from studio_sandbox.server import state  # late: the server configures it first

    return state.efs_root(file_system_id)


def resolve_under(root: Path, rel_path: str) -> Path:
    """`root/rel_path`, refusing paths that would leave `root`."""
    parts = [p for p in rel_path.split("/") if p not in ("", ".")]
    if ".." in parts:
        raise ValueError(f"path escapes its root: {rel_path!r}")
    return root.joinpath(*parts)


def backend(account_id: str, region: str) -> efs_models.EFSBackend:
    """The EFS backend of one account and region."""
    return efs_models.efs_backends[account_id][region]


def mount_access_point(access_point_id: str, *, account_id: str, region: str) -> AccessPointMount:
    """Mount a file system through an access point, creating its root when AWS would.

    Raises :class:`AccessPointMountError` when the root directory is missing and the access
    point has no `CreationInfo` to create it (a real mount fails the same way).
    """
    efs = backend(account_id, region)
    access_point = efs.access_points.get(access_point_id)
    if access_point is None:
        raise AccessPointNotFound(access_point_id)
    state = getattr(access_point, "life_cycle_state", "available")
    if state != "available":
        raise AccessPointMountError(f"access point {access_point_id} is {state}, not available")
    fs_root = file_system_path(access_point.file_system_id)
    if not fs_root.is_dir():
        raise AccessPointMountError(f"file system {access_point.file_system_id} has no data")
    root_directory: dict[str, Any] = dict(access_point.root_directory or {})
    root = resolve_under(fs_root, root_directory.get("Path", "/"))
    if not root.is_dir():
        _create_root(root, fs_root, root_directory.get("CreationInfo"), access_point_id)
    posix_user = access_point.posix_user or {}
    return AccessPointMount(
        access_point_id=access_point_id,
        file_system_id=access_point.file_system_id,
        root=root,
        uid=posix_user.get("Uid"),
        gid=posix_user.get("Gid"),
        secondary_gids=tuple(posix_user.get("SecondaryGids") or ()),
    )


def _create_root(
    root: Path, fs_root: Path, creation: dict[str, Any] | None, access_point_id: str
) -> None:
    if not creation:
        raise AccessPointMountError(
            f"mount.nfs4: access denied by server while mounting {access_point_id}: "
            f"root directory {root.relative_to(fs_root).as_posix()} does not exist "
            "and the access point has no CreationInfo"
        )
    missing: list[Path] = []
    current = root
    while not current.exists() and current != fs_root:
        missing.append(current)
        current = current.parent
    for path in reversed(missing):
        path.mkdir()
        posix.set_mode(path, int(str(creation["Permissions"]), 8))
        posix.set_owner(path, int(creation["OwnerUid"]), int(creation["OwnerGid"]))


def write_through_access_point(
    access_point_id: str,
    rel_path: str,
    data: bytes,
    mode: int = 0o644,
    *,
    account_id: str,
    region: str,
) -> Path:
    """Write one file through an access point; it belongs to the access point's user."""
    mount = mount_access_point(access_point_id, account_id=account_id, region=region)
    return mount.write_file(rel_path, data, mode)


_EXTENSION = ServiceExtension(
    backends=efs_models.efs_backends, backend=SandboxEFSBackend, moto_backend=efs_models.EFSBackend
)


def patch() -> None:
    """Make moto's EFS service use :class:`SandboxEFSBackend` (idempotent)."""
    _EXTENSION.install()


def unpatch() -> None:
    """Give EFS back to moto (its records are forgotten; directories stay on disk)."""
    _EXTENSION.uninstall()
