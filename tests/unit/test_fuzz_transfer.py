"""Property-based tests of the workflow's Lambda steps (issue 7, "Bad input"): no AWS.

`prepare_handler` and `finalize_handler` get drawn workflow states, valid and broken: fields
missing or ill-typed, names outside the Studio pattern, uids that are "0", "", "../1", "1/2",
non-digits or numbers, source and target in the same directory, kinds that differ.

- prepare: a malformed state is rejected with MalformedEventError and an unsafe transfer
  with UnsafeTransferError, both BEFORE any AWS call; a safe, well-formed one reaches AWS.
- finalize: a malformed state is rejected with MalformedEventError before any AWS call; a
  well-formed one reaches AWS (finalize cleans up whatever the uids).

The data-access objects are tripwires: the first call on any of them raises `ReachedAws`,
so "rejected before any AWS call" is exactly "raised the typed error, not ReachedAws".
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from hypothesis import event, given, note
from hypothesis import strategies as st
from studio_recovery.config import load_settings
from studio_recovery.handlers import transfer as transfer_module
from studio_recovery.models.errors import (
    MalformedEventError,
    StudioRecoveryError,
    UnsafeTransferError,
)
from studio_recovery.models.registry import NAME_PATTERN, UID_PATTERN
from studio_recovery.services import TransferServices

from tests.hypothesis_profiles import fuzz_settings

ENVIRONMENT = {
    "REGISTRY_TABLE_NAME": "studio-recovery-registry",
    "DATASYNC_SUBNET_IDS": "subnet-1,subnet-2",
    "DATASYNC_SECURITY_GROUP_ARN": "arn:aws:ec2:us-east-1:123456789012:security-group/sg-1",
    "EFS_ACCESS_ROLE_ARN": "arn:aws:iam::123456789012:role/efs-access",
    "IN_TRANSIT_ENCRYPTION": "TLS1_2",
    "HOME_GID": "100",
    "DATASYNC_LOG_GROUP_ARN": "arn:aws:logs:us-east-1:123456789012:log-group:datasync",
    "MAX_CONCURRENT_RESTORES": "4",
    "NOTIFICATION_TOPIC_ARN": "arn:aws:sns:us-east-1:123456789012:studio-recovery",
    "STATE_MACHINE_ARN": "arn:aws:states:us-east-1:123456789012:stateMachine:restore",
    "POWERTOOLS_SERVICE_NAME": "studio-recovery",
    "POWERTOOLS_METRICS_NAMESPACE": "StudioRecovery",
    "POWERTOOLS_TRACE_DISABLED": "true",
}
EXECUTION_ARN = (
    "arn:aws:states:us-east-1:123456789012:execution:restore:alice-g2-0123456789ab"
)


class ReachedAws(Exception):
    """A data-access object was called: the handler got past its checks."""


@dataclass
class Tripwire:
    """Any method of any data-access object: record the call, then stop the handler."""

    name: str
    calls: list[str] = field(default_factory=list)

    def __getattr__(self, method: str) -> Any:
        if method.startswith("_"):  # repr and pretty-printing hooks, not AWS calls
            raise AttributeError(method)

        def call(*args: Any, **kwargs: Any) -> Any:
            self.calls.append(f"{self.name}.{method}")
            raise ReachedAws(f"{self.name}.{method}")

        return call


# ------------------------------------------------------------------------- strategies
# A field's strategy draws (value, valid): `valid` says, by construction and from the
# contract (docs/internals.md section 4, models/restore.py), whether the value is
# acceptable. MISSING leaves the field out.

MISSING = object()
Field = tuple[Any, bool]


def _good(*values: Any) -> st.SearchStrategy[Field]:
    return st.sampled_from([(value, True) for value in values])


def _bad(*values: Any) -> st.SearchStrategy[Field]:
    return st.sampled_from([(value, False) for value in values])


@dataclass(frozen=True)
class Choice:
    """A field's good and bad values. In a clean draw the field is good; otherwise it is
    bad one time in four (so that both well-formed and broken states are common)."""

    good: st.SearchStrategy[Field]
    bad: st.SearchStrategy[Field]

    def __call__(self, draw: st.DrawFn, clean: bool) -> Field:
        if clean or draw(_ONE_IN_FOUR) != 3:
            return draw(self.good)
        return draw(self.bad)

    def strategy(self) -> st.SearchStrategy[Field]:
        """Good three times in four, as a strategy."""

        @st.composite
        def pick(draw: st.DrawFn) -> Field:
            return self(draw, clean=False)

        return pick()


_ONE_IN_FOUR = st.integers(0, 3)

SAFE_UIDS = ["200001", "200002", "300001", "1", "4294967294"]
UNSAFE_UIDS = [
    "0",
    "",
    "../1",
    "1/2",
    "abc",
    "00",
    "-1",
    " 200001",
    "200001\n",
    "/",
    "１",
]

_names = Choice(
    _good("alice", "team", "a", "data-team", "x" * 63),
    _bad("", "bad_name", "../alice", "a/b", "-a", "x" * 64, None, 7, MISSING),
)
_domain_names = Choice(_good("demo", "prod-1"), _bad("", "my_domain", None, MISSING))
_domain_ids = Choice(_good("d-abc", "d-xyz"), _bad("", None, 5, MISSING))
_kinds = Choice(_good("user", "space"), _bad("User", "robot", "", None, MISSING))
_efs_ids = Choice(_good("fs-1", "fs-2"), _bad("", None, 1, MISSING))
# Any string is a well-formed uid (safety is prepare's own check); a non-string is not.
_unsafe_uids = st.one_of(
    _good(*UNSAFE_UIDS), st.text(max_size=6).map(lambda uid: (uid, True))
)
_uids = Choice(
    Choice(_good(*SAFE_UIDS), _unsafe_uids).strategy(),
    _bad(200001, None, 1.5, ["200001"], MISSING),
)
_generations = Choice(_good(1, 2, 3, 999), _bad(0, -1, 2.5, "x", None, [1], MISSING))
_NOT_LOCATIONS = _bad(None, "fs-1:/200001", [], 5, MISSING)


@st.composite
def locations(draw: st.DrawFn, clean: bool = False) -> Field:
    """A HomeLocation as JSON, or (not clean, rarely) something that is not one."""
    if not clean and draw(st.integers(0, 9)) == 9:
        return draw(_NOT_LOCATIONS)
    parts = {
        "domain_id": _domain_ids(draw, clean),
        "domain_name": _domain_names(draw, clean),
        "kind": _kinds(draw, clean),
        "name": _names(draw, clean),
        "efs_id": _efs_ids(draw, clean),
        "uid": _uids(draw, clean),
        "generation": _generations(draw, clean),
    }
    document = {key: value for key, (value, _) in parts.items() if value is not MISSING}
    return document, all(valid for _, valid in parts.values())


_restore_ids = Choice(_good("alice-g2-0123456789ab", "x"), _bad("", None, 12, MISSING))
_execution_arns = Choice(_good(EXECUTION_ARN), _bad("", None, 3, MISSING))
_started_ats = Choice(
    _good(MISSING, None, "2026-11-28T14:00:00Z", "2026-11-28T14:00:00+01:00"),
    _bad("yesterday", "", [], "2026-13-01T00:00:00Z"),
)
_timeouts = Choice(_good(MISSING, None, 0, 3600), _bad(-1, "x", 1.5, []))
_extras = st.dictionaries(
    st.sampled_from(["transfer_hint", "Comment", "extra", "retry"]),
    st.one_of(st.none(), st.integers(), st.text(max_size=5)),
    max_size=2,
)
_NOT_OBJECTS = _bad(None, [], "state", 5, True)


@dataclass(frozen=True)
class Drawn:
    """A drawn workflow state, whether it is well formed, and whether it is safe."""

    document: Any
    well_formed: bool
    safe: bool


def _is_safe(source: Any, target: Any) -> bool:
    """The contract's safety: both uids are positive digit strings, directories differ."""
    uids = [location.get("uid") for location in (source, target)]
    if not all(isinstance(uid, str) and re.fullmatch(UID_PATTERN, uid) for uid in uids):
        return False
    return (source.get("efs_id"), source["uid"]) != (
        target.get("efs_id"),
        target["uid"],
    )


def _swap_kind(source: dict[str, Any], target: dict[str, Any]) -> None:
    """Give `source` the other kind than `target` (a user's files into a space is still
    well formed); only when both kinds are valid, so validity does not change."""
    if {source.get("kind"), target.get("kind")} <= {"user", "space"}:
        source["kind"] = "space" if target["kind"] == "user" else "user"


@st.composite
def prepare_states(draw: st.DrawFn) -> Drawn:
    """Half the states are clean (every field well formed; uids safe or not)."""
    if draw(st.integers(0, 29)) == 29:
        return Drawn(draw(_NOT_OBJECTS)[0], well_formed=False, safe=False)
    clean = draw(st.booleans())
    target, target_ok = draw(locations(clean))
    shape = draw(st.sampled_from(["independent", "independent", "same", "other_kind"]))
    if shape == "same" and isinstance(target, dict):
        source, source_ok = dict(target), target_ok
    else:
        source, source_ok = draw(locations(clean))
        if (
            shape == "other_kind"
            and isinstance(source, dict)
            and isinstance(target, dict)
        ):
            _swap_kind(source, target)
    parts = {
        "restore_id": _restore_ids(draw, clean),
        "execution_arn": _execution_arns(draw, clean),
        "execution_started_at": _started_ats(draw, clean),
        "slot_wait_timeout_seconds": _timeouts(draw, clean),
    }
    document = {key: value for key, (value, _) in parts.items() if value is not MISSING}
    document |= draw(_extras)
    if target is not MISSING:
        document["target"] = target
    if source is not MISSING:
        document["source"] = source
    well_formed = source_ok and target_ok and all(ok for _, ok in parts.values())
    safe = well_formed and _is_safe(source, target)
    return Drawn(document, well_formed, safe)


# --------------------------------------------------------------------------- fixtures


@dataclass
class LambdaContextStub:
    function_name: str = "studio-recovery-prepare"
    memory_limit_in_mb: int = 256
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:prepare"
    aws_request_id: str = "req-fuzz"

    def get_remaining_time_in_millis(self) -> int:
        return 60_000


@dataclass
class Wires:
    restores: Tripwire = field(default_factory=lambda: Tripwire("restores"))
    datasync: Tripwire = field(default_factory=lambda: Tripwire("datasync"))
    efs: Tripwire = field(default_factory=lambda: Tripwire("efs"))
    registry: Tripwire = field(default_factory=lambda: Tripwire("registry"))
    notifier: Tripwire = field(default_factory=lambda: Tripwire("notifier"))
    workflow: Tripwire = field(default_factory=lambda: Tripwire("workflow"))

    def calls(self) -> list[str]:
        wires = (self.restores, self.datasync, self.efs, self.registry, self.notifier)
        return [call for wire in (*wires, self.workflow) for call in wire.calls]

    def reset(self) -> None:
        for wire in (
            self.restores,
            self.datasync,
            self.efs,
            self.registry,
            self.notifier,
        ):
            wire.calls.clear()
        self.workflow.calls.clear()

    def services(self) -> TransferServices:
        return TransferServices(
            restores=self.restores,  # type: ignore[arg-type]
            datasync=self.datasync,  # type: ignore[arg-type]
            efs=self.efs,  # type: ignore[arg-type]
            registry=self.registry,  # type: ignore[arg-type]
            notifier=self.notifier,  # type: ignore[arg-type]
            workflow=self.workflow,  # type: ignore[arg-type]
        )


@pytest.fixture
def wires(monkeypatch: pytest.MonkeyPatch) -> Iterator[Wires]:
    """The functions' environment, and tripwires behind both handlers' services."""
    for name, value in ENVIRONMENT.items():
        monkeypatch.setenv(name, value)
    load_settings.cache_clear()
    state = Wires()
    monkeypatch.setattr(transfer_module, "build_prepare_services", state.services)
    monkeypatch.setattr(transfer_module, "build_finalize_services", state.services)
    yield state
    load_settings.cache_clear()


# ----------------------------------------------------------------------------- prepare


@fuzz_settings(with_fixtures=True)
@given(drawn=prepare_states())
def test_prepare_rejects_malformed_and_unsafe_states_before_any_aws_call(
    wires: Wires, drawn: Drawn
) -> None:
    wires.reset()
    note(f"well formed: {drawn.well_formed}, safe: {drawn.safe}")
    # When prepare gets the state (any other exception fails the test)
    try:
        transfer_module.prepare_handler(drawn.document, LambdaContextStub())  # type: ignore[arg-type]
    except ReachedAws:
        event("reached AWS")
        # Then only a well-formed, safe transfer gets as far as AWS
        assert drawn.well_formed, "a malformed state reached AWS"
        assert drawn.safe, "an unsafe transfer reached AWS"
        assert len(wires.calls()) == 1
        return
    except StudioRecoveryError as exc:
        event(f"rejected: {type(exc).__name__}")
        # Then a rejection is the right typed error, and came before any AWS call
        expected = MalformedEventError if not drawn.well_formed else UnsafeTransferError
        assert type(exc) is expected, f"raised {exc!r}"
        assert not drawn.safe
        assert wires.calls() == []
        return
    pytest.fail("prepare returned although every data-access call raises")


# ---------------------------------------------------------------------------- finalize


_triggers = Choice(_good(MISSING, "auto", "copy", "manual"), _bad("", "AUTO", 1))
_finalize_arns = Choice(_good(MISSING, None, EXECUTION_ARN), _bad(5, []))
_SOURCES = st.one_of(st.just((MISSING, True)), st.just((None, True)))


@st.composite
def finalize_states(draw: st.DrawFn) -> Drawn:
    """The flat workflow state, or `{"execution_arn", "state": {...}}`; half are clean."""
    clean = draw(st.booleans())
    target, target_ok = draw(locations(clean))
    source, source_ok = draw(st.one_of(locations(clean), locations(clean), _SOURCES))
    if source is None or source is MISSING:
        # Finalize's source is optional (`FinalizeInput.source`), so no source is well
        # formed here, even when `locations` drew None as "not a location" (it is not one
        # for prepare, whose source is required).
        source_ok = True
    parts = {
        "restore_id": _restore_ids(draw, clean),
        "trigger": _triggers(draw, clean),
        "transfer": _transfers(draw, clean),
        "execution": _executions(draw, clean),
        "error": _errors(draw, clean),
        "cancel_error": _errors(draw, clean),
    }
    state = {key: value for key, (value, _) in parts.items() if value is not MISSING}
    if target is not MISSING:
        state["target"] = target
    if source is not MISSING:
        state["source"] = source
    arn, arn_ok = _finalize_arns(draw, clean)
    if draw(st.booleans()):
        document: dict[str, Any] = {"state": state}
        if arn is not MISSING:
            document["execution_arn"] = arn
    else:
        document = state
        if arn is not MISSING:
            state["execution_arn"] = arn
    well_formed = (
        target_ok and source_ok and arn_ok and all(ok for _, ok in parts.values())
    )
    return Drawn(document, well_formed, safe=well_formed)


_arns = ["arn:aws:datasync:us-east-1:123456789012:task/task-1", "loc-1"]
_transfers = Choice(
    _good(
        MISSING,
        None,
        {
            "task_arn": _arns[0],
            "source_location_arn": "l-1",
            "target_location_arn": "l-2",
        },
        {
            "task_arn": _arns[0],
            "source_location_arn": "l-1",
            "target_location_arn": "l-2",
            "access_point_ids": ["fsap-1"],
        },
    ),
    _bad(
        {"task_arn": _arns[0]},
        "task",
        [],
        {"task_arn": 5, "source_location_arn": "l-1"},
    ),
)
_executions = Choice(
    _good(
        MISSING,
        None,
        {"arn": "exec-1", "waited_seconds": 30, "describe": {"Status": "SUCCESS"}},
        {"arn": None, "waited_seconds": 0},
        {
            "describe": {
                "Status": "ERROR",
                "Result": {"ErrorCode": "x", "ErrorDetail": "y"},
            }
        },
    ),
    _bad({"waited_seconds": "long"}, {"describe": "SUCCESS"}, "exec-1", []),
)
_errors = Choice(
    _good(
        MISSING,
        None,
        {"Error": "States.TaskFailed", "Cause": '{"errorMessage": "boom"}'},
        {"Error": "ExecutionAborted"},
        {},
    ),
    _bad({"Error": 5}, {"Cause": []}, "States.Timeout", []),
)


@fuzz_settings(with_fixtures=True)
@given(drawn=finalize_states())
def test_finalize_rejects_malformed_states_before_any_aws_call(
    wires: Wires, drawn: Drawn
) -> None:
    wires.reset()
    note(f"well formed: {drawn.well_formed}")
    try:
        transfer_module.finalize_handler(drawn.document, LambdaContextStub())  # type: ignore[arg-type]
    except ReachedAws:
        event("reached AWS")
        assert drawn.well_formed, "a malformed state reached AWS"
        return
    except StudioRecoveryError as exc:
        event(f"rejected: {type(exc).__name__}")
        assert type(exc) is MalformedEventError, f"raised {exc!r}"
        assert not drawn.well_formed
        assert wires.calls() == []
        return
    pytest.fail("finalize returned although every data-access call raises")


_NOT_OBJECT_EVENTS = [None, [], ["state"], "state", 5]
_STATUS_CHANGE_DETAILS = [None, [], "ABORTED", 5, {"status": ["ABORTED"]}]


@pytest.mark.parametrize("document", _NOT_OBJECT_EVENTS, ids=repr)
def test_finalize_rejects_an_event_that_is_not_an_object_as_malformed(
    wires: Wires, document: Any
) -> None:
    """prepare does (the bulk property above checks it); finalize must too."""
    with pytest.raises(MalformedEventError):
        transfer_module.finalize_handler(document, LambdaContextStub())  # type: ignore[arg-type]
    assert wires.calls() == []


@pytest.mark.parametrize("detail", _STATUS_CHANGE_DETAILS, ids=repr)
def test_finalize_ignores_or_rejects_a_status_change_with_a_broken_detail(
    wires: Wires, detail: Any
) -> None:
    """An EventBridge status change whose `detail` is not an object: nothing to clean up."""
    document = {"detail-type": transfer_module.STATUS_CHANGE, "detail": detail}
    try:
        result = transfer_module.finalize_handler(document, LambdaContextStub())  # type: ignore[arg-type]
    except MalformedEventError:
        result = {"status": "REJECTED"}
    assert result["status"] in {"IGNORED", "REJECTED"}
    assert wires.calls() == []


def test_the_uid_lists_agree_with_the_contract() -> None:
    """The fixed uids above are on the side of the contract they claim to be on."""
    assert all(re.fullmatch(UID_PATTERN, uid) for uid in SAFE_UIDS)
    assert not any(re.fullmatch(UID_PATTERN, uid) for uid in UNSAFE_UIDS)
    assert re.fullmatch(NAME_PATTERN, "x" * 63)
    assert not re.fullmatch(NAME_PATTERN, "x" * 64)


# ------------------------------------------------ finalize with DataSync's reply broken


@dataclass
class Obliging:
    """A data-access object that does what it is asked: deletes succeed, reads find nothing."""

    name: str
    calls: list[str] = field(default_factory=list)

    def __getattr__(self, method: str) -> Any:
        if method.startswith("_"):  # repr and pretty-printing hooks, not AWS calls
            raise AttributeError(method)

        def call(*args: Any, **kwargs: Any) -> Any:
            self.calls.append(f"{self.name}.{method}")
            return method.startswith(("delete_", "release_")) or None

        return call


_counters = st.one_of(
    st.integers(min_value=0, max_value=2**40),
    st.sampled_from([None, "12", "n/a", "", 1.5, [], {}]),
)
_describes = st.fixed_dictionaries(
    {},
    optional={
        "Status": st.sampled_from(["SUCCESS", "ERROR", "TRANSFERRING", "", None, 5]),
        "BytesWritten": _counters,
        "BytesTransferred": _counters,
        "FilesTransferred": _counters,
        "FilesListed": st.one_of(
            st.fixed_dictionaries({}, optional={"AtSource": _counters}),
            st.sampled_from([None, "3", []]),
        ),
        "Result": st.one_of(
            st.fixed_dictionaries(
                {},
                optional={
                    "TotalDuration": _counters,
                    "ErrorCode": st.one_of(st.none(), st.text(max_size=8)),
                    "ErrorDetail": st.one_of(st.none(), st.text(max_size=8)),
                },
            ),
            st.sampled_from([None, "failed", [], 5]),
        ),
    },
)
_TASK = "arn:aws:datasync:us-east-1:123456789012:task/task-1"


@fuzz_settings(ci_examples=500, with_fixtures=True)
@given(describe=_describes)
def test_finalize_cleans_up_whatever_datasync_reported(
    monkeypatch: pytest.MonkeyPatch, describe: dict[str, Any]
) -> None:
    """`$.execution.describe` is DataSync's DescribeTaskExecution reply. Whatever it holds,
    finalize must delete the task, locations and access point and release the slot, and
    answer with a status or a typed error (a crash here would leave them behind)."""
    for name, value in ENVIRONMENT.items():
        monkeypatch.setenv(name, value)
    load_settings.cache_clear()
    datasync, efs, restores = (
        Obliging("datasync"),
        Obliging("efs"),
        Obliging("restores"),
    )
    services = TransferServices(
        restores=restores,  # type: ignore[arg-type]
        datasync=datasync,  # type: ignore[arg-type]
        efs=efs,  # type: ignore[arg-type]
        registry=Obliging("registry"),  # type: ignore[arg-type]
        notifier=Obliging("notifier"),  # type: ignore[arg-type]
    )
    monkeypatch.setattr(transfer_module, "build_finalize_services", lambda: services)
    location = {
        "domain_id": "d-abc",
        "domain_name": "demo",
        "kind": "user",
        "name": "alice",
    }
    state = {
        "restore_id": "alice-g2-0123456789ab",
        "target": {**location, "efs_id": "fs-1", "uid": "200002", "generation": 2},
        "source": {**location, "efs_id": "fs-1", "uid": "200001", "generation": 1},
        "transfer": {
            "task_arn": _TASK,
            "source_location_arn": "loc-1",
            "target_location_arn": "loc-2",
            "access_point_ids": ["fsap-1"],
        },
        "execution": {"arn": f"{_TASK}/execution/exec-1", "waited_seconds": 60},
    }
    state["execution"]["describe"] = describe  # type: ignore[index]
    try:
        result = transfer_module.finalize_handler(
            {"execution_arn": EXECUTION_ARN, "state": state},
            LambdaContextStub(),  # type: ignore[arg-type]
        )
    except StudioRecoveryError as exc:
        event(f"rejected: {type(exc).__name__}")
    else:
        event(f"status: {result['status']}")
        assert result["status"] in {"SUCCEEDED", "FAILED", "SOURCE_EMPTY"}
    assert datasync.calls.count("datasync.delete_task") == 1
    assert datasync.calls.count("datasync.delete_location") == 2
    assert efs.calls.count("efs.delete_access_point") == 1
    assert "restores.release_slot" in restores.calls
