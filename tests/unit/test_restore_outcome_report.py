"""The outcome of a restore decided from its DataSync task report (docs/internals.md §4).

Given a restore whose task had a report, when DataSync ends SUCCESS or ERROR, then the
outcome is SUCCEEDED only if every source entry was restored or kept (a conflict, named);
PARTIAL or FAILED, with the missing paths listed and counted, otherwise.
"""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st
from studio_recovery.logic.transfer import decide_outcome
from studio_recovery.logic.transfer.finalize import needs_notification
from studio_recovery.logic.transfer.report import check_copy, transferred_paths
from studio_recovery.models.report import MAX_LISTED
from studio_recovery.models.restore import (
    FinalizeInput,
    HomeLocation,
    ReportLocation,
    Transfer,
)

EXECUTION = "arn:aws:datasync:us-east-1:111122223333:task/task-1/execution/exec-1"


def _home(generation: int, uid: str) -> HomeLocation:
    return HomeLocation(
        domain_id="d-1",
        domain_name="lab",
        kind="user",
        name="alice",
        efs_id="fs-1",
        uid=uid,
        generation=generation,
    )


def _state(
    status: str, report_status: str | None = "SUCCESS", **describe: Any
) -> FinalizeInput:
    result = {"ReportResult": {"Status": report_status}} if report_status else {}
    return FinalizeInput(
        restore_id="alice-r1",
        target=_home(2, "200002"),
        source=_home(1, "200001"),
        execution_arn="arn:aws:states:us-east-1:111122223333:execution:sm:alice-r1",
        transfer=Transfer(
            task_arn="arn:aws:datasync:us-east-1:111122223333:task/task-1",
            source_location_arn="src",
            target_location_arn="dst",
            report=ReportLocation(bucket="reports-bucket", prefix="reports/alice-r1"),
        ),
        execution={
            "arn": EXECUTION,
            "describe": {
                "Status": status,
                "BytesTransferred": 10,
                **result,
                **describe,
            },
        },
    )


def _meta(kind: str = "Regular", size: int = 1, mtime: int = 100) -> dict[str, Any]:
    return {"Type": kind, "ContentSize": size, "Mtime": mtime}


def _entry(
    path: str, kind: str = "Regular", ok: bool = True, **more: Any
) -> dict[str, Any]:
    entry = {"RelativePath": path, "SrcMetadata": _meta(kind), "Status": "SUCCESS"}
    if not ok:
        entry |= {
            "Status": "FAILED",
            "ErrorCode": "OpFailed",
            "ErrorDetail": "I/O error",
        }
    return entry | more


def _report(
    transferred: list[dict[str, Any]], skipped: list[dict[str, Any]] | None = None
) -> list[dict[str, Any]]:
    root = {"RelativePath": "/", "SrcMetadata": _meta("Directory"), "Status": "SUCCESS"}
    return [
        {"TaskExecutionId": "exec-1", "Transferred": transferred},
        {"TaskExecutionId": "exec-1", "Skipped": [root, *(skipped or [])]},
        {"TaskExecutionId": "exec-1", "Verified": []},
    ]


def test_every_entry_transferred_is_succeeded() -> None:
    report = _report([_entry("/a"), _entry("/d", "Directory"), _entry("/d/b")])
    outcome = decide_outcome(_state("SUCCESS"), report)
    assert outcome.status == "SUCCEEDED"
    assert outcome.reason.startswith("restored 3 of 3 entries")
    assert outcome.check is not None and outcome.check.missing_count == 0
    assert not needs_notification(outcome)


def test_a_file_that_failed_makes_the_restore_partial_with_the_list() -> None:
    report = _report([_entry("/a"), _entry("/b", ok=False), _entry("/c")])
    outcome = decide_outcome(
        _state(
            "ERROR", Result={"ErrorCode": "OpFailed", "ErrorDetail": "1 file failed"}
        ),
        report,
    )
    assert outcome.status == "PARTIAL"
    assert outcome.check is not None
    assert outcome.check.missing == ["/b"] and outcome.check.missing_count == 1
    assert "1 of 3 entries missing from the new home: /b" in outcome.reason
    assert "OpFailed: 1 file failed" in outcome.reason
    assert needs_notification(outcome)


def test_a_verification_failure_is_missing_even_when_transferred() -> None:
    report = _report([_entry("/a"), _entry("/b")])
    report[2]["Verified"] = [_entry("/b", ok=False)]
    outcome = decide_outcome(_state("ERROR"), report)
    assert outcome.status == "PARTIAL"
    assert outcome.check is not None and outcome.check.missing == ["/b"]


def test_success_with_an_unexplained_skip_is_never_succeeded() -> None:
    # Skipped without the destination having the path: not kept, so missing.
    report = _report([_entry("/a")], skipped=[_entry("/b")])
    outcome = decide_outcome(_state("SUCCESS"), report)
    assert outcome.status == "PARTIAL"
    assert outcome.check is not None and outcome.check.missing == ["/b"]


def test_nothing_restored_is_failed() -> None:
    report = _report([_entry("/a", ok=False), _entry("/b", ok=False)])
    outcome = decide_outcome(_state("ERROR"), report)
    assert outcome.status == "FAILED"
    assert outcome.check is not None and outcome.check.missing_count == 2


def test_error_without_any_failed_entry_is_failed_not_partial() -> None:
    report = _report([_entry("/a")])
    outcome = decide_outcome(
        _state(
            "ERROR", Result={"ErrorCode": "PermissionDenied", "ErrorDetail": "EPERM"}
        ),
        report,
    )
    assert outcome.status == "FAILED"
    assert "PermissionDenied: EPERM" in outcome.reason


def test_no_complete_report_is_failed_whatever_datasync_said() -> None:
    report = _report([_entry("/a")])
    for state, documents in (
        (_state("SUCCESS", report_status="ERROR"), report),
        (_state("SUCCESS", report_status=None), report),
        (_state("SUCCESS"), None),
    ):
        outcome = decide_outcome(state, documents)
        assert outcome.status == "FAILED"
        assert "no complete task report" in outcome.reason


def test_only_the_root_at_the_source_is_an_empty_source() -> None:
    outcome = decide_outcome(_state("SUCCESS"), _report([]))
    assert outcome.status == "SOURCE_EMPTY"
    # The counters are not used: FilesTransferred counts directories in Basic mode.
    outcome = decide_outcome(
        _state("SUCCESS", FilesTransferred=0), _report([_entry("/x")])
    )
    assert outcome.status == "SUCCEEDED"


def test_everything_already_in_the_new_home_is_not_empty() -> None:
    # An earlier run restored it all: every entry skipped, identical at the destination.
    same = _entry("/a", DstMetadata=_meta())
    outcome = decide_outcome(_state("SUCCESS", FilesTransferred=0), _report([], [same]))
    assert outcome.status == "SUCCEEDED"
    assert outcome.check is not None and outcome.check.conflict_count == 0


def test_the_three_conflict_shapes_are_named_and_kept() -> None:
    skipped = [
        _entry("/work", "Directory", DstMetadata=_meta("Regular")),
        _entry("/work/a.txt"),  # under the user's file: no destination entry
        _entry("/work/sub", "Directory"),
        _entry("/data", DstMetadata=_meta("Directory")),
        _entry("/same.txt", DstMetadata=_meta(size=99)),
        _entry(
            "/keep", "Directory", DstMetadata=_meta("Directory")
        ),  # merges: no conflict
    ]
    outcome = decide_outcome(_state("SUCCESS"), _report([_entry("/other")], skipped))
    assert outcome.status == "SUCCEEDED"
    check = outcome.check
    assert check is not None and check.missing_count == 0
    kinds = {c.path: (c.kind, c.blocked) for c in check.conflicts}
    assert kinds == {
        "/work": ("file-over-directory", 2),
        "/data": ("directory-over-file", 0),
        "/same.txt": ("changed-file", 0),
    }
    assert check.conflict_count == 3
    assert "kept the user's version of 3 paths" in outcome.reason
    assert (
        "/work: the new home has a file where the old home had a directory"
        in outcome.reason
    )
    assert needs_notification(outcome)


def test_failures_under_a_kept_file_belong_to_its_conflict() -> None:
    # Were DataSync to report the entries under the user's file as failed transfers.
    skipped = [_entry("/work", "Directory", DstMetadata=_meta())]
    report = _report([_entry("/work/a.txt", ok=False), _entry("/b")], skipped)
    outcome = decide_outcome(_state("ERROR"), report)
    check = outcome.check
    assert check is not None and check.missing_count == 0
    assert check.conflicts[0].blocked == 1


def test_lists_are_bounded_and_counts_exact() -> None:
    failed = [_entry(f"/f{i:03}", ok=False) for i in range(200)]
    outcome = decide_outcome(_state("ERROR"), _report([_entry("/ok"), *failed]))
    check = outcome.check
    assert check is not None
    assert check.missing_count == 200 and len(check.missing) == MAX_LISTED
    assert "and 190 more" in outcome.reason
    long = "/" + "x" * 1000
    assert len(check_copy(_report([_entry(long, ok=False)])).missing[0]) <= 300


def test_a_backup_or_a_task_without_report_keeps_the_counters() -> None:
    state = _state("SUCCESS", FilesTransferred=3)
    plain = state.model_copy(update={"transfer": None})
    assert decide_outcome(plain).status == "SUCCEEDED"


paths = st.lists(st.sampled_from(["/a", "/b", "/d", "/d/x", "/d/y", "/e"]), unique=True)


@given(
    ok=paths,
    failed=paths,
    kept=st.dictionaries(
        st.sampled_from(["/a", "/d", "/e"]), st.sampled_from(["Regular", "Directory"])
    ),
    status=st.sampled_from(["SUCCESS", "ERROR"]),
)
def test_succeeded_only_when_every_source_entry_is_accounted_for(
    ok: list[str], failed: list[str], kept: dict[str, str], status: str
) -> None:
    transferred = [_entry(p) for p in ok] + [_entry(p, ok=False) for p in failed]
    skipped = [_entry(p, DstMetadata=_meta(kind)) for p, kind in kept.items()]
    outcome = decide_outcome(_state(status), _report(transferred, skipped))
    check = outcome.check
    assert check is not None
    if outcome.status == "SUCCEEDED":
        assert status == "SUCCESS" and check.missing_count == 0
        conflicted = {c.path for c in check.conflicts}
        for path in failed:
            assert any(path == c or path.startswith(c + "/") for c in conflicted)
    if check.missing_count:
        assert outcome.status in ("PARTIAL", "FAILED")


def test_a_later_step_skipping_what_an_earlier_step_restored_names_no_conflict() -> (
    None
):
    # given step 1 (the newer home) put /notes.txt (another size) and a file /work where
    # the older home, read in step 2, had a directory /work with a file in it
    step_1 = _report([_entry("/notes.txt"), _entry("/work")])
    before = transferred_paths(step_1)
    skipped = [
        _entry("/notes.txt", DstMetadata=_meta(size=99)),
        _entry("/work", "Directory", DstMetadata=_meta("Regular")),
        _entry("/work/a.txt"),  # under the newer file: no destination entry
        _entry("/mine.txt", DstMetadata=_meta(size=7)),  # the user's own: a conflict
    ]
    step_2 = _report([_entry("/old-only.txt")], skipped)
    # when step 2's outcome is decided knowing what step 1 restored
    outcome = decide_outcome(_state("SUCCESS"), step_2, before)
    # then only the user's own file is a conflict, and nothing is missing
    assert outcome.status == "SUCCEEDED"
    check = outcome.check
    assert check is not None and check.missing_count == 0
    assert [(c.path, c.kind) for c in check.conflicts] == [
        ("/mine.txt", "changed-file")
    ]
    # and without that knowledge the same report names all three as conflicts
    alone = decide_outcome(_state("SUCCESS"), step_2).check
    assert alone is not None and alone.conflict_count == 3
