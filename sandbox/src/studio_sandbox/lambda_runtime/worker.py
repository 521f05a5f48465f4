"""One warm Lambda execution environment: imports a handler once, then serves invocations.

Run by path (never imported as part of the studio_sandbox package), with PYTHONPATH set to the
function's extracted zip first and the stand-in for its layers after, like the Lambda
Python runtime. Protocol: one JSON request per line on stdin
(`{"request_id", "payload", "deadline_ms"}`), one JSON reply per line on the original
stdout (`{"ok": true, "payload": ...}` or `{"ok": false, "error": {...}}`). The
function's own prints and logs go to stderr, which the sandbox writes to a log file.

Usage: python worker.py HANDLER FUNCTION_ARN MEMORY_MB
"""

from __future__ import annotations

import importlib
import json
import os
import sys
import time
import traceback
from collections.abc import Callable
from typing import Any, TextIO


class LambdaContext:
    """The fields and method of the Lambda Python runtime's context object."""

    def __init__(self, request_id: str, function_arn: str, memory_mb: str, deadline_ms: int):
        self.aws_request_id = request_id
        self.invoked_function_arn = function_arn
        self.function_name = os.environ.get("AWS_LAMBDA_FUNCTION_NAME", "")
        self.function_version = os.environ.get("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        self.memory_limit_in_mb = memory_mb
        self.log_group_name = os.environ.get("AWS_LAMBDA_LOG_GROUP_NAME", "")
        self.log_stream_name = os.environ.get("AWS_LAMBDA_LOG_STREAM_NAME", "")
        self.identity = None
        self.client_context = None
        self._deadline_ms = deadline_ms

    def get_remaining_time_in_millis(self) -> int:
        return max(0, self._deadline_ms - int(time.time() * 1000))


def _error(error_type: str, message: str, stack: list[str] | None = None) -> dict[str, Any]:
    return {"errorMessage": message, "errorType": error_type, "stackTrace": stack or []}


def _exception_error(exc: BaseException) -> dict[str, Any]:
    stack = traceback.format_list(traceback.extract_tb(exc.__traceback__)[1:])
    return _error(type(exc).__name__, str(exc), [line.rstrip("\n") for line in stack])


def load_handler(handler: str) -> tuple[Callable[..., Any] | None, dict[str, Any] | None]:
    """Import `module.path.function` as the runtime does; returns (handler, init error)."""
    module_name, _, function_name = handler.rpartition(".")
    if not module_name or not function_name:
        return None, _error(
            "Runtime.MalformedHandlerName", f"Bad handler '{handler}': not enough values to unpack"
        )
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        return None, _error(
            "Runtime.ImportModuleError", f"Unable to import module '{module_name}': {exc}"
        )
    except Exception as exc:  # the init phase failed, e.g. a bad environment variable
        return None, _exception_error(exc)
    function = getattr(module, function_name, None)
    if not callable(function):
        return None, _error(
            "Runtime.HandlerNotFound",
            f"Handler '{function_name}' missing on module '{module_name}'",
        )
    return function, None


def _reply(out: TextIO, reply: dict[str, Any]) -> None:
    out.write(json.dumps(reply, default=str) + "\n")
    out.flush()


def serve(handler: str, function_arn: str, memory_mb: str) -> None:
    """Answer invocations until stdin closes."""
    protocol_out = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)  # the function's prints go to the log, not into the protocol
    sys.stdout = os.fdopen(1, "w", encoding="utf-8", buffering=1)
    function, init_error = load_handler(handler)
    for line in sys.stdin:
        request = json.loads(line)
        if init_error is not None or function is None:
            _reply(protocol_out, {"ok": False, "error": init_error})
            continue
        context = LambdaContext(
            request["request_id"], function_arn, memory_mb, int(request["deadline_ms"])
        )
        try:
            result = function(request["payload"], context)
        except Exception as exc:
            traceback.print_exc()
            reply = {"ok": False, "error": _exception_error(exc)}
        except SystemExit as exc:
            reply = {"ok": False, "error": _error("Runtime.ExitError", f"exit status {exc.code}")}
        else:
            try:
                reply = {"ok": True, "payload": json.dumps(result)}
            except (TypeError, ValueError) as exc:
                reply = {
                    "ok": False,
                    "error": _error("Runtime.MarshalError", f"Unable to marshal response: {exc}"),
                }
        sys.stdout.flush()
        sys.stderr.flush()
        _reply(protocol_out, reply)


if __name__ == "__main__":
    serve(sys.argv[1], sys.argv[2], sys.argv[3])
