"""The space-report function's storage: the report object in S3, the items in the registry."""

from __future__ import annotations

import json
from typing import Any

from studio_recovery.models.space_report import SpaceRestoreReport


class SpaceReports:
    def __init__(self, s3: Any, table: Any) -> None:
        self.s3 = s3
        self.table = table

    def read(self, bucket: str, key: str) -> SpaceRestoreReport:
        body = self.s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        return SpaceRestoreReport.model_validate(json.loads(body))

    def record(self, restore: dict[str, Any], space: dict[str, Any]) -> None:
        """The restore item (written once: a redelivered event changes nothing), then the
        space's row, unless it already names a later restore."""
        try:
            self.table.put_item(Item=restore, ConditionExpression="attribute_not_exists(pk)")
        except self.table.meta.client.exceptions.ConditionalCheckFailedException:
            return
        try:
            self.table.put_item(
                Item=space,
                ConditionExpression="attribute_not_exists(pk) OR last_restore.sk <= :sk",
                ExpressionAttributeValues={":sk": restore["sk"]},
            )
        except self.table.meta.client.exceptions.ConditionalCheckFailedException:
            return


def manifest_versions(s3: Any, bucket: str, manifest_key: str) -> list[dict[str, Any]]:
    """Every backup of a space still in the bucket (one manifest version each), oldest
    first: version id, time, whether it is the latest."""
    versions = [
        {"version_id": v["VersionId"], "time": v["LastModified"], "latest": v["IsLatest"]}
        for page in s3.get_paginator("list_object_versions").paginate(
            Bucket=bucket, Prefix=manifest_key
        )
        for v in page.get("Versions", [])
        if v["Key"] == manifest_key
    ]
    # S3 lists a key's versions newest first; reversed, a stable sort keeps that order
    # for two backups within the same second.
    return sorted(reversed(versions), key=lambda v: v["time"])
