"""Transaction items of the registry's history writes (docs/internals.md section 1).

A new generation is one transaction: the `GEN#<n>` item, written only if absent, and the
profile row pointed at it, conditional on the row being as it was read. A deletion marks
the generation and, when it is the profile's current one, the profile row.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from studio_recovery.models.registry import (
    PROFILE_SK,
    Generation,
    HomeDirectory,
    Profile,
    ProfileKey,
    to_iso,
)


def same_home(generations: Sequence[Generation], home: HomeDirectory) -> Generation | None:
    """The recorded generation that is this very home directory (uids are never reused)."""
    for generation in reversed(generations):
        if generation.domain_id == home.domain_id and generation.uid == home.uid:
            return generation
    return None


def put_new(item: dict[str, Any]) -> dict[str, Any]:
    return {"Put": {"Item": item, "ConditionExpression": "attribute_not_exists(pk)"}}


def profile_update(new: Generation, current: Profile | None) -> dict[str, Any]:
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


def mark_generation_deleted(generation: Generation, deleted_at: datetime) -> dict[str, Any]:
    return {
        "Update": {
            "Key": {"pk": generation.pk, "sk": generation.sk},
            "UpdateExpression": "SET deleted_at = :deleted",
            "ConditionExpression": "attribute_exists(pk) AND attribute_not_exists(deleted_at)",
            "ExpressionAttributeValues": {":deleted": to_iso(deleted_at)},
        }
    }


def mark_profile_deleted(key: ProfileKey, generation: int, deleted_at: datetime) -> dict[str, Any]:
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
