"""DataSync in the sandbox: the API handlers, and `patch()` that installs them.

Serves the calls the product makes (CreateLocationEfs, DescribeLocationEfs,
CreateLocationS3, DescribeLocationS3, DeleteLocation, ListLocations, CreateTask,
DescribeTask, UpdateTask, DeleteTask, ListTasks, StartTaskExecution,
DescribeTaskExecution, CancelTaskExecution, ListTaskExecutions, tags) from
:class:`.backend.SandboxDataSyncBackend`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from moto.datasync import models as ds_models
from moto.datasync import responses as ds_responses
from moto.datasync.exceptions import InvalidRequestException

from studio_sandbox import efs
from studio_sandbox.datasync.backend import SandboxDataSyncBackend
from studio_sandbox.moto_ext import ServiceExtension


def _backend(response: Any) -> SandboxDataSyncBackend:
    backend = ds_models.datasync_backends[response.current_account][response.region]
    assert isinstance(backend, SandboxDataSyncBackend), "datasync.patch() was not called"
    return backend


def _json(value: Any) -> str:
    import json

    return json.dumps(value)


def _params(response: Any) -> dict[str, Any]:
    import json

    body = response.body
    if isinstance(body, bytes):
        body = body.decode("utf-8")
    try:
        parsed = json.loads(body or "{}")
    except ValueError:
        return {}
    return parsed if isinstance(parsed, dict) else {}


def _page(items: list[Any], params: dict[str, Any]) -> tuple[list[Any], str | None]:
    try:
        start = int(params.get("NextToken") or 0)
    except ValueError:
        raise InvalidRequestException("Invalid NextToken.") from None
    size = int(params.get("MaxResults") or 100)
    page = items[start : start + size]
    return page, str(start + size) if start + size < len(items) else None


def _matches(value: str, operator: str, wanted: list[str]) -> bool:
    checks: dict[str, Callable[[], bool]] = {
        "Equals": lambda: value in wanted,
        "In": lambda: value in wanted,
        "NotEquals": lambda: value not in wanted,
        "Contains": lambda: any(w in value for w in wanted),
        "NotContains": lambda: all(w not in value for w in wanted),
        "BeginsWith": lambda: any(value.startswith(w) for w in wanted),
    }
    check = checks.get(operator)
    if check is None:
        raise InvalidRequestException(f"Unsupported filter operator: {operator}")
    return check()


def create_location_efs(self: Any) -> str:
    location = _backend(self).create_location_efs(_params(self))
    return _json({"LocationArn": location.arn})


def describe_location_efs(self: Any) -> str:
    location = _backend(self).efs_location(_params(self).get("LocationArn", ""))
    return _json(location.describe())


def create_location_s3(self: Any) -> str:
    location = _backend(self).create_location_s3(_params(self))
    return _json({"LocationArn": location.arn})


def describe_location_s3(self: Any) -> str:
    location = _backend(self).s3_location(_params(self).get("LocationArn", ""))
    return _json(location.describe())


def delete_location(self: Any) -> str:
    _backend(self).delete_location(_params(self).get("LocationArn", ""))
    return _json({})


def list_locations(self: Any) -> str:
    params = _params(self)
    backend = _backend(self)
    rows = [
        {"LocationArn": arn, "LocationUri": location.uri, "LocationType": location.typ}
        for known in backend.all_locations()
        for arn, location in list(known.items())
    ]
    for flt in params.get("Filters") or []:
        key = {"LocationUri": "LocationUri", "LocationType": "LocationType"}.get(flt.get("Name"))
        if key is None:
            continue
        rows = [
            r
            for r in rows
            if _matches(r[key], flt.get("Operator", "Equals"), flt.get("Values", []))
        ]
    page, token = _page(rows, params)
    for row in page:
        row.pop("LocationType")
    reply: dict[str, Any] = {"Locations": page}
    if token:
        reply["NextToken"] = token
    return _json(reply)


def create_task(self: Any) -> str:
    task = _backend(self).create_sync_task(_params(self))
    return _json({"TaskArn": task.arn})


def describe_task(self: Any) -> str:
    backend = _backend(self)
    return _json(backend.sync_task(_params(self).get("TaskArn", "")).describe(backend.executions))


def update_task(self: Any) -> str:
    params = _params(self)
    _backend(self).update_sync_task(params.get("TaskArn", ""), params)
    return _json({})


def delete_task(self: Any) -> str:
    _backend(self).delete_task(_params(self).get("TaskArn", ""))
    return _json({})


def list_tasks(self: Any) -> str:
    backend = _backend(self)
    params = _params(self)
    tasks = list(backend.sync_tasks.values())
    for flt in params.get("Filters") or []:
        if flt.get("Name") == "LocationId":
            wanted = flt.get("Values", [])
            operator = flt.get("Operator", "Equals")
            tasks = [
                t
                for t in tasks
                if _matches(t.source_location_arn, operator, wanted)
                or _matches(t.destination_location_arn, operator, wanted)
            ]
    rows = [
        {
            "TaskArn": t.arn,
            "Status": t.status(backend.executions),
            "Name": t.name or "",
            "TaskMode": "BASIC",
        }
        for t in tasks
    ]
    page, token = _page(rows, params)
    reply: dict[str, Any] = {"Tasks": page}
    if token:
        reply["NextToken"] = token
    return _json(reply)


def start_task_execution(self: Any) -> str:
    params = _params(self)
    execution = _backend(self).start_execution(params.get("TaskArn", ""), params)
    return _json({"TaskExecutionArn": execution.arn})


def describe_task_execution(self: Any) -> str:
    execution = _backend(self).execution(_params(self).get("TaskExecutionArn", ""))
    return _json(execution.describe())


def cancel_task_execution(self: Any) -> str:
    _backend(self).cancel_execution(_params(self).get("TaskExecutionArn", ""))
    return _json({})


def list_task_executions(self: Any) -> str:
    backend = _backend(self)
    params = _params(self)
    task_arn = params.get("TaskArn")
    executions = [
        e for e in list(backend.executions.values()) if not task_arn or e.task_arn == task_arn
    ]
    rows = [
        {"TaskExecutionArn": e.arn, "Status": e.status, "TaskMode": "BASIC"} for e in executions
    ]
    page, token = _page(rows, params)
    reply: dict[str, Any] = {"TaskExecutions": page}
    if token:
        reply["NextToken"] = token
    return _json(reply)


def list_tags_for_resource(self: Any) -> str:
    tags = _backend(self).resource_tags(_params(self).get("ResourceArn", ""))
    return _json({"Tags": tags})


def tag_resource(self: Any) -> str:
    params = _params(self)
    tags = _backend(self).resource_tags(params.get("ResourceArn", ""))
    new = {t["Key"]: t.get("Value", "") for t in params.get("Tags") or []}
    tags[:] = [t for t in tags if t["Key"] not in new] + [
        {"Key": k, "Value": v} for k, v in new.items()
    ]
    return _json({})


def untag_resource(self: Any) -> str:
    params = _params(self)
    tags = _backend(self).resource_tags(params.get("ResourceArn", ""))
    keys = set(params.get("Keys") or [])
    tags[:] = [t for t in tags if t["Key"] not in keys]
    return _json({})


_HANDLERS: tuple[Callable[[Any], str], ...] = (
    create_location_efs,
    describe_location_efs,
    create_location_s3,
    describe_location_s3,
    delete_location,
    list_locations,
    create_task,
    describe_task,
    update_task,
    delete_task,
    list_tasks,
    start_task_execution,
    describe_task_execution,
    cancel_task_execution,
    list_task_executions,
    list_tags_for_resource,
    tag_resource,
    untag_resource,
)


_EXTENSION = ServiceExtension(
    backends=ds_models.datasync_backends,
    backend=SandboxDataSyncBackend,
    moto_backend=ds_models.DataSyncBackend,
    response_class=ds_responses.DataSyncResponse,
    handlers=_HANDLERS,
)


def patch() -> None:
    """Serve DataSync with :class:`SandboxDataSyncBackend` and the handlers above (idempotent)."""
    efs.patch()
    _EXTENSION.install()


def unpatch() -> None:
    """Give DataSync back to moto (and forget every sandbox location, task and execution)."""
    _EXTENSION.uninstall()
    efs.unpatch()
