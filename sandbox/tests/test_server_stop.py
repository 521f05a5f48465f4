"""A stopped sandbox leaves in-process moto as it found it (a later suite gets moto's own)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from moto.core.config import default_user_config
from moto.datasync import models as ds_models
from moto.efs import models as efs_models
from moto.sagemaker import models as sm_models

from studio_sandbox.server.app import Sandbox


def test_stop_gives_moto_back_its_services_config_and_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("MOTO_PORT", raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "before")
    stepfunctions_config = default_user_config.get("stepfunctions")

    with Sandbox(port=0, data_dir=tmp_path) as sandbox:
        assert ds_models.datasync_backends.backend.__name__ == "SandboxDataSyncBackend"
        assert os.environ["MOTO_PORT"] == str(sandbox.port)

    assert ds_models.datasync_backends.backend is ds_models.DataSyncBackend
    assert sm_models.sagemaker_backends.backend is sm_models.SageMakerModelBackend
    assert efs_models.efs_backends.backend is efs_models.EFSBackend
    assert default_user_config.get("stepfunctions") == stepfunctions_config
    assert "MOTO_PORT" not in os.environ
    assert os.environ["AWS_ACCESS_KEY_ID"] == "before"
