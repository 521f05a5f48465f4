"""Lambda functions run for real, from their deployed zip, handler string and environment.

moto can only run Lambda code in Docker, which is not here. This runtime replaces
`LambdaFunction.invoke`, so every path that invokes a function (the Invoke API from boto3
or Terraform, Step Functions Lambda tasks, EventBridge targets, stream event source
mappings) runs the function's handler in a warm worker subprocess (`worker.py`),
with the function's environment and the sandbox endpoint, like an execution environment.

Sync invokes return what AWS returns: the handler's result, or `X-Amz-Function-Error:
Unhandled` with `{"errorMessage", "errorType", "stackTrace"}`. Async invokes (`Event`)
are queued, retried twice on error, then sent to the function's dead-letter queue and
its on-failure destination.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import logging
import os
import selectors
import shutil
import subprocess
import sys
import threading
import time
import uuid
import zipfile
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from moto.awslambda.exceptions import LambdaClientError
from moto.awslambda.models import LambdaFunction

from studio_sandbox import delivery, iam
from studio_sandbox.server import state

LOG = logging.getLogger(__name__)

WORKER_SCRIPT = Path(__file__).with_name("worker.py")
MAX_WORKERS_PER_FUNCTION = 4
LOG_TAIL_BYTES = 4096
DEFAULT_ASYNC_RETRIES = 2


class InvalidRequestContent(LambdaClientError):
    """The payload of an invoke is not JSON (HTTP 400, as AWS answers)."""

    code = 400

    def __init__(self, message: str) -> None:
        super().__init__("InvalidRequestContentException", message)


@dataclass(frozen=True)
class FunctionSpec:
    """What an execution environment needs to know about one function version."""

    name: str
    arn: str
    handler: str
    environment: Mapping[str, str]
    timeout_s: float
    memory_mb: int
    code_sha256: str
    version: str
    role: str = ""

    @property
    def pool_key(self) -> str:
        """Workers are reused only for the same code, handler and configuration."""
        config = json.dumps(
            [
                self.arn,
                self.handler,
                dict(self.environment),
                self.code_sha256,
                self.memory_mb,
                self.role,
            ],
            sort_keys=True,
        )
        return hashlib.sha256(config.encode()).hexdigest()


@dataclass
class InvokeResult:
    """The outcome of one synchronous invocation."""

    payload: bytes
    function_error: str | None = None
    log_tail: str = ""
    request_id: str = field(default_factory=lambda: str(uuid.uuid4()))


def spec_of(fn: LambdaFunction) -> FunctionSpec:
    """A snapshot of a moto function's configuration."""
    return FunctionSpec(
        name=fn.function_name,
        arn=fn.function_arn,
        handler=fn.handler or "",
        environment={str(k): str(v) for k, v in (fn.environment_vars or {}).items()},
        timeout_s=float(fn.timeout or 3),
        memory_mb=int(fn.memory_size or 128),
        code_sha256=fn.code_sha_256 or "",
        version=str(fn.version),
        role=str(fn.role or ""),
    )


def _error_payload(error_type: str, message: str) -> bytes:
    return json.dumps({"errorMessage": message, "errorType": error_type}).encode()


class Worker:
    """One warm execution environment: a subprocess running `worker.py`."""

    def __init__(self, spec: FunctionSpec, code_dir: Path, log_path: Path) -> None:
        self.spec = spec
        self.log_path = log_path
        self._log_file: IO[bytes] = log_path.open("ab")
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-S",
                "-u",
                str(WORKER_SCRIPT),
                spec.handler,
                spec.arn,
                str(spec.memory_mb),
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._log_file,
            env=self._environment(spec, code_dir),
            cwd=code_dir,
        )

    @staticmethod
    def _environment(spec: FunctionSpec, code_dir: Path) -> dict[str, str]:
        site_packages = [p for p in sys.path if p.endswith("site-packages")]
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "LANG": "C.UTF-8",
            "TZ": "UTC",
            "PYTHONPATH": os.pathsep.join([str(code_dir), *site_packages]),
            "LAMBDA_TASK_ROOT": str(code_dir),
            "_HANDLER": spec.handler,
            "AWS_EXECUTION_ENV": "AWS_Lambda_python3.12",
            "AWS_LAMBDA_FUNCTION_NAME": spec.name,
            "AWS_LAMBDA_FUNCTION_VERSION": spec.version,
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(spec.memory_mb),
            "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{spec.name}",
            "AWS_LAMBDA_LOG_STREAM_NAME": f"sandbox/{uuid.uuid4().hex}",
            "POWERTOOLS_TRACE_DISABLED": "true",
            "AWS_XRAY_CONTEXT_MISSING": "IGNORE_ERROR",
        }
        env.update(spec.environment)
        cfg = state.settings()
        env.update(
            {
                "AWS_REGION": cfg.region,
                "AWS_DEFAULT_REGION": cfg.region,
                "AWS_ENDPOINT_URL": cfg.endpoint_url,
                "AWS_ACCESS_KEY_ID": state.ACCESS_KEY,
                "AWS_SECRET_ACCESS_KEY": state.SECRET_KEY,
                "AWS_ACCOUNT_ID_ENDPOINT_MODE": "disabled",
            }
        )
        # With IAM enforced, the function calls as its execution role, session = its name.
        env.update(iam.role_environment(spec.role, spec.name))
        return env

    def alive(self) -> bool:
        return self.proc.poll() is None

    def call(self, payload: Any, request_id: str) -> dict[str, Any]:
        """One invocation; raises TimeoutError past the function's timeout."""
        assert self.proc.stdin is not None
        assert self.proc.stdout is not None
        deadline = time.time() + self.spec.timeout_s
        request = {
            "request_id": request_id,
            "payload": payload,
            "deadline_ms": int(deadline * 1000),
        }
        self._log(f"START RequestId: {request_id} Version: {self.spec.version}")
        self.proc.stdin.write((json.dumps(request) + "\n").encode())
        self.proc.stdin.flush()
        with selectors.DefaultSelector() as sel:
            sel.register(self.proc.stdout, selectors.EVENT_READ)
            if not sel.select(timeout=max(0.0, deadline - time.time())):
                self._log(f"END RequestId: {request_id} (timed out)")
                raise TimeoutError
        line = self.proc.stdout.readline()
        self._log(f"END RequestId: {request_id}")
        if not line:
            raise RuntimeError(f"worker exited with status {self.proc.wait()}")
        reply: dict[str, Any] = json.loads(line)
        return reply

    def _log(self, line: str) -> None:
        stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        self._log_file.write(f"{stamp} {line}\n".encode())
        self._log_file.flush()

    def kill(self) -> None:
        if self.alive():
            self.proc.kill()
            self.proc.wait()
        self._log_file.close()

    def stop(self) -> None:
        if self.proc.stdin is not None:
            self.proc.stdin.close()
        try:
            self.proc.wait(timeout=2)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self._log_file.close()


class WorkerPool:
    """Warm workers for one function configuration, at most MAX_WORKERS_PER_FUNCTION."""

    def __init__(self, factory: Callable[[], Worker], size: int) -> None:
        self._factory = factory
        self._idle: list[Worker] = []
        self._slots = threading.BoundedSemaphore(size)
        self._closed = False
        self._lock = threading.Lock()

    def run(self, payload: Any, request_id: str) -> dict[str, Any]:
        with self._slots:
            worker = self._take()
            try:
                reply = worker.call(payload, request_id)
            except BaseException:
                worker.kill()  # a timed-out or broken environment is never reused
                raise
            with self._lock:
                retired = self._closed
                if not retired:
                    self._idle.append(worker)
            if retired:
                worker.stop()
            return reply

    def _take(self) -> Worker:
        with self._lock:
            while self._idle:
                worker = self._idle.pop()
                if worker.alive():
                    return worker
        return self._factory()

    def close(self) -> None:
        with self._lock:
            self._closed = True
            workers, self._idle = self._idle, []
        for worker in workers:
            worker.stop()


class LambdaRuntime:
    """Runs functions for the sandbox: warm pools, sync and async invocation."""

    def __init__(self, retry_delays: tuple[float, ...] = (1.0, 2.0)) -> None:
        self.retry_delays = retry_delays
        self._pools: dict[str, WorkerPool] = {}
        self._pool_arns: dict[str, str] = {}
        self._lock = threading.Lock()
        self._async = ThreadPoolExecutor(max_workers=8, thread_name_prefix="lambda-async")

    # -- code -------------------------------------------------------------------------
    def _code_dir(self, fn: LambdaFunction, spec: FunctionSpec) -> Path:
        digest = hashlib.sha256(spec.code_sha256.encode()).hexdigest()[:16]
        target = state.data_dir() / "lambda" / spec.name / digest
        if not target.is_dir():
            code: bytes = getattr(fn, "code_bytes", b"") or b""
            if not code:
                raise InvalidRequestContent(f"function {spec.name} has no zip package")
            tmp = target.with_name(target.name + f".tmp{uuid.uuid4().hex[:6]}")
            with zipfile.ZipFile(io.BytesIO(code)) as zf:
                zf.extractall(tmp)
            if target.exists():  # another thread extracted it meanwhile
                shutil.rmtree(tmp, ignore_errors=True)
            else:
                tmp.replace(target)
        return target

    def _pool(self, fn: LambdaFunction) -> tuple[FunctionSpec, WorkerPool]:
        spec = spec_of(fn)
        with self._lock:
            pool = self._pools.get(spec.pool_key)
            if pool is None:
                code_dir = self._code_dir(fn, spec)
                log_path = state.logs_dir() / f"{spec.name}.log"
                pool = WorkerPool(
                    lambda: Worker(spec, code_dir, log_path), MAX_WORKERS_PER_FUNCTION
                )
                self._retire(spec.arn)
                self._pools[spec.pool_key] = pool
                self._pool_arns[spec.pool_key] = spec.arn
        return spec, pool

    def _retire(self, arn: str) -> None:
        """Stop the pools of an earlier configuration of this function (lock held)."""
        for key in [k for k, a in self._pool_arns.items() if a == arn]:
            self._pools.pop(key).close()
            del self._pool_arns[key]

    # -- invocation -------------------------------------------------------------------
    @staticmethod
    def parse_payload(body: str | bytes | None) -> Any:
        """The event the handler receives; AWS refuses a payload that is not JSON."""
        if body is None or body in ("", b""):
            return {}
        try:
            return json.loads(body)
        except ValueError as exc:
            raise InvalidRequestContent(f"Could not parse request body into json: {exc}") from None

    def invoke_sync(self, fn: LambdaFunction, event: Any) -> InvokeResult:
        """Run the function once and return its result or error, like `RequestResponse`."""
        spec, pool = self._pool(fn)
        request_id = str(uuid.uuid4())
        try:
            reply = pool.run(event, request_id)
        except TimeoutError:
            message = (
                f"RequestId: {request_id} Error: Task timed out after {spec.timeout_s:.2f} seconds"
            )
            return InvokeResult(
                _error_payload("Sandbox.Timedout", message), "Unhandled", request_id=request_id
            )
        except RuntimeError as exc:
            return InvokeResult(
                _error_payload("Runtime.ExitError", str(exc)), "Unhandled", request_id=request_id
            )
        if reply.get("ok"):
            return InvokeResult(str(reply["payload"]).encode(), None, request_id=request_id)
        return InvokeResult(json.dumps(reply["error"]).encode(), "Unhandled", request_id=request_id)

    def invoke_async(self, fn: LambdaFunction, event: Any) -> str:
        """Queue an `Event` invocation; returns its request id at once."""
        request_id = str(uuid.uuid4())
        self._async.submit(self._run_async, fn, event, request_id)
        return request_id

    def _run_async(self, fn: LambdaFunction, event: Any, request_id: str) -> None:
        retries = _max_retries(fn)
        result = InvokeResult(b"", None)
        for attempt in range(retries + 1):
            if attempt:
                time.sleep(self.retry_delays[min(attempt - 1, len(self.retry_delays) - 1)])
            try:
                result = self.invoke_sync(fn, event)
            except Exception as exc:
                LOG.exception("async invoke of %s failed to run", fn.function_name)
                result = InvokeResult(_error_payload("Sandbox.Error", str(exc)), "Unhandled")
            if result.function_error is None:
                return
        LOG.warning(
            "async invoke of %s failed %d times; sending it to the dead-letter queue",
            fn.function_name,
            retries + 1,
        )
        delivery.dead_letter(fn, event, request_id, result.payload)
        delivery.on_failure(fn, event, request_id, result.payload, retries + 1)

    def close(self) -> None:
        self._async.shutdown(wait=False, cancel_futures=True)
        with self._lock:
            pools, self._pools = list(self._pools.values()), {}
        for pool in pools:
            pool.close()


def _max_retries(fn: LambdaFunction) -> int:
    configs = getattr(fn, "event_invoke_config", None) or []
    for config in configs:
        value = getattr(config, "config", {}).get("MaximumRetryAttempts")
        if value is not None:
            return int(value)
    return DEFAULT_ASYNC_RETRIES


# -- the patch into moto ------------------------------------------------------------------
_runtime: LambdaRuntime | None = None
_original_invoke = LambdaFunction.invoke


def _header(headers: Any, name: str) -> str | None:
    if headers is None:
        return None
    for key, value in headers.items():  # dict or werkzeug headers
        if str(key).lower() == name.lower():
            return str(value)
    return None


def _sandbox_invoke(
    self: LambdaFunction, body: Any, request_headers: Any, response_headers: Any
) -> str | bytes:
    runtime = _runtime
    if runtime is None:
        return _original_invoke(self, body, request_headers, response_headers)
    event = LambdaRuntime.parse_payload(body)
    invocation_type = _header(request_headers, "X-Amz-Invocation-Type") or "RequestResponse"
    if invocation_type == "DryRun":
        return b""
    if invocation_type == "Event":
        request_id = runtime.invoke_async(self, event)
        response_headers["x-amzn-RequestId"] = request_id
        return b""
    result = runtime.invoke_sync(self, event)
    response_headers["x-amzn-RequestId"] = result.request_id
    response_headers["X-Amz-Executed-Version"] = str(self.version)
    if result.function_error:
        response_headers["x-amz-function-error"] = result.function_error
    if _header(request_headers, "X-Amz-Log-Type") == "Tail":
        tail = _log_tail(self.function_name)
        response_headers["x-amz-log-result"] = base64.b64encode(tail).decode()
    return result.payload


def _log_tail(function_name: str) -> bytes:
    path = state.logs_dir() / f"{function_name}.log"
    if not path.is_file():
        return b""
    data = path.read_bytes()
    return data[-LOG_TAIL_BYTES:]


def install(runtime: LambdaRuntime) -> None:
    """Route every moto Lambda invocation through `runtime`."""
    global _runtime
    _runtime = runtime
    LambdaFunction.invoke = _sandbox_invoke  # type: ignore[method-assign]
    delivery.set_lambda_invoker(runtime.invoke_async)


def uninstall() -> None:
    """Give moto back its own invoke and stop every worker."""
    global _runtime
    runtime, _runtime = _runtime, None
    LambdaFunction.invoke = _original_invoke  # type: ignore[method-assign]
    delivery.set_lambda_invoker(None)
    if runtime is not None:
        runtime.close()


def current() -> LambdaRuntime | None:
    """The installed runtime, if the sandbox is running."""
    return _runtime
