"""Stopping the sandbox kills every process its Studio apps left running (its own sandbox:
the test stops it)."""

from __future__ import annotations

import base64
from pathlib import Path

from sandbox.tests.helpers import SandboxClients, process_alive, wait_for
from studio_sandbox.harness.scenario.studio import Studio
from studio_sandbox.sagemaker import apps
from studio_sandbox.server.app import Sandbox

SCRIPT = """#!/bin/bash
( setsid nohup bash -c 'trap "" TERM; echo $$ > "$HOME/worker.pid"; exec sleep 300' \
  > /dev/null 2>&1 & ) &
sleep 0.5
"""


def _app_id(pid: int) -> str:
    raw = Path(f"/proc/{pid}/environ").read_bytes().decode()
    env = dict(item.split("=", 1) for item in raw.split("\0") if "=" in item)
    return env[apps.APP_ID_ENV]


def test_sandbox_exit_kills_every_app_process(tmp_path: Path) -> None:
    with Sandbox(port=0, data_dir=tmp_path / "data") as sandbox:
        aws = SandboxClients(sandbox.endpoint_url)
        vpc = aws.ec2.create_vpc(CidrBlock="10.8.0.0/16")["Vpc"]["VpcId"]
        subnet = aws.ec2.create_subnet(VpcId=vpc, CidrBlock="10.8.1.0/24")["Subnet"]["SubnetId"]
        studio = Studio(sandbox.endpoint_url, vpc, [subnet])
        arn = studio.sagemaker.create_studio_lifecycle_config(
            StudioLifecycleConfigName="background",
            StudioLifecycleConfigContent=base64.b64encode(SCRIPT.encode()).decode(),
            StudioLifecycleConfigAppType="JupyterLab",
        )["StudioLifecycleConfigArn"]
        domain_id = studio.create_domain("exit")
        studio.sagemaker.update_domain(
            DomainId=domain_id,
            DefaultUserSettings={
                "JupyterLabAppSettings": {
                    "LifecycleConfigArns": [arn],
                    "DefaultResourceSpec": {"LifecycleConfigArn": arn},
                }
            },
        )
        studio.sagemaker.create_user_profile(DomainId=domain_id, UserProfileName="ruth")
        studio.sagemaker.create_space(
            DomainId=domain_id,
            SpaceName="work",
            SpaceSettings={"AppType": "JupyterLab"},
            OwnershipSettings={"OwnerUserProfileName": "ruth"},
            SpaceSharingSettings={"SharingType": "Private"},
        )
        home = studio.space_home(domain_id, "work")
        assert studio.start_app(domain_id, "work") == "InService"
        pid = int(wait_for(lambda: (home / "worker.pid").read_text().strip() or None))
        app_id = _app_id(pid)
        assert apps.pids_of(app_id) == [pid]

    # the sandbox has stopped: the process that ignored SIGTERM is gone all the same
    wait_for(lambda: not process_alive(pid) or None, timeout=5)
    assert apps.pids_of(app_id) == []
