"""DataSync task reports of restores: read back from the report bucket by finalize.

DataSync writes a task report's JSON objects under the task's `TaskReportConfig`
subdirectory (here `reports/<restore id>/`); finalize lists that prefix and reads every
JSON object of the execution (its id is part of each object's key). Throttling or a 5xx
that outlives botocore's retries becomes `TransientAwsError` (the workflow retries).
"""

from __future__ import annotations

import json
from typing import Any

import boto3

from studio_recovery.dal.aws_errors import RETRY_CONFIG, transient_aws_errors
from studio_recovery.observability import logger

MAX_REPORT_BYTES = 512 * 1024 * 1024
"""Never read more than this of one execution's reports (a home of millions of files)."""


class TaskReportReader:
    """Lists and reads the report objects of one task execution."""

    def __init__(self, client: Any | None = None) -> None:
        self._client: Any = client or boto3.client("s3", config=RETRY_CONFIG)

    def read(
        self, bucket: str, prefix: str, execution_arn: str | None
    ) -> list[dict[str, Any]] | None:
        """Every JSON document of the execution's reports (of every execution under `prefix`
        when `execution_arn` is None); None when there is none (or more than
        MAX_REPORT_BYTES of it, logged)."""
        execution_id = execution_arn.rsplit("/", 1)[-1] if execution_arn else ""
        keys: list[tuple[str, int]] = []
        paginator = self._client.get_paginator("list_objects_v2")
        with transient_aws_errors("s3 list task reports"):
            for page in paginator.paginate(Bucket=bucket, Prefix=prefix.rstrip("/") + "/"):
                for item in page.get("Contents", []):
                    key = str(item["Key"])
                    if f"/{execution_id}" in key and key.endswith(".json"):
                        keys.append((key, int(item.get("Size", 0))))
        if not keys:
            return None
        if sum(size for _, size in keys) > MAX_REPORT_BYTES:
            logger.warning(
                "Task report too large to read; the restore is not called complete",
                extra={"prefix": prefix, "limit": MAX_REPORT_BYTES},
            )
            return None
        documents = []
        for key, _ in sorted(keys):
            with transient_aws_errors("s3 get task report"):
                body = self._client.get_object(Bucket=bucket, Key=key)["Body"].read()
            document = json.loads(body)
            if isinstance(document, dict):
                documents.append(document)
        return documents
