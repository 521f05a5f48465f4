"""The sandbox server: moto in server mode, in-process, with the project's extensions.

`Sandbox` starts moto's `ThreadedMotoServer` on a loopback port, wraps its WSGI app to
answer the sandbox's own routes (`/_sandbox/health`, `/_sandbox/efs/<fs-id>`,
`/_sandbox/spaces/<domain-id>/<space-name>`), and
installs the extensions: the Lambda runtime, EventBridge delivery, DynamoDB stream
pollers, Step Functions corrections, Terraform-provider compatibility fixes, and the
SageMaker/EFS/DataSync stand-ins.

    with Sandbox(port=0, data_dir=tmp_path) as sb:
        boto3.client("lambda", endpoint_url=sb.endpoint_url, ...)
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from types import TracebackType
from typing import Any

from studio_sandbox import faults, iam
from studio_sandbox.server import compat, state

LOG = logging.getLogger(__name__)

_ENVIRONMENT = {
    "MOTO_IAM_LOAD_MANAGED_POLICIES": "true",
    "AWS_ACCOUNT_ID_ENDPOINT_MODE": "disabled",
    "MOTO_ALLOW_NONEXISTENT_REGION": "false",
    "AWS_ACCESS_KEY_ID": state.ACCESS_KEY,
    "AWS_SECRET_ACCESS_KEY": state.SECRET_KEY,
    "AWS_DEFAULT_REGION": state.REGION,
}

_MOTO_CONFIG_KEYS = ("stepfunctions", "iam", "lambda")

StartResponse = Callable[[str, list[tuple[str, str]]], Any]


class SandboxApp:
    """WSGI wrapper: the sandbox's own routes, then moto for everything else."""

    def __init__(self, inner: Callable[..., Iterable[bytes]], started_at: float) -> None:
        self.inner = inner
        self.started_at = started_at

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path = str(environ.get("PATH_INFO", ""))
        if not path.startswith("/_sandbox/"):
            target = str(environ.get("HTTP_X_AMZ_TARGET", ""))
            if compat.needs_response_fix(target):
                return self._fixed(target, environ, start_response)
            return self.inner(environ, start_response)
        status, body = self._route(str(environ.get("REQUEST_METHOD", "GET")), path)
        data = json.dumps(body).encode()
        start_response(
            status,
            [("Content-Type", "application/json"), ("Content-Length", str(len(data)))],
        )
        return [data]

    def _fixed(
        self, target: str, environ: dict[str, Any], start_response: StartResponse
    ) -> Iterable[bytes]:
        """Let moto answer, then apply the compatibility fix to the JSON reply."""
        captured: list[Any] = []

        def capture(status: str, headers: list[tuple[str, str]], *_: Any) -> Any:
            captured[:] = [status, headers]
            return None

        chunks = self.inner(environ, capture)
        try:
            body = b"".join(chunks)
        finally:
            close = getattr(chunks, "close", None)
            if callable(close):
                close()
        status, headers = captured
        fixed = compat.fix_response(target, int(status.split()[0]), body)
        headers = [(k, v) for k, v in headers if k.lower() != "content-length"]
        start_response(status, [*headers, ("Content-Length", str(len(fixed)))])
        return [fixed]

    def _route(self, method: str, path: str) -> tuple[str, dict[str, Any]]:
        if method != "GET":
            return "405 Method Not Allowed", {"message": f"{method} is not allowed on {path}"}
        if path == "/_sandbox/health":
            cfg = state.settings()
            return "200 OK", {
                "status": "ok",
                "endpoint": cfg.endpoint_url,
                "region": cfg.region,
                "account_id": cfg.account_id,
                "data_dir": str(cfg.data_dir),
                "uptime_s": round(time.time() - self.started_at, 3),
            }
        if path.startswith("/_sandbox/efs/"):
            return self._efs_path(path.removeprefix("/_sandbox/efs/").strip("/"))
        if path.startswith("/_sandbox/spaces/"):
            return self._space_volume(path.removeprefix("/_sandbox/spaces/").strip("/"))
        return "404 Not Found", {"message": f"no sandbox route {path}"}

    @staticmethod
    def _efs_path(fs_id: str) -> tuple[str, dict[str, Any]]:
        from moto.efs.models import efs_backends

        cfg = state.settings()
        known = efs_backends[cfg.account_id][cfg.region].file_systems_by_id
        if fs_id not in known:
            return "404 Not Found", {"message": f"File system '{fs_id}' does not exist."}
        path = state.efs_root(fs_id)
        path.mkdir(parents=True, exist_ok=True)
        return "200 OK", {"path": str(path)}

    @staticmethod
    def _space_volume(rest: str) -> tuple[str, dict[str, Any]]:
        """`/_sandbox/spaces/<domain-id>/<space-name>`: the space's EBS home and its apps."""
        from moto.sagemaker.exceptions import ResourceNotFound
        from moto.sagemaker.models import sagemaker_backends

        domain_id, _, name = rest.partition("/")
        cfg = state.settings()
        backend: Any = sagemaker_backends[cfg.account_id][cfg.region]
        try:
            return "200 OK", backend.space_volume(domain_id, name)
        except ResourceNotFound as missing:
            return "404 Not Found", {"message": getattr(missing, "message", str(missing))}


class Sandbox:
    """One running sandbox, in this process."""

    def __init__(
        self,
        port: int = state.DEFAULT_PORT,
        data_dir: Path | str | None = None,
        iam_enforced: bool | None = None,
    ) -> None:
        self.requested_port = port
        # IAM enforced on every role session's call (None: as $SANDBOX_IAM says)
        self.iam_enforced = iam.mode_from_environment() if iam_enforced is None else iam_enforced
        self.data_dir = Path(data_dir).resolve() if data_dir else state.default_data_dir()
        self._server: Any = None
        self._pollers: Any = None
        self._lock = threading.Lock()
        self._saved_environment: dict[str, str | None] = {}
        self._saved_moto_config: dict[str, Any] = {}

    @property
    def endpoint_url(self) -> str:
        """`http://127.0.0.1:<port>`."""
        return state.endpoint_url()

    @property
    def port(self) -> int:
        return state.settings().port

    def start(self) -> Sandbox:
        """Start moto and install every extension; returns once requests are served."""
        with self._lock:
            if self._server is not None:
                return self
            self._saved_environment = {k: os.environ.get(k) for k in (*_ENVIRONMENT, "MOTO_PORT")}
            os.environ.update(_ENVIRONMENT)
            self.data_dir.mkdir(parents=True, exist_ok=True)
            state.configure(data_dir=self.data_dir, port=self.requested_port)
            self._saved_moto_config = self._configure_moto()
            self._server = self._start_server()
            port = int(self._server.get_host_and_port()[1])
            state.configure(port=port)
            os.environ["MOTO_PORT"] = str(port)  # Step Functions tasks call back here
            self._install_extensions()
            if self.iam_enforced:
                iam.enable()
            LOG.info("sandbox listening on %s (data in %s)", self.endpoint_url, self.data_dir)
            return self

    @staticmethod
    def _configure_moto() -> dict[str, Any]:
        """Configure moto for the sandbox; returns the settings it replaced."""
        from moto.core.config import default_user_config
        from moto.moto_api._internal.models import moto_api_backend

        saved = {key: default_user_config.get(key) for key in _MOTO_CONFIG_KEYS}
        default_user_config["stepfunctions"] = {"execute_state_machine": True}
        default_user_config["iam"] = {"load_aws_managed_policies": True}
        default_user_config["lambda"] = {"use_docker": True}  # never used: invoke is ours
        moto_api_backend.reset()  # a fresh account every time
        return saved

    def _start_server(self) -> Any:
        from moto.moto_server.threaded_moto_server import ThreadedMotoServer
        from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
        from werkzeug.serving import WSGIRequestHandler, make_server

        started_at = time.time()

        def backend_app(service: str) -> Any:
            prepare_service(service)
            return create_backend_app(service)  # type: ignore[arg-type]

        class _RequestHandler(WSGIRequestHandler):
            def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
                """werkzeug's access-log line, formatted only when it will be logged."""
                access_log = logging.getLogger("werkzeug")
                # NOTSET: werkzeug sets the level to INFO on its first line, and logs it.
                if access_log.level == logging.NOTSET or access_log.isEnabledFor(logging.INFO):
                    super().log_request(code, size)

        class _Server(ThreadedMotoServer):
            def _server_entry(self) -> None:
                app = faults.FaultMiddleware(
                    SandboxApp(DomainDispatcherApplication(backend_app), started_at)
                )
                self._server = make_server(
                    self._ip_address, self._port, app, True, request_handler=_RequestHandler
                )
                self._server_ready_event.set()
                self._server.serve_forever()

        server = _Server("127.0.0.1", self.requested_port, verbose=False)
        server.start()
        return server

    def _install_extensions(self) -> None:
        # Imported here, not at the top: `studio-recovery-sandbox status|down` imports this
        # module and must stay quick; these import moto's backends.
        from studio_sandbox import dynamodb_streams, efs
        from studio_sandbox.datasync import responses as datasync
        from studio_sandbox.eventbridge import targets as eventbridge_targets
        from studio_sandbox.lambda_runtime import runtime as lambda_runtime
        from studio_sandbox.sagemaker import responses as sagemaker

        compat.install()
        lambda_runtime.install(lambda_runtime.LambdaRuntime())
        eventbridge_targets.install()
        self._pollers = dynamodb_streams.StreamPollers()
        self._pollers.start()
        for extension in (efs, sagemaker, datasync):
            extension.patch()
            LOG.info("sandbox extension %s loaded", extension.__name__)

    def stream_backlog(self) -> int:
        """DynamoDB stream records not yet handed to (or skipped by) their functions."""
        return self._pollers.backlog() if self._pollers is not None else 0

    def stop(self) -> None:
        """Stop serving, stop every worker and poller, and undo the extensions.

        moto's configuration, the environment variables and the service stand-ins are put
        back as they were before :meth:`start`, so in-process moto used after a sandbox (a
        later test suite in the same process) is moto's own again.
        """
        from studio_sandbox import efs, stepfunctions
        from studio_sandbox.datasync import responses as datasync
        from studio_sandbox.eventbridge import targets as eventbridge_targets
        from studio_sandbox.lambda_runtime import runtime as lambda_runtime
        from studio_sandbox.sagemaker import apps as studio_apps
        from studio_sandbox.sagemaker import responses as sagemaker

        with self._lock:
            if self._server is None:
                return
            if self._pollers is not None:
                self._pollers.stop()
                self._pollers = None
            studio_apps.runtime.kill_all()  # no app process outlives the sandbox
            iam.disable()
            lambda_runtime.uninstall()
            eventbridge_targets.uninstall()
            stepfunctions.uninstall()
            self._server.stop()
            self._server = None
            compat.uninstall()
            for extension in (datasync, sagemaker, efs):
                extension.unpatch()
            self._restore_moto_config()
            for key, value in self._saved_environment.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value

    def _restore_moto_config(self) -> None:
        from moto.core.config import default_user_config

        for key, value in self._saved_moto_config.items():
            if value is None:
                default_user_config.pop(key, None)  # type: ignore[misc]
            else:
                default_user_config[key] = value  # type: ignore[literal-required]

    def __enter__(self) -> Sandbox:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def prepare_service(service: str) -> None:
    """Extensions of services that are slow to import, applied on their first request.

    moto imports a service's backend when it is first called; the Step Functions
    interpreter and the EC2 models take seconds to import, so the sandbox starts without them.
    """
    compat.prepare_service(service)
    if service == "stepfunctions":
        from studio_sandbox import stepfunctions

        stepfunctions.install()
        if iam.enforcing():
            from studio_sandbox.iam import stepfunctions as iam_stepfunctions

            iam_stepfunctions.install()
