"""The only code that reads and writes domains, profiles and generations in the registry.

Layout: docs/internals.md section 1. Writes that change a profile's history (a new
generation, a deletion) are one TransactWriteItems with conditions: concurrent writers
(the event Lambda, the seeder, the CLI) never lose each other's updates; a conflict is
re-read and retried a bounded number of times.
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

import boto3
from botocore.exceptions import ClientError

from studio_recovery.dal.aws_errors import RETRY_CONFIG, error_code, transient_aws_errors
from studio_recovery.models.errors import NotFoundError, TransientAwsError
from studio_recovery.models.registry import (
    DOMAIN_PREFIX,
    GENERATION_PREFIX,
    PROFILE_SK,
    Domain,
    Generation,
    HomeDirectory,
    Profile,
    ProfileKey,
    Retention,
    generation_sk,
    to_iso,
)
from studio_recovery.observability import logger

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import DynamoDBServiceResource

MAX_CONFLICT_ATTEMPTS = 5
"""How often a write that lost a race is re-read and retried before giving up."""

TRANSACTION_CHUNK = 50
"""Profiles per seeding transaction (2 items each; DynamoDB allows 100 per transaction)."""

BATCH_GET_CHUNK = 100

_CONFLICT_REASONS = frozenset({"ConditionalCheckFailed", "TransactionConflict"})
_THROTTLED_REASONS = frozenset({"ThrottlingError", "ProvisionedThroughputExceeded"})


class _Conflict(Exception):
    """A conditional write found the item changed since it was read."""


@dataclass
class BatchRecordResult:
    """What `batch_record` did: homes recorded, and homes skipped with the reason."""

    recorded: int = 0
    skipped: list[tuple[ProfileKey, str]] = field(default_factory=list)


class RegistryRepository:
    """Domains, profiles and generations in the registry table."""

    def __init__(
        self, table_name: str, dynamodb_resource: DynamoDBServiceResource | None = None
    ) -> None:
        self._resource = dynamodb_resource or boto3.resource("dynamodb", config=RETRY_CONFIG)
        self._table = self._resource.Table(table_name)
        self.table_name = table_name
        # The resource's client serializes plain Python values, transactions included.
        self._client: Any = self._table.meta.client

    # ----------------------------------------------------------------- reads

    def get_profile(self, key: ProfileKey) -> Profile | None:
        """The profile row (consistent read), or None when the profile was never recorded."""
        with transient_aws_errors("registry get_profile"):
            reply = self._table.get_item(Key={"pk": key.pk, "sk": PROFILE_SK}, ConsistentRead=True)
        item = reply.get("Item")
        return Profile.from_item(dict(item)) if item else None

    def list_generations(self, key: ProfileKey) -> list[Generation]:
        """Every home directory the profile has held, oldest first (consistent read)."""
        items = self._query(
            KeyConditionExpression="pk = :pk AND begins_with(sk, :gen)",
            ExpressionAttributeValues={":pk": key.pk, ":gen": GENERATION_PREFIX},
            ConsistentRead=True,
        )
        return sorted((Generation.from_item(item) for item in items), key=lambda g: g.generation)

    def get_generation(self, key: ProfileKey, generation: int) -> Generation | None:
        """One generation of a profile, or None."""
        with transient_aws_errors("registry get_generation"):
            reply = self._table.get_item(
                Key={"pk": key.pk, "sk": generation_sk(generation)}, ConsistentRead=True
            )
        item = reply.get("Item")
        return Generation.from_item(dict(item)) if item else None

    def get_domain(self, domain_name: str, domain_id: str) -> Domain | None:
        """The domain row `DOMAIN#<domain_name>` / `DOMAIN#<domain_id>`, or None."""
        with transient_aws_errors("registry get_domain"):
            reply = self._table.get_item(
                Key={"pk": f"{DOMAIN_PREFIX}{domain_name}", "sk": f"{DOMAIN_PREFIX}{domain_id}"},
                ConsistentRead=True,
            )
        item = reply.get("Item")
        return Domain.from_item(dict(item)) if item else None

    def get_domain_by_id(self, domain_id: str) -> Domain | None:
        """The domain recorded under `domain_id`, or None.

        Cost: a filtered Scan of the whole registry (reads every item, paginated). The
        registry holds a few items per profile, and this runs only for Delete events whose
        domain SageMaker can no longer describe, so no index is kept for it.
        """
        items = self._scan(
            FilterExpression="entity = :domain AND domain_id = :id",
            ExpressionAttributeValues={":domain": "domain", ":id": domain_id},
        )
        domains = [Domain.from_item(item) for item in items]
        domains.sort(key=lambda d: d.created_at, reverse=True)
        return domains[0] if domains else None

    def list_profiles(self, domain_name: str | None = None) -> list[Profile]:
        """Every profile row, or those of one domain name (a filtered Scan, paginated)."""
        expression = "entity = :profile"
        values: dict[str, Any] = {":profile": "profile"}
        if domain_name is not None:
            expression += " AND domain_name = :domain"
            values[":domain"] = domain_name
        items = self._scan(FilterExpression=expression, ExpressionAttributeValues=values)
        profiles = [Profile.from_item(item) for item in items]
        return sorted(profiles, key=lambda p: (p.domain_name, p.kind, p.name))

    # ---------------------------------------------------------- generations

    def record_generation(
        self,
        key: ProfileKey,
        *,
        domain_id: str,
        efs_id: str,
        uid: str,
        created_at: datetime,
        sso_user_value: str | None = None,
        event_id: str | None = None,
    ) -> Generation:
        """Record a new home directory of `key` as its next generation; update the profile.

        Idempotent: when a generation with the same domain id and uid exists already, it is
        returned and nothing is written. The profile keeps its `replication` flag (true for
        a new profile). A concurrent writer makes the transaction fail its condition; it is
        then re-read and retried up to MAX_CONFLICT_ATTEMPTS times (TransientAwsError after).
        """
        home = HomeDirectory(
            key=key,
            domain_id=domain_id,
            efs_id=efs_id,
            uid=uid,
            created_at=created_at,
            sso_user_value=sso_user_value,
            event_id=event_id,
        )
        return self.record_home(home)

    def record_home(self, home: HomeDirectory) -> Generation:
        """`record_generation` for an already validated observation."""
        for attempt in range(MAX_CONFLICT_ATTEMPTS):
            generations = self.list_generations(home.key)
            known = _same_home(generations, home)
            if known is not None:
                logger.info(
                    "Home directory already recorded",
                    extra={"generation": known.generation, "uid": home.uid},
                )
                return known
            latest = generations[-1] if generations else None
            if latest is not None and home.created_at < latest.created_at:
                logger.warning(
                    "Home directory older than the latest generation: not recorded",
                    extra={"uid": home.uid, "latest_generation": latest.generation},
                )
                return latest
            profile = self.get_profile(home.key)
            new = home.as_generation((latest.generation if latest else 0) + 1)
            try:
                self._transact([_put_new(new.to_item()), _profile_update(new, profile)])
            except _Conflict:
                logger.info("Registry write conflict; retrying", extra={"attempt": attempt + 1})
                _backoff(attempt)
                continue
            logger.info("Recorded generation", extra={"generation": new.generation, "uid": new.uid})
            return new
        raise TransientAwsError(
            f"{home.key}: registry kept changing during {MAX_CONFLICT_ATTEMPTS} attempts"
        )

    def mark_deleted(
        self, key: ProfileKey, domain_id: str, deleted_at: datetime
    ) -> Generation | None:
        """Mark deleted the latest live generation of `key` in `domain_id` created before
        `deleted_at` (or, failing that, in its very second), and the profile row when that
        generation is its current one.

        CloudTrail times are whole seconds: a profile deleted and recreated within one
        second, whose recreation is processed first, has two live generations created by
        `deleted_at`; the delete is the older one's, the one created strictly before.

        Returns the generation marked, or None when there was nothing to mark (an unknown
        profile, or one already marked: a repeated delete is a no-op).
        """
        deleted_second = deleted_at.replace(microsecond=0)  # the registry keeps whole seconds
        for attempt in range(MAX_CONFLICT_ATTEMPTS):
            live = [
                g
                for g in self.list_generations(key)
                if g.domain_id == domain_id
                and g.deleted_at is None
                and g.created_at <= deleted_second
            ]
            if not live:
                logger.info("Delete of a profile with no live generation: nothing to mark")
                return None
            strictly_before = [g for g in live if g.created_at < deleted_second]
            target = (strictly_before or live)[-1]
            profile = self.get_profile(key)
            actions = [_mark_generation_deleted(target, deleted_at)]
            if profile is not None and profile.generation == target.generation:
                actions.append(_mark_profile_deleted(key, target.generation, deleted_at))
            try:
                self._transact(actions)
            except _Conflict:
                logger.info("Registry write conflict; retrying", extra={"attempt": attempt + 1})
                _backoff(attempt)
                continue
            logger.info("Marked generation deleted", extra={"generation": target.generation})
            return target.model_copy(update={"deleted_at": deleted_at})
        raise TransientAwsError(
            f"{key}: registry kept changing during {MAX_CONFLICT_ATTEMPTS} attempts"
        )

    def mark_generation_empty(self, key: ProfileKey, generation: int) -> None:
        """Record that a restore found this generation's directory empty (`has_data=false`)."""
        self._update_existing(
            {"pk": key.pk, "sk": generation_sk(generation)},
            "SET has_data = :false",
            {":false": False},
            what=f"{key} generation {generation}",
        )

    def set_replication(self, key: ProfileKey, enabled: bool) -> Profile:
        """Opt the profile into (True) or out of (False) restores; kept across recreations."""
        attributes = self._update_existing(
            {"pk": key.pk, "sk": PROFILE_SK},
            "SET replication = :enabled",
            {":enabled": enabled},
            what=f"profile {key}",
        )
        return Profile.from_item(attributes)

    # ------------------------------------------------------------- seeding

    def batch_record(self, homes: Iterable[HomeDirectory]) -> BatchRecordResult:
        """Record many observed homes (the seeder). Safe to run again and again.

        Profiles the registry does not know are written in transactions of
        TRANSACTION_CHUNK profiles, each item conditional on not existing. A known profile
        with the same home is skipped; one with a different home goes through
        `record_home` (a new generation; the replication flag kept, the generation never
        lowered). A transaction that lost a race is redone profile by profile.
        """
        unique = {home.key: home for home in homes}
        result = BatchRecordResult()
        existing = self._get_profiles(list(unique))
        new: list[HomeDirectory] = []
        for key, home in unique.items():
            profile = existing.get(key)
            if profile is None:
                new.append(home)
            elif profile.domain_id == home.domain_id and profile.uid == home.uid:
                result.skipped.append((key, "already recorded"))
            else:
                self._record_one(home, result)
        for start in range(0, len(new), TRANSACTION_CHUNK):
            chunk = new[start : start + TRANSACTION_CHUNK]
            actions: list[dict[str, Any]] = []
            for home in chunk:
                generation = home.as_generation(1)
                profile = Profile(**generation.model_dump(exclude={"has_data", "event_id"}))
                actions += [_put_new(generation.to_item()), _put_new(profile.to_item())]
            try:
                self._transact(actions)
                result.recorded += len(chunk)
            except _Conflict:
                logger.info("Seeding transaction lost a race; recording one by one")
                for home in chunk:
                    self._record_one(home, result)
        return result

    def _record_one(self, home: HomeDirectory, result: BatchRecordResult) -> None:
        generation = self.record_home(home)
        if generation.domain_id == home.domain_id and generation.uid == home.uid:
            if generation.event_id == home.event_id:
                result.recorded += 1
            else:
                result.skipped.append((home.key, "already recorded"))
        else:
            result.skipped.append((home.key, "older than the latest recorded generation"))

    # ------------------------------------------------------------- domains

    def put_domain(self, domain: Domain) -> bool:
        """Record a domain. A domain id already marked deleted is left alone (False)."""
        try:
            with transient_aws_errors("registry put_domain"):
                self._table.put_item(
                    Item=domain.to_item(),
                    ConditionExpression=(
                        "attribute_not_exists(pk) OR attribute_not_exists(deleted_at)"
                    ),
                )
        except ClientError as exc:
            if error_code(exc) != "ConditionalCheckFailedException":
                raise
            logger.info("Domain already recorded as deleted; left alone")
            return False
        return True

    def mark_domain_deleted(
        self,
        domain_name: str,
        domain_id: str,
        deleted_at: datetime,
        retention: Retention,
        event_id: str | None = None,
    ) -> bool:
        """Record a domain's deletion and what happened to its EFS volume.

        False (and nothing written) when the domain was never recorded.
        """
        values: dict[str, Any] = {":deleted": to_iso(deleted_at), ":retention": retention}
        expression = "SET deleted_at = :deleted, retention = :retention"
        if event_id is not None:
            expression += ", event_id = :event"
            values[":event"] = event_id
        try:
            self._update_existing(
                {"pk": f"{DOMAIN_PREFIX}{domain_name}", "sk": f"{DOMAIN_PREFIX}{domain_id}"},
                expression,
                values,
                what=f"domain {domain_id}",
            )
        except NotFoundError:
            logger.info("Delete of a domain never recorded: nothing to mark")
            return False
        return True

    # ------------------------------------------------------------- helpers

    def _query(self, **kwargs: Any) -> Iterator[dict[str, Any]]:
        yield from self._paginate(self._table.query, "registry query", kwargs)

    def _scan(self, **kwargs: Any) -> Iterator[dict[str, Any]]:
        yield from self._paginate(self._table.scan, "registry scan", kwargs)

    @staticmethod
    def _paginate(call: Any, action: str, kwargs: dict[str, Any]) -> Iterator[dict[str, Any]]:
        while True:
            with transient_aws_errors(action):
                reply = call(**kwargs)
            for item in reply.get("Items", []):
                yield dict(item)
            if "LastEvaluatedKey" not in reply:
                return
            kwargs = {**kwargs, "ExclusiveStartKey": reply["LastEvaluatedKey"]}

    def _get_profiles(self, keys: Sequence[ProfileKey]) -> dict[ProfileKey, Profile]:
        """Profile rows of `keys` that exist (BatchGetItem, unprocessed keys re-requested)."""
        found: dict[ProfileKey, Profile] = {}
        for start in range(0, len(keys), BATCH_GET_CHUNK):
            request: dict[str, Any] = {
                self.table_name: {
                    "Keys": [
                        {"pk": k.pk, "sk": PROFILE_SK}
                        for k in keys[start : start + BATCH_GET_CHUNK]
                    ],
                    "ConsistentRead": True,
                }
            }
            for attempt in range(MAX_CONFLICT_ATTEMPTS + 1):
                if not request:
                    break
                if attempt == MAX_CONFLICT_ATTEMPTS:
                    raise TransientAwsError("registry batch_get_item: keys left unprocessed")
                with transient_aws_errors("registry batch_get_item"):
                    reply = self._resource.batch_get_item(RequestItems=request)
                for item in reply.get("Responses", {}).get(self.table_name, []):
                    profile = Profile.from_item(dict(item))
                    found[profile.key] = profile
                request = dict(reply.get("UnprocessedKeys") or {})
                if request:
                    _backoff(attempt)
        return found

    def _transact(self, actions: list[dict[str, Any]]) -> None:
        """One TransactWriteItems; `_Conflict` when a condition failed or another
        transaction touched the same items."""
        for action in actions:
            next(iter(action.values()))["TableName"] = self.table_name
        try:
            with transient_aws_errors("registry transact_write_items"):
                self._client.transact_write_items(TransactItems=actions)
        except ClientError as exc:
            if error_code(exc) != "TransactionCanceledException":
                raise
            reasons = {r.get("Code") for r in exc.response.get("CancellationReasons", [])}
            message = str(exc.response.get("Error", {}).get("Message", ""))
            if reasons & _THROTTLED_REASONS:
                raise TransientAwsError(f"registry transaction throttled: {reasons}") from exc
            if reasons & _CONFLICT_REASONS or any(r in message for r in _CONFLICT_REASONS):
                raise _Conflict from exc
            raise

    def _update_existing(
        self, key: dict[str, str], expression: str, values: dict[str, Any], *, what: str
    ) -> dict[str, Any]:
        """UpdateItem on an item that must exist; NotFoundError otherwise. Returns ALL_NEW."""
        try:
            with transient_aws_errors("registry update_item"):
                reply = self._table.update_item(
                    Key=key,
                    UpdateExpression=expression,
                    ExpressionAttributeValues=values,
                    ConditionExpression="attribute_exists(pk)",
                    ReturnValues="ALL_NEW",
                )
        except ClientError as exc:
            if error_code(exc) == "ConditionalCheckFailedException":
                raise NotFoundError(f"{what} is not in the registry") from exc
            raise
        return dict(reply.get("Attributes", {}))


def _same_home(generations: Sequence[Generation], home: HomeDirectory) -> Generation | None:
    """The recorded generation that is this very home directory (uids are never reused)."""
    for generation in reversed(generations):
        if generation.domain_id == home.domain_id and generation.uid == home.uid:
            return generation
    return None


def _put_new(item: dict[str, Any]) -> dict[str, Any]:
    return {"Put": {"Item": item, "ConditionExpression": "attribute_not_exists(pk)"}}


def _profile_update(new: Generation, current: Profile | None) -> dict[str, Any]:
    """Point the profile row at generation `new`, keeping its replication flag and history.

    Conditional on the row being as read: absent, or still at the generation read.
    """
    values: dict[str, Any] = {
        ":entity": "profile",
        ":domain_name": new.domain_name,
        ":kind": new.kind,
        ":name": new.name,
        ":domain_id": new.domain_id,
        ":efs_id": new.efs_id,
        ":uid": new.uid,
        ":generation": new.generation,
        ":created_at": to_iso(new.created_at),
        ":true": True,
    }
    sets = [
        "entity = :entity",
        "domain_name = :domain_name",
        "kind = :kind",
        "#name = :name",
        "domain_id = :domain_id",
        "efs_id = :efs_id",
        "#uid = :uid",
        "#generation = :generation",
        "created_at = :created_at",
        "replication = if_not_exists(replication, :true)",
    ]
    removes = ["deleted_at"]
    if new.sso_user_value is not None:
        sets.append("sso_user_value = :sso")
        values[":sso"] = new.sso_user_value
    else:
        removes.append("sso_user_value")
    if current is None:
        condition = "attribute_not_exists(pk)"
    else:
        condition = "#generation = :expected"
        values[":expected"] = current.generation
    return {
        "Update": {
            "Key": {"pk": new.pk, "sk": PROFILE_SK},
            "UpdateExpression": f"SET {', '.join(sets)} REMOVE {', '.join(removes)}",
            "ConditionExpression": condition,
            "ExpressionAttributeNames": {
                "#name": "name",
                "#uid": "uid",
                "#generation": "generation",
            },
            "ExpressionAttributeValues": values,
        }
    }


def _mark_generation_deleted(generation: Generation, deleted_at: datetime) -> dict[str, Any]:
    return {
        "Update": {
            "Key": {"pk": generation.pk, "sk": generation.sk},
            "UpdateExpression": "SET deleted_at = :deleted",
            "ConditionExpression": "attribute_exists(pk) AND attribute_not_exists(deleted_at)",
            "ExpressionAttributeValues": {":deleted": to_iso(deleted_at)},
        }
    }


def _mark_profile_deleted(key: ProfileKey, generation: int, deleted_at: datetime) -> dict[str, Any]:
    return {
        "Update": {
            "Key": {"pk": key.pk, "sk": PROFILE_SK},
            "UpdateExpression": "SET deleted_at = :deleted",
            "ConditionExpression": "#generation = :generation",
            "ExpressionAttributeNames": {"#generation": "generation"},
            "ExpressionAttributeValues": {
                ":deleted": to_iso(deleted_at),
                ":generation": generation,
            },
        }
    }


def _backoff(attempt: int) -> None:
    """Jittered exponential pause before retrying a lost race (jitter, not cryptography)."""
    time.sleep(random.uniform(0, 0.05 * 2**attempt))  # noqa: S311
