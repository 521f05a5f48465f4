"""The space-attach function (`space_backups.attach_to_domain_ids`) on the sandbox's
SageMaker: Terraform's CRUD invocations attach the lifecycle configurations as the domains'
default, keep a customer's own default, change nothing when run again, and detach on
destroy."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from studio_recovery.handlers.space_attach import attach_to_domains

from sandbox.tests.conftest import aws, sandbox  # noqa: F401 (fixtures)
from sandbox.tests.helpers import SandboxClients

ROLE = "arn:aws:iam::123456789012:role/studio-exec"


def _lcc(client: Any, name: str, app_type: str) -> str:
    reply = client.create_studio_lifecycle_config(
        StudioLifecycleConfigName=name,
        StudioLifecycleConfigContent=base64.b64encode(b"#!/bin/bash\ntrue\n").decode(),
        StudioLifecycleConfigAppType=app_type,
    )
    return str(reply["StudioLifecycleConfigArn"])


@pytest.fixture(scope="module")
def setup(aws: SandboxClients) -> dict[str, Any]:  # noqa: F811
    ec2 = aws.client("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.8.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.8.1.0/24")["Subnet"]["SubnetId"]
    sm = aws.client("sagemaker")
    own = _lcc(sm, "team-setup", "CodeEditor")
    arns = {
        "JupyterLab": _lcc(sm, "sr-space-backup-jupyterlab", "JupyterLab"),
        "CodeEditor": _lcc(sm, "sr-space-backup-codeeditor", "CodeEditor"),
    }
    domains = []
    for index, code_editor in enumerate(
        [
            {},
            {
                "LifecycleConfigArns": [own],
                "DefaultResourceSpec": {"LifecycleConfigArn": own},
            },
        ]
    ):
        settings: dict[str, Any] = {"ExecutionRole": ROLE}
        if code_editor:
            settings["CodeEditorAppSettings"] = code_editor
        reply = sm.create_domain(
            DomainName=f"attach-{index}",
            AuthMode="IAM",
            DefaultUserSettings=settings,
            DefaultSpaceSettings={"ExecutionRole": ROLE},
            SubnetIds=[subnet],
            VpcId=vpc,
        )
        domains.append(str(reply["DomainId"]))
    return {"sm": sm, "own": own, "arns": arns, "domains": domains}


def _settings(sm: Any, domain_id: str, where: str, member: str) -> dict[str, Any]:
    return dict(sm.describe_domain(DomainId=domain_id).get(where, {}).get(member) or {})


def test_create_attaches_as_default_and_keeps_a_customers_default(
    setup: dict[str, Any],
) -> None:
    sm, arns, (plain, customised) = setup["sm"], setup["arns"], setup["domains"]
    event = {"domain_ids": [plain, customised], "lifecycle_config_arns": arns}

    result = attach_to_domains({**event, "tf": {"action": "create"}}, sm)
    again = attach_to_domains(
        {**event, "tf": {"action": "update", "prev_input": event}}, sm
    )

    for app_type, member in (
        ("JupyterLab", "JupyterLabAppSettings"),
        ("CodeEditor", "CodeEditorAppSettings"),
    ):
        got = _settings(sm, plain, "DefaultUserSettings", member)
        assert got["LifecycleConfigArns"] == [arns[app_type]]
        assert got["DefaultResourceSpec"]["LifecycleConfigArn"] == arns[app_type]
    shared = _settings(sm, plain, "DefaultSpaceSettings", "JupyterLabAppSettings")
    assert shared["DefaultResourceSpec"]["LifecycleConfigArn"] == arns["JupyterLab"]
    kept = _settings(sm, customised, "DefaultUserSettings", "CodeEditorAppSettings")
    assert kept["LifecycleConfigArns"] == [setup["own"], arns["CodeEditor"]]
    assert kept["DefaultResourceSpec"]["LifecycleConfigArn"] == setup["own"]
    assert result["domains"][plain]["notes"] == []
    (note,) = result["domains"][customised]["notes"]
    assert "CodeEditor" in note and setup["own"] in note
    assert again["domains"] == result["domains"]


def test_delete_detaches_and_leaves_the_customers_own(setup: dict[str, Any]) -> None:
    sm, arns, (plain, customised) = setup["sm"], setup["arns"], setup["domains"]
    event = {"domain_ids": [plain, customised], "lifecycle_config_arns": arns}
    attach_to_domains({**event, "tf": {"action": "create"}}, sm)

    attach_to_domains({**event, "tf": {"action": "delete"}}, sm)

    got = _settings(sm, plain, "DefaultUserSettings", "JupyterLabAppSettings")
    assert got["LifecycleConfigArns"] == []
    assert "LifecycleConfigArn" not in (got.get("DefaultResourceSpec") or {})
    kept = _settings(sm, customised, "DefaultUserSettings", "CodeEditorAppSettings")
    assert kept["LifecycleConfigArns"] == [setup["own"]]
    assert kept["DefaultResourceSpec"]["LifecycleConfigArn"] == setup["own"]
    # the configurations can be deleted again (SageMaker refuses while attached anywhere)
    for arn in arns.values():
        sm.delete_studio_lifecycle_config(
            StudioLifecycleConfigName=arn.rsplit("/", 1)[1]
        )


def test_an_update_detaches_a_domain_dropped_from_the_list(
    setup: dict[str, Any],
) -> None:
    sm, arns, (plain, customised) = setup["sm"], setup["arns"], setup["domains"]
    if "sr-space-backup-jupyterlab" not in str(sm.list_studio_lifecycle_configs()):
        arns = {
            "JupyterLab": _lcc(sm, "sr-space-backup-jupyterlab", "JupyterLab"),
            "CodeEditor": _lcc(sm, "sr-space-backup-codeeditor", "CodeEditor"),
        }
    both = {"domain_ids": [plain, customised], "lifecycle_config_arns": arns}
    attach_to_domains({**both, "tf": {"action": "create"}}, sm)
    one = {"domain_ids": [plain], "lifecycle_config_arns": arns}

    result = attach_to_domains(
        {**one, "tf": {"action": "update", "prev_input": both}}, sm
    )

    assert list(result["domains"]) == [plain]
    dropped = _settings(sm, customised, "DefaultUserSettings", "JupyterLabAppSettings")
    assert dropped["LifecycleConfigArns"] == []
    kept = _settings(sm, plain, "DefaultUserSettings", "JupyterLabAppSettings")
    assert kept["LifecycleConfigArns"] == [arns["JupyterLab"]]
