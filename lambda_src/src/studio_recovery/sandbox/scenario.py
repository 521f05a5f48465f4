"""Drive the sandbox the way an admin and a data scientist would.

Used by `make demo` (`studio_recovery.sandbox.demo`) and by the end-to-end tests: apply the
real Terraform module to the sandbox, create and delete domains, profiles and spaces through
the SageMaker API, write files into home directories, wait for restores and compare trees.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import boto3
from boto3.dynamodb.conditions import Key

from studio_recovery.sandbox import posix, state

Kind = Literal["user", "space"]
REPO_ROOT = Path(__file__).resolve().parents[4]
SANDBOX_ROOT = REPO_ROOT / "examples" / "sandbox"
TERMINAL_STATUSES = {"SUCCEEDED", "FAILED", "SKIPPED", "SOURCE_EMPTY"}
BACKUP_TERMINAL_STATUSES = {"SUCCEEDED", "FAILED"}


class ScenarioError(RuntimeError):
    """A step of the scenario did not do what it should; the message says what."""


# --------------------------------------------------------------------------- Terraform


@dataclass
class Terraform:
    """`terraform` on `examples/sandbox`, with its state and data kept in the sandbox dir."""

    workdir: Path
    data_dir: Path
    variables: dict[str, str]

    def _env(self) -> dict[str, str]:
        env = dict(os.environ)
        env["TF_DATA_DIR"] = str(self.data_dir / "terraform")
        env["TF_IN_AUTOMATION"] = "1"
        env["CHECKPOINT_DISABLE"] = "1"
        return env

    def _args(self) -> list[str]:
        return [f"-var={name}={value}" for name, value in sorted(self.variables.items())]

    def _run(
        self, *args: str, ok_codes: tuple[int, ...] = (0,)
    ) -> subprocess.CompletedProcess[str]:
        command = ["terraform", f"-chdir={self.workdir}", *args]
        result = subprocess.run(
            command, env=self._env(), capture_output=True, text=True, check=False
        )
        if result.returncode not in ok_codes:
            tail = "\n".join((result.stdout + result.stderr).splitlines()[-40:])
            raise ScenarioError(f"`terraform {args[0]}` failed ({result.returncode}):\n{tail}")
        return result

    @property
    def state_path(self) -> Path:
        return self.data_dir / "terraform.tfstate"

    def init(self) -> None:
        self._run("init", "-input=false", "-no-color", "-backend=false")

    def apply(self) -> float:
        started = time.monotonic()
        self._run(
            "apply", "-auto-approve", "-input=false", "-no-color",
            f"-state={self.state_path}", *self._args(),
        )  # fmt: skip
        return time.monotonic() - started

    def plan_changes(self) -> int:
        """Number of changes a new plan proposes (0 means the apply converged)."""
        result = self._run(
            "plan", "-input=false", "-no-color", "-detailed-exitcode",
            f"-state={self.state_path}", *self._args(), ok_codes=(0, 2),
        )  # fmt: skip
        if result.returncode == 0:
            return 0
        return sum(1 for line in result.stdout.splitlines() if line.strip().startswith("# "))

    def outputs(self) -> dict[str, Any]:
        return {name: value["value"] for name, value in self.outputs_json().items()}

    def outputs_json(self) -> dict[str, Any]:
        """`terraform output -json` as the admin CLI's `--tf-output` reads it."""
        result = self._run("output", "-json", "-no-color", f"-state={self.state_path}")
        outputs: dict[str, Any] = json.loads(result.stdout)
        return outputs

    def write_outputs(self, path: Path) -> Path:
        path.write_text(json.dumps(self.outputs_json(), indent=2))
        return path

    def resource_count(self) -> int:
        result = self._run("state", "list", f"-state={self.state_path}")
        return len([line for line in result.stdout.splitlines() if line.strip()])


def apply_module(endpoint: str, zip_path: Path, data_dir: Path) -> tuple[Terraform, float]:
    """Apply `examples/sandbox` (the real root module) to the sandbox; return it and the time."""
    if not zip_path.is_file():
        raise ScenarioError(f"{zip_path} does not exist: run `make build` first")
    if shutil.which("terraform") is None:
        raise ScenarioError("terraform is not on PATH: install Terraform 1.5 or newer")
    tf = Terraform(
        workdir=SANDBOX_ROOT,
        data_dir=data_dir,
        variables={"sandbox_endpoint": endpoint, "lambda_package_path": str(zip_path.resolve())},
    )
    tf.init()
    return tf, tf.apply()


def admin(endpoint: str, tf_output: Path, *args: str) -> tuple[int, str]:
    """Run the admin CLI `studio-recovery` in-process, as an admin would; (exit code, output)."""
    from studio_recovery.cli.main import main as cli_main  # the CLI is an optional extra

    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        code = cli_main(["--endpoint-url", endpoint, "--tf-output", str(tf_output), *args])
    return code, buffer.getvalue()


# --------------------------------------------------------------------------- Studio


@dataclass(frozen=True)
class Home:
    """One profile's or space's home directory on the sandbox EFS."""

    domain_id: str
    kind: Kind
    name: str
    efs_id: str
    uid: int

    @property
    def path(self) -> Path:
        return state.efs_root(self.efs_id) / str(self.uid)


class Studio:
    """SageMaker Studio on the sandbox, through the real SageMaker API."""

    def __init__(self, endpoint: str, vpc_id: str, subnet_ids: list[str]) -> None:
        # Typed as Any: the stubs' literal types add nothing to a scenario driver.
        self.sagemaker: Any = boto3.client("sagemaker", endpoint_url=endpoint)
        self.vpc_id = vpc_id
        self.subnet_ids = subnet_ids

    def create_domain(self, name: str) -> str:
        reply = self.sagemaker.create_domain(
            DomainName=name,
            AuthMode="IAM",
            DefaultUserSettings={
                "ExecutionRole": "arn:aws:iam::123456789012:role/studio-execution"
            },
            SubnetIds=self.subnet_ids,
            VpcId=self.vpc_id,
            AppNetworkAccessType="VpcOnly",
        )
        return str(reply["DomainId"])

    def delete_domain(self, domain_id: str, *, retain: bool) -> None:
        policy = "Retain" if retain else "Delete"
        self.sagemaker.delete_domain(
            DomainId=domain_id, RetentionPolicy={"HomeEfsFileSystem": policy}
        )

    def domain_efs(self, domain_id: str) -> str:
        return str(self.sagemaker.describe_domain(DomainId=domain_id)["HomeEfsFileSystemId"])

    def create(self, domain_id: str, kind: Kind, name: str) -> None:
        if kind == "user":
            self.sagemaker.create_user_profile(DomainId=domain_id, UserProfileName=name)
        else:
            self.sagemaker.create_space(DomainId=domain_id, SpaceName=name)

    def describe(self, domain_id: str, kind: Kind, name: str) -> Home:
        if kind == "user":
            reply = self.sagemaker.describe_user_profile(DomainId=domain_id, UserProfileName=name)
        else:
            reply = self.sagemaker.describe_space(DomainId=domain_id, SpaceName=name)
        return Home(
            domain_id=domain_id,
            kind=kind,
            name=name,
            efs_id=self.domain_efs(domain_id),
            uid=int(reply["HomeEfsFileSystemUid"]),
        )

    def open_app(self, domain_id: str, kind: Kind, name: str) -> Home:
        """Open Studio (create the first app): SageMaker creates the home directory."""
        owner = {"UserProfileName": name} if kind == "user" else {"SpaceName": name}
        app_type = "JupyterServer" if kind == "user" else "JupyterLab"
        self.sagemaker.create_app(DomainId=domain_id, AppType=app_type, AppName="default", **owner)
        home = self.describe(domain_id, kind, name)
        deadline = time.monotonic() + 10
        while not home.path.is_dir():
            if time.monotonic() > deadline:
                raise ScenarioError(f"{kind} {name}: home {home.path} did not appear")
            time.sleep(0.1)
        return home

    def delete(self, domain_id: str, kind: Kind, name: str) -> None:
        """Delete the apps (every page of ListApps), then the profile or space, as an admin must."""
        key = "UserProfileName" if kind == "user" else "SpaceName"
        filters = {"DomainIdEquals": domain_id, f"{key}Equals": name}
        for page in self.sagemaker.get_paginator("list_apps").paginate(**filters):
            for app in page.get("Apps", []):
                if app.get(key) != name or app.get("Status") == "Deleted":
                    continue
                self.sagemaker.delete_app(
                    DomainId=domain_id,
                    AppType=app["AppType"],
                    AppName=app["AppName"],
                    **{key: name},
                )
        if kind == "user":
            self.sagemaker.delete_user_profile(DomainId=domain_id, UserProfileName=name)
        else:
            self.sagemaker.delete_space(DomainId=domain_id, SpaceName=name)


# --------------------------------------------------------------------------- files


@dataclass(frozen=True)
class FileRecord:
    """What a restore must keep of one entry: content digest, mode, link target."""

    kind: Literal["file", "dir", "symlink"]
    mode: int
    size: int
    content: bytes | None
    link: str | None


def write_sample_home(home: Home, *, big_file_mb: int = 10) -> None:
    """The demo's files: nested dirs, a symlink, an empty file, a big file, a private file."""
    root = home.path
    files = {
        "notebooks/analysis.ipynb": b'{"cells": [], "nbformat": 4}\n',
        "notebooks/experiments/2026/run-01/metrics.csv": b"epoch,loss\n1,0.93\n2,0.71\n",
        "data/empty.txt": b"",
        f"data/{home.name}.txt": f"i do not want to lose this file ({home.name})\n".encode(),
        "data/weights.bin": os.urandom(big_file_mb * 1024 * 1024),
        ".ssh/id_ed25519": b"-----BEGIN OPENSSH PRIVATE KEY-----\nsandbox\n",
    }
    for rel, data in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    (root / "latest-run").symlink_to("notebooks/experiments/2026/run-01")
    os.chmod(root / ".ssh", 0o700)
    os.chmod(root / ".ssh/id_ed25519", 0o600)
    os.chmod(root / "notebooks/experiments/2026/run-01/metrics.csv", 0o640)
    for path in _walk(root):
        posix.set_owner(path, home.uid, 100)


def write_as_owner(home: Home, rel_path: str, data: bytes) -> Path:
    """Write a file as the home's owner would from Studio: new directories are theirs too."""
    path = home.path / rel_path
    missing = [p for p in path.parents if home.path in p.parents and not p.exists()]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    for created in [*missing, path]:
        if created.exists():
            posix.set_owner(created, home.uid, 100)
    return path


def _walk(root: Path) -> Iterator[Path]:
    for dirpath, dirnames, filenames in os.walk(root):
        for name in sorted(dirnames + filenames):
            path = Path(dirpath) / name
            if not posix.is_sidecar(path):
                yield path


def snapshot(root: Path) -> dict[str, FileRecord]:
    """Every entry under `root`, relative, with what a restore must preserve."""
    records: dict[str, FileRecord] = {}
    for path in _walk(root):
        rel = path.relative_to(root).as_posix()
        if path.is_symlink():
            records[rel] = FileRecord("symlink", 0, 0, None, os.readlink(path))
        elif path.is_dir():
            records[rel] = FileRecord("dir", posix.stat_mode(path), 0, None, None)
        else:
            data = path.read_bytes()
            records[rel] = FileRecord("file", posix.stat_mode(path), len(data), data, None)
    return records


def compare_restored(
    before: dict[str, FileRecord], home: Home, *, kept: dict[str, bytes] | None = None
) -> list[str]:
    """Mismatches between the old home's snapshot and the new home (empty list: all good).

    Every old entry must be in the new home, byte for byte with its permissions, owned by the
    new uid; entries named in `kept` are files the new owner wrote first and must keep.
    """
    kept = kept or {}
    problems: list[str] = []
    for rel, old in sorted(before.items()):
        path = home.path / rel
        if rel in kept:
            if path.read_bytes() != kept[rel]:
                problems.append(f"{rel}: the new owner's file was overwritten")
            continue
        if not path.exists() and not path.is_symlink():
            problems.append(f"{rel}: missing")
            continue
        if old.kind == "symlink":
            if not path.is_symlink() or os.readlink(path) != old.link:
                problems.append(f"{rel}: symlink not restored as a symlink to {old.link}")
            continue
        if old.kind == "file" and path.read_bytes() != old.content:
            problems.append(f"{rel}: content differs")
        if posix.stat_mode(path) != old.mode:
            problems.append(f"{rel}: mode {posix.stat_mode(path):o}, expected {old.mode:o}")
        uid, _gid = posix.stat_owner(path)
        if uid != home.uid:
            problems.append(f"{rel}: owned by {uid}, expected the new uid {home.uid}")
    return problems


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


# --------------------------------------------------------------------------- end-to-end helpers


def apply_module_with(
    endpoint: str, zip_path: Path, data_dir: Path, variables: dict[str, str]
) -> tuple[Terraform, float]:
    """:func:`apply_module` with more `examples/sandbox` variables (timeouts, concurrency)."""
    if not zip_path.is_file():
        raise ScenarioError(f"{zip_path} does not exist: run `make build` first")
    if shutil.which("terraform") is None:
        raise ScenarioError("terraform is not on PATH: install Terraform 1.5 or newer")
    tf = Terraform(
        workdir=SANDBOX_ROOT,
        data_dir=data_dir,
        variables={
            **variables,
            "sandbox_endpoint": endpoint,
            "lambda_package_path": str(zip_path.resolve()),
        },
    )
    tf.init()
    return tf, tf.apply()


def create_sso_domain(studio: Studio, name: str) -> str:
    """An IAM Identity Center (SSO) domain: its profiles carry a SingleSignOnUserValue."""
    reply = studio.sagemaker.create_domain(
        DomainName=name,
        AuthMode="SSO",
        DefaultUserSettings={"ExecutionRole": "arn:aws:iam::123456789012:role/studio-execution"},
        SubnetIds=studio.subnet_ids,
        VpcId=studio.vpc_id,
        AppNetworkAccessType="VpcOnly",
    )
    return str(reply["DomainId"])


def create_sso_user(studio: Studio, domain_id: str, name: str, sso_user: str) -> None:
    """A user profile of an SSO domain, bound to the Identity Center user `sso_user`."""
    studio.sagemaker.create_user_profile(
        DomainId=domain_id,
        UserProfileName=name,
        SingleSignOnUserIdentifier="UserName",
        SingleSignOnUserValue=sso_user,
    )


def write_small_home(home: Home, files: int = 3) -> None:
    """A few small files owned by the home's uid (for runs with many profiles)."""
    for index in range(files):
        path = home.path / "work" / f"file-{index}.txt"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(f"{home.name} file {index}\n".encode())
    for path in _walk(home.path):
        posix.set_owner(path, home.uid, 100)


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


# --------------------------------------------------------------------------- backups


def backup_prefix_of(domain_name: str, home: Home) -> str:
    """`homes/<domain>/<kind>/<name>/<efs_id>-<uid>/`: where the backups of `home` go.

    Spelled out from docs/internals.md section 7 rather than taken from the library, so a
    scenario checks the layout instead of repeating it.
    """
    return f"homes/{domain_name}/{home.kind}/{home.name}/{home.efs_id}-{home.uid}/"


def scheduled_event(at: datetime, rule_arn: str) -> dict[str, Any]:
    """The event an EventBridge schedule rule sends its target at `at`."""
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": state.ACCOUNT_ID,
        "time": at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": state.REGION,
        "resources": [rule_arn],
        "detail": {},
    }


@dataclass(frozen=True)
class ScheduleRun:
    """One run of the backup schedule: when it fired and what the function answered."""

    at: datetime
    result: dict[str, Any]

    @property
    def stamp(self) -> str:
        """`YYYYMMDDHHMMSS`: the part of every backup id this run started."""
        return self.at.astimezone(UTC).strftime("%Y%m%d%H%M%S")

    @property
    def expected(self) -> int:
        """Backups this run stands for: those it started and those already started."""
        return int(self.result.get("started", 0)) + int(self.result.get("already_started", 0))


def schedule_rule_arn(endpoint: str, function_name: str, config: Any = None) -> str:
    """The ARN of the EventBridge rule that targets the backup function."""
    lam: Any = boto3.client("lambda", endpoint_url=endpoint, config=config)
    events: Any = boto3.client("events", endpoint_url=endpoint, config=config)
    function_arn = lam.get_function(FunctionName=function_name)["Configuration"]["FunctionArn"]
    names = events.list_rule_names_by_target(TargetArn=function_arn).get("RuleNames", [])
    if not names:
        raise ScenarioError(
            f"no EventBridge rule targets {function_name}: is `backups` enabled in the module?"
        )
    return str(events.describe_rule(Name=names[0])["Arn"])


def run_backup_schedule(
    endpoint: str, function_name: str, at: datetime | None = None, config: Any = None
) -> ScheduleRun:
    """Invoke the deployed backup function as its schedule rule would, and wait for its answer.

    The Lambda Invoke API runs the real handler in the sandbox's Lambda runtime with the
    Scheduled Event payload; a function error fails the scenario with its message.
    `config`: a botocore Config for the clients (the benchmark marks its own calls).
    """
    when = (at or datetime.now(UTC)).replace(microsecond=0)
    event = scheduled_event(when, schedule_rule_arn(endpoint, function_name, config))
    lam: Any = boto3.client("lambda", endpoint_url=endpoint, config=config)
    reply = lam.invoke(
        FunctionName=function_name,
        InvocationType="RequestResponse",
        Payload=json.dumps(event).encode(),
    )
    body = reply["Payload"].read().decode() or "null"
    if reply.get("FunctionError"):
        raise ScenarioError(f"the backup function failed on the scheduled event: {body}")
    result = json.loads(body)
    if not isinstance(result, dict):
        raise ScenarioError(f"the backup function answered {body!r}, not a JSON object")
    return ScheduleRun(when, result)


@dataclass(frozen=True)
class BackupObject:
    """One current object under a backup prefix: its bytes and S3 metadata."""

    key: str
    data: bytes
    metadata: dict[str, str]
    version_id: str | None


class BackupBucket:
    """Reads of the backup bucket, from the sandbox's S3 in this process.

    Not over HTTP: the bucket policy denies requests without TLS, the sandbox speaks
    plain HTTP, and moto applies that Deny without looking at its condition. The objects
    are read where the sandbox's DataSync writes them, moto's S3 backend.
    """

    def __init__(self, endpoint: str, bucket: str) -> None:
        self.endpoint = endpoint
        self.bucket = bucket

    def _entries(self, prefix: str) -> dict[str, list[Any]]:
        """Every version and delete marker per key under `prefix`, oldest first."""
        from moto.s3.models import s3_backends  # the sandbox runs in this process

        bucket = s3_backends[state.ACCOUNT_ID]["aws"].get_bucket(self.bucket)
        return {
            str(name): list(bucket.keys.getlist(name, []))
            for name in sorted(list(bucket.keys))
            if str(name).startswith(prefix)
        }

    def keys(self, prefix: str) -> list[str]:
        """Current object keys under `prefix`, relative to it (directory markers end in /)."""
        return [
            name[len(prefix) :]
            for name, entries in self._entries(prefix).items()
            if entries and _is_object(entries[-1])
        ]

    def read(self, prefix: str, rel: str) -> BackupObject:
        """The current version of `prefix + rel`."""
        entries = self._entries(prefix + rel).get(prefix + rel, [])
        if not entries or not _is_object(entries[-1]):
            raise ScenarioError(f"s3://{self.bucket}/{prefix}{rel} has no current version")
        key = entries[-1]
        return BackupObject(
            key=rel,
            data=bytes(key.value),
            metadata={
                str(k).lower().removeprefix("x-amz-meta-"): str(v) for k, v in key.metadata.items()
            },
            version_id=key.version_id,
        )

    def versions(self, prefix: str) -> dict[str, list[dict[str, Any]]]:
        """Every version and delete marker per relative key, newest first."""
        return {
            name[len(prefix) :]: [
                {
                    "VersionId": entry.version_id,
                    "LastModified": entry.last_modified,
                    "DeleteMarker": not _is_object(entry),
                }
                for entry in reversed(entries)
            ]
            for name, entries in self._entries(prefix).items()
        }

    def version_count(self, prefix: str) -> int:
        """Object versions (not delete markers) under `prefix`: what backups have written."""
        return sum(
            1
            for entries in self.versions(prefix).values()
            for entry in entries
            if not entry["DeleteMarker"]
        )

    def exists(self, key: str) -> bool:
        entries = self._entries(key).get(key, [])
        return bool(entries) and _is_object(entries[-1])


def _is_object(entry: Any) -> bool:
    from moto.s3.models import FakeKey

    return isinstance(entry, FakeKey)


def compare_backed_up(
    before: dict[str, FileRecord], bucket: BackupBucket, prefix: str, uid: int
) -> list[str]:
    """Mismatches between a home's snapshot and its backup prefix (empty list: all good).

    Every regular file must be an object with the same bytes whose metadata records the
    owner `uid` and the file's permission bits (DataSync's `file-owner` and
    `file-permissions`); every directory and symlink must have an object too.
    """
    keys = set(bucket.keys(prefix))
    problems: list[str] = []
    for rel, record in sorted(before.items()):
        if record.kind == "dir":
            if f"{rel}/" not in keys and not any(k.startswith(f"{rel}/") for k in keys):
                problems.append(f"{rel}/: no object")
            continue
        if rel not in keys:
            problems.append(f"{rel}: no object")
            continue
        if record.kind == "symlink":
            continue
        stored = bucket.read(prefix, rel)
        if stored.data != record.content:
            problems.append(f"{rel}: object bytes differ")
        problems += [f"{rel}: {p}" for p in _metadata_problems(stored.metadata, record, uid)]
    return problems


def _metadata_problems(metadata: dict[str, str], record: FileRecord, uid: int) -> list[str]:
    owner = metadata.get("file-owner")
    permissions = metadata.get("file-permissions")
    problems: list[str] = []
    if owner is None or permissions is None:
        return [f"no file-owner/file-permissions metadata (has {sorted(metadata)})"]
    if owner != str(uid):
        problems.append(f"metadata owner {owner}, expected {uid}")
    if int(permissions, 8) & 0o7777 != record.mode & 0o7777:
        problems.append(f"metadata permissions {permissions}, expected {record.mode:o}")
    return problems


def backups_of_run(
    endpoint: str, table_name: str, run: ScheduleRun, config: Any = None
) -> list[dict[str, Any]]:
    """Every `BACKUP#` item whose id carries this schedule run's time (a table scan)."""
    dynamodb: Any = boto3.resource("dynamodb", endpoint_url=endpoint, config=config)
    table = dynamodb.Table(table_name)
    marker = f"-b{run.stamp}-"
    items: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {"ConsistentRead": True}
    while True:
        page = table.scan(**kwargs)
        items += [
            dict(item)
            for item in page.get("Items", [])
            if str(item["sk"]).startswith("BACKUP#") and marker in str(item["sk"])
        ]
        if "LastEvaluatedKey" not in page:
            return items
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def wait_for_schedule_run(
    endpoint: str, table_name: str, run: ScheduleRun, timeout: float = 180, config: Any = None
) -> list[dict[str, Any]]:
    """Every backup the run started, once all of them ended (SUCCEEDED or FAILED)."""
    deadline = time.monotonic() + timeout
    while True:
        items = backups_of_run(endpoint, table_name, run, config)
        done = [i for i in items if i.get("status") in BACKUP_TERMINAL_STATUSES]
        if len(done) >= run.expected and len(done) == len(items):
            return items
        if time.monotonic() > deadline:
            states = sorted((str(i.get("restore_id")), str(i.get("status"))) for i in items)
            raise ScenarioError(
                f"the schedule run of {run.stamp} ({run.result}) did not finish within "
                f"{timeout:.0f} s: {len(done)} of {run.expected} backups ended; {states}"
            )
        time.sleep(0.5)
