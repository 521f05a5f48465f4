"""The registry table as a test reads it: profiles, generations, restores; leftovers."""

from __future__ import annotations

import time
from typing import Any

import boto3
from boto3.dynamodb.conditions import Key

from studio_sandbox.harness.scenario.base import (
    BACKUP_TERMINAL_STATUSES,
    TERMINAL_STATUSES,
    Kind,
    ScenarioError,
)

# --------------------------------------------------------------------------- registry


class Registry:
    """Reads of the registry table, as the demo report and the tests need them."""

    def __init__(self, endpoint: str, table_name: str) -> None:
        self.table = boto3.resource("dynamodb", endpoint_url=endpoint).Table(table_name)

    def profile(self, domain_name: str, kind: Kind, name: str) -> dict[str, Any] | None:
        item = self.table.get_item(
            Key={"pk": f"PROFILE#{domain_name}#{kind}#{name}", "sk": "PROFILE"},
            ConsistentRead=True,
        ).get("Item")
        return dict(item) if item else None

    def items(self, domain_name: str, kind: Kind, name: str) -> list[dict[str, Any]]:
        reply = self.table.query(
            KeyConditionExpression=Key("pk").eq(f"PROFILE#{domain_name}#{kind}#{name}"),
            ConsistentRead=True,
        )
        return [dict(item) for item in reply.get("Items", [])]

    def restores(self, domain_name: str, kind: Kind, name: str) -> list[dict[str, Any]]:
        return [i for i in self.items(domain_name, kind, name) if i["sk"].startswith("RESTORE#")]

    def backups(self, domain_name: str, kind: Kind, name: str) -> list[dict[str, Any]]:
        """The profile's `BACKUP#` items, oldest first."""
        items = [i for i in self.items(domain_name, kind, name) if i["sk"].startswith("BACKUP#")]
        return sorted(items, key=lambda i: (str(i.get("started_at", "")), str(i["sk"])))

    def wait_for_backup(
        self,
        domain_name: str,
        kind: Kind,
        name: str,
        *,
        trigger: str | None = None,
        generation: int | None = None,
        timeout: float = 120,
    ) -> dict[str, Any]:
        """The profile's oldest finished backup (SUCCEEDED or FAILED), of `trigger` and of
        the home directory of `generation` when given."""
        deadline = time.monotonic() + timeout
        while True:
            for item in self.backups(domain_name, kind, name):
                if trigger and item.get("trigger") != trigger:
                    continue
                source = item.get("source") or {}
                if generation is not None and int(source.get("generation", -1)) != generation:
                    continue
                if item.get("status") in BACKUP_TERMINAL_STATUSES:
                    return item
            if time.monotonic() > deadline:
                seen = [
                    (i.get("restore_id"), i.get("trigger"), i.get("status"))
                    for i in self.backups(domain_name, kind, name)
                ]
                raise ScenarioError(
                    f"{kind} {name} in {domain_name}: no finished {trigger or ''} backup "
                    f"of generation {generation or 'any'} within {timeout:.0f} s; "
                    f"backups {seen}"
                )
            time.sleep(0.5)

    def wait_for_generation(
        self, domain_name: str, kind: Kind, name: str, generation: int, timeout: float = 30
    ) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            row = self.profile(domain_name, kind, name)
            if row and int(row.get("generation", 0)) >= generation:
                return row
            if time.monotonic() > deadline:
                raise ScenarioError(
                    f"{kind} {name} in {domain_name}: generation {generation} was not recorded "
                    f"within {timeout:.0f} s (is the event rule delivering to the event Lambda?)"
                )
            time.sleep(0.2)

    def wait_for_restore(
        self, domain_name: str, kind: Kind, name: str, generation: int, timeout: float = 120
    ) -> dict[str, Any]:
        """The restore item into `generation`, once it reached a terminal status."""
        deadline = time.monotonic() + timeout
        while True:
            for item in self.restores(domain_name, kind, name):
                target = item.get("target") or {}
                if int(target.get("generation", -1)) != generation:
                    continue
                if item.get("status") in TERMINAL_STATUSES:
                    return item
            if time.monotonic() > deadline:
                raise ScenarioError(
                    f"{kind} {name} in {domain_name}: no finished restore into generation "
                    f"{generation} within {timeout:.0f} s"
                )
            time.sleep(0.5)


def leftovers(endpoint: str) -> dict[str, list[str]]:
    """DataSync tasks and locations, and access points the module tagged, still present."""
    datasync = boto3.client("datasync", endpoint_url=endpoint)
    efs = boto3.client("efs", endpoint_url=endpoint)
    tasks = [t["TaskArn"] for t in datasync.list_tasks(MaxResults=100).get("Tasks", [])]
    locations = [
        loc["LocationArn"] for loc in datasync.list_locations(MaxResults=100).get("Locations", [])
    ]
    points = [
        ap["AccessPointId"]
        for ap in efs.describe_access_points().get("AccessPoints", [])
        if {"Key": "managed-by", "Value": "studio-recovery"} in ap.get("Tags", [])
    ]
    return {"tasks": tasks, "locations": locations, "access_points": points}
