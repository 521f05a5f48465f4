"""`make demo`: the original sample's first scenario and the domain one, on the sandbox.

1. Apply the real module (examples/sandbox) to the sandbox; a second plan (run beside
   scenario 1) shows no changes.
2. Create a domain, `user1` and `space1`; open each and write files (nested directories, a
   symlink, an empty file, a 10 MB file, files with restrictive permissions).
3. Delete `user1` and `space1`, create them again; `user1` writes a file at once. Wait for the
   restores and check every file byte for byte, with its permissions, owned by the new uid,
   and the file the new `user1` wrote kept.
4. Delete the domain with Retain, create it again with the same name and profiles, check again.
5. Backups to S3: run the backup schedule (as EventBridge would), delete the profiles (each
   is backed up once more), delete the domain with Delete (its volume goes), create it
   again: the files come back from the backups in S3, checked as before.
6. An EBS space (current Studio): a domain with the module's space backup lifecycle
   configurations attached (`studio-recovery attach-space-backup`); a private JupyterLab
   space starts (its lifecycle script runs for real), its user writes files on the space's
   EBS volume, the app stops (the shutdown backup), the space is deleted (its volume goes)
   and created again; the user writes a file first, the app starts, and every file is back
   byte for byte with its mode, the user's file kept.

Exits non-zero on any mismatch. Usage:
python -m studio_sandbox.harness.demo [--zip PATH] [--examples-dir DIR] [--keep]
"""

from __future__ import annotations

import argparse
import logging
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from studio_sandbox import faults
from studio_sandbox.harness.scenario import (
    BackupBucket,
    FileRecord,
    Home,
    Kind,
    Registry,
    ScenarioError,
    Studio,
    admin,
    apply_module,
    backup_manifest,
    backup_prefix_of,
    compare_backed_up,
    compare_restored,
    compare_space,
    restore_report,
    run_backup_schedule,
    snapshot,
    snapshot_space,
    space_backup_prefix,
    wait_for_schedule_run,
    wait_until,
    write_as_owner,
    write_sample_home,
    write_space_home,
)
from studio_sandbox.server.app import Sandbox

DOMAIN = "demo"
WAIT_SCALE = 0.05
"""Step Functions Wait states and Retry intervals run 20x faster, as in the end-to-end
tests: the sandbox's DataSync copies in about a second, so a 10 s poll is idle time. The
workflow's own arithmetic is unchanged (a 10 s poll still counts 10 s to its timeout)."""
PROFILES: tuple[tuple[Kind, str], ...] = (("user", "user1"), ("space", "space1"))
KEPT_FILE = "data/user1.txt"
KEPT_CONTENT = b"written by the new user1 before the restore finished\n"


class Report:
    """A short, readable account of the run, step by step."""

    def __init__(self) -> None:
        self.started = time.monotonic()
        self.failures: list[str] = []

    def step(self, title: str) -> None:
        print(f"\n[{time.monotonic() - self.started:6.1f}s] {title}", flush=True)

    def line(self, text: str) -> None:
        print(f"          {text}", flush=True)

    def fail(self, text: str) -> None:
        self.failures.append(text)
        print(f"          MISMATCH {text}", flush=True)

    @contextmanager
    def timed(self, title: str) -> Iterator[None]:
        self.step(title)
        began = time.monotonic()
        yield
        self.line(f"done in {time.monotonic() - began:.1f} s")


def _describe_restore(report: Report, kind: str, name: str, item: dict[str, Any]) -> None:
    source = item.get("source") or {}
    target = item.get("target") or {}
    origin = (
        f"backup {source.get('backup_id')} in s3://{source['bucket']}"
        if source.get("bucket")
        else f"/{source.get('uid')} on {source.get('efs_id')}"
    )
    report.line(
        f"{kind} {name}: {item.get('status')} from {origin}"
        f" to /{target.get('uid')} on {target.get('efs_id')}: "
        f"{int(item.get('files_transferred', 0))} files, "
        f"{int(item.get('bytes_written', 0)) / 1e6:.1f} MB, "
        f"{int(item.get('total_duration_ms', 0))} ms"
        + (f" ({item['reason']})" if item.get("reason") else "")
    )


def _recreate_and_check(
    report: Report,
    studio: Studio,
    registry: Registry,
    domain_id: str,
    before: dict[str, dict[str, FileRecord]],
    generation: int,
    *,
    user_writes_first: bool,
) -> dict[str, Home]:
    homes: dict[str, Home] = {}
    written_at = 0.0
    for kind, name in PROFILES:
        studio.create(domain_id, kind, name)
        homes[name] = studio.open_app(domain_id, kind, name)
        report.line(f"{kind} {name} created again: new home /{homes[name].uid}")
        if user_writes_first and name == "user1":
            write_as_owner(homes[name], KEPT_FILE, KEPT_CONTENT)
            written_at = time.time()
            report.line(f"user1 writes {KEPT_FILE} in the new home before any restore")
    report.step("Waiting for the restores")
    for kind, name in PROFILES:
        item = registry.wait_for_restore(DOMAIN, kind, name, generation)
        _describe_restore(report, kind, name, item)
        if item.get("status") != "SUCCEEDED":
            report.fail(f"{kind} {name}: restore {item.get('status')}: {item.get('reason')}")
            continue
        kept = {}
        if user_writes_first and name == "user1":
            kept = {KEPT_FILE: KEPT_CONTENT}
            started = str(item.get("started_at", ""))
            if started and time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(written_at)) > started:
                report.fail("user1's own file was written after the restore started")
        problems = compare_restored(before[name], homes[name], kept=kept)
        for problem in problems:
            report.fail(f"{kind} {name}: {problem}")
        if not problems:
            report.line(
                f"{kind} {name}: all {len(before[name])} entries match byte for byte, "
                f"permissions kept, owned by uid {homes[name].uid}"
                + ("; user1's own file kept" if kept else "")
            )
    return homes


def _backups_scenario(
    report: Report,
    studio: Studio,
    registry: Registry,
    endpoint: str,
    tf_output: Path,
    outputs: dict[str, Any],
    homes: dict[str, Home],
) -> None:
    """Scenario 3: the schedule backs up every home to S3; the domain is deleted with its
    volume and created again; the files come back from S3."""
    report.step(f"Scenario 3: backups to S3; delete domain {DOMAIN!r} with Delete, create it again")
    function, bucket_name = outputs.get("backup_function_name"), outputs.get("backup_bucket_name")
    if not function or not bucket_name:
        report.fail("the module has no backups (backup_function_name/backup_bucket_name unset)")
        return
    bucket = BackupBucket(endpoint, str(bucket_name))
    domain_id = next(iter(homes.values())).domain_id
    before = {name: snapshot(home.path) for name, home in homes.items()}
    run = run_backup_schedule(endpoint, str(function))
    report.line(f"EventBridge schedule fired: backup function answered {run.result}")
    for item in wait_for_schedule_run(endpoint, registry.table.name, run):
        _describe_backup(report, item)
    for kind, name in PROFILES:
        prefix = backup_prefix_of(DOMAIN, homes[name])
        problems = compare_backed_up(before[name], bucket, prefix, homes[name].uid)
        for problem in problems:
            report.fail(f"{kind} {name} backup: {problem}")
        if not problems:
            report.line(
                f"{kind} {name}: s3://{bucket.bucket}/{prefix} holds all {len(before[name])} "
                "entries, owner and permissions in the object metadata"
            )
    report.step("Deleting user1 and space1 (each is backed up once more), then the domain")
    generations = {}
    for kind, name in PROFILES:
        generations[name] = int((registry.profile(DOMAIN, kind, name) or {})["generation"])
        studio.delete(domain_id, kind, name)
    for kind, name in PROFILES:
        # The volume must outlive the deletion backups: wait for them before the domain goes.
        item = registry.wait_for_backup(
            DOMAIN, kind, name, trigger="deletion", generation=generations[name]
        )
        _describe_backup(report, item)
        if item.get("status") != "SUCCEEDED":
            report.fail(
                f"{kind} {name}: deletion backup {item.get('status')}: {item.get('reason')}"
            )
    old_efs = studio.domain_efs(domain_id)
    studio.delete_domain(domain_id, retain=False)
    report.line(f"domain {domain_id} deleted with RetentionPolicy Delete: volume {old_efs} is gone")
    domain_id = studio.create_domain(DOMAIN)
    report.line(f"new domain {domain_id} on a new, empty volume {studio.domain_efs(domain_id)}")
    _open_efs(report, endpoint, tf_output, domain_id)
    _recreate_and_check(report, studio, registry, domain_id, before, 4, user_writes_first=False)
    for kind, name in PROFILES:
        item = registry.wait_for_restore(DOMAIN, kind, name, 4)
        if not (item.get("source") or {}).get("bucket"):
            report.fail(f"{kind} {name}: restored from {item.get('source')}, not from S3")


EBS_DOMAIN = "demo-ebs"
EBS_OWNER = "scientist"
EBS_SPACE = "notebooks"
EBS_KEPT_FILE = "notebooks/analysis.ipynb"
"""A file the backup has too: the user's new version, written first, must be kept."""
EBS_KEPT_CONTENT = b'{"cells": [], "note": "written in the new space before its first start"}\n'


def _ebs_space_scenario(
    report: Report, studio: Studio, endpoint: str, tf_output: Path, outputs: dict[str, Any]
) -> None:
    """Scenario 4: a private JupyterLab space on EBS, backed up by the lifecycle
    configuration's agent, deleted, created again, restored on its first start."""
    report.step(f"Scenario 4: an EBS space in domain {EBS_DOMAIN!r}, deleted and created again")
    role, bucket = outputs.get("studio_execution_role_arn"), outputs.get("backup_bucket_name")
    if not role or not bucket or not outputs.get("space_backup_lifecycle_config_arns"):
        report.fail("the module has no space backups (space_backup_lifecycle_config_arns unset)")
        return
    reply = studio.sagemaker.create_domain(
        DomainName=EBS_DOMAIN,
        AuthMode="IAM",
        DefaultUserSettings={"ExecutionRole": role},
        DefaultSpaceSettings={"ExecutionRole": role},
        DomainSettings={"ExecutionRoleIdentityConfig": "USER_PROFILE_NAME"},
        SubnetIds=studio.subnet_ids,
        VpcId=studio.vpc_id,
        AppNetworkAccessType="VpcOnly",
    )
    domain_id = studio.wait_in_service(str(reply["DomainId"]))
    code, _output = admin(endpoint, tf_output, "attach-space-backup", "--domain-id", domain_id)
    report.line(f"admin: studio-recovery attach-space-backup --domain-id {domain_id} (exit {code})")
    if code != 0:
        report.fail(f"attach-space-backup exited {code}")
        return
    studio.sagemaker.create_user_profile(DomainId=domain_id, UserProfileName=EBS_OWNER)
    prefix = space_backup_prefix(domain_id, EBS_SPACE, EBS_OWNER)
    home = _create_private_space(studio, domain_id)
    if not _start_space(report, studio, domain_id):
        return
    first = wait_until("the first restore report", lambda: restore_report(home))
    report.line(f"first start of {EBS_SPACE}: restore {first.get('status')} (nothing backed up)")
    write_space_home(home)
    before = snapshot_space(home)
    report.line(f"{EBS_OWNER} writes {len(before)} entries on the EBS volume {home}")
    started = time.monotonic()
    studio.stop_app(domain_id, EBS_SPACE)
    manifest = backup_manifest(endpoint, str(bucket), prefix) or {}
    missing = sorted(set(before) - set(manifest.get("entries", {})))
    report.line(
        f"app stopped (SIGTERM: the shutdown backup) in {time.monotonic() - started:.1f} s: "
        f"s3://{bucket}/{prefix}manifest.json lists {len(manifest.get('entries', {}))} entries"
    )
    for relative in missing:
        report.fail(f"shutdown backup: {relative} not in the manifest")

    studio.delete(domain_id, "space", EBS_SPACE)
    report.line(f"space {EBS_SPACE} deleted: its EBS volume is gone ({not home.exists()})")
    home = _create_private_space(studio, domain_id)
    kept = home / EBS_KEPT_FILE
    kept.parent.mkdir(parents=True)
    kept.write_bytes(EBS_KEPT_CONTENT)
    kept.chmod(0o644)
    report.line(f"space {EBS_SPACE} created again; the user writes a new {EBS_KEPT_FILE} first")
    if not _start_space(report, studio, domain_id):
        return
    restored = wait_until("the restore report", lambda: restore_report(home))
    report.line(
        f"first start: restore {restored.get('status')}: {restored.get('files')} files, "
        f"{int(restored.get('bytes') or 0) / 1e6:.1f} MB, kept {restored.get('kept')}"
    )
    if restored.get("status") != "SUCCEEDED":
        report.fail(f"EBS space restore {restored.get('status')}: {restored.get('reason')}")
    if EBS_KEPT_FILE not in (restored.get("kept") or []):
        report.fail(f"the restore report does not list {EBS_KEPT_FILE} as kept")
    problems = compare_space(before, home, kept={EBS_KEPT_FILE: EBS_KEPT_CONTENT})
    for problem in problems:
        report.fail(f"EBS space {EBS_SPACE}: {problem}")
    if not problems:
        report.line(
            f"all {len(before)} entries match byte for byte with their modes; "
            "the user's own file kept"
        )
    studio.stop_app(domain_id, EBS_SPACE)


def _create_private_space(studio: Studio, domain_id: str) -> Path:
    studio.sagemaker.create_space(
        DomainId=domain_id,
        SpaceName=EBS_SPACE,
        SpaceSettings={"AppType": "JupyterLab"},
        OwnershipSettings={"OwnerUserProfileName": EBS_OWNER},
        SpaceSharingSettings={"SharingType": "Private"},
    )
    return studio.space_home(domain_id, EBS_SPACE)


def _start_space(report: Report, studio: Studio, domain_id: str) -> bool:
    status = studio.start_app(domain_id, EBS_SPACE)
    if status == "InService":
        return True
    log = studio.app_directory(domain_id, EBS_SPACE, "JupyterLab") / "lifecycle.log"
    report.fail(f"JupyterLab app of {EBS_SPACE} {status}: {log.read_text()[-2000:]}")
    return False


def _describe_backup(report: Report, item: dict[str, Any]) -> None:
    target = item.get("target") or {}
    report.line(
        f"{target.get('kind')} {target.get('name')} in {target.get('domain_name')}: "
        f"{item.get('trigger')} backup {item.get('status')}: "
        f"{int(item.get('files_transferred', 0))} files, "
        f"{int(item.get('bytes_written', 0)) / 1e6:.1f} MB"
        + (f" ({item['reason']})" if item.get("reason") else "")
    )


def _open_efs(report: Report, endpoint: str, tf_output: Path, domain_id: str) -> None:
    """What an admin runs once per new domain: let DataSync reach its home volume."""
    code, _output = admin(endpoint, tf_output, "open-efs", "--domain-id", domain_id)
    report.line(f"admin: studio-recovery open-efs --domain-id {domain_id} (exit {code})")
    if code != 0:
        report.fail(f"open-efs exited {code}")


def _print_registry(report: Report, registry: Registry) -> None:
    report.step("Registry rows")
    for kind, name in PROFILES:
        for item in registry.items(DOMAIN, kind, name):
            sk = item["sk"]
            if sk == "PROFILE":
                report.line(
                    f"{item['pk']} PROFILE uid={item.get('uid')}"
                    f" generation={item.get('generation')} replication={item.get('replication')}"
                    f" status={item.get('replication_status')}"
                )
            elif sk.startswith("GEN#"):
                report.line(
                    f"{item['pk']} {sk} uid={item.get('uid')} efs={item.get('efs_id')}"
                    f" deleted={item.get('deleted_at', '-')}"
                )
            elif sk.startswith("BACKUP#"):
                report.line(
                    f"{item['pk']} {sk} {item.get('trigger')} {item.get('status')}"
                    f" files={item.get('files_transferred')} ended={item.get('ended_at', '-')}"
                )


def _quiet_server_logs() -> None:
    """The sandbox's request log and moto's state-machine traces are not the demo's story."""
    for name in ("werkzeug", "moto", "botocore", "urllib3"):
        logging.getLogger(name).setLevel(logging.CRITICAL)


def run(zip_path: Path, data_dir: Path, examples_dir: Path) -> int:
    _quiet_server_logs()
    report = Report()
    report.step("Starting the sandbox")
    with Sandbox(port=0, data_dir=data_dir, iam_enforced=True) as sandbox:
        endpoint = sandbox.endpoint_url
        report.line(f"AWS stand-in listening on {endpoint}")

        with report.timed("terraform apply of the real module (examples/sandbox)"):
            tf, _seconds = apply_module(endpoint, zip_path, data_dir, examples_dir=examples_dir)
            report.line(f"{tf.resource_count()} resources")
        # The second plan refreshes every resource (~15 s): it runs beside scenario 1, which
        # touches none of the module's resources (only domains, profiles and their data).
        planner = ThreadPoolExecutor(max_workers=1, thread_name_prefix="second-plan")
        second_plan = planner.submit(tf.plan_changes)
        outputs = tf.outputs()
        tf_output = tf.write_outputs(data_dir / "outputs.json")
        faults.set_wait_scale(WAIT_SCALE)
        report.line(
            f"Step Functions waits run {1 / WAIT_SCALE:g}x faster"
            " (the workflow still counts them in full)"
        )
        studio = Studio(endpoint, outputs["vpc_id"], list(outputs["subnet_ids"]))
        registry = Registry(endpoint, outputs["registry_table_name"])

        report.step(f"Scenario 1: domain {DOMAIN!r}, user1 and space1 write their files")
        domain_id = studio.create_domain(DOMAIN)
        report.line(f"domain {domain_id}, home volume {studio.domain_efs(domain_id)}")
        _open_efs(report, endpoint, tf_output, domain_id)
        before: dict[str, dict[str, FileRecord]] = {}
        for kind, name in PROFILES:
            studio.create(domain_id, kind, name)
            home = studio.open_app(domain_id, kind, name)
            write_sample_home(home)
            before[name] = snapshot(home.path)
            registry.wait_for_generation(DOMAIN, kind, name, 1)
            report.line(f"{kind} {name}: home /{home.uid}, {len(before[name])} entries written")

        changes = second_plan.result()
        planner.shutdown()
        report.line(f"second terraform plan (run beside scenario 1): {changes or 'no'} changes")
        if changes:
            report.fail(f"a second plan proposes {changes} changes")

        report.step("Deleting user1 and space1, creating them again")
        for kind, name in PROFILES:
            studio.delete(domain_id, kind, name)
        homes = _recreate_and_check(
            report, studio, registry, domain_id, before, 2, user_writes_first=True
        )

        report.step(f"Scenario 2: delete domain {DOMAIN!r} with Retain, create it again")
        before = {name: snapshot(homes[name].path) for _kind, name in PROFILES}
        for kind, name in PROFILES:
            studio.delete(domain_id, kind, name)
        old_efs = studio.domain_efs(domain_id)
        studio.delete_domain(domain_id, retain=True)
        domain_id = studio.create_domain(DOMAIN)
        report.line(
            f"new domain {domain_id} on a new, empty volume {studio.domain_efs(domain_id)}; "
            f"retained volume {old_efs}"
        )
        _open_efs(report, endpoint, tf_output, domain_id)
        homes = _recreate_and_check(
            report, studio, registry, domain_id, before, 3, user_writes_first=False
        )
        _backups_scenario(report, studio, registry, endpoint, tf_output, outputs, homes)
        _ebs_space_scenario(report, studio, endpoint, tf_output, outputs)
        _print_registry(report, registry)
        report.step("Tearing the sandbox down")
        faults.set_wait_scale(1.0)

    elapsed = time.monotonic() - report.started
    if report.failures:
        print(f"\nDEMO FAILED after {elapsed:.0f} s: {len(report.failures)} mismatches", flush=True)
        return 1
    print(
        f"\nDEMO PASSED in {elapsed:.0f} s: every file came back (from EFS, from S3, and "
        "into a recreated EBS space), nothing overwritten."
    )
    return 0


def main(argv: list[str] | None = None) -> int:
    summary = (__doc__ or "").split("\n")[0]
    parser = argparse.ArgumentParser(prog="studio-recovery-demo", description=summary)
    parser.add_argument("--zip", type=Path, default=Path("build/lambda.zip"), help="Lambda zip")
    parser.add_argument(
        "--examples-dir",
        type=Path,
        default=Path("examples"),
        help="the repository's examples directory (its `sandbox` root is applied)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the sandbox data directory")
    args = parser.parse_args(argv)
    data_dir = Path(tempfile.mkdtemp(prefix="studio-recovery-demo-"))
    try:
        return run(args.zip, data_dir, args.examples_dir)
    except ScenarioError as error:
        print(f"\nDEMO FAILED: {error}", file=sys.stderr, flush=True)
        return 1
    finally:
        if args.keep:
            print(f"sandbox data kept in {data_dir}")
        else:
            shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
