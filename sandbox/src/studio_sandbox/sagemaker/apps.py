"""Studio apps that run for real: lifecycle scripts in a subprocess, and their shutdown.

A JupyterLab or Code Editor app of a space with an EBS home starts as Studio starts it:
Pending while its lifecycle configurations run (`bash`, one after the other, in the space's
home, with the execution role's credentials against the sandbox endpoint), then InService,
or Failed with a FailureReason when a script exits non-zero or the scripts run past the
limit ("There is a lifecycle configuration timeout limitation of 5 minutes",
studio-lifecycle-configurations-debug-timeout.html). What a script leaves running in the
background keeps running while the app is InService.

Every process of an app carries `STUDIO_SANDBOX_APP_ID=<id>` in its environment, inherited
through any number of forks, so the shutdown path (DeleteApp, a failed start, the sandbox
stopping) finds them all in `/proc/<pid>/environ`: SIGTERM, then SIGKILL after
:attr:`AppTiming.shutdown_grace_seconds`.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

LOG = logging.getLogger(__name__)

APP_ID_ENV = "STUDIO_SANDBOX_APP_ID"
ROOT_ENV = "STUDIO_SANDBOX_ROOT"
METADATA_PATH = "opt/ml/metadata/resource-metadata.json"
"""Under the emulated root: Studio's `/opt/ml/metadata/resource-metadata.json`."""
EFS_LINK = "user-default-efs"


@dataclass
class AppTiming:
    """Limits of app starts and stops (seconds; tests may lower them).

    `lcc_timeout_seconds`: Studio's documented 5 minutes for lifecycle configurations.
    `shutdown_grace_seconds`: between SIGTERM and SIGKILL on shutdown. AWS documents no
    figure for Studio apps. The sandbox's choice, 10 s: the SageMaker Distribution images run
    JupyterLab under supervisord with `stopasgroup=true` and no `stopwaitsecs` (whose
    default is 10 s; aws/sagemaker-distribution supervisord-jupyter-lab.conf), and 10 s is
    also Docker's default stop timeout."""

    lcc_timeout_seconds: float = 300.0
    shutdown_grace_seconds: float = 10.0

    @classmethod
    def from_environment(cls) -> AppTiming:
        """The defaults, or `STUDIO_SANDBOX_LCC_TIMEOUT_SECONDS` and
        `STUDIO_SANDBOX_SHUTDOWN_GRACE_SECONDS` (for a sandbox started by the CLI)."""
        defaults = cls()
        return cls(
            lcc_timeout_seconds=float(
                os.environ.get(LCC_TIMEOUT_ENV) or defaults.lcc_timeout_seconds
            ),
            shutdown_grace_seconds=float(
                os.environ.get(SHUTDOWN_GRACE_ENV) or defaults.shutdown_grace_seconds
            ),
        )


LCC_TIMEOUT_ENV = "STUDIO_SANDBOX_LCC_TIMEOUT_SECONDS"
SHUTDOWN_GRACE_ENV = "STUDIO_SANDBOX_SHUTDOWN_GRACE_SECONDS"
timing = AppTiming.from_environment()


@dataclass(frozen=True)
class Script:
    name: str
    body: bytes


@dataclass
class Launch:
    """Everything one app start needs, resolved by the backend."""

    app_id: str
    home: Path
    workdir: Path
    """The app's own directory: scripts, log, emulated root."""
    environment: dict[str, str]
    scripts: list[Script]
    metadata: dict[str, str]
    efs_target: Path | None = None
    """Where `$HOME/user-default-efs` points (private spaces with EFS auto-mount)."""
    log_path: Path = field(init=False)
    root: Path = field(init=False)

    def __post_init__(self) -> None:
        self.log_path = self.workdir / "lifecycle.log"
        self.root = self.workdir / "root"


StatusCallback = Callable[[str, str | None], None]
"""Called with the app's new status ("InService", "Failed", "Deleted") and a reason."""


# --------------------------------------------------------------------------- processes


def pids_of(app_id: str) -> list[int]:
    """Every live process whose environment carries `STUDIO_SANDBOX_APP_ID=<app_id>`."""
    needle = f"{APP_ID_ENV}={app_id}".encode()
    found: list[int] = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            environ = Path(f"/proc/{entry}/environ").read_bytes()
        except OSError:  # gone, or not ours
            continue
        if needle in environ.split(b"\0"):  # a zombie's environ is empty: never matched
            found.append(int(entry))
    return found


def _signal_all(pids: list[int], sig: signal.Signals) -> None:
    for pid in pids:
        try:
            os.kill(pid, sig)
        except (ProcessLookupError, PermissionError):
            continue


def stop_processes(app_id: str, grace: float | None = None) -> list[int]:
    """SIGTERM every process of the app, SIGKILL what is left after the grace period;
    returns the pids that received SIGTERM."""
    wait = timing.shutdown_grace_seconds if grace is None else grace
    termed = pids_of(app_id)
    _signal_all(termed, signal.SIGTERM)
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        if not pids_of(app_id):
            return termed
        time.sleep(0.05)
    _signal_all(pids_of(app_id), signal.SIGKILL)
    return termed


# --------------------------------------------------------------------------- the registry


class AppRuntime:
    """The apps running in this sandbox process: start, stop, stop them all."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._running: dict[str, Launch] = {}
        self._threads: list[threading.Thread] = []

    def start(self, launch: Launch, on_status: StatusCallback) -> None:
        """Run the app's start in the background; `on_status` reports the outcome."""
        with self._lock:
            self._running[launch.app_id] = launch
        self._spawn(f"studio-app-start-{launch.app_id}", lambda: self._start(launch, on_status))

    def stop(self, app_id: str, on_status: StatusCallback) -> None:
        """The shutdown path in the background: SIGTERM, grace, SIGKILL, then Deleted."""
        self._spawn(f"studio-app-stop-{app_id}", lambda: self._stop(app_id, on_status))

    def kill_all(self) -> None:
        """SIGKILL every process of every app (the sandbox is stopping)."""
        with self._lock:
            launches = list(self._running.values())
            self._running.clear()
        for launch in launches:
            _signal_all(pids_of(launch.app_id), signal.SIGKILL)
            _unmount_efs(launch)
        for thread in list(self._threads):
            thread.join(timeout=5)

    def launch(self, app_id: str) -> Launch | None:
        with self._lock:
            return self._running.get(app_id)

    def _spawn(self, name: str, target: Callable[[], None]) -> None:
        thread = threading.Thread(target=target, name=name, daemon=True)
        with self._lock:
            self._threads = [t for t in self._threads if t.is_alive()]
            self._threads.append(thread)
        thread.start()

    def _start(self, launch: Launch, on_status: StatusCallback) -> None:
        try:
            reason = _run_scripts(launch)
        except Exception as error:  # the sandbox's own fault: fail the app, visibly
            LOG.exception("app %s could not start", launch.app_id)
            reason = f"The sandbox could not start the app: {error}"
        if reason is None:
            on_status("InService", None)
            return
        stop_processes(launch.app_id)
        _unmount_efs(launch)
        with self._lock:
            self._running.pop(launch.app_id, None)
        on_status("Failed", reason)

    def _stop(self, app_id: str, on_status: StatusCallback) -> None:
        stop_processes(app_id)
        with self._lock:
            launch = self._running.pop(app_id, None)
        if launch is not None:
            _unmount_efs(launch)
        on_status("Deleted", None)


runtime = AppRuntime()


# --------------------------------------------------------------------------- one start


def _prepare(launch: Launch) -> None:
    launch.workdir.mkdir(parents=True, exist_ok=True)
    metadata = launch.root / METADATA_PATH
    metadata.parent.mkdir(parents=True, exist_ok=True)
    metadata.write_text(json.dumps(launch.metadata, indent=2), encoding="utf-8")
    launch.home.mkdir(parents=True, exist_ok=True)
    if launch.efs_target is not None:
        link = launch.home / EFS_LINK
        if link.is_symlink():
            link.unlink()
        if not link.exists():
            link.symlink_to(launch.efs_target, target_is_directory=True)


def _unmount_efs(launch: Launch) -> None:
    """The EFS mount goes away with the app."""
    link = launch.home / EFS_LINK
    if launch.efs_target is not None and link.is_symlink():
        link.unlink(missing_ok=True)


def _run_scripts(launch: Launch) -> str | None:
    """Run the scripts in order; None when all succeeded, else the FailureReason."""
    _prepare(launch)
    deadline = time.monotonic() + timing.lcc_timeout_seconds
    environment = {**launch.environment, APP_ID_ENV: launch.app_id, ROOT_ENV: str(launch.root)}
    for index, script in enumerate(launch.scripts):
        path = launch.workdir / f"lcc-{index}-{script.name}.sh"
        path.write_bytes(script.body)
        with launch.log_path.open("ab") as log:
            log.write(f"--- {script.name}\n".encode())
            log.flush()
            process = subprocess.Popen(
                ["bash", str(path)],
                cwd=launch.home,
                env=environment,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        try:
            code = process.wait(timeout=max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
            return (
                f"Lifecycle configuration {script.name} did not finish within "
                f"{timing.lcc_timeout_seconds:g} seconds (the lifecycle configuration "
                "timeout). See the lifecycle configuration log."
            )
        if code != 0:
            return (
                f"Lifecycle configuration {script.name} failed with exit code {code}. "
                "See the lifecycle configuration log."
            )
    return None
