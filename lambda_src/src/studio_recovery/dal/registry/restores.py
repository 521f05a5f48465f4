"""Restore and backup items, copy requests, last-restore fields of profile rows, and the
DataSync concurrency semaphore, in the registry table (docs/internals.md section 1).

The semaphore is one item (`SEMAPHORE` / `DATASYNC`) holding a map execution ARN ->
acquired_at and a `count`. Acquire and release are conditional updates keyed by the
execution ARN: acquiring twice, or releasing twice, changes nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from botocore.exceptions import ClientError

from studio_recovery.dal.aws_errors import error_code, transient_aws_errors
from studio_recovery.dal.registry.table import CONDITION_FAILED, RegistryTable
from studio_recovery.models.registry import PROFILE_SK, ProfileKey, to_iso
from studio_recovery.models.restore import (
    BACKUP_PREFIX,
    COPY_SK,
    RESTORE_PREFIX,
    CopyRequest,
    RestoreItem,
    RestoreOutcome,
    RestoreStatus,
    restore_sk,
)
from studio_recovery.observability import logger

SEMAPHORE_KEY = {"pk": "SEMAPHORE", "sk": "DATASYNC"}


class RestoreRepository(RegistryTable):
    """Restore-side items of the registry table: what was done to a profile's homes."""

    # ------------------------------------------------------------ restores

    def create_restore(self, item: RestoreItem) -> bool:
        """Write a new restore item; False (nothing written) when it exists already."""
        return self._put_if_absent(item.to_item(), "restores put_item")

    def get_restore(self, key: ProfileKey, restore_id: str) -> RestoreItem | None:
        item = self._get({"pk": key.pk, "sk": restore_sk(restore_id)}, "restores get_item")
        return RestoreItem.from_item(item) if item else None

    def find_by_execution(self, execution_arn: str) -> RestoreItem | None:
        """The restore or backup an execution ran for (a filtered Scan; used only for
        stopped runs)."""
        for item in self._scan(
            "restores scan",
            FilterExpression="(entity = :restore OR entity = :backup) AND execution_arn = :arn",
            ExpressionAttributeValues={
                ":restore": "restore",
                ":backup": "backup",
                ":arn": execution_arn,
            },
        ):
            return RestoreItem.from_item(item)
        return None

    def list_restores(self, key: ProfileKey) -> list[RestoreItem]:
        """Every restore into `key`, oldest first."""
        return self._list_items(key, RESTORE_PREFIX)

    def list_backups(self, key: ProfileKey) -> list[RestoreItem]:
        """Every backup of `key` (all its generations), oldest first."""
        return self._list_items(key, BACKUP_PREFIX)

    def _list_items(self, key: ProfileKey, prefix: str) -> list[RestoreItem]:
        items = self._query(
            "restores query",
            KeyConditionExpression="pk = :pk AND begins_with(sk, :prefix)",
            ExpressionAttributeValues={":pk": key.pk, ":prefix": prefix},
            ConsistentRead=True,
        )
        return sorted((RestoreItem.from_item(i) for i in items), key=lambda r: r.started_at)

    def set_execution(self, key: ProfileKey, restore_id: str, execution_arn: str) -> None:
        self._update(key, restore_id, "SET execution_arn = :arn", {":arn": execution_arn})

    def mark_running(self, key: ProfileKey, restore_id: str, execution_arn: str) -> None:
        """PENDING -> RUNNING (a terminal status is left alone)."""
        try:
            self._update(
                key,
                restore_id,
                "SET #status = :running, execution_arn = :arn",
                {":running": "RUNNING", ":arn": execution_arn, ":pending": "PENDING"},
                condition="#status IN (:pending, :running)",
            )
        except ClientError as exc:
            if error_code(exc) != CONDITION_FAILED:
                raise
            logger.info("Restore already finished; status left alone")

    def add_resource(
        self,
        key: ProfileKey,
        restore_id: str,
        *,
        task_arn: str | None = None,
        location_arn: str | None = None,
        access_point_id: str | None = None,
    ) -> None:
        """Record one created resource at once, so a crash or a stop can still clean it up."""
        if task_arn is not None:
            self._update(key, restore_id, "SET task_arn = :task", {":task": task_arn})
        for attribute, value in (
            ("location_arns", location_arn),
            ("access_point_ids", access_point_id),
        ):
            if value is not None:
                self._update(
                    key,
                    restore_id,
                    f"SET {attribute} = list_append(if_not_exists({attribute}, :empty), :new)",
                    {":empty": [], ":new": [value]},
                )

    def set_resources(
        self,
        key: ProfileKey,
        restore_id: str,
        *,
        task_arn: str | None,
        location_arns: Sequence[str],
        access_point_ids: Sequence[str],
    ) -> None:
        """Replace the recorded resources with those still to delete."""
        expression = "SET location_arns = :locations, access_point_ids = :points"
        values: dict[str, Any] = {
            ":locations": list(location_arns),
            ":points": list(access_point_ids),
        }
        if task_arn is None:
            expression += " REMOVE task_arn"
        else:
            expression += ", task_arn = :task"
            values[":task"] = task_arn
        self._update(key, restore_id, expression, values)

    def finish(
        self, key: ProfileKey, restore_id: str, outcome: RestoreOutcome, ended_at: datetime
    ) -> None:
        """Record the final status, reason and counters of a restore, and what its task
        report says is missing or clashed with the user's own files."""
        stats, check = outcome.stats, outcome.check
        self._update(
            key,
            restore_id,
            "SET #status = :status, reason = :reason, ended_at = :ended, "
            "bytes_written = :bw, bytes_file_transferred = :bft, "
            "files_transferred = :ft, total_duration_ms = :ms, "
            "missing_paths = :mp, missing_count = :mc, conflicts = :cf, conflict_count = :cc",
            {
                ":status": outcome.status,
                ":reason": outcome.reason,
                ":ended": to_iso(ended_at),
                ":bw": stats.bytes_written,
                ":bft": stats.bytes_file_transferred,
                ":ft": stats.files_transferred,
                ":ms": stats.total_duration_ms,
                # Bounded lists (models.report.MAX_LISTED paths), exact counts.
                ":mp": list(check.missing) if check else [],
                ":mc": check.missing_count if check else 0,
                ":cf": [c.model_dump(mode="json") for c in check.conflicts] if check else [],
                ":cc": check.conflict_count if check else 0,
            },
        )

    # ------------------------------------------------- profile last restore

    def set_profile_restore(
        self,
        key: ProfileKey,
        generation: int,
        *,
        restore_id: str,
        status: RestoreStatus,
        reason: str | None,
        execution_arn: str | None = None,
        started_at: datetime | None = None,
        ended_at: datetime | None = None,
        outcome: RestoreOutcome | None = None,
    ) -> bool:
        """Write the last-restore fields of the profile row (users and spaces alike).

        Only while the row still describes `generation`: a result for a home directory
        that was replaced since is kept on its restore item only. False when skipped.
        """
        sets = ["replication_status = :status", "restore_id = :restore"]
        removes: list[str] = []
        values: dict[str, Any] = {
            ":status": status,
            ":restore": restore_id,
            ":generation": generation,
        }
        optional: dict[str, Any] = {
            "replication_reason": reason,
            "execution_arn": execution_arn,
            "restore_started_at": to_iso(started_at) if started_at else None,
            "restore_ended_at": to_iso(ended_at) if ended_at else None,
        }
        if outcome is not None:
            optional.update(
                bytes_written=outcome.stats.bytes_written,
                bytes_file_transferred=outcome.stats.bytes_file_transferred,
                files_transferred=outcome.stats.files_transferred,
                total_duration_ms=outcome.stats.total_duration_ms,
                missing_count=outcome.check.missing_count if outcome.check else 0,
                conflict_count=outcome.check.conflict_count if outcome.check else 0,
            )
        for index, (attribute, value) in enumerate(optional.items()):
            if value is not None:
                sets.append(f"{attribute} = :v{index}")
                values[f":v{index}"] = value
            elif attribute in {"replication_reason", "restore_ended_at"}:
                removes.append(attribute)
        expression = "SET " + ", ".join(sets) + (" REMOVE " + ", ".join(removes) if removes else "")
        try:
            with transient_aws_errors("restores update profile"):
                self._table.update_item(
                    Key={"pk": key.pk, "sk": PROFILE_SK},
                    UpdateExpression=expression,
                    ConditionExpression="attribute_exists(pk) AND #generation = :generation",
                    ExpressionAttributeNames={"#generation": "generation"},
                    ExpressionAttributeValues=values,
                )
        except ClientError as exc:
            if error_code(exc) != CONDITION_FAILED:
                raise
            logger.info(
                "Profile row no longer at this generation; result kept on the restore item",
                extra={"generation": generation},
            )
            return False
        return True

    # --------------------------------------------------------------- copies

    def get_copy(self, key: ProfileKey) -> CopyRequest | None:
        """The pending or started copy request into `key`, if any."""
        item = self._get({"pk": key.pk, "sk": COPY_SK}, "restores get copy")
        return CopyRequest.from_item(item) if item else None

    def put_copy_request(self, request: CopyRequest, *, replace_pending: bool) -> bool:
        """Write the `COPY` item of `request.target` (the CLI's `copy`); False when a
        PENDING one is in the way. Unless `replace_pending`, the write is conditional: no
        item, or one already STARTED."""
        body = request.model_dump(mode="json", exclude={"target"}, exclude_none=True)
        item = {"pk": request.target.pk, "sk": COPY_SK, "entity": "copy", **body}
        if replace_pending:
            with transient_aws_errors("restores put copy"):
                self._table.put_item(Item=item)
            return True
        return self._conditional(
            "restores put copy",
            lambda: self._table.put_item(
                Item=item,
                ConditionExpression="attribute_not_exists(pk) OR #status <> :pending",
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues={":pending": "PENDING"},
            ),
        )

    def mark_copy_started(self, key: ProfileKey, restore_id: str) -> bool:
        """PENDING -> STARTED; False when it was not pending any more."""
        try:
            with transient_aws_errors("restores update copy"):
                self._table.update_item(
                    Key={"pk": key.pk, "sk": COPY_SK},
                    UpdateExpression="SET #status = :started, restore_id = :restore",
                    ConditionExpression="#status = :pending",
                    ExpressionAttributeNames={"#status": "status"},
                    ExpressionAttributeValues={
                        ":started": "STARTED",
                        ":pending": "PENDING",
                        ":restore": restore_id,
                    },
                )
        except ClientError as exc:
            if error_code(exc) != CONDITION_FAILED:
                raise
            return False
        return True

    # ------------------------------------------------------------ semaphore

    def acquire_slot(self, execution_arn: str, limit: int, now: datetime) -> bool:
        """Take one of `limit` DataSync slots for `execution_arn`.

        True when taken now or held already (idempotent); False when all are taken.
        """
        self._ensure_semaphore()
        try:
            with transient_aws_errors("semaphore acquire"):
                self._table.update_item(
                    Key=SEMAPHORE_KEY,
                    UpdateExpression="SET #holders.#holder = :now, #count = #count + :one",
                    ConditionExpression=(
                        "attribute_not_exists(#holders.#holder) AND #count < :limit"
                    ),
                    ExpressionAttributeNames={
                        "#holders": "holders",
                        "#holder": execution_arn,
                        "#count": "count",
                    },
                    ExpressionAttributeValues={":now": to_iso(now), ":one": 1, ":limit": limit},
                )
        except ClientError as exc:
            if error_code(exc) != CONDITION_FAILED:
                raise
            return execution_arn in self.slot_holders()
        return True

    def release_slot(self, execution_arn: str) -> bool:
        """Give the slot back; False when `execution_arn` held none (released already)."""
        try:
            with transient_aws_errors("semaphore release"):
                self._table.update_item(
                    Key=SEMAPHORE_KEY,
                    UpdateExpression="REMOVE #holders.#holder SET #count = #count - :one",
                    ConditionExpression="attribute_exists(#holders.#holder)",
                    ExpressionAttributeNames={
                        "#holders": "holders",
                        "#holder": execution_arn,
                        "#count": "count",
                    },
                    ExpressionAttributeValues={":one": 1},
                )
        except ClientError as exc:
            if error_code(exc) != CONDITION_FAILED:
                raise
            return False
        return True

    def slot_holders(self) -> dict[str, str]:
        """Execution ARN -> acquired_at of every slot taken."""
        item = self._get(SEMAPHORE_KEY, "semaphore get") or {}
        return {str(k): str(v) for k, v in dict(item.get("holders") or {}).items()}

    def release_stale_slots(self, now: datetime, max_age: timedelta) -> list[str]:
        """Release slots held longer than `max_age` (their executions died without
        finalizing); returns the execution ARNs released."""
        released: list[str] = []
        for arn, acquired_at in self.slot_holders().items():
            try:
                stale = now - datetime.fromisoformat(acquired_at) > max_age
            except ValueError:
                stale = True
            if stale and self.release_slot(arn):
                logger.warning("Released a stale DataSync slot", extra={"execution_arn": arn})
                released.append(arn)
        return released

    # -------------------------------------------------------------- helpers

    def _ensure_semaphore(self) -> None:
        self._put_if_absent(
            {**SEMAPHORE_KEY, "entity": "semaphore", "holders": {}, "count": 0},
            "semaphore create",
        )

    def _update(
        self,
        key: ProfileKey,
        restore_id: str,
        expression: str,
        values: dict[str, Any],
        *,
        condition: str = "attribute_exists(pk)",
    ) -> None:
        names = {"#status": "status"} if "#status" in expression + condition else None
        kwargs: dict[str, Any] = {
            "Key": {"pk": key.pk, "sk": restore_sk(restore_id)},
            "UpdateExpression": expression,
            "ConditionExpression": condition,
            "ExpressionAttributeValues": values,
        }
        if names:
            kwargs["ExpressionAttributeNames"] = names
        with transient_aws_errors("restores update_item"):
            self._table.update_item(**kwargs)
