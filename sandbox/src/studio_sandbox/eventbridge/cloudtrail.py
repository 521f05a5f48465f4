"""CloudTrail-shaped events for SageMaker API calls, delivered through EventBridge.

In AWS, a trail logging management events makes every SageMaker write call reach the
default event bus as `AWS API Call via CloudTrail`. The sandbox has no trail, so the
SageMaker extension calls :func:`emit_api_call` after each call it serves.
"""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, datetime
from typing import Any

from studio_sandbox.eventbridge import bus
from studio_sandbox.server import state

LOG = logging.getLogger(__name__)

DETAIL_TYPE = "AWS API Call via CloudTrail"


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def api_call_event(
    event_name: str,
    request_parameters: dict[str, Any],
    response_elements: dict[str, Any] | None,
    *,
    region: str,
    account_id: str,
    service: str = "sagemaker",
) -> dict[str, Any]:
    """The EventBridge event AWS delivers for one API call logged by CloudTrail."""
    now = _now()
    request_id = str(uuid.uuid4())
    user_identity = {
        "type": "AssumedRole",
        "principalId": "AROASANDBOX000000000:sandbox",
        "arn": f"arn:aws:sts::{account_id}:assumed-role/SandboxAdmin/sandbox",
        "accountId": account_id,
        "accessKeyId": state.ACCESS_KEY,
        "sessionContext": {
            "sessionIssuer": {
                "type": "Role",
                "principalId": "AROASANDBOX000000000",
                "arn": f"arn:aws:iam::{account_id}:role/SandboxAdmin",
                "accountId": account_id,
                "userName": "SandboxAdmin",
            },
            "attributes": {"creationDate": now, "mfaAuthenticated": "false"},
        },
    }
    detail = {
        "eventVersion": "1.09",
        "userIdentity": user_identity,
        "eventTime": now,
        "eventSource": f"{service}.amazonaws.com",
        "eventName": event_name,
        "awsRegion": region,
        "sourceIPAddress": "127.0.0.1",
        "userAgent": "studio-recovery-sandbox",
        "requestParameters": request_parameters,
        "responseElements": response_elements,
        "requestID": request_id,
        "eventID": str(uuid.uuid4()),
        "readOnly": False,
        "eventType": "AwsApiCall",
        "managementEvent": True,
        "recipientAccountId": account_id,
        "eventCategory": "Management",
    }
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": DETAIL_TYPE,
        "source": f"aws.{service}",
        "account": account_id,
        "time": now,
        "region": region,
        "resources": [],
        "detail": detail,
    }


def emit_api_call(
    event_name: str,
    request_parameters: dict[str, Any],
    response_elements: dict[str, Any] | None,
    *,
    region: str,
    account_id: str,
) -> None:
    """Publish the CloudTrail event of a SageMaker API call to the default event bus.

    Delivery to rule targets is asynchronous, as in AWS; a failure is logged, never raised
    into the API call that caused it.
    """
    event = api_call_event(
        event_name, request_parameters, response_elements, region=region, account_id=account_id
    )
    try:
        bus.publish(event, region=region, account_id=account_id)
    except Exception:  # the API call itself succeeded; never fail it for a delivery
        LOG.exception("could not publish the CloudTrail event for %s", event_name)
