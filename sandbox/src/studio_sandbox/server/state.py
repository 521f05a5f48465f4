"""Sandbox-wide settings: where data lives, which port, which region and account.

One process runs one sandbox, so the settings are module state, set once by
:func:`configure` when the server starts and read everywhere else.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass, replace
from pathlib import Path

REGION = "us-east-1"
ACCOUNT_ID = "123456789012"
ACCESS_KEY = "testing"
SECRET_KEY = "testing"  # noqa: S105 - the sandbox's fixed, public test credential
DEFAULT_PORT = 4599
DATA_DIR_ENV = "SANDBOX_DATA_DIR"


@dataclass(frozen=True)
class Settings:
    """Where the running sandbox lives."""

    data_dir: Path
    port: int = DEFAULT_PORT
    host: str = "127.0.0.1"
    region: str = REGION
    account_id: str = ACCOUNT_ID

    @property
    def endpoint_url(self) -> str:
        """The URL every AWS client of the sandbox talks to."""
        return f"http://{self.host}:{self.port}"


def default_data_dir() -> Path:
    """`$SANDBOX_DATA_DIR`, else `.sandbox` under the current directory."""
    return Path(os.environ.get(DATA_DIR_ENV) or ".sandbox").resolve()


_lock = threading.Lock()
_settings = Settings(data_dir=default_data_dir())


def configure(*, data_dir: Path | None = None, port: int | None = None) -> Settings:
    """Set the data directory and/or port of the running sandbox; returns the new settings."""
    global _settings
    with _lock:
        changes: dict[str, object] = {}
        if data_dir is not None:
            changes["data_dir"] = Path(data_dir).resolve()
        if port is not None:
            changes["port"] = port
        _settings = replace(_settings, **changes)  # type: ignore[arg-type]
        return _settings


def settings() -> Settings:
    """The current sandbox settings."""
    return _settings


def data_dir() -> Path:
    """The sandbox's data directory (created on demand)."""
    path = _settings.data_dir
    path.mkdir(parents=True, exist_ok=True)
    return path


def endpoint_url() -> str:
    """The sandbox endpoint, e.g. `http://127.0.0.1:4599`."""
    return _settings.endpoint_url


def efs_root(fs_id: str) -> Path:
    """The local directory standing in for EFS file system `fs_id` (not created here)."""
    if not fs_id or "/" in fs_id or fs_id.startswith("."):
        raise ValueError(f"not a file system id: {fs_id!r}")
    return _settings.data_dir / "efs" / fs_id


def logs_dir() -> Path:
    """Where Lambda function logs are written, one file per function."""
    path = data_dir() / "logs"
    path.mkdir(parents=True, exist_ok=True)
    return path


def space_volume(domain_id: str, space_name: str) -> Path:
    """The local directory standing in for a space's EBS volume (not created here)."""
    for part in (domain_id, space_name):
        if not part or "/" in part or part.startswith("."):
            raise ValueError(f"not a domain id or space name: {part!r}")
    return _settings.data_dir / "ebs" / domain_id / space_name


def studio_app_dir(app_id: str) -> Path:
    """Where a running Studio app keeps its scripts, log and emulated root."""
    if not app_id or "/" in app_id or app_id.startswith("."):
        raise ValueError(f"not an app id: {app_id!r}")
    return _settings.data_dir / "studio-apps" / app_id
