"""Hypothesis strategies for the event handler's fuzz tests: CloudTrail-via-EventBridge
events, valid and broken, each with the world it meets and what should happen.

A `Scenario` is drawn, not an event: it holds the event's parts, the state of SageMaker and
of the registry when the event arrives, and an optional `Mutation` that breaks the event.
`build_event(scenario)` writes the EventBridge event; `expect(scenario)` says, from the
contract (docs/internals.md, DESIGN.md) rather than from the code, what the handler must do.

Shared by tests/unit/test_fuzz_event.py (logic layer, in-memory fakes) and
tests/integration/test_fuzz_event_handler.py (the real handler on moto).
"""

from __future__ import annotations

import copy
import re
import string
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta, timezone
from typing import Any, Literal

from hypothesis import strategies as st
from studio_recovery.models.errors import (
    MalformedEventError,
    UnresolvableProfileError,
    UnsupportedEventError,
)
from studio_recovery.models.registry import (
    NAME_PATTERN,
    UID_PATTERN,
    Domain,
    Generation,
    Kind,
    ProfileKey,
)

from tests.unit.studio_fakes import FakeRegistry, FakeSageMaker

# ------------------------------------------------------------------------------ the world

CREATE_PROFILE = {"CreateUserProfile": "user", "CreateSpace": "space"}
DELETE_PROFILE = {"DeleteUserProfile": "user", "DeleteSpace": "space"}
EVENT_NAMES = (*CREATE_PROFILE, *DELETE_PROFILE, "CreateDomain", "DeleteDomain")
NAME_KEYS: dict[Kind, str] = {"user": "userProfileName", "space": "spaceName"}

EFS_ID = "fs-0123"
# Domains SageMaker knows: id -> (name, home EFS volume).
SAGEMAKER_DOMAINS: dict[str, tuple[str, str | None]] = {
    "d-abc": ("demo", EFS_ID),
    "d-noefs": ("noefs", None),
    "d-badname": ("bad_name", "fs-0456"),  # a name outside the Studio pattern
}
REGISTRY_ONLY_DOMAIN = (
    "d-old",
    "olddemo",
    "fs-0789",
)  # deleted from SageMaker, still recorded
HOME_DOMAIN_ID = "d-abc"
HOME_DOMAIN_NAME = "demo"
PRIOR_TIME = datetime(1999, 1, 1, tzinfo=UTC)  # before every event time the bulk draws
OTHER_UID = "199999"  # the uid of an earlier home directory of the same profile

# Keys (aliases and field names) the models read: an "extra" key must not be one of them.
MODEL_KEYS = frozenset(
    {
        "version", "id", "source", "account", "time", "region", "resources", "detail-type",
        "detail_type", "detail", "replay-name", "replay_name",
        "eventName", "event_name", "eventID", "event_id", "eventTime", "event_time",
        "eventSource", "event_source", "errorCode", "error_code", "errorMessage",
        "error_message", "requestParameters", "request_parameters", "responseElements",
        "response_elements", "domainId", "domain_id", "domainName", "domain_name",
        "userProfileName", "user_profile_name", "spaceName", "space_name", "userSettings",
        "user_settings", "singleSignOnUserValue", "single_sign_on_user_value",
        "retentionPolicy", "retention_policy", "homeEfsFileSystem", "home_efs_file_system",
        "domainArn", "domain_arn", "userProfileArn", "user_profile_arn", "spaceArn",
        "space_arn",
    }
)  # fmt: skip

PriorGeneration = Literal["none", "same_uid", "other_uid_live", "other_uid_deleted"]


@dataclass(frozen=True)
class World:
    """SageMaker and the registry as they are when the event arrives."""

    profile_exists: bool = (
        True  # DescribeUserProfile/DescribeSpace finds the event's profile
    )
    profile_uid: str | None = "200001"
    profile_sso: str | None = None
    registry_has_home_domain: bool = False  # d-abc already recorded
    prior: PriorGeneration = "none"  # what the registry holds for demo/<kind>/<name>


@dataclass(frozen=True)
class Mutation:
    """A change that breaks the event (`breaks`) or only adds noise the model ignores."""

    label: str
    path: tuple[str | int, ...]  # () = the whole event
    value: Any = None
    delete: bool = False
    breaks: bool = True


@dataclass(frozen=True)
class Scenario:
    """One drawn event with its world. `name` goes under `name_key` when both are set."""

    event_name: str
    event_id: str
    event_time: str
    domain_id: str | None = None
    name: str | None = None
    name_key: str | None = None
    domain_arn: str | None = None
    sso_param: str | None = None
    user_settings: dict[str, Any] | None = None
    retention: str | None = None
    error_code: str | None = None
    extras: tuple[Mutation, ...] = ()
    mutation: Mutation | None = None
    world: World = field(default_factory=World)

    @property
    def kind(self) -> Kind | None:
        return CREATE_PROFILE.get(self.event_name) or DELETE_PROFILE.get(
            self.event_name
        )  # type: ignore[return-value]

    @property
    def time(self) -> datetime:
        return datetime.fromisoformat(self.event_time)


def build_world(scenario: Scenario) -> tuple[FakeSageMaker, FakeRegistry]:
    """The fakes in the state `scenario.world` describes."""
    sagemaker = FakeSageMaker()
    for domain_id, (name, efs_id) in SAGEMAKER_DOMAINS.items():
        sagemaker.add_domain(domain_id, name, efs_id=efs_id)
    registry = FakeRegistry()
    old_id, old_name, old_efs = REGISTRY_ONLY_DOMAIN
    registry.domains[old_id] = Domain(
        domain_id=old_id, domain_name=old_name, efs_id=old_efs, created_at=PRIOR_TIME
    )
    world = scenario.world
    if world.registry_has_home_domain:
        registry.domains[HOME_DOMAIN_ID] = Domain(
            domain_id=HOME_DOMAIN_ID,
            domain_name=HOME_DOMAIN_NAME,
            efs_id=EFS_ID,
            created_at=PRIOR_TIME,
        )
    kind, name = scenario.kind, scenario.name
    if kind is None or name is None or scenario.domain_id is None:
        return sagemaker, registry
    if world.profile_exists:
        sagemaker.add_profile(
            scenario.domain_id,
            kind,
            name,
            world.profile_uid,
            sso_user_value=world.profile_sso,
        )
    if world.prior != "none" and _valid_name(name):
        registry.generations[home_key(kind, name)] = [
            _prior_generation(scenario, kind, name)
        ]
    return sagemaker, registry


def prior_uid(world: World) -> str:
    """The uid of the generation the registry already holds (when `world.prior` says so)."""
    if (
        world.prior == "same_uid"
        and world.profile_uid
        and is_valid_uid(world.profile_uid)
    ):
        return world.profile_uid
    return OTHER_UID


def _prior_generation(scenario: Scenario, kind: Kind, name: str) -> Generation:
    return Generation(
        domain_name=HOME_DOMAIN_NAME,
        kind=kind,
        name=name,
        domain_id=HOME_DOMAIN_ID,
        efs_id=EFS_ID,
        uid=prior_uid(scenario.world),
        created_at=PRIOR_TIME,
        deleted_at=PRIOR_TIME if scenario.world.prior == "other_uid_deleted" else None,
        generation=1,
        event_id="e-prior",
    )


def home_key(kind: Kind, name: str) -> ProfileKey:
    """The key of a profile of the home domain (`demo`)."""
    return ProfileKey(domain_name=HOME_DOMAIN_NAME, kind=kind, name=name)


def _valid_name(value: str | None) -> bool:
    return value is not None and re.fullmatch(NAME_PATTERN, value) is not None


MAX_POSIX_UID = 4_294_967_295  # EFS access points take 32-bit POSIX uids


def is_valid_uid(value: str | None) -> bool:
    """The contract's uid: digits, not starting with 0 (so never "0"), at most 2**32 - 1."""
    return (
        value is not None
        and re.fullmatch(UID_PATTERN, value) is not None
        and int(value) <= MAX_POSIX_UID
    )


# ------------------------------------------------------------------------------ the event


def build_event(scenario: Scenario) -> Any:
    """The EventBridge event of `scenario`, extras and mutation applied."""
    params: dict[str, Any] = {}
    if scenario.domain_id is not None:
        params["domainId"] = scenario.domain_id
    if scenario.name is not None and scenario.name_key is not None:
        params[scenario.name_key] = scenario.name
    if scenario.sso_param is not None:
        params["singleSignOnUserValue"] = scenario.sso_param
    if scenario.user_settings is not None:
        params["userSettings"] = scenario.user_settings
    if scenario.retention is not None:
        params["retentionPolicy"] = {"homeEfsFileSystem": scenario.retention}
    detail: dict[str, Any] = {
        "eventVersion": "1.09",
        "eventTime": scenario.event_time,
        "eventSource": "sagemaker.amazonaws.com",
        "eventName": scenario.event_name,
        "awsRegion": "us-east-1",
        "eventID": scenario.event_id,
        "requestParameters": params,
        "responseElements": {"domainArn": scenario.domain_arn}
        if scenario.domain_arn
        else None,
    }
    if scenario.error_code is not None:
        detail["errorCode"] = scenario.error_code
        detail["errorMessage"] = "the call failed"
    event: Any = {
        "version": "0",
        "id": "6a7e8feb-b491-4cf7-a9f1-bf3703467718",
        "detail-type": "AWS API Call via CloudTrail",
        "source": "aws.sagemaker",
        "account": "123456789012",
        "time": "2026-11-28T14:08:57Z",
        "region": "us-east-1",
        "resources": [],
        "detail": detail,
    }
    for extra in scenario.extras:
        event = apply(event, extra)
    if scenario.mutation is not None:
        event = apply(event, scenario.mutation)
    return event


def apply(event: Any, mutation: Mutation) -> Any:
    """`event` with `mutation` applied (a copy)."""
    if not mutation.path:
        return copy.deepcopy(mutation.value)
    event = copy.deepcopy(event)
    parent = event
    for step in mutation.path[:-1]:
        parent = parent[step]
    last = mutation.path[-1]
    if mutation.delete:
        parent.pop(last, None)
    else:
        parent[last] = copy.deepcopy(mutation.value)
    return event


# ------------------------------------------------------------------------- the expectation


@dataclass(frozen=True)
class Expected:
    """What the handler must do: raise `error`, or return `action` (and write accordingly)."""

    error: type[Exception] | None = None
    action: str | None = None
    generation: int | None = None
    uid: str | None = None
    sso: str | None = None
    domain_id: str | None = None
    domain_name: str | None = None
    retention: str | None = None
    efs_id: str | None = None

    @property
    def writes(self) -> bool:
        return self.action in {
            "generation_recorded",
            "profile_deleted",
            "domain_recorded",
            "domain_deleted",
        }


def expect(scenario: Scenario) -> Expected:
    """What the contract says the event handler does with `scenario`."""
    if scenario.mutation is not None and scenario.mutation.breaks:
        return Expected(error=MalformedEventError)
    if scenario.event_name not in EVENT_NAMES:
        return Expected(error=UnsupportedEventError)
    if scenario.error_code:
        return Expected(action="ignored")
    if scenario.event_name in CREATE_PROFILE:
        return _expect_created(scenario)
    if scenario.event_name in DELETE_PROFILE:
        return _expect_deleted(scenario)
    if scenario.event_name == "CreateDomain":
        return _expect_domain_created(scenario)
    return _expect_domain_deleted(scenario)


def _given_name(scenario: Scenario) -> str | None:
    kind = scenario.kind
    if kind is None or scenario.name_key != NAME_KEYS[kind]:
        return None
    return scenario.name or None


def _expect_created(scenario: Scenario) -> Expected:
    name = _given_name(scenario)
    if not scenario.domain_id or not name:
        return Expected(error=MalformedEventError)
    domain = SAGEMAKER_DOMAINS.get(scenario.domain_id)
    if domain is None:
        return Expected(error=UnresolvableProfileError)
    if not _valid_name(domain[0]) or not _valid_name(name):
        return Expected(error=MalformedEventError)
    if domain[1] is None:  # no home EFS volume: skipped, never dead-lettered
        return Expected(action="skipped_no_home_efs")
    world = scenario.world
    if not world.profile_exists or not is_valid_uid(world.profile_uid):
        return Expected(error=UnresolvableProfileError)
    has_prior = scenario.domain_id == HOME_DOMAIN_ID and world.prior != "none"
    if has_prior and prior_uid(world) == world.profile_uid:
        return Expected(action="already_recorded", generation=1, uid=world.profile_uid)
    number = 2 if has_prior else 1
    return Expected(
        action="generation_recorded",
        generation=number,
        uid=world.profile_uid,
        sso=world.profile_sso or scenario.sso_param,
        domain_id=scenario.domain_id,
        domain_name=domain[0],
    )


def _expect_deleted(scenario: Scenario) -> Expected:
    name = _given_name(scenario)
    if not scenario.domain_id or not name:
        return Expected(error=MalformedEventError)
    domain_name = _domain_name(scenario)
    if domain_name is None:
        return Expected(action="ignored")
    if not _valid_name(domain_name) or not _valid_name(name):
        return Expected(error=MalformedEventError)
    live = scenario.world.prior in {"same_uid", "other_uid_live"}
    if scenario.domain_id == HOME_DOMAIN_ID and live:
        return Expected(action="profile_deleted", generation=1, domain_name=domain_name)
    return Expected(action="ignored")


def _domain_name(scenario: Scenario) -> str | None:
    """Where the event logic may find the domain's name: SageMaker, else the registry."""
    assert scenario.domain_id is not None
    if scenario.domain_id in SAGEMAKER_DOMAINS:
        return SAGEMAKER_DOMAINS[scenario.domain_id][0]
    if scenario.domain_id == REGISTRY_ONLY_DOMAIN[0]:
        return REGISTRY_ONLY_DOMAIN[1]
    return None


def _expect_domain_created(scenario: Scenario) -> Expected:
    arn = scenario.domain_arn or ""
    from_arn = arn.rsplit("/", 1)[1] if "/" in arn else ""
    domain_id = from_arn or scenario.domain_id
    if not domain_id:
        return Expected(error=MalformedEventError)
    domain = SAGEMAKER_DOMAINS.get(domain_id)
    if domain is None:
        return Expected(error=UnresolvableProfileError)
    if not _valid_name(domain[0]):
        return Expected(error=MalformedEventError)
    return Expected(  # a domain without home EFS is recorded as such
        action="domain_recorded",
        domain_id=domain_id,
        domain_name=domain[0],
        efs_id=domain[1],
    )


def _expect_domain_deleted(scenario: Scenario) -> Expected:
    if not scenario.domain_id:
        return Expected(error=MalformedEventError)
    retention = scenario.retention or "Retain"
    recorded = {REGISTRY_ONLY_DOMAIN[0]}
    if scenario.world.registry_has_home_domain:
        recorded.add(HOME_DOMAIN_ID)
    if scenario.domain_id not in recorded:
        return Expected(action="ignored")
    return Expected(
        action="domain_deleted", domain_id=scenario.domain_id, retention=retention
    )


# ------------------------------------------------------------------------------ strategies
# Built once at import and cheap to draw (few filters, no regex generation, no strategy
# built inside a draw): the bulk property draws 2,000 scenarios per run. `weighted` favours
# the realistic branch so that every outcome shows up often.

ALNUM = string.ascii_letters + string.digits


def weighted(
    common: st.SearchStrategy[Any], rare: st.SearchStrategy[Any], common_in: int
) -> Any:
    """`common` `common_in` times out of `common_in + 1`, else `rare` (`st.one_of` would
    weigh its branches equally whatever their repetition)."""
    chooser = st.integers(0, common_in)

    @st.composite
    def pick(draw: st.DrawFn) -> Any:
        return draw(rare if draw(chooser) == common_in else common)

    return pick()


valid_names = st.one_of(
    st.sampled_from(["user1", "alice", "data-team", "a", "a--b", "Z9", "x" * 63]),
    st.text(alphabet=ALNUM, min_size=1, max_size=12),
    st.tuples(
        st.text(alphabet=ALNUM, min_size=1, max_size=6),
        st.text(alphabet="-", min_size=1, max_size=3),
        st.text(alphabet=ALNUM, min_size=1, max_size=6),
    ).map("".join),
)
_NAME_BREAKERS = st.sampled_from(list(" _#/.:@\n\tü\x00"))
_BAD_PREFIXES = st.sampled_from(["-", "../", "/"])
_BAD_SUFFIXES = st.sampled_from(["-", "/..", "\n", "#x"])
_BAD_WHOLE_NAMES = st.sampled_from(["", "x" * 64, "..", "../1", "1/2", "ü", "-"])


@st.composite
def bad_names(draw: st.DrawFn) -> str:
    """A name outside the Studio pattern: a foreign character, a dash at an end, too long."""
    shape = draw(st.integers(0, 3))
    base = draw(valid_names)
    if shape == 0:
        where = draw(st.integers(0, len(base)))
        return base[:where] + draw(_NAME_BREAKERS) + base[where:]
    if shape == 1:
        return draw(_BAD_PREFIXES) + base
    if shape == 2:
        return base + draw(_BAD_SUFFIXES)
    return draw(_BAD_WHOLE_NAMES)


names = weighted(valid_names, bad_names(), 3)

valid_uids = st.one_of(
    st.integers(min_value=200_000, max_value=299_999),
    st.integers(min_value=1, max_value=MAX_POSIX_UID),
).map(str)
bad_uids = st.one_of(
    st.sampled_from(
        [
            "",
            "0",
            "00",
            "007",
            "-1",
            "1.5",
            "1e5",
            " 200001",
            "200001 ",
            "200001\n",
            "２００",
        ]
    ),
    st.sampled_from(
        [
            "٢٠٠٠٠١",
            "4294967296",
            "9999999999",
            "99999999999",
            "123456789012345678901234567890",
            "0x10",
            "+5",
        ]
    ),
    st.text(max_size=8).filter(lambda u: not is_valid_uid(u)),
    st.none(),
)
uids = weighted(valid_uids, bad_uids, 3)

domain_ids = weighted(
    st.just(HOME_DOMAIN_ID),
    st.one_of(
        st.sampled_from([*SAGEMAKER_DOMAINS, REGISTRY_ONLY_DOMAIN[0]]),
        st.sampled_from(["d-gone", "", "D-ABC", "d-abc ", "d-abc/x"]),
        st.text(max_size=12),
        st.none(),
    ),
    2,
)

json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**53), max_value=2**53),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=10),
)
json_values = st.one_of(
    json_scalars,
    st.lists(json_scalars, max_size=3),
    st.dictionaries(st.text(max_size=6), json_scalars, max_size=3),
)
not_a_string = st.one_of(
    st.integers(),
    st.booleans(),
    st.floats(allow_nan=False),
    st.lists(json_scalars, max_size=2),
    st.dictionaries(st.text(max_size=4), json_scalars, max_size=2),
)
not_an_object = st.one_of(
    st.none(),
    st.integers(),
    st.booleans(),
    st.text(max_size=10),
    st.lists(json_scalars, max_size=3),
)
extra_keys = st.text(
    alphabet=string.ascii_letters + "-_#.", min_size=1, max_size=12
).filter(lambda k: k not in MODEL_KEYS)

sso_values = st.one_of(
    st.none(),
    st.sampled_from(["alice", "alice@example.com", "", "d-1234567890/alice"]),
    st.text(max_size=20),
)
user_settings = st.one_of(
    st.none(),
    st.just({}),
    st.just({"ExecutionRole": "arn:aws:iam::123456789012:role/studio"}),
    st.dictionaries(st.text(max_size=8), json_values, max_size=3),
)

_OFFSETS = st.sampled_from([0, 0, 60, -300, 330, 720, -720, 59]).map(
    lambda minutes: timezone(timedelta(minutes=minutes))
)
_MOMENTS = st.datetimes(
    min_value=datetime(2000, 1, 2), max_value=datetime(2100, 1, 1), timezones=_OFFSETS
)


@st.composite
def event_times(draw: st.DrawFn) -> str:
    """Realistic event times (2000-2100) in the shapes CloudTrail and ISO 8601 allow."""
    moment = draw(_MOMENTS)
    if moment.utcoffset() == timedelta(0) and draw(st.booleans()):
        return moment.replace(tzinfo=None, microsecond=0).isoformat() + "Z"
    return moment.isoformat()


_PRIORS = st.sampled_from(["none", "same_uid", "other_uid_live", "other_uid_deleted"])
_PROFILE_SSO = weighted(st.none(), sso_values, 1)


@st.composite
def worlds(draw: st.DrawFn, *, valid: bool = False) -> World:
    """SageMaker's answer for the event's profile and what the registry already holds;
    with `valid`, the profile exists and has a contract uid."""
    return World(
        profile_exists=valid or draw(st.integers(0, 5)) != 5,
        profile_uid=draw(valid_uids if valid else uids),
        profile_sso=draw(_PROFILE_SSO),
        registry_has_home_domain=draw(st.booleans()),
        prior=draw(_PRIORS),
    )


unknown_event_names = st.one_of(
    st.sampled_from(
        [
            "UpdateSpace",
            "UpdateUserProfile",
            "CreatePresignedDomainUrl",
            "createuserprofile",
            "CreateUserProfile ",
            "DeleteApp",
            "CreateApp",
        ]
    ),
    st.text(min_size=1, max_size=20).filter(lambda n: n not in EVENT_NAMES),
)
_KNOWN_NAMES = st.sampled_from(EVENT_NAMES)
_ANY_NAMES = weighted(_KNOWN_NAMES, unknown_event_names, 7)
_WRONG_KEYS = st.sampled_from(["userProfileName", "spaceName", None])
_NAME_KEYS = {
    kind: weighted(st.just(key), _WRONG_KEYS, 5) for kind, key in NAME_KEYS.items()
} | {None: st.sampled_from(["userProfileName", "spaceName", None])}
_ERROR_CODES = weighted(st.none(), st.sampled_from(["", "AccessDenied"]), 7)
_RETENTIONS = st.sampled_from([None, "Retain", "Delete"])
event_ids = st.one_of(st.uuids().map(str), st.text(min_size=1, max_size=30))


_VALID_DOMAIN_IDS = weighted(
    st.just(HOME_DOMAIN_ID),
    st.sampled_from([*SAGEMAKER_DOMAINS, REGISTRY_ONLY_DOMAIN[0]]),
    4,
)


@st.composite
def scenarios(draw: st.DrawFn, *, broken: bool = True) -> Scenario:
    """A scenario. With `broken` (the default), anything goes: one event in four gets a
    breaking mutation, one in eight an unknown name, ids, names and uids are often wrong.
    Without, the event is well formed with a known name, a valid profile name under the
    right key, no error code, and its profile exists with a contract uid."""
    event_name = draw(_ANY_NAMES if broken else _KNOWN_NAMES)
    kind = CREATE_PROFILE.get(event_name) or DELETE_PROFILE.get(event_name)
    scenario = Scenario(
        event_name=event_name,
        event_id=draw(event_ids),
        event_time=draw(event_times()),
        domain_id=draw(domain_ids if broken else _VALID_DOMAIN_IDS),
        name=draw(names if broken else valid_names),
        name_key=draw(_NAME_KEYS[kind]) if broken else NAME_KEYS.get(kind),  # type: ignore[index, arg-type]
        domain_arn=draw(domain_arns()) if event_name == "CreateDomain" else None,
        sso_param=draw(sso_values),
        user_settings=draw(user_settings),
        retention=draw(_RETENTIONS),
        error_code=draw(_ERROR_CODES) if broken else None,
        extras=tuple(draw(st.lists(noise(), max_size=2))),
        world=draw(worlds(valid=not broken)),
    )
    if broken and draw(st.integers(0, 3)) == 3:
        scenario = replace(scenario, mutation=draw(breaking_mutations()))
    return scenario


_ARN_DOMAIN_IDS = st.one_of(
    st.sampled_from([*SAGEMAKER_DOMAINS, "d-gone", ""]), st.text(max_size=8)
)
_ARN_SHAPES = (
    "arn:aws:sagemaker:us-east-1:123456789012:domain/{}",
    "arn:aws:sagemaker:us-east-1:123456789012:domain/{}",
    "arn:aws:sagemaker:us-east-1:123456789012:domain-{}",
    "{}",
)


@st.composite
def domain_arns(draw: st.DrawFn) -> str | None:
    """CreateDomain's `responseElements.domainArn`, right or not, naming some domain id."""
    shape = draw(st.integers(0, len(_ARN_SHAPES)))
    if shape == len(_ARN_SHAPES):
        return None
    return _ARN_SHAPES[shape].format(draw(_ARN_DOMAIN_IDS))


_NOISE_PLACES = st.sampled_from([(), ("detail",), ("detail", "requestParameters")])


@st.composite
def noise(draw: st.DrawFn) -> Mutation:
    """An extra field the models must ignore (CloudTrail adds fields over time)."""
    where = draw(_NOISE_PLACES)
    key = draw(extra_keys)
    return Mutation("extra field", (*where, key), draw(json_values), breaks=False)


ENVELOPE_REQUIRED = st.sampled_from(
    [
        "version",
        "id",
        "source",
        "account",
        "time",
        "region",
        "resources",
        "detail-type",
        "detail",
    ]
)
DETAIL_REQUIRED = st.sampled_from(["eventName", "eventID", "eventTime"])
OPTIONAL_STRINGS = st.sampled_from(
    ["domainId", "domainName", "userProfileName", "spaceName", "singleSignOnUserValue"]
)
_REQUEST = ("detail", "requestParameters")
_WHOLE_EVENTS = st.one_of(not_an_object, st.just("{not json"), st.just("{}"))
_ID_FIELDS = st.sampled_from(["eventName", "eventID"])
_BAD_IDS = st.one_of(not_a_string, st.just(""), st.none())
_BAD_TIMES = st.one_of(
    st.sampled_from(
        ["", "yesterday", "2026-13-01T00:00:00Z", "2026-11-28 25:00", "28/11/2026"]
    ),
    st.lists(st.integers(), max_size=3),
)
_PARTS = st.sampled_from(["requestParameters", "responseElements"])
_NOT_PARTS = st.one_of(st.integers(), st.booleans(), st.text(max_size=5))
_NOT_SETTINGS = st.one_of(
    st.text(max_size=5), st.integers(), st.lists(json_scalars, max_size=3)
)
_BAD_RETENTIONS = st.one_of(
    st.sampled_from(["Keep", "retain", "", "DELETE"]), st.integers()
)


@st.composite
def breaking_mutations(draw: st.DrawFn) -> Mutation:
    """A change that makes the event malformed: the handler must reject it, writing nothing."""
    choice = draw(st.integers(0, 9))
    if choice == 0:
        return Mutation("event not an object", (), draw(_WHOLE_EVENTS))
    if choice == 1:
        key = draw(ENVELOPE_REQUIRED)
        return Mutation(f"envelope without {key}", (key,), delete=True)
    if choice == 2:
        return Mutation("detail not an object", ("detail",), draw(not_an_object))
    if choice == 3:
        key = draw(DETAIL_REQUIRED)
        return Mutation(f"detail without {key}", ("detail", key), delete=True)
    if choice == 4:
        key = draw(_ID_FIELDS)
        return Mutation(f"{key} ill-typed or empty", ("detail", key), draw(_BAD_IDS))
    if choice == 5:
        return Mutation(
            "eventTime not a time", ("detail", "eventTime"), draw(_BAD_TIMES)
        )
    if choice == 6:
        key = draw(_PARTS)
        return Mutation(f"{key} not an object", ("detail", key), draw(_NOT_PARTS))
    if choice == 7:
        key = draw(OPTIONAL_STRINGS)
        return Mutation(f"{key} not a string", (*_REQUEST, key), draw(not_a_string))
    if choice == 8:
        value = draw(_NOT_SETTINGS)
        return Mutation(
            "userSettings not an object", (*_REQUEST, "userSettings"), value
        )
    policy = {"homeEfsFileSystem": draw(_BAD_RETENTIONS)}
    return Mutation("retention policy invalid", (*_REQUEST, "retentionPolicy"), policy)
