"""The default event bus of the sandbox: route a complete event to its rules.

The one entry point for events that AWS services emit on their own (CloudTrail-shaped
API calls from :mod:`.cloudtrail`, Step Functions status changes): each matching rule
delivers to its targets (:mod:`.targets` for Lambda and Step Functions).
"""

from __future__ import annotations

import copy
import logging
from typing import Any, cast

from moto.core.utils import unix_time
from moto.events.models import events_backends

LOG = logging.getLogger(__name__)


def publish(event: dict[str, Any], *, region: str, account_id: str, bus: str = "default") -> None:
    """Route a complete EventBridge event (as AWS emits it) to the rules of `bus`."""
    backend = events_backends[account_id][region]
    event_bus = backend.describe_event_bus(bus)
    moto_event = copy.deepcopy(event)
    moto_event["time"] = unix_time()  # moto's own targets expect epoch seconds
    # EventBridge stamps every event it receives (the `aws.events.event.ingestion-time` of
    # input transformers); moto's own targets (SQS, SNS, logs) read it from here.
    moto_event["ingestion-time"] = unix_time()
    for rule in list(event_bus.rules.values()):
        try:
            rule.send_to_targets(cast(Any, moto_event))
        except Exception:
            LOG.exception("rule %s: delivery failed", rule.name)
