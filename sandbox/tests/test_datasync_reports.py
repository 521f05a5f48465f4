"""DataSync task reports, Basic-mode counters, clashes under OverwriteMode NEVER, hard links."""

from __future__ import annotations

import json
import os
from typing import Any

import pytest
from botocore.exceptions import ClientError

from sandbox.tests.test_datasync_ext import (  # the shared fixture and helpers
    ACCOUNT,
    RESTORE_OPTIONS,
    SESSION,
    DataSyncEnv,
    _home,
    _write,
    env,
)
from studio_sandbox import posix
from studio_sandbox.datasync import models as datasync_models

__all__ = ["env"]
BUCKET = "reports-bucket"
ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/datasync-reports"
TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"Service": "datasync.amazonaws.com"},
            "Action": "sts:AssumeRole",
        }
    ],
}


def _report_config(**extra: Any) -> dict[str, Any]:
    return {
        "Destination": {
            "S3": {
                "S3BucketArn": f"arn:aws:s3:::{BUCKET}",
                "Subdirectory": "reports/r1",
                "BucketAccessRoleArn": ROLE_ARN,
            }
        },
        "OutputType": "STANDARD",
        "ReportLevel": "SUCCESSES_AND_ERRORS",
        **extra,
    }


def _reporting_env(env: DataSyncEnv) -> Any:
    SESSION.client("iam").create_role(
        RoleName="datasync-reports", AssumeRolePolicyDocument=json.dumps(TRUST)
    )
    s3 = SESSION.client("s3")
    s3.create_bucket(Bucket=BUCKET)
    return s3


def _run_with_report(env: DataSyncEnv, source: str, target: str) -> tuple[dict[str, Any], Any]:
    s3 = _reporting_env(env)
    task = env.ds.create_task(
        SourceLocationArn=env.location(source),
        DestinationLocationArn=env.location(target),
        Options=RESTORE_OPTIONS,
        TaskReportConfig=_report_config(),
    )["TaskArn"]
    return env.run(task), s3


def _reports(s3: Any, described: dict[str, Any]) -> dict[str, dict[str, Any]]:
    exec_id = described["TaskExecutionArn"].rsplit("/", 1)[-1]
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET)["Contents"]]
    found = {}
    for key in keys:
        assert key.startswith("reports/r1/task-") and f"/{exec_id}/" in key
        name = key.rsplit("/", 1)[-1].split(".")[1]
        found[name] = json.loads(s3.get_object(Bucket=BUCKET, Key=key)["Body"].read())
    return found


def _paths(report: dict[str, Any], aspect: str, status: str = "SUCCESS") -> set[str]:
    return {e["RelativePath"] for e in report[aspect] if e["Status"] == status}


def test_basic_tasks_report_no_enhanced_mode_counters(env: DataSyncEnv) -> None:
    home = _home(env, 200001)
    _write(home / "a.txt", b"a")
    described = env.copy("/200001", "/200002", **RESTORE_OPTIONS)
    assert described["Status"] == "SUCCESS"
    # botocore DescribeTaskExecutionResponse: FilesListed and FilesFailed "Applies only to
    # Enhanced mode tasks"; the sandbox's tasks are Basic (the default TaskMode).
    assert "FilesListed" not in described
    assert "FilesFailed" not in described
    assert described["FilesTransferred"] >= 1


def test_task_report_lists_what_was_transferred_and_verified(env: DataSyncEnv) -> None:
    home = _home(env, 200001)
    _write(home / "notes/a.txt", b"a")
    _write(home / "b.txt", b"bb")
    described, s3 = _run_with_report(env, "/200001", "/200002")
    assert described["Status"] == "SUCCESS"
    assert described["ReportResult"] == {"Status": "SUCCESS"}
    assert described["TaskReportConfig"]["Destination"]["S3"]["Subdirectory"] == "reports/r1"
    reports = _reports(s3, described)
    assert set(reports) == {"summary", "transferred", "skipped", "verified", "deleted"}
    assert _paths(reports["transferred"], "Transferred") == {"/notes", "/notes/a.txt", "/b.txt"}
    assert {"/notes/a.txt", "/b.txt"} <= _paths(reports["verified"], "Verified")
    assert _paths(reports["skipped"], "Skipped") == {"/"}  # the location root exists
    assert reports["summary"]["Status"] == "SUCCESS"


def test_errors_only_report_lists_only_failures(env: DataSyncEnv) -> None:
    home = _home(env, 200001)
    _write(home / "ok.txt", b"ok")
    _write(home / "bad.txt", b"bad")
    s3 = _reporting_env(env)
    datasync_models.faults.fail_paths = ("bad.txt",)
    task = env.ds.create_task(
        SourceLocationArn=env.location("/200001"),
        DestinationLocationArn=env.location("/200002"),
        Options=RESTORE_OPTIONS,
        TaskReportConfig=_report_config(ReportLevel="ERRORS_ONLY"),
    )["TaskArn"]
    described = env.run(task)
    reports = _reports(s3, described)
    assert [e["RelativePath"] for e in reports["transferred"]["Transferred"]] == ["/bad.txt"]
    assert reports["transferred"]["Transferred"][0]["Status"] == "FAILED"


def test_a_file_that_fails_to_transfer_ends_the_execution_in_error(env: DataSyncEnv) -> None:
    home = _home(env, 200001)
    for name in ("a", "b", "c"):
        _write(home / f"{name}.txt", name.encode())
    datasync_models.faults.fail_paths = ("b.txt",)
    described, s3 = _run_with_report(env, "/200001", "/200002")
    assert described["Status"] == "ERROR"
    assert described["Result"]["TransferStatus"] == "ERROR"
    target = env.root() / "200002"
    assert (target / "a.txt").read_bytes() == b"a"
    assert (target / "c.txt").read_bytes() == b"c"
    assert not (target / "b.txt").exists()
    transferred = _reports(s3, described)["transferred"]
    assert _paths(transferred, "Transferred", "FAILED") == {"/b.txt"}
    assert described["ReportResult"]["Status"] == "SUCCESS"


def test_clashes_keep_the_destination_and_restore_the_rest(env: DataSyncEnv) -> None:
    home = _home(env, 200001)
    _write(home / "work/a.txt", b"a")  # a directory where the user made a file
    _write(home / "data", b"old data")  # a file where the user made a directory
    _write(home / "same.txt", b"old")  # the same file
    _write(home / "other.txt", b"other")
    new = _home(env, 200002)
    _write(new / "work", b"user's file")
    _write(new / "data/mine.txt", b"user's dir")
    _write(new / "same.txt", b"user's version")
    described, s3 = _run_with_report(env, "/200001", "/200002")
    assert described["Status"] == "SUCCESS"
    assert (new / "work").read_bytes() == b"user's file"
    assert (new / "data/mine.txt").read_bytes() == b"user's dir"
    assert (new / "same.txt").read_bytes() == b"user's version"
    assert (new / "other.txt").read_bytes() == b"other"
    skipped = {e["RelativePath"]: e for e in _reports(s3, described)["skipped"]["Skipped"]}
    assert skipped["/work"]["SrcMetadata"]["Type"] == "Directory"
    assert skipped["/work"]["DstMetadata"]["Type"] == "Regular"
    assert "DstMetadata" not in skipped["/work/a.txt"]  # under the kept file
    assert skipped["/data"]["DstMetadata"]["Type"] == "Directory"
    assert skipped["/same.txt"]["DstMetadata"]["ContentSize"] == len(b"user's version")


def test_hard_links_stay_hard_links(env: DataSyncEnv) -> None:
    home = _home(env, 200001)
    _write(home / "one.bin", b"shared bytes", mode=0o640)
    os.link(home / "one.bin", home / "two.bin")
    posix.set_mode(home / "two.bin", 0o640)
    _write(home / "alone.bin", b"alone")
    described = env.copy("/200001", "/200002", **RESTORE_OPTIONS)
    assert described["Status"] == "SUCCESS"
    target = env.root() / "200002"
    one, two = os.stat(target / "one.bin"), os.stat(target / "two.bin")
    assert (one.st_dev, one.st_ino) == (two.st_dev, two.st_ino)
    assert one.st_nlink == 2
    assert (target / "two.bin").read_bytes() == b"shared bytes"
    assert os.stat(target / "alone.bin").st_nlink == 1
    assert posix.stat_mode(target / "two.bin") == 0o640


@pytest.mark.parametrize(
    "change",
    [
        {"OutputType": "DETAILED"},
        {"ReportLevel": "EVERYTHING"},
        {"Overrides": {"Skipped": {"ReportLevel": "ALL"}}},
        {
            "Destination": {
                "S3": {
                    "S3BucketArn": f"arn:aws:s3:::{BUCKET}",
                    "BucketAccessRoleArn": f"arn:aws:iam::{ACCOUNT}:role/no-such-role",
                }
            }
        },
        {"Destination": {"S3": {"S3BucketArn": "not-an-arn", "BucketAccessRoleArn": ROLE_ARN}}},
    ],
)
def test_invalid_task_report_configs_are_refused(env: DataSyncEnv, change: dict[str, Any]) -> None:
    _reporting_env(env)
    with pytest.raises(ClientError) as info:
        env.ds.create_task(
            SourceLocationArn=env.location("/200001"),
            DestinationLocationArn=env.location("/200002"),
            TaskReportConfig=_report_config(**change),
        )
    assert info.value.response["Error"]["Code"] == "InvalidRequestException"


def test_a_report_bucket_that_is_gone_is_a_report_error(env: DataSyncEnv) -> None:
    home = _home(env, 200001)
    _write(home / "a.txt", b"a")
    s3 = _reporting_env(env)
    task = env.ds.create_task(
        SourceLocationArn=env.location("/200001"),
        DestinationLocationArn=env.location("/200002"),
        Options=RESTORE_OPTIONS,
        TaskReportConfig=_report_config(),
    )["TaskArn"]
    s3.delete_bucket(Bucket=BUCKET)
    described = env.run(task)
    assert described["Status"] == "SUCCESS"
    assert described["ReportResult"]["Status"] == "ERROR"


def test_fail_paths_is_a_datasync_fault_switch() -> None:
    from studio_sandbox import faults

    try:
        faults.set_datasync_faults(fail_paths=["data/*.csv"])
        assert datasync_models.faults.fail_paths == ("data/*.csv",)
        assert faults.datasync_faults()["fail_paths"] == ["data/*.csv"]
        with pytest.raises(faults.FaultError):
            faults.set_datasync_faults(fail_paths=[""])
    finally:
        datasync_models.reset_faults()
    assert datasync_models.faults.fail_paths == ()
