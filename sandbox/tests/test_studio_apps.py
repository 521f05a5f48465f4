"""Studio spaces with EBS homes, lifecycle configurations, and apps that run them for real.

One sandbox with IAM enforced for the module: the operator key the tests call with is not
restricted, the apps' execution-role sessions are.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from sandbox.tests.helpers import SandboxClients, process_alive, wait_for
from studio_sandbox.harness.scenario.studio import Studio
from studio_sandbox.iam import principals
from studio_sandbox.sagemaker import apps
from studio_sandbox.server import state
from studio_sandbox.server.app import Sandbox

TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"Service": "sagemaker.amazonaws.com"},
            "Action": ["sts:AssumeRole", "sts:SetSourceIdentity"],
        }
    ],
}
BUCKET = "studio-apps-test-data"


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    data_dir: Path = tmp_path_factory.mktemp("sandbox-studio-apps")
    with Sandbox(port=0, data_dir=data_dir, iam_enforced=True) as running:
        yield running


@pytest.fixture(scope="module")
def aws(sandbox: Sandbox) -> SandboxClients:
    return SandboxClients(sandbox.endpoint_url)


@pytest.fixture(autouse=True)
def quick_shutdown(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(apps.timing, "shutdown_grace_seconds", 2.0)


def _role(aws: SandboxClients, name: str, statements: list[dict[str, Any]]) -> str:
    iam = aws.client("iam")
    arn = str(
        iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(TRUST))["Role"]["Arn"]
    )
    if not statements:
        return arn
    document = {"Version": "2012-10-17", "Statement": statements}
    iam.put_role_policy(RoleName=name, PolicyName="app", PolicyDocument=json.dumps(document))
    return arn


@pytest.fixture(scope="module")
def role(aws: SandboxClients) -> str:
    """An execution role that may use BUCKET and nothing else."""
    aws.client("s3").create_bucket(Bucket=BUCKET)
    return _role(
        aws,
        "studio-apps-execution",
        [
            {
                "Sid": "Data",
                "Effect": "Allow",
                "Action": ["s3:PutObject", "s3:GetObject"],
                "Resource": f"arn:aws:s3:::{BUCKET}/*",
            }
        ],
    )


@pytest.fixture(scope="module")
def studio(aws: SandboxClients) -> Studio:
    ec2 = aws.client("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.9.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.9.1.0/24")["Subnet"]["SubnetId"]
    return Studio(aws.endpoint_url, vpc, [subnet])


_counter = iter(range(10_000))


def _name(prefix: str) -> str:
    return f"{prefix}-{next(_counter)}"


def _domain(studio: Studio, role: str, **extra: Any) -> str:
    reply = studio.sagemaker.create_domain(
        DomainName=_name("d"),
        AuthMode="IAM",
        DefaultUserSettings={"ExecutionRole": role, **extra.pop("user_settings", {})},
        SubnetIds=studio.subnet_ids,
        VpcId=studio.vpc_id,
        **extra,
    )
    return studio.wait_in_service(str(reply["DomainId"]))


def _owned_space(
    studio: Studio,
    domain_id: str,
    owner: str,
    app_type: str = "JupyterLab",
    *,
    name: str | None = None,
    sharing: str = "Private",
    **settings: Any,
) -> str:
    """A space of `owner` (created if need be); private unless `sharing` says Shared."""
    name = name or _name("space")
    profiles = studio.sagemaker.list_user_profiles(DomainIdEquals=domain_id, MaxResults=100)
    if owner not in {p["UserProfileName"] for p in profiles["UserProfiles"]}:
        studio.sagemaker.create_user_profile(DomainId=domain_id, UserProfileName=owner)
    studio.sagemaker.create_space(
        DomainId=domain_id,
        SpaceName=name,
        SpaceSettings={"AppType": app_type, **settings},
        OwnershipSettings={"OwnerUserProfileName": owner},
        SpaceSharingSettings={"SharingType": sharing},
    )
    return name


def _lcc(studio: Studio, script: str, app_type: str = "JupyterLab") -> str:
    reply = studio.sagemaker.create_studio_lifecycle_config(
        StudioLifecycleConfigName=_name("lcc"),
        StudioLifecycleConfigContent=base64.b64encode(script.encode()).decode(),
        StudioLifecycleConfigAppType=app_type,
    )
    return str(reply["StudioLifecycleConfigArn"])


def _attached(arn: str, app_type: str = "JupyterLab") -> dict[str, Any]:
    return {
        f"{app_type}AppSettings": {
            "LifecycleConfigArns": [arn],
            "DefaultResourceSpec": {"LifecycleConfigArn": arn},
        }
    }


def _scripted_space(studio: Studio, role: str, owner: str, script: str) -> tuple[str, str, Path]:
    """A domain whose JupyterLab default is `script`, and a private space of `owner`."""
    arn = _lcc(studio, script)
    domain_id = _domain(studio, role, user_settings=_attached(arn))
    space = _owned_space(studio, domain_id, owner)
    return domain_id, space, studio.space_home(domain_id, space)


def _app(studio: Studio, domain_id: str, space: str) -> dict[str, Any]:
    found: dict[str, Any] = studio.sagemaker.describe_app(
        DomainId=domain_id, SpaceName=space, AppType="JupyterLab", AppName="default"
    )
    return found


def _worker_pid(home: Path) -> int:
    return int(wait_for(lambda: (home / "worker.pid").read_text().strip() or None))


def _error(call: Any, **kwargs: Any) -> str:
    with pytest.raises(ClientError) as raised:
        call(**kwargs)
    return str(raised.value.response["Error"]["Code"])


# --------------------------------------------------------------------------- EBS homes


def test_jupyterlab_and_code_editor_spaces_get_an_ebs_home_deleted_with_the_space(
    studio: Studio, role: str
) -> None:
    domain_id = _domain(studio, role)
    lab = _owned_space(studio, domain_id, "alice")
    code = _owned_space(studio, domain_id, "alice", app_type="CodeEditor")
    shared = _owned_space(studio, domain_id, "alice", sharing="Shared")
    homes = [studio.space_home(domain_id, s) for s in (lab, code, shared)]
    assert all(h.is_dir() and not any(h.iterdir()) for h in homes)
    assert len({str(h) for h in homes}) == 3
    (homes[0] / "notebook.ipynb").write_text("{}")

    studio.sagemaker.delete_space(DomainId=domain_id, SpaceName=lab)

    assert not homes[0].exists()
    assert homes[1].is_dir()
    _owned_space(studio, domain_id, "alice", name=lab)
    assert studio.space_home(domain_id, lab).is_dir()
    assert not any(studio.space_home(domain_id, lab).iterdir())  # a new, empty volume


def test_space_without_a_jupyterlab_or_code_editor_app_type_has_no_ebs_home(
    studio: Studio, role: str
) -> None:
    domain_id = _domain(studio, role)
    studio.sagemaker.create_space(DomainId=domain_id, SpaceName="classic")
    with pytest.raises(Exception, match="404"):
        studio.space_home(domain_id, "classic")


def test_ebs_size_defaults_to_5_gb_and_respects_the_domain_maximum(
    studio: Studio, role: str
) -> None:
    storage = {
        "SpaceStorageSettings": {
            "DefaultEbsStorageSettings": {
                "DefaultEbsVolumeSizeInGb": 10,
                "MaximumEbsVolumeSizeInGb": 20,
            }
        }
    }
    plain = _domain(studio, role)
    limited = _domain(studio, role, user_settings=storage)
    default_space = _owned_space(studio, plain, "carol")
    sized = _owned_space(studio, limited, "carol")
    volume = studio._space_volume

    assert volume(plain, default_space)["size_gb"] == 5
    assert volume(limited, sized)["size_gb"] == 10
    too_big = {"SpaceStorageSettings": {"EbsStorageSettings": {"EbsVolumeSizeInGb": 21}}}
    with pytest.raises(ClientError, match="ValidationException"):
        _owned_space(studio, limited, "carol", **too_big)


def test_private_space_needs_an_existing_owner(studio: Studio, role: str) -> None:
    domain_id = _domain(studio, role)
    code = _error(
        studio.sagemaker.create_space,
        DomainId=domain_id,
        SpaceName="orphan",
        SpaceSettings={"AppType": "JupyterLab"},
        OwnershipSettings={"OwnerUserProfileName": "nobody"},
        SpaceSharingSettings={"SharingType": "Private"},
    )
    assert code == "ResourceNotFound"


# --------------------------------------------------------------------------- LCC API


def test_lifecycle_config_create_describe_list_delete(studio: Studio) -> None:
    script = "#!/bin/bash\necho hello\n"
    arn = _lcc(studio, script)
    name = arn.rsplit("/", 1)[-1]
    assert arn == f"arn:aws:sagemaker:us-east-1:123456789012:studio-lifecycle-config/{name}"

    described = studio.sagemaker.describe_studio_lifecycle_config(StudioLifecycleConfigName=name)
    listed = studio.sagemaker.list_studio_lifecycle_configs(
        NameContains=name, AppTypeEquals="JupyterLab"
    )["StudioLifecycleConfigs"]

    assert base64.b64decode(described["StudioLifecycleConfigContent"]).decode() == script
    assert described["StudioLifecycleConfigAppType"] == "JupyterLab"
    assert described["LastModifiedTime"] == described["CreationTime"]
    assert [c["StudioLifecycleConfigName"] for c in listed] == [name]
    assert "StudioLifecycleConfigContent" not in listed[0]
    duplicate = _error(
        studio.sagemaker.create_studio_lifecycle_config,
        StudioLifecycleConfigName=name,
        StudioLifecycleConfigContent=described["StudioLifecycleConfigContent"],
        StudioLifecycleConfigAppType="JupyterLab",
    )
    assert duplicate == "ResourceInUse"
    studio.sagemaker.delete_studio_lifecycle_config(StudioLifecycleConfigName=name)
    missing = _error(
        studio.sagemaker.describe_studio_lifecycle_config, StudioLifecycleConfigName=name
    )
    assert missing == "ResourceNotFound"


@pytest.mark.parametrize(
    ("content", "app_type"),
    [
        ("not base64 at all!", "JupyterLab"),
        (base64.b64encode(b"x" * 12_300).decode(), "JupyterLab"),  # 16400 characters
        (base64.b64encode(b"echo").decode(), "RStudioServerPro"),
    ],
    ids=["not-base64", "over-16384", "app-type"],
)
def test_lifecycle_config_content_and_app_type_are_validated(
    studio: Studio, content: str, app_type: str
) -> None:
    code = _error(
        studio.sagemaker.create_studio_lifecycle_config,
        StudioLifecycleConfigName=_name("bad"),
        StudioLifecycleConfigContent=content,
        StudioLifecycleConfigAppType=app_type,
    )
    assert code == "ValidationException"


def test_attached_lifecycle_config_cannot_be_deleted(studio: Studio, role: str) -> None:
    arn = _lcc(studio, "true\n")
    name = arn.rsplit("/", 1)[-1]
    domain_id = _domain(studio, role, user_settings=_attached(arn))

    code = _error(studio.sagemaker.delete_studio_lifecycle_config, StudioLifecycleConfigName=name)

    assert code == "ResourceInUse"
    studio.sagemaker.update_domain(
        DomainId=domain_id,
        DefaultUserSettings={"JupyterLabAppSettings": {"LifecycleConfigArns": []}},
    )
    studio.sagemaker.delete_studio_lifecycle_config(StudioLifecycleConfigName=name)


def test_attachment_is_validated(studio: Studio, role: str) -> None:
    lab = _lcc(studio, "true\n")
    code_editor = _lcc(studio, "true\n", app_type="CodeEditor")
    missing = lab + "-gone"
    default_not_listed = {
        "JupyterLabAppSettings": {
            "LifecycleConfigArns": [],
            "DefaultResourceSpec": {"LifecycleConfigArn": lab},
        }
    }
    wrong_type = {"JupyterLabAppSettings": {"LifecycleConfigArns": [code_editor]}}
    unknown = {"JupyterLabAppSettings": {"LifecycleConfigArns": [missing]}}

    for settings, expected in (
        (default_not_listed, "ValidationException"),
        (wrong_type, "ValidationException"),
        (unknown, "ResourceNotFound"),
    ):
        with pytest.raises(ClientError) as raised:
            _domain(studio, role, user_settings=settings)
        assert raised.value.response["Error"]["Code"] == expected


def test_update_calls_keep_lifecycle_settings_and_identity_config(
    studio: Studio, role: str
) -> None:
    arn = _lcc(studio, "true\n", app_type="CodeEditor")
    domain_id = _domain(studio, role)
    space = _owned_space(studio, domain_id, "dave", app_type="CodeEditor")

    studio.sagemaker.update_domain(
        DomainId=domain_id,
        DefaultUserSettings={"CodeEditorAppSettings": {"LifecycleConfigArns": [arn]}},
        DomainSettingsForUpdate={"ExecutionRoleIdentityConfig": "USER_PROFILE_NAME"},
    )
    studio.sagemaker.update_user_profile(
        DomainId=domain_id, UserProfileName="dave", UserSettings=_attached(arn, "CodeEditor")
    )
    studio.sagemaker.update_space(
        DomainId=domain_id,
        SpaceName=space,
        SpaceSettings={
            "CodeEditorAppSettings": {"DefaultResourceSpec": {"LifecycleConfigArn": arn}}
        },
    )

    domain = studio.sagemaker.describe_domain(DomainId=domain_id)
    profile = studio.sagemaker.describe_user_profile(DomainId=domain_id, UserProfileName="dave")
    described = studio.sagemaker.describe_space(DomainId=domain_id, SpaceName=space)
    assert domain["DefaultUserSettings"]["CodeEditorAppSettings"]["LifecycleConfigArns"] == [arn]
    assert domain["DefaultUserSettings"]["ExecutionRole"] == role
    assert domain["DomainSettings"]["ExecutionRoleIdentityConfig"] == "USER_PROFILE_NAME"
    assert profile["UserSettings"] == _attached(arn, "CodeEditor")
    assert described["SpaceSettings"]["AppType"] == "CodeEditor"
    spec = described["SpaceSettings"]["CodeEditorAppSettings"]["DefaultResourceSpec"]
    assert spec["LifecycleConfigArn"] == arn
    assert described["OwnershipSettings"] == {"OwnerUserProfileName": "dave"}
    assert described["SpaceSharingSettings"] == {"SharingType": "Private"}


def test_execution_role_identity_config_is_user_profile_name_or_disabled(
    studio: Studio, role: str
) -> None:
    with pytest.raises(ClientError, match="ValidationException"):
        _domain(studio, role, DomainSettings={"ExecutionRoleIdentityConfig": "SPACE_NAME"})
    domain_id = _domain(studio, role)
    refused = _error(
        studio.sagemaker.update_domain,
        DomainId=domain_id,
        DomainSettingsForUpdate={"ExecutionRoleIdentityConfig": "SPACE_NAME"},
    )
    assert refused == "ValidationException"


# --------------------------------------------------------------------------- apps

ENV_DUMP = """#!/bin/bash
set -e
pwd > "$HOME/lcc-cwd"
env > "$HOME/lcc-env"
cp "${STUDIO_SANDBOX_ROOT:-}/opt/ml/metadata/resource-metadata.json" "$HOME/lcc-metadata"
"""


def _env(home: Path) -> dict[str, str]:
    lines = (home / "lcc-env").read_text().splitlines()
    return dict(line.split("=", 1) for line in lines if "=" in line)


def test_app_runs_the_default_script_in_the_space_home_with_metadata(
    studio: Studio, role: str, sandbox: Sandbox
) -> None:
    domain_id, space, home = _scripted_space(studio, role, "erin", ENV_DUMP)

    first = studio.start_app(domain_id, space, wait=False)
    assert _app(studio, domain_id, space)["Status"] in ("Pending", "InService")
    status = studio.wait_app(domain_id, space, "JupyterLab", ("InService", "Failed"), 30)

    assert (first, status) == ("Pending", "InService")
    assert (home / "lcc-cwd").read_text().strip() == str(home)
    env = _env(home)
    assert env["HOME"] == str(home)
    assert env["AWS_ENDPOINT_URL"] == sandbox.endpoint_url
    assert env["AWS_REGION"] == env["AWS_DEFAULT_REGION"] == "us-east-1"
    assert env["STUDIO_SANDBOX_APP_ID"].startswith("app-")
    assert env["AWS_ACCESS_KEY_ID"] != state.ACCESS_KEY
    assert env["AWS_SESSION_TOKEN"]
    root = Path(env["STUDIO_SANDBOX_ROOT"])
    metadata = json.loads((home / "lcc-metadata").read_text())
    assert metadata == json.loads((root / apps.METADATA_PATH).read_text())
    assert metadata["DomainId"] == domain_id
    assert metadata["SpaceName"] == space
    assert metadata["UserProfileName"] == "erin"
    assert metadata["AppType"] == "JupyterLab"
    assert metadata["ResourceName"] == "default"
    assert metadata["ExecutionRoleArn"] == role
    assert metadata["ResourceArn"].endswith(f":app/{domain_id}/{space}/jupyterlab/default")
    studio.delete(domain_id, "space", space)
    assert not home.exists()


def test_failing_script_fails_the_app_with_a_reason(studio: Studio, role: str) -> None:
    domain_id, space, _home = _scripted_space(
        studio, role, "frank", "#!/bin/bash\necho broken >&2\nexit 3\n"
    )

    status = studio.start_app(domain_id, space, timeout=30)

    described = _app(studio, domain_id, space)
    assert status == "Failed"
    assert "exit code 3" in described["FailureReason"]
    log = studio.app_directory(domain_id, space, "JupyterLab") / "lifecycle.log"
    assert "broken" in log.read_text()


def test_script_running_past_the_limit_fails_the_app(
    studio: Studio, role: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(apps.timing, "lcc_timeout_seconds", 1.0)
    domain_id, space, _home = _scripted_space(studio, role, "gina", "#!/bin/bash\nsleep 30\n")

    started = time.monotonic()
    status = studio.start_app(domain_id, space, timeout=30)

    described = _app(studio, domain_id, space)
    assert status == "Failed"
    assert "did not finish within 1 seconds" in described["FailureReason"]
    assert time.monotonic() - started < 15


def test_lifecycle_timeout_defaults_to_five_minutes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(apps.LCC_TIMEOUT_ENV, raising=False)
    assert apps.AppTiming.from_environment().lcc_timeout_seconds == 300.0
    monkeypatch.setenv(apps.LCC_TIMEOUT_ENV, "2.5")
    monkeypatch.setenv(apps.SHUTDOWN_GRACE_ENV, "1")
    configured = apps.AppTiming.from_environment()
    assert (configured.lcc_timeout_seconds, configured.shutdown_grace_seconds) == (2.5, 1.0)


BACKGROUND = """#!/bin/bash
cat > "$HOME/worker.sh" <<'EOF'
trap 'echo term > "$HOME/got-sigterm"; exit 0' TERM
echo $$ > "$HOME/worker.pid"
while true; do sleep 0.1; done
EOF
( setsid nohup bash "$HOME/worker.sh" > /dev/null 2>&1 & ) &
sleep 0.5
"""


def test_background_process_runs_until_delete_app_and_gets_sigterm(
    studio: Studio, role: str
) -> None:
    domain_id, space, home = _scripted_space(studio, role, "hank", BACKGROUND)

    assert studio.start_app(domain_id, space, timeout=30) == "InService"
    pid = _worker_pid(home)
    time.sleep(0.5)
    assert process_alive(pid)  # still running while InService
    assert not (home / "got-sigterm").exists()

    studio.stop_app(domain_id, space, wait=False)
    assert _app(studio, domain_id, space)["Status"] in ("Deleting", "Deleted")
    assert studio.wait_app(domain_id, space, "JupyterLab", ("Deleted",), 30) == "Deleted"

    assert (home / "got-sigterm").read_text().strip() == "term"
    assert not process_alive(pid)


def test_process_ignoring_sigterm_is_killed_after_the_grace_period(
    studio: Studio, role: str
) -> None:
    stubborn = BACKGROUND.replace("exit 0' TERM", "' TERM")
    domain_id, space, home = _scripted_space(studio, role, "ivy", stubborn)
    assert studio.start_app(domain_id, space, timeout=30) == "InService"
    pid = _worker_pid(home)

    started = time.monotonic()
    assert studio.stop_app(domain_id, space) == "Deleted"

    assert time.monotonic() - started >= 1.5  # the 2 s grace of this module
    assert (home / "got-sigterm").exists()
    assert not process_alive(pid)


def test_space_with_a_deleting_app_cannot_be_deleted(studio: Studio, role: str) -> None:
    domain_id, space, _home = _scripted_space(
        studio, role, "jack", BACKGROUND.replace("exit 0' TERM", "' TERM")
    )
    assert studio.start_app(domain_id, space, timeout=30) == "InService"
    studio.stop_app(domain_id, space, wait=False)

    code = _error(studio.sagemaker.delete_space, DomainId=domain_id, SpaceName=space)

    assert code == "ResourceInUse"
    studio.delete(domain_id, "space", space)


CALLS = """#!/bin/bash
python3 - <<'EOF' > "$HOME/calls.json"
import json, boto3
from botocore.exceptions import ClientError
out = {"arn": boto3.client("sts").get_caller_identity()["Arn"]}
s3 = boto3.client("s3")
for name, call in (
    ("put", lambda: s3.put_object(Bucket="%s", Key="x/" + "%s", Body=b"1")),
    ("list_buckets", lambda: s3.list_buckets()),
    ("identity_bucket", lambda: s3.put_object(Bucket="studio-apps-alice-only", Key="k", Body=b"1")),
    ("alice_prefix", lambda: s3.put_object(Bucket="%s", Key="own/alice/x", Body=b"1")),
):
    try:
        call()
        out[name] = "ok"
    except ClientError as error:
        out[name] = error.response["Error"]["Code"]
print(json.dumps(out))
EOF
"""


def test_script_calls_with_the_execution_role_and_iam_is_enforced(
    studio: Studio, role: str, aws: SandboxClients
) -> None:
    domain_id = _domain(studio, role)
    space = _owned_space(studio, domain_id, "kate")
    arn = _lcc(studio, CALLS % (BUCKET, space, BUCKET))
    studio.sagemaker.update_domain(DomainId=domain_id, DefaultUserSettings=_attached(arn))

    assert studio.start_app(domain_id, space, timeout=60) == "InService"

    calls = json.loads((studio.space_home(domain_id, space) / "calls.json").read_text())
    assert calls["arn"] == "arn:aws:sts::123456789012:assumed-role/studio-apps-execution/SageMaker"
    assert calls["put"] == "ok"
    assert calls["list_buckets"] == "AccessDenied"
    assert aws.client("s3").get_object(Bucket=BUCKET, Key=f"x/{space}")["Body"].read() == b"1"
    studio.delete(domain_id, "space", space)


def test_source_identity_is_the_owner_with_user_profile_name(
    studio: Studio, aws: SandboxClients
) -> None:
    aws.client("s3").create_bucket(Bucket="studio-apps-alice-only")
    identity_role = _role(
        aws,
        "studio-apps-identity",
        [
            {
                "Sid": "AliceOnly",
                "Effect": "Allow",
                "Action": "s3:PutObject",
                "Resource": "arn:aws:s3:::studio-apps-alice-only/*",
                "Condition": {"StringEquals": {"aws:SourceIdentity": "alice"}},
            },
            {
                "Sid": "OwnPrefix",
                "Effect": "Allow",
                "Action": "s3:PutObject",
                "Resource": f"arn:aws:s3:::{BUCKET}/own/${{aws:SourceIdentity}}/*",
            },
        ],
    )
    domain_id = _domain(
        studio,
        identity_role,
        DomainSettings={"ExecutionRoleIdentityConfig": "USER_PROFILE_NAME"},
    )
    spaces = {who: _owned_space(studio, domain_id, who) for who in ("alice", "bob")}
    results: dict[str, dict[str, str]] = {}
    for who, space in spaces.items():
        script = CALLS % (BUCKET, space, BUCKET) + 'echo "$AWS_ACCESS_KEY_ID" > "$HOME/key"\n'
        arn = _lcc(studio, script)
        studio.sagemaker.update_user_profile(
            DomainId=domain_id, UserProfileName=who, UserSettings=_attached(arn)
        )
        assert studio.start_app(domain_id, space) == "InService"
        home = studio.space_home(domain_id, space)
        results[who] = json.loads((home / "calls.json").read_text())
        principal = principals.principal_for_key((home / "key").read_text().strip())
        assert principal is not None
        assert principal.source_identity == who

    assert results["alice"]["identity_bucket"] == "ok"
    assert results["bob"]["identity_bucket"] == "AccessDenied"
    # ${aws:SourceIdentity} in the Resource: each space reaches only its owner's prefix
    assert results["alice"]["alice_prefix"] == "ok"
    assert results["bob"]["alice_prefix"] == "AccessDenied"
    busy = _error(
        studio.sagemaker.update_domain,
        DomainId=domain_id,
        DomainSettingsForUpdate={"ExecutionRoleIdentityConfig": "DISABLED"},
    )
    assert busy == "ResourceInUse"
    for space in spaces.values():
        studio.delete(domain_id, "space", space)


def test_shared_space_runs_with_the_space_role_and_no_source_identity(
    studio: Studio, role: str, aws: SandboxClients
) -> None:
    space_role = _role(aws, "studio-apps-shared", [])
    arn = _lcc(studio, 'echo "$AWS_ACCESS_KEY_ID" > "$HOME/key"\n')
    domain_id = _domain(
        studio,
        role,
        DomainSettings={"ExecutionRoleIdentityConfig": "USER_PROFILE_NAME"},
        DefaultSpaceSettings={"ExecutionRole": space_role, **_attached(arn)},
    )
    _owned_space(studio, domain_id, "lena", name="team", sharing="Shared")

    assert studio.start_app(domain_id, "team") == "InService"

    home = studio.space_home(domain_id, "team")
    principal = principals.principal_for_key((home / "key").read_text().strip())
    assert principal is not None
    assert principal.role_arn == space_role
    assert principal.source_identity is None
    assert not (home / "user-default-efs").exists()  # no EFS auto-mount in a shared space
    studio.delete(domain_id, "space", "team")


def test_private_space_mounts_the_owners_efs_directory(studio: Studio, role: str) -> None:
    domain_id, space, home = _scripted_space(
        studio, role, "mona", 'echo from-app > "$HOME/user-default-efs/written-by-app"\n'
    )
    uid = studio.sagemaker.describe_user_profile(DomainId=domain_id, UserProfileName="mona")[
        "HomeEfsFileSystemUid"
    ]
    efs_home = state.efs_root(studio.domain_efs(domain_id)) / uid

    assert studio.start_app(domain_id, space) == "InService"

    assert (home / "user-default-efs").resolve() == efs_home.resolve()
    assert (efs_home / "written-by-app").read_text() == "from-app\n"
    studio.stop_app(domain_id, space)
    assert not (home / "user-default-efs").exists()  # unmounted with the app
    assert (efs_home / "written-by-app").exists()


def test_no_efs_mount_when_auto_mount_is_disabled_or_the_domain_has_no_efs(
    studio: Studio, role: str
) -> None:
    arn = _lcc(studio, "true\n")
    disabled = _domain(
        studio, role, user_settings={**_attached(arn), "AutoMountHomeEFS": "Disabled"}
    )
    no_efs = _domain(
        studio, role, user_settings=_attached(arn), HomeEfsFileSystemCreation="Disabled"
    )
    for domain_id in (disabled, no_efs):
        space = _owned_space(studio, domain_id, "nina")
        assert studio.start_app(domain_id, space) == "InService"
        assert not (studio.space_home(domain_id, space) / "user-default-efs").exists()
        studio.delete(domain_id, "space", space)


ORDER = 'echo {name} >> "$HOME/order"\n'


def test_built_in_runs_first_then_the_default_and_create_app_chooses_the_default(
    studio: Studio, role: str
) -> None:
    built_in = _lcc(studio, ORDER.format(name="built-in"))
    domain_default = _lcc(studio, ORDER.format(name="domain"))
    profile_default = _lcc(studio, ORDER.format(name="profile"))
    requested = _lcc(studio, ORDER.format(name="requested"))
    unlisted = _lcc(studio, ORDER.format(name="unlisted"))
    domain_id = _domain(
        studio,
        role,
        user_settings={
            "JupyterLabAppSettings": {
                "BuiltInLifecycleConfigArn": built_in,
                "LifecycleConfigArns": [domain_default, requested],
                "DefaultResourceSpec": {"LifecycleConfigArn": domain_default},
            }
        },
    )
    space = _owned_space(studio, domain_id, "omar")
    home = studio.space_home(domain_id, space)

    def run(**kwargs: Any) -> list[str]:
        (home / "order").unlink(missing_ok=True)
        assert studio.start_app(domain_id, space, **kwargs) == "InService"
        studio.stop_app(domain_id, space)
        return (home / "order").read_text().split()

    assert run() == ["built-in", "domain"]
    studio.sagemaker.update_user_profile(
        DomainId=domain_id, UserProfileName="omar", UserSettings=_attached(profile_default)
    )
    assert run() == ["built-in", "profile"]  # user-level defaults override the domain's
    assert run(lifecycle_config_arn=requested) == ["built-in", "requested"]
    refused = _error(
        studio.sagemaker.create_app,
        DomainId=domain_id,
        SpaceName=space,
        AppType="JupyterLab",
        AppName="default",
        ResourceSpec={"LifecycleConfigArn": unlisted},
    )
    assert refused == "ValidationException"
    wrong_app = _error(
        studio.sagemaker.create_app,
        DomainId=domain_id,
        SpaceName=space,
        AppType="CodeEditor",
        AppName="default",
    )
    assert wrong_app == "ValidationException"


def test_untrusted_execution_role_fails_the_app(studio: Studio, aws: SandboxClients) -> None:
    iam = aws.client("iam")
    lambda_only = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "lambda.amazonaws.com"},
                "Action": "sts:AssumeRole",
            }
        ],
    }
    arn = iam.create_role(
        RoleName="studio-apps-untrusted", AssumeRolePolicyDocument=json.dumps(lambda_only)
    )["Role"]["Arn"]
    domain_id = _domain(studio, arn)
    space = _owned_space(studio, domain_id, "pia")

    assert studio.start_app(domain_id, space) == "Failed"
    reason = _app(studio, domain_id, space)["FailureReason"]
    assert "sts:AssumeRole" in reason
