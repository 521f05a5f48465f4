"""A restore read from several homes, one step after another, through finalize (moto
DynamoDB, Step Functions, SNS; the fake DataSync of the transfer tests).

- each step that did not fail starts the next source; the last one sums the steps up;
- a home whose directory never appeared is marked empty and the restore goes on;
- a newer generation supersedes a running restore: the step is SUPERSEDED and the newer
  generation's restore, waiting for it, starts.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from studio_recovery.dal.workflow import WorkflowGateway
from studio_recovery.logic.restore_plan import StartRestore, build_chain
from studio_recovery.logic.restore_start import start_restore
from studio_recovery.models.registry import generation_sk
from studio_recovery.models.restore import HomeLocation, RestoreRequest

from tests.integration.restore_fixtures import executions, get_item, published
from tests.integration.test_transfer_handler import (
    ALICE,
    SUCCESS,
    World,
    finalize_event,
    prepare_event,
    run_finalize,
    run_prepare,
)

pytest_plugins = (
    "tests.integration.restore_fixtures",
    "tests.integration.test_transfer_handler",  # the `world` fixture
)
MISSING = {
    "Status": "ERROR",
    "Result": {
        "ErrorCode": "SourceNotFound",
        "ErrorDetail": "mount.nfs4: mounting fs-1:/200002 failed, reason given by server: "
        "No such file or directory",
    },
}


def step_of(world: World, restore_id: str) -> RestoreRequest:
    [execution] = [
        e for e in executions(world.state_machine) if e["name"] == restore_id
    ]
    return RestoreRequest.model_validate(execution["input"])


def finish(
    world: World, request: RestoreRequest, describe: dict[str, Any]
) -> dict[str, Any]:
    transfer = run_prepare(prepare_event(world, request))
    return run_finalize(finalize_event(world, request, transfer, describe))


def test_every_source_is_read_in_turn_and_the_profile_row_sums_them_up(
    world: World,
) -> None:
    # given alice's third home, restored from her second and then her first
    first = world.started_restore(generations=3)
    assert [first.source.generation, *[s.generation for s in first.then]] == [2, 1]
    # when the first step succeeds
    result = finish(world, first, SUCCESS)
    # then the second step starts, and the profile row points at it
    assert result["status"] == "SUCCEEDED" and result["follow_up_restore_id"]
    second = step_of(world, result["follow_up_restore_id"])
    assert (second.source.generation, second.step, second.head) == (
        1,
        2,
        first.restore_id,
    )
    assert second.then == []
    assert world.profile_row(ALICE)["replication_status"] == "PENDING"
    assert world.profile_row(ALICE)["restore_id"] == second.restore_id
    # when the second step succeeds too
    last = finish(world, second, SUCCESS)
    # then the whole restore SUCCEEDED, with both steps' files counted on the row
    assert last["status"] == "SUCCEEDED" and last["follow_up_restore_id"] is None
    row = world.profile_row(ALICE)
    assert row["replication_status"] == "SUCCEEDED"
    assert int(row["files_transferred"]) == 6
    assert "2 steps" in row["replication_reason"]
    assert world.restore_item(first)["status"] == "SUCCEEDED"
    assert world.restore_item(second)["status"] == "SUCCEEDED"
    assert len(executions(world.state_machine)) == 2
    assert published(world.topic["queue_url"]) == []


def test_a_home_that_never_appeared_is_marked_empty_and_the_restore_goes_on(
    world: World,
) -> None:
    first = world.started_restore(generations=3)
    result = finish(world, first, MISSING)
    assert result["status"] == "SOURCE_EMPTY", result
    assert "never appeared" in result["reason"]
    assert get_item(world.table, ALICE.pk, generation_sk(2))["has_data"] is False
    second = step_of(world, result["follow_up_restore_id"])
    assert second.source.generation == 1
    last = finish(world, second, SUCCESS)
    assert last["status"] == "SUCCEEDED", last
    assert published(world.topic["queue_url"]) == []


def test_a_failed_step_ends_the_restore_and_names_what_was_not_copied(
    world: World,
) -> None:
    first = world.started_restore(generations=3)
    failed = {
        "Status": "ERROR",
        "Result": {"ErrorCode": "Disk", "ErrorDetail": "broken"},
    }
    result = finish(world, first, failed)
    assert result["status"] == "FAILED" and result["follow_up_restore_id"] is None
    assert (
        len(executions(world.state_machine)) == 1
    )  # generation 1 is not read after it
    assert (
        get_item(world.table, ALICE.pk, generation_sk(2)).get("has_data") is not False
    )
    assert len(published(world.topic["queue_url"])) == 1


def test_a_later_step_that_copies_nothing_does_not_mark_its_home_empty(
    world: World,
) -> None:
    # without FilesListed, "nothing transferred" after an earlier step may mean "all there"
    first = world.started_restore(generations=3)
    second = step_of(world, finish(world, first, SUCCESS)["follow_up_restore_id"])
    nothing = {
        **SUCCESS,
        "FilesTransferred": 0,
        "BytesWritten": 0,
        "BytesTransferred": 0,
    }
    last = finish(world, second, nothing)
    assert last["status"] == "SUCCEEDED", last
    assert (
        get_item(world.table, ALICE.pk, generation_sk(1)).get("has_data") is not False
    )


def test_a_newer_generation_supersedes_the_running_restore_and_starts_its_own(
    world: World,
) -> None:
    # given generation 2 being restored from 1, and the profile recreated meanwhile: the
    # restore into generation 3 was recorded waiting for it (as the stream does)
    into_second = world.started_restore(generations=2)
    world.recorder.delete(ALICE, domain_id="d-new")
    third = world.recorder.create(
        ALICE, "200003", domain_id="d-new", efs_id=world.network.efs_new
    )
    gens = world.registry.list_generations(ALICE)
    plan = StartRestore(
        build_chain(
            "auto",
            target=third,
            sources=[HomeLocation.of(gens[1]), HomeLocation.of(gens[0])],
        )
    )
    waiting_for = world.restores.get_restore(ALICE, into_second.restore_id)
    workflow = WorkflowGateway(world.state_machine)
    start_restore(
        plan, world.restores, workflow, datetime.now(UTC), waiting_for=waiting_for
    )
    assert len(executions(world.state_machine)) == 1
    # when the restore into generation 2 ends
    result = finish(world, into_second, SUCCESS)
    # then it is SUPERSEDED (not continued), and the waiting restore starts
    assert result["status"] == "SUPERSEDED", result
    assert result["follow_up_restore_id"] == plan.request.restore_id
    item = world.restore_item(into_second)
    assert item["status"] == "SUPERSEDED" and "generation 3" in item["reason"]
    started = step_of(world, plan.request.restore_id)
    assert started.target.generation == 3 and started.source.generation == 2
    assert world.restore_item(plan.request)["execution_arn"]
    assert published(world.topic["queue_url"]) == []
