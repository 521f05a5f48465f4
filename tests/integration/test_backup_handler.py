"""The scheduled `backup` Lambda (moto DynamoDB and Step Functions)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import pytest
from botocore.exceptions import ClientError
from studio_recovery.config import load_settings
from studio_recovery.dal.registry import RegistryRepository
from studio_recovery.dal.workflow import WorkflowGateway
from studio_recovery.handlers import backup as backup_module
from studio_recovery.models.errors import (
    BackupsNotStartedError,
    ConfigurationError,
    MalformedEventError,
)
from studio_recovery.models.registry import Domain
from studio_recovery.models.restore import RestoreRequest

from tests.integration.restore_fixtures import (
    T0,
    LambdaContextStub,
    executions,
    get_item,
    space,
    user,
)

if TYPE_CHECKING:
    from tests.integration.restore_fixtures import Recorder

pytest_plugins = ("tests.integration.restore_fixtures",)


BUCKET = "studio-recovery-backups-123456789012-us-east-1"
ALICE, BOB, CAROL, DAVE, TEAM = (
    user("alice"),
    user("bob"),
    user("carol"),
    user("dave"),
    space("team"),
)


@pytest.fixture(autouse=True)
def backup_env(
    registry_table: Any, restore_state_machine: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[None]:
    monkeypatch.setenv("BACKUP_BUCKET_NAME", BUCKET)
    load_settings.cache_clear()
    backup_module.build_services.cache_clear()
    yield
    backup_module.build_services.cache_clear()


def schedule(time: str = "2026-11-28T03:00:00Z") -> dict[str, Any]:
    """An EventBridge scheduled event."""
    return {
        "version": "0",
        "id": "53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa",
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": "123456789012",
        "time": time,
        "region": "us-east-1",
        "resources": [
            "arn:aws:events:us-east-1:123456789012:rule/studio-recovery-backup"
        ],
        "detail": {},
    }


def logged(caplog: pytest.LogCaptureFixture, message: str) -> list[Any]:
    """The log records of the library with this message (their extra keys as attributes)."""
    return [r for r in caplog.records if r.getMessage() == message]


def invoke(event: dict[str, Any]) -> dict[str, int]:
    result: dict[str, int] = backup_module.handler(event, LambdaContextStub())
    return result


@pytest.fixture
def homes(recorder: Recorder, registry: RegistryRepository) -> None:
    """alice and the space team live; bob opted out; carol deleted; dave on a gone volume."""
    recorder.create(ALICE, "200001")
    recorder.create(TEAM, "200002")
    recorder.create(BOB, "200003")
    registry.set_replication(BOB, False)
    recorder.create(CAROL, "200004")
    recorder.delete(CAROL)
    recorder.create(DAVE, "200005", domain_id="d-gone", efs_id="fs-gone")
    registry.put_domain(
        Domain(domain_id="d-gone", domain_name="demo", efs_id="fs-gone", created_at=T0)
    )
    registry.mark_domain_deleted("demo", "d-gone", T0 + timedelta(days=1), "Delete")


@pytest.mark.usefixtures("homes")
def test_every_live_replicated_home_is_backed_up_once_per_schedule(
    registry_table: Any, restore_state_machine: str
) -> None:
    profile_rows = {k: get_item(registry_table, k.pk, "PROFILE") for k in (ALICE, TEAM)}
    # when the schedule fires
    counts = invoke(schedule())
    # then alice and the space are backed up; bob, carol and dave are not
    assert counts == {"started": 2, "already_started": 0, "skipped": 3}
    found = executions(restore_state_machine)
    assert sorted(e["input"]["source"]["name"] for e in found) == ["alice", "team"]
    for execution in found:
        request = RestoreRequest.model_validate(execution["input"])
        assert request.trigger == "scheduled" and request.is_backup
        assert "-b20261128030000-" in request.restore_id
        item = get_item(
            registry_table, request.source.key.pk, f"BACKUP#{request.restore_id}"
        )
        assert (item["entity"], item["status"]) == ("backup", "PENDING")
        assert item["execution_arn"] == execution["executionArn"]
    # ... the profile rows are untouched
    for key, row in profile_rows.items():
        assert get_item(registry_table, key.pk, "PROFILE") == row
    # when the same schedule is delivered again (a retry): nothing new
    assert invoke(schedule()) == {"started": 0, "already_started": 2, "skipped": 3}
    assert len(executions(restore_state_machine)) == 2
    # the next schedule starts new backups
    assert invoke(schedule("2026-11-29T03:00:00Z"))["started"] == 2
    assert len(executions(restore_state_machine)) == 4


@pytest.mark.usefixtures("homes")
def test_a_backup_that_cannot_start_does_not_stop_the_others(
    restore_state_machine: str,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # given Step Functions refuses alice's backup
    real_start = WorkflowGateway.start

    def start(self: WorkflowGateway, request: RestoreRequest) -> Any:
        if request.source.name == "alice":
            raise ClientError(
                {"Error": {"Code": "InvalidExecutionInput", "Message": "refused"}},
                "StartExecution",
            )
        return real_start(self, request)

    monkeypatch.setattr(WorkflowGateway, "start", start)
    # when the schedule fires
    with pytest.raises(BackupsNotStartedError, match="1 backup") as raised:
        invoke(schedule())
    # then the space was still backed up, and the run failed naming alice
    assert "demo/user/alice" in str(raised.value)
    assert [
        e["input"]["source"]["name"] for e in executions(restore_state_machine)
    ] == ["team"]
    errors = logged(caplog, "Backup could not be started")
    assert [log.profile for log in errors] == ["demo/user/alice"]
    assert [log.levelname for log in errors] == ["ERROR"]
    (done,) = logged(caplog, "Scheduled backups done")
    assert (done.failed, done.started, done.skipped) == (1, 1, 3)


def test_progress_is_logged_every_hundred_profiles(
    recorder: Recorder,
    restore_state_machine: str,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # (every 2 here: 200 profiles in moto take a minute)
    assert backup_module.PROGRESS_EVERY == 100
    monkeypatch.setattr(backup_module, "PROGRESS_EVERY", 2)
    for number in range(5):
        recorder.create(user(f"u{number:03d}"), str(300000 + number))
    assert invoke(schedule()) == {"started": 5, "already_started": 0, "skipped": 0}
    progress = logged(caplog, "Scheduled backups in progress")
    assert [(log.done, log.of, log.started) for log in progress] == [
        (2, 5, 2),
        (4, 5, 4),
    ]


@pytest.mark.parametrize("event", [{}, {"time": "soon"}, {"time": 5}])
def test_an_event_without_a_readable_time_is_refused(
    event: dict[str, Any], restore_state_machine: str
) -> None:
    with pytest.raises(MalformedEventError, match="invoke with"):
        invoke(event)
    assert executions(restore_state_machine) == []


def test_missing_bucket_fails_the_cold_start(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("BACKUP_BUCKET_NAME")
    load_settings.cache_clear()
    with pytest.raises(ConfigurationError, match="BACKUP_BUCKET_NAME is not set"):
        invoke(schedule())
