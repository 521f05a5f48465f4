"""Domains, profiles and generations in the registry: who has (had) which home directory.

Layout: docs/internals.md section 1. Writes that change a profile's history (a new
generation, a deletion) are one TransactWriteItems with conditions: concurrent writers
(the event Lambda, the seeder, the CLI) never lose each other's updates; a conflict is
re-read and retried a bounded number of times. `read_history` reads a whole profile
partition (its restores, backups and copy request too) in one Query.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from studio_recovery.dal.aws_errors import transient_aws_errors
from studio_recovery.dal.registry.items import (
    mark_generation_deleted,
    mark_profile_deleted,
    profile_update,
    put_new,
    same_home,
)
from studio_recovery.dal.registry.table import MAX_CONFLICT_ATTEMPTS, RegistryTable, backoff
from studio_recovery.models.errors import NotFoundError, RegistryConflict, TransientAwsError
from studio_recovery.models.history import ProfileHistory
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
from studio_recovery.models.space_report import EbsSpace, SpaceRestoreRecord
from studio_recovery.observability import logger

TRANSACTION_CHUNK = 50
"""Profiles per seeding transaction (2 items each; DynamoDB allows 100 per transaction)."""

BATCH_GET_CHUNK = 100


@dataclass
class BatchRecordResult:
    """What `batch_record` did: homes recorded, and homes skipped with the reason."""

    recorded: int = 0
    skipped: list[tuple[ProfileKey, str]] = field(default_factory=list)


class RegistryRepository(RegistryTable):
    """Domains, profiles and generations in the registry table; a profile's whole history."""

    # ----------------------------------------------------------------- reads

    def get_profile(self, key: ProfileKey) -> Profile | None:
        """The profile row (consistent read), or None when the profile was never recorded."""
        item = self._get({"pk": key.pk, "sk": PROFILE_SK}, "registry get_profile")
        return Profile.from_item(item) if item else None

    def list_generations(self, key: ProfileKey) -> list[Generation]:
        """Every home directory the profile has held, oldest first (consistent read)."""
        items = self._query(
            "registry query",
            KeyConditionExpression="pk = :pk AND begins_with(sk, :gen)",
            ExpressionAttributeValues={":pk": key.pk, ":gen": GENERATION_PREFIX},
            ConsistentRead=True,
        )
        return sorted((Generation.from_item(item) for item in items), key=lambda g: g.generation)

    def get_generation(self, key: ProfileKey, generation: int) -> Generation | None:
        """One generation of a profile, or None."""
        item = self._get({"pk": key.pk, "sk": generation_sk(generation)}, "registry get_generation")
        return Generation.from_item(item) if item else None

    def get_domain(self, domain_name: str, domain_id: str) -> Domain | None:
        """The domain row `DOMAIN#<domain_name>` / `DOMAIN#<domain_id>`, or None."""
        item = self._get(
            {"pk": f"{DOMAIN_PREFIX}{domain_name}", "sk": f"{DOMAIN_PREFIX}{domain_id}"},
            "registry get_domain",
        )
        return Domain.from_item(item) if item else None

    def get_domain_by_id(self, domain_id: str) -> Domain | None:
        """The domain recorded under `domain_id`, or None.

        Cost: a filtered Scan of the whole registry (reads every item, paginated). The
        registry holds a few items per profile, and this runs only for Delete events whose
        domain SageMaker can no longer describe, so no index is kept for it.
        """
        items = self._scan(
            "registry scan",
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
        items = self._scan(
            "registry scan", FilterExpression=expression, ExpressionAttributeValues=values
        )
        profiles = [Profile.from_item(item) for item in items]
        return sorted(profiles, key=lambda p: (p.domain_name, p.kind, p.name))

    def read_history(self, key: ProfileKey) -> ProfileHistory:
        """The whole partition of `key` (profile row, generations, copy request, restores,
        backups) from one consistent Query, paginated."""
        items = self._query(
            "registry query history",
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues={":pk": key.pk},
            ConsistentRead=True,
        )
        return ProfileHistory.from_items(key, items)

    def generations_by_profile(self, domain_name: str | None = None) -> dict[str, list[Generation]]:
        """Every generation (of one domain name, or all), grouped by profile `pk`, oldest
        first (one paginated Scan; the CLI's status)."""
        expression = "entity = :generation"
        values: dict[str, Any] = {":generation": "generation"}
        if domain_name is not None:
            expression += " AND domain_name = :domain"
            values[":domain"] = domain_name
        grouped: dict[str, list[Generation]] = {}
        items = self._scan(
            "registry scan", FilterExpression=expression, ExpressionAttributeValues=values
        )
        for item in items:
            generation = Generation.from_item(item)
            grouped.setdefault(generation.pk, []).append(generation)
        for generations in grouped.values():
            generations.sort(key=lambda g: g.generation)
        return grouped

    def list_domains(self) -> list[Domain]:
        """Every domain ever recorded, deleted ones included (one paginated Scan)."""
        items = self._scan(
            "registry scan",
            FilterExpression="entity = :domain",
            ExpressionAttributeValues={":domain": "domain"},
        )
        return sorted((Domain.from_item(item) for item in items), key=lambda d: d.created_at)

    def list_ebs_spaces(self, domain_ids: Iterable[str] | None = None) -> list[EbsSpace]:
        """Every EBS space row the space-report function wrote (of these domain ids, or
        all), by domain id, space name and owner (one paginated Scan)."""
        wanted = None if domain_ids is None else set(domain_ids)
        items = self._scan(
            "registry scan",
            FilterExpression="entity = :space",
            ExpressionAttributeValues={":space": "space"},
        )
        spaces = [EbsSpace.from_item(item) for item in items]
        spaces = [s for s in spaces if wanted is None or s.domain_id in wanted]
        return sorted(spaces, key=lambda s: (s.domain_id, s.space_name, s.owner))

    def list_ebs_restores(self, space: EbsSpace) -> list[SpaceRestoreRecord]:
        """An EBS space's restores, oldest first (its RESTORE# items)."""
        items = self._query(
            "registry query",
            KeyConditionExpression="pk = :pk AND begins_with(sk, :restore)",
            ExpressionAttributeValues={":pk": space.pk, ":restore": "RESTORE#"},
        )
        return [SpaceRestoreRecord.model_validate(item) for item in items]

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
            known = same_home(generations, home)
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
                self._transact([put_new(new.to_item()), profile_update(new, profile)])
            except RegistryConflict:
                logger.info("Registry write conflict; retrying", extra={"attempt": attempt + 1})
                backoff(attempt)
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
            actions = [mark_generation_deleted(target, deleted_at)]
            if profile is not None and profile.generation == target.generation:
                actions.append(mark_profile_deleted(key, target.generation, deleted_at))
            try:
                self._transact(actions)
            except RegistryConflict:
                logger.info("Registry write conflict; retrying", extra={"attempt": attempt + 1})
                backoff(attempt)
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
                actions += [put_new(generation.to_item()), put_new(profile.to_item())]
            try:
                self._transact(actions)
                result.recorded += len(chunk)
            except RegistryConflict:
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
        written = self._conditional(
            "registry put_domain",
            lambda: self._table.put_item(
                Item=domain.to_item(),
                ConditionExpression="attribute_not_exists(pk) OR attribute_not_exists(deleted_at)",
            ),
        )
        if not written:
            logger.info("Domain already recorded as deleted; left alone")
        return written

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
                    backoff(attempt)
        return found
