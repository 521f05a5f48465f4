"""EBS spaces (modules/space_backup): attach the lifecycle configurations to a domain, map a
recreated space to an earlier one, and show a space's backups and restores."""

from __future__ import annotations

import argparse
import json
import uuid
from datetime import UTC, datetime
from typing import Any

from studio_recovery.cli import ebs
from studio_recovery.cli.args import domain_id, studio_name
from studio_recovery.cli.context import Context
from studio_recovery.cli.errors import Conflict, NotFound, UsageError
from studio_recovery.cli.exit_codes import ExitCode
from studio_recovery.cli.render import human_bytes
from studio_recovery.dal.space_reports import manifest_versions
from studio_recovery.logic.space_backups import (
    APP_SETTINGS,
    SpaceRef,
    domain_update,
    space_ref,
)
from studio_recovery.models.registry import ProfileKey, to_iso
from studio_recovery.models.space_report import EbsSpace


def register(subparsers: Any, parents: list[argparse.ArgumentParser]) -> None:
    attach = subparsers.add_parser(
        "attach-space-backup",
        parents=parents,
        help="make the space backup lifecycle configurations a domain's default",
        description=(
            "Add the JupyterLab and Code Editor lifecycle configurations of space_backups to "
            "the domain's default user settings (and the JupyterLab one to its default space "
            "settings, for shared spaces), as the default where no other is. Running it again "
            "changes nothing. --source-identity also sets ExecutionRoleIdentityConfig to "
            "USER_PROFILE_NAME, which isolates users' backups (only while no app runs)."
        ),
    )
    attach.add_argument("--domain-id", type=domain_id, required=True)
    attach.add_argument("--source-identity", action="store_true")
    attach.set_defaults(run=run_attach)

    mapping = subparsers.add_parser(
        "map-space",
        parents=parents,
        help="restore an earlier space's EBS backup into a recreated space of another name",
        description=(
            "Record that the space --space (of --owner, or shared) restores the latest backup "
            "of --from-space on its first start. Private spaces map only to a space of the "
            "same owner and domain (the owner's own backups)."
        ),
    )
    _space_options(mapping)
    mapping.add_argument("--from-space", type=studio_name, required=True)
    mapping.set_defaults(run=run_map)

    copy = subparsers.add_parser(
        "copy-space-backup",
        parents=parents,
        help="copy one space's latest EBS backup into another space, restored on its first start",
        description=(
            "Copy the latest backup of a space (any owner, any domain) into the backups of "
            "another space that has none yet: server-side copies of the objects the manifest "
            "names, then a manifest of the copies. The target space restores it on its first "
            "start, never overwriting a file. Refused when the target has backups of its own."
        ),
    )
    copy.add_argument("--from-domain-id", type=domain_id, required=True)
    copy.add_argument("--from-space", type=studio_name, required=True)
    source_owner = copy.add_mutually_exclusive_group(required=True)
    source_owner.add_argument("--from-owner", type=studio_name)
    source_owner.add_argument("--from-shared", action="store_true")
    _space_options(copy)
    copy.set_defaults(run=run_copy)

    show = subparsers.add_parser(
        "space-backups",
        parents=parents,
        help="a space's EBS backups (manifest versions) and restore reports",
        description="Every backup of a space's EBS home still in the bucket, and its restores.",
    )
    _space_options(show)
    show.set_defaults(run=run_show)


def _space_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--domain-id", type=domain_id, required=True)
    parser.add_argument("--space", type=studio_name, required=True, help="the space name")
    owner = parser.add_mutually_exclusive_group(required=True)
    owner.add_argument("--owner", type=studio_name, help="the private space's owner profile")
    owner.add_argument("--shared", action="store_true", help="a shared space")


def _space(args: Any) -> SpaceRef:
    return SpaceRef(args.domain_id, args.space, None if args.shared else args.owner)


def _bucket(context: Context) -> str:
    bucket: str | None = context.resources.backup_bucket_name
    if not bucket:
        raise UsageError("backup_bucket_name is not known: pass --backup-bucket or --tf-output")
    return bucket


def run_attach(context: Context) -> int:
    arns = dict(context.resources.space_backup_lifecycle_config_arns)
    if set(arns) != set(APP_SETTINGS):
        raise UsageError(
            "space_backup_lifecycle_config_arns is not known (is space_backups enabled?): "
            "pass --tf-output"
        )
    sagemaker = context.aws.client("sagemaker")
    domain = sagemaker.describe_domain(DomainId=context.args.domain_id)
    request, notes = domain_update(domain, arns, attach=True)
    if context.args.source_identity:
        request["DomainSettingsForUpdate"] = {"ExecutionRoleIdentityConfig": "USER_PROFILE_NAME"}
    sagemaker.update_domain(**request)
    result = {"domain_id": context.args.domain_id, "lifecycle_config_arns": arns}
    result["notes"] = notes
    if context.out.json_mode:
        context.out.json(result)
    else:
        context.out.line(f"{context.args.domain_id}: space backup lifecycle configurations set.")
        for note in result["notes"]:
            context.out.line(f"  note: {note}")
    return ExitCode.OK


def run_map(context: Context) -> int:
    space = _space(context.args)
    if context.args.from_space == space.space_name:
        raise UsageError("--from-space is the space itself: it restores its own backup already")
    source = SpaceRef(space.domain_id, context.args.from_space, space.owner)
    s3 = context.aws.client("s3")
    bucket = _bucket(context)
    listed = s3.list_objects_v2(Bucket=bucket, Prefix=source.manifest_key, MaxKeys=1)
    if not listed.get("KeyCount"):
        raise NotFound(f"no backup of {source.prefix} in {bucket}")
    body = json.dumps({"space_name": source.space_name}).encode()
    s3.put_object(Bucket=bucket, Key=space.mapping_key, Body=body, ContentType="application/json")
    if context.out.json_mode:
        context.out.json({"space": space.prefix, "restores_from": source.prefix})
    else:
        context.out.line(f"{space.prefix} restores {source.prefix} on its first start.")
    return ExitCode.OK


def run_show(context: Context) -> int:
    space = _space(context.args)
    s3 = context.aws.client("s3")
    bucket = _bucket(context)
    backups = [
        {**v, "time": v["time"].isoformat()}
        for v in manifest_versions(s3, bucket, space.manifest_key)
    ]
    restores = [
        json.loads(s3.get_object(Bucket=bucket, Key=item["Key"])["Body"].read())
        for page in s3.get_paginator("list_objects_v2").paginate(
            Bucket=bucket, Prefix=space.restores_prefix
        )
        for item in page.get("Contents", [])
    ]
    if context.out.json_mode:
        context.out.json({"prefix": space.prefix, "backups": backups, "restores": restores})
        return ExitCode.OK
    context.out.table(
        f"Backups of {space.prefix}",
        ["time", "version", "latest"],
        [(b["time"], b["version_id"], b["latest"]) for b in backups],
    )
    context.out.table(
        f"Restores into {space.prefix}",
        ["finished", "status", "files", "bytes", "kept", "missing", "from"],
        [
            (
                r.get("finished_at"),
                r.get("status"),
                r.get("files"),
                human_bytes(int(r.get("bytes") or 0)),
                r.get("kept_count"),
                r.get("missing_count"),
                r.get("source_prefix"),
            )
            for r in restores
        ],
    )
    return ExitCode.OK


def run_copy(context: Context) -> int:
    args = context.args
    source = SpaceRef(
        args.from_domain_id, args.from_space, None if args.from_shared else args.from_owner
    )
    target = _space(args)
    if source == target:
        raise UsageError("the source and the target are the same space")
    s3 = context.aws.client("s3")
    bucket = _bucket(context)
    if s3.list_objects_v2(Bucket=bucket, Prefix=target.manifest_key, MaxKeys=1).get("KeyCount"):
        raise Conflict(
            f"{target.prefix} has backups of its own: copy only into a space that has none"
        )
    if not s3.list_objects_v2(Bucket=bucket, Prefix=source.manifest_key, MaxKeys=1).get("KeyCount"):
        raise NotFound(f"no backup of {source.prefix} in {bucket}")
    manifest = json.loads(s3.get_object(Bucket=bucket, Key=source.manifest_key)["Body"].read())
    entries: dict[str, Any] = {}
    copied = copied_bytes = 0
    for path, entry in manifest.get("entries", {}).items():
        if entry.get("type") == "file":
            copy_source = {"Bucket": bucket, "Key": source.prefix + "files/" + path}
            if entry.get("version_id"):
                copy_source["VersionId"] = entry["version_id"]
            reply = s3.copy_object(
                Bucket=bucket, Key=target.prefix + "files/" + path, CopySource=copy_source
            )
            entry = {**entry, "version_id": reply.get("VersionId")}
            copied += 1
            copied_bytes += int(entry.get("size", 0))
        entries[path] = entry
    copied_manifest = {
        **manifest,
        "domain_id": target.domain_id,
        "space_name": target.space_name,
        "owner": target.owner,
        "entries": entries,
        "copied_from": source.prefix,
    }
    s3.put_object(
        Bucket=bucket,
        Key=target.manifest_key,
        Body=json.dumps(copied_manifest, sort_keys=True).encode(),
        ContentType="application/json",
    )
    result = {"from": source.prefix, "to": target.prefix, "files": copied, "bytes": copied_bytes}
    if context.out.json_mode:
        context.out.json(result)
    else:
        context.out.line(
            f"Copied {copied} files ({human_bytes(copied_bytes)}) of {source.prefix} to "
            f"{target.prefix}: restored on the target's first start."
        )
    return ExitCode.OK


def request_space_restore(context: Context, key: ProfileKey, spaces: list[EbsSpace]) -> int:
    """`restore` of an EBS space: only the agent inside the space writes its home, so this
    chooses a backup (a manifest version, as `backups` lists them) and writes a restore
    request the agent serves like its first-start restore (never overwriting a file)."""
    args = context.args
    if args.from_generation is not None or args.wait:
        raise UsageError(
            f"{key} is an EBS space: it has no generations and its agent restores it later; "
            "use --from-backup TIME (or nothing, for its latest backup) without --wait, and "
            "follow it with `studio-recovery space-backups`"
        )
    when = args.from_backup
    if isinstance(when, str):
        raise UsageError(f"{key} is an EBS space: name its backup by time (see `backups`)")
    if len(spaces) > 1:
        raise UsageError(
            f"{key} names {len(spaces)} EBS spaces ("
            + ", ".join(ebs.describe(s) for s in spaces)
            + "): `restore` asks one space; name the domain by its id if they are in "
            "different domains"
        )
    ref = space_ref(spaces[0])
    s3 = context.aws.client("s3")
    bucket = _bucket(context)
    versions = manifest_versions(s3, bucket, ref.manifest_key)
    # Whole seconds, as `backups` shows them: a time copied from it names that backup.
    candidates = [v for v in versions if when is None or v["time"].replace(microsecond=0) <= when]
    if not candidates:
        wanted = "backup" if when is None else f"backup at or before {to_iso(when)}"
        raise NotFound(
            f"{key}: no {wanted} under {ref.prefix} ({len(versions)} backups; see "
            "`studio-recovery backups`)"
        )
    chosen = candidates[-1]
    now = datetime.now(UTC)
    request = {
        "request_id": f"{now.strftime('%Y%m%dT%H%M%SZ')}-{uuid.uuid4().hex[:8]}",
        "manifest_version_id": chosen["version_id"],
        "backup_time": to_iso(chosen["time"]),
        "requested_at": to_iso(now),
    }
    s3.put_object(
        Bucket=bucket,
        Key=ref.request_key,
        Body=json.dumps(request, sort_keys=True).encode(),
        ContentType="application/json",
    )
    if context.out.json_mode:
        context.out.json({"space": ref.prefix, "request_key": ref.request_key, **request})
        return ExitCode.OK
    context.out.line(
        f"Requested the restore of backup {chosen['version_id']} ({request['backup_time']}) "
        f"into {ebs.describe(spaces[0])}: its agent restores it at its next backup interval "
        "if the space's app is running, otherwise on the space's next start. Files the user "
        "has are never overwritten; the report shows in `studio-recovery space-backups` and "
        "`history`."
    )
    return ExitCode.OK
