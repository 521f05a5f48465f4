"""What a command works with: the module's resource names and the AWS session.

Resource names come from `--tf-output FILE` (the JSON of `terraform output -json`, keys as in
docs/internals.md section 5) and are overridden by the individual flags.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import boto3
from botocore.config import Config
from botocore.model import OperationModel

from studio_recovery.cli.errors import UsageError
from studio_recovery.cli.render import Output
from studio_recovery.dal.registry import RegistryRepository, RestoreRepository
from studio_recovery.dal.workflow import WorkflowGateway

SANDBOX_REGION = "us-east-1"
"""The sandbox's region (docs/internals.md section 6), used for a loopback endpoint."""

_LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
_CLIENT_CONFIG = Config(
    retries={"mode": "standard"},  # AWS_MAX_ATTEMPTS applies (default 3)
    connect_timeout=5,
    read_timeout=60,
    user_agent_extra="studio-recovery-cli",
)


@dataclass(frozen=True)
class Resources:
    """Names of the module's resources a command may need. Field names = output keys."""

    registry_table_name: str | None = None
    state_machine_arn: str | None = None
    datasync_security_group_id: str | None = None
    seeder_function_name: str | None = None
    prepare_function_name: str | None = None
    event_rule_names: tuple[str, ...] = ()
    event_dead_letter_queue_url: str | None = None
    stream_failure_queue_url: str | None = None
    trail_arn: str | None = None
    datasync_subnet_ids: tuple[str, ...] = ()
    backup_bucket_name: str | None = None
    space_backup_lifecycle_config_arns: tuple[tuple[str, str], ...] = ()
    """(app type, ARN) pairs: the map output of modules/space_backup."""

    def require(self, name: str) -> str:
        """The value of a single-valued field; a usage error saying how to give it if unset."""
        value = getattr(self, name)
        if not value:
            flag = FLAG_OF_OUTPUT[name]
            raise UsageError(f"{name} is not known: pass {flag} or --tf-output FILE")
        return str(value)


FLAG_OF_OUTPUT: dict[str, str] = {
    "registry_table_name": "--registry-table",
    "state_machine_arn": "--state-machine-arn",
    "datasync_security_group_id": "--datasync-security-group-id",
    "seeder_function_name": "--seeder-function",
    "prepare_function_name": "--prepare-function",
    "event_rule_names": "--event-rule-names",
    "event_dead_letter_queue_url": "--event-dlq-url",
    "stream_failure_queue_url": "--stream-failure-queue-url",
    "trail_arn": "--trail-arn",
    "datasync_subnet_ids": "--datasync-subnet-ids",
    "backup_bucket_name": "--backup-bucket",
    "space_backup_lifecycle_config_arns": "--space-lifecycle-config-arns",
}
"""The flag that sets each resource name (the attribute is the flag's dest)."""


def read_tf_output(path: Path) -> dict[str, Any]:
    """Values of a `terraform output -json` file: `{key: value}` (each value under "value")."""
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise UsageError(f"cannot read --tf-output {path}: {exc.strerror}") from exc
    except json.JSONDecodeError as exc:
        raise UsageError(f"--tf-output {path} is not JSON: {exc.msg} at line {exc.lineno}") from exc
    if not isinstance(raw, dict):
        raise UsageError(f"--tf-output {path}: expected a JSON object of outputs")
    return {
        key: (entry["value"] if isinstance(entry, dict) and "value" in entry else entry)
        for key, entry in raw.items()
    }


def _as_tuple(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return tuple(part.strip() for part in value.split(",") if part.strip())
    if isinstance(value, list | tuple):
        return tuple(str(part) for part in value if part)
    if isinstance(value, dict):  # a Terraform map of rule names
        return tuple(str(part) for part in value.values() if part)
    raise UsageError(f"expected a list of names, got {value!r}")


def _as_pairs(value: Any) -> tuple[tuple[str, str], ...]:
    """A Terraform map (or `JupyterLab=arn,CodeEditor=arn` from the flag) as sorted pairs."""
    if not value:
        return ()
    if isinstance(value, str):
        items = [part.split("=", 1) for part in value.split(",") if part.strip()]
        if any(len(item) != 2 for item in items):
            raise UsageError(f"expected APP_TYPE=ARN,..., got {value!r}")
        return tuple(sorted((k.strip(), v.strip()) for k, v in items))
    if isinstance(value, dict):
        return tuple(sorted((str(k), str(v)) for k, v in value.items()))
    raise UsageError(f"expected a map of app type to ARN, got {value!r}")


def resolve_resources(tf_output: Path | None, flags: dict[str, Any]) -> Resources:
    """Resources from the Terraform outputs file, each overridden by its flag when given."""
    values: dict[str, Any] = read_tf_output(tf_output) if tf_output else {}
    values.update({key: value for key, value in flags.items() if value is not None})
    resolved: dict[str, Any] = {}
    for item in fields(Resources):
        value = values.get(item.name)
        if item.name in {"event_rule_names", "datasync_subnet_ids"}:
            resolved[item.name] = _as_tuple(value)
        elif item.name == "space_backup_lifecycle_config_arns":
            resolved[item.name] = _as_pairs(value)
        else:
            resolved[item.name] = str(value) if value else None
    return Resources(**resolved)


def is_loopback(endpoint_url: str | None) -> bool:
    """True for the sandbox's endpoint (a loopback address)."""
    return bool(endpoint_url) and urlparse(endpoint_url).hostname in _LOOPBACK_HOSTS


class Aws:
    """The boto3 session of one CLI run; clients are created once per service.

    It remembers the IAM action of the latest call, so an AccessDenied error whose
    message does not name the action can still say which permission is missing.
    """

    def __init__(
        self,
        region: str | None = None,
        profile: str | None = None,
        endpoint_url: str | None = None,
    ) -> None:
        self.region = region
        self.profile = profile
        self.endpoint_url = endpoint_url
        self.last_action: str | None = None
        self._session: boto3.Session | None = None
        self._clients: dict[str, Any] = {}
        self._resources: dict[str, Any] = {}

    @property
    def session(self) -> boto3.Session:
        """The boto3 session (created on first use)."""
        if self._session is None:
            self._session = self._new_session()
        return self._session

    def _new_session(self) -> boto3.Session:
        session = boto3.Session(profile_name=self.profile, region_name=self.region)
        if is_loopback(self.endpoint_url):
            # The sandbox: its region, and its dummy credentials when none are configured.
            region = session.region_name or SANDBOX_REGION
            if session.get_credentials() is None:
                return boto3.Session(
                    aws_access_key_id="testing",
                    aws_secret_access_key="testing",  # noqa: S106 - the sandbox's own
                    region_name=region,
                )
            return boto3.Session(profile_name=self.profile, region_name=region)
        return session

    def client(self, service: str, config: Config | None = None) -> Any:
        """A client of `service` (one per service, or a new one when `config` is given)."""
        if config is None and service in self._clients:
            return self._clients[service]
        merged = _CLIENT_CONFIG.merge(config) if config else _CLIENT_CONFIG
        session: Any = self.session  # any service by name: the typed overloads do not apply
        client = session.client(service, endpoint_url=self.endpoint_url, config=merged)
        client.meta.events.register("before-parameter-build", self._remember_action)
        if config is None:
            self._clients[service] = client
        return client

    def resource(self, service: str) -> Any:
        """A boto3 resource of `service`, one per service (the registry code uses DynamoDB's)."""
        if service not in self._resources:
            session: Any = self.session
            resource = session.resource(
                service, endpoint_url=self.endpoint_url, config=_CLIENT_CONFIG
            )
            events = resource.meta.client.meta.events
            events.register("before-parameter-build", self._remember_action)
            self._resources[service] = resource
        return self._resources[service]

    def _remember_action(self, model: OperationModel, **_: Any) -> None:
        prefix = model.service_model.signing_name or model.service_model.endpoint_prefix
        self.last_action = f"{prefix}:{model.name}"


@dataclass
class Context:
    """Everything a command needs: its arguments, the AWS session, names and output."""

    args: Any
    aws: Aws
    resources: Resources
    out: Output

    def registry(self) -> RegistryRepository:
        """The registry repository (the library's own data-access code)."""
        table = self.resources.require("registry_table_name")
        return RegistryRepository(table, self.aws.resource("dynamodb"))

    def restores(self) -> RestoreRepository:
        """Restore items and copy requests (the library's own data-access code)."""
        table = self.resources.require("registry_table_name")
        return RestoreRepository(table, self.aws.resource("dynamodb"))

    def workflow(self) -> WorkflowGateway:
        """StartExecution on the restore state machine (the library's gateway)."""
        arn = self.resources.require("state_machine_arn")
        return WorkflowGateway(arn, self.aws.client("stepfunctions"))
