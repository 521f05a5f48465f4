"""What the sandbox knows about a resource that IAM decides on: its tags and its policy.

- `aws:ResourceTag/<key>`: the tags of the resource the request acts on ("Controlling
  access to AWS resources using tags",
  https://docs.aws.amazon.com/IAM/latest/UserGuide/access_tags.html), read from the
  services whose resources the module conditions on (DataSync, EFS);
- resource policies: S3 bucket policy, SQS queue policy, SNS topic policy, KMS key policy
  ("Identity-based policies and resource-based policies",
  https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies_identity-vs-resource.html).
"""

from __future__ import annotations

import json
import logging
from typing import Any

from studio_sandbox.iam import policy

LOG = logging.getLogger(__name__)


def _tag_dict(tags: Any) -> dict[str, str]:
    if isinstance(tags, dict):
        return {str(k): str(v) for k, v in tags.items()}
    return {str(t.get("Key")): str(t.get("Value", "")) for t in tags or [] if "Key" in t}


def tags_of(arn: str) -> dict[str, str]:
    """The tags of the resource `arn`; {} if it has none or the sandbox does not know it."""
    parts = arn.split(":", 5)
    if len(parts) < 6:
        return {}
    _, _, service, region, account, rest = parts
    try:
        if service == "datasync":
            from moto.datasync.models import datasync_backends

            backend: Any = datasync_backends[account][region]
            return _tag_dict(backend.resource_tags(arn))
        if service == "elasticfilesystem":
            from moto.efs.models import efs_backends

            resource_id = rest.split("/", 1)[-1]
            return _tag_dict(efs_backends[account][region].list_tags_for_resource(resource_id))
    except Exception:  # an unknown resource has no tags
        return {}
    return {}


def resource_policy(arn: str) -> tuple[policy.Policy | None, bool]:
    """The resource policy of `arn` (None: it has none) and whether it is a key policy."""
    parts = arn.split(":", 5)
    if len(parts) < 6:
        return None, False
    _, partition, service, region, account, rest = parts
    document: Any = None
    try:
        if service == "s3":
            from moto.s3.models import s3_backends

            bucket = s3_backends[account or _account()][partition].buckets.get(
                rest.split("/", 1)[0]
            )
            document = bucket.policy if bucket is not None else None
        elif service == "sqs":
            from moto.sqs.models import sqs_backends

            queue = sqs_backends[account][region].queues.get(rest)
            document = queue.policy if queue is not None else None
        elif service == "sns":
            from moto.sns.models import sns_backends

            topic = sns_backends[account][region].topics.get(arn)
            document = topic.policy if topic is not None else None
        elif service == "kms":
            from moto.kms.models import kms_backends

            key = kms_backends[account][region].keys.get(rest.split("/", 1)[-1])
            return (policy.parse(str(key.policy), arn) if key is not None else None), True
    except Exception:
        LOG.debug("no resource policy for %s", arn, exc_info=True)
        return None, False
    if not document:
        return None, False
    text = document.decode() if isinstance(document, bytes) else str(document)
    if not text.strip():
        return None, False
    json.loads(text)  # a broken policy is a bug in the sandbox, not a silent allow
    return policy.parse(text, arn), False


def _account() -> str:
    from studio_sandbox.server import state

    return state.ACCOUNT_ID
