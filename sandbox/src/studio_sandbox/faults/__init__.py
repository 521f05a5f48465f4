"""Fault injection for the sandbox: AWS errors and latency on the requests it serves.

A rule names a service (as boto3 names it: `datasync`, `dynamodb`, `sagemaker`,
`stepfunctions`, `efs`, `sns`, `sqs`, `ec2`, ...; signing names such as `states` or
`elasticfilesystem` work too) and optionally one operation (`CreateLocationEfs`). Every
request the sandbox serves goes through :class:`FaultMiddleware`; the first active rule that
matches answers it with an AWS error in the service's own wire format, so botocore raises
the right `ClientError` code (`ThrottlingException`, `ProvisionedThroughputExceededException`,
`InternalServerError`, ...), after an optional delay. A rule without an error code only delays.

    rule = faults.inject("datasync", "CreateTask", error_code="ThrottlingException",
                         duration_s=20)
    ...
    faults.remove(rule)

Rules expire after `duration_s`, after firing `count` times, or when removed; `rate` is the
chance that a matching request fails, drawn from a generator :func:`seed` makes repeatable.
Other processes use the HTTP routes: `POST /_sandbox/faults` (JSON body: the keyword
arguments of :func:`inject`) returns `{"id"}`, `GET /_sandbox/faults` lists the rules,
`DELETE /_sandbox/faults` clears them, `DELETE /_sandbox/faults/<id>` removes one,
`POST /_sandbox/faults/seed` (`{"seed": n}`), and `GET`/`POST /_sandbox/faults/datasync`
(`{"error": [code, detail] | null, "hang": bool, "phase_delay": s, "fail_paths": [glob],
"fail_paths_runs": n}`)
reads or sets how DataSync executions end.

:func:`set_wait_scale` compresses Step Functions `Wait` states (a 10 s poll waits
10 x scale seconds), so a test can reach a workflow's timeout without waiting for it; the
workflow's own arithmetic (seconds counted per poll) is unchanged.
"""

from studio_sandbox.faults.middleware import ROUTE, FaultMiddleware, error_response
from studio_sandbox.faults.rules import (
    Decision,
    FaultRegistry,
    Rule,
    active,
    clear,
    inject,
    registry,
    remove,
    seed,
)
from studio_sandbox.faults.services import (
    KNOWN_SERVICES,
    FaultError,
    Request,
    ServiceInfo,
    canonical_service,
    identify,
    service_info,
)
from studio_sandbox.faults.switches import (
    datasync_faults,
    set_datasync_faults,
    set_wait_scale,
    wait_scale,
)

__all__ = [
    "KNOWN_SERVICES",
    "ROUTE",
    "Decision",
    "FaultError",
    "FaultMiddleware",
    "FaultRegistry",
    "Request",
    "Rule",
    "ServiceInfo",
    "active",
    "canonical_service",
    "clear",
    "datasync_faults",
    "error_response",
    "identify",
    "inject",
    "registry",
    "remove",
    "seed",
    "service_info",
    "set_datasync_faults",
    "set_wait_scale",
    "wait_scale",
]
