"""`studio-recovery migrate` on moto: the map, the dry run, a run stopped and resumed
(never a second execution of a pair), --status, --match, bad input and 2,000 pairs."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import boto3
import pytest
from studio_recovery.cli.exit_codes import ExitCode
from studio_recovery.dal.registry import RegistryRepository, RestoreRepository
from studio_recovery.models.registry import Generation, Profile, ProfileKey
from studio_recovery.models.restore import RestoreOutcome, TransferStats

if TYPE_CHECKING:
    from tests.integration.cli_fixtures import Home, RunCli

pytest_plugins = ("tests.integration.cli_fixtures",)

OLD_EFS, NEW_EFS = "fs-0123456789abcdef0", "fs-0aaaaaaaaaaaaaaa0"
T0 = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)


def user(name: str, domain: str) -> ProfileKey:
    return ProfileKey(domain_name=domain, kind="user", name=name)


@pytest.fixture
def restores(registry_table: Any) -> RestoreRepository:
    return RestoreRepository(
        registry_table.name, boto3.resource("dynamodb", region_name="us-east-1")
    )


@pytest.fixture
def domains(home: Home) -> None:
    """old: alice, bob, carol (a space lab too); new: alice-x and bob-x exist, carol-x not."""
    for number, name in enumerate(("alice", "bob", "carol"), start=1):
        home(user(name, "old"), str(200000 + number), domain_id="d-old000000000")
    home(
        ProfileKey(domain_name="old", kind="space", name="lab"),
        "200009",
        domain_id="d-old000000000",
    )
    for number, name in enumerate(("alice-x", "bob-x"), start=1):
        home(
            user(name, "new"),
            str(300000 + number),
            domain_id="d-new000000000",
            efs_id=NEW_EFS,
        )


def write_map(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "map.csv"
    path.write_text(text, encoding="utf-8")
    return path


MAP = (
    "source_kind,source_name,target_kind,target_name\n"
    "profile,alice,profile,alice-x\n"
    "profile,bob,profile,bob-x\n"
    "profile,carol,profile,carol-x\n"
    "space,lab,space,lab\n"
)
DOMAINS = ["--from-domain", "old", "--to-domain", "new"]


def _executions(arn: str) -> list[dict[str, Any]]:
    sfn = boto3.client("stepfunctions", region_name="us-east-1")
    return list(sfn.list_executions(stateMachineArn=arn)["executions"])


@pytest.mark.usefixtures("domains")
def test_dry_run_shows_every_pair_and_changes_nothing(
    run_cli: RunCli, table_args: list[str], idle_state_machine: str, tmp_path: Path,
    restores: RestoreRepository,
) -> None:  # fmt: skip
    mapping = write_map(tmp_path, MAP + "profile,alice,profile,bob-x\nprofile,dave\n")
    machine = ["--state-machine-arn", idle_state_machine]

    result = run_cli(
        *table_args, *machine, "migrate", *DOMAINS, "--map", str(mapping), "--dry-run"
    )

    assert result.code == ExitCode.OK, result.err
    lines = {
        line.split("│")[1].strip(): line
        for line in result.out.splitlines()
        if line.count("│") > 3
    }
    assert "copy now" in lines["2"] and f"EFS {OLD_EFS}:/200001" in lines["2"]
    assert "exists, nothing restored yet" in lines["2"]
    assert "refused" in lines["3"] and "two sources map to one target" in lines["3"]
    assert "not created yet" in lines["4"] and "copy when created" in lines["4"]
    assert "copy when created" in lines["5"]
    assert "refused" in lines["7"] and "expected 4 columns" in result.out
    assert "6 pairs: 0 done, 0 running, 3 waiting, 3 failed" in result.out
    assert _executions(idle_state_machine) == []
    assert restores.get_copy(user("alice-x", "new")) is None


@pytest.mark.usefixtures("domains")
def test_a_run_stopped_and_run_again_never_starts_a_pair_twice(
    run_cli: RunCli, table_args: list[str], idle_state_machine: str, tmp_path: Path,
    restores: RestoreRepository,
) -> None:  # fmt: skip
    mapping = write_map(tmp_path, MAP)
    command = [
        *table_args,
        "--state-machine-arn",
        idle_state_machine,
        "migrate",
        *DOMAINS,
    ]
    command += [
        "--map",
        str(mapping),
        "--poll-seconds",
        "0.1",
        "--timeout",
        "1",
        "--parallel",
        "1",
    ]

    first = run_cli(*command)

    # --parallel 1: one pair in flight; moto's executions never end, so it stops following
    assert first.code == ExitCode.INCOMPLETE, first.err
    assert len(_executions(idle_state_machine)) == 1
    assert "4 pairs: 0 done, 1 running, 3 waiting, 0 failed" in first.out
    later = restores.get_copy(user("carol-x", "new"))
    assert later is not None and later.status == "PENDING" and later.migration_id
    alice = restores.get_copy(user("alice-x", "new"))
    assert alice is not None and alice.status == "STARTED" and alice.restore_id

    finish(restores, user("alice-x", "new"), alice.restore_id, "SUCCEEDED")
    second = run_cli(*command)

    assert second.code == ExitCode.INCOMPLETE
    names = [e["name"] for e in _executions(idle_state_machine)]
    assert len(names) == len(set(names)) == 2
    bob = restores.get_copy(user("bob-x", "new"))
    assert bob is not None and bob.restore_id
    finish(restores, user("bob-x", "new"), bob.restore_id, "FAILED", "DataSync said no")
    status = run_cli(
        *table_args, "migrate", "--status", "--map", str(mapping), *DOMAINS
    )

    # --status reports the failure (and how to retry it); it starts nothing
    assert status.code == ExitCode.RESTORE_FAILED
    assert (
        "DataSync said no" in status.out and "Run the same command again" in status.out
    )
    assert len(_executions(idle_state_machine)) == 2
    third = run_cli(*command)

    # running it again retries bob (a new attempt), never alice (done)
    assert third.code == ExitCode.INCOMPLETE, third.out
    names = [e["name"] for e in _executions(idle_state_machine)]
    assert len(names) == len(set(names)) == 3
    retry = restores.get_copy(user("bob-x", "new"))
    assert retry is not None and retry.attempt == 2
    assert retry.restore_id not in (bob.restore_id, alice.restore_id)
    assert retry.restore_id in names
    finish(
        restores, user("bob-x", "new"), retry.restore_id, "FAILED", "DataSync said no"
    )
    status = run_cli(
        *table_args,
        "migrate",
        "--status",
        "--migration-id",
        migration_id(third.out),
        "--json",
    )
    assert status.code == ExitCode.RESTORE_FAILED
    assert len(_executions(idle_state_machine)) == 3
    assert status.json()["summary"] == {
        "pairs": 4,
        "done": 1,
        "running": 0,
        "waiting": 2,
        "failed": 1,
    }
    listed = run_cli(*table_args, "migrate", "--status", "--json").json()
    assert [m["pairs"] for m in listed] == [4]


def finish(
    restores: RestoreRepository,
    key: ProfileKey,
    restore_id: str,
    status: str,
    reason: str = "ok",
) -> None:
    outcome = RestoreOutcome(
        status=status, reason=reason, stats=TransferStats(files_transferred=5)
    )  # type: ignore[arg-type]
    restores.finish(key, restore_id, outcome, T0 + timedelta(days=9))


def migration_id(output: str) -> str:
    for word in output.split():
        if word.startswith("mig-"):
            return word.rstrip(":")
    raise AssertionError(f"no migration id in {output}")


@pytest.mark.usefixtures("domains")
def test_a_map_with_bad_lines_starts_nothing_and_says_which(
    run_cli: RunCli, table_args: list[str], idle_state_machine: str, tmp_path: Path
) -> None:
    mapping = write_map(tmp_path, MAP + "group,alice,profile,x\n")

    result = run_cli(
        *table_args,
        "--state-machine-arn",
        idle_state_machine,
        "migrate",
        *DOMAINS,
        "--map",
        str(mapping),
    )

    assert result.code == ExitCode.USAGE
    assert (
        "line 6: unknown source kind 'group'" in result.err
        and "nothing was started" in result.err
    )
    assert _executions(idle_state_machine) == []


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--map", "/nonexistent/map.csv"], "cannot read --map /nonexistent/map.csv"),
        ([], "--map FILE, or --match"),
        (
            ["--map", "m.csv", "--write-map", "out.csv"],
            "--write-map writes the map --match",
        ),
        (["--map", "m.csv", "--migration-id", "mig-0123456789ab"], "add --status"),
        (
            ["--match", "--identity-template", "{first}@x"],
            "the identity template uses {first}",
        ),
    ],
)
@pytest.mark.usefixtures("domains")
def test_bad_input_says_what_to_do(
    run_cli: RunCli, table_args: list[str], args: list[str], message: str
) -> None:
    result = run_cli(*table_args, "migrate", *DOMAINS, *args)

    assert result.code == ExitCode.USAGE
    assert message in result.err


def test_an_unknown_source_domain_is_not_found(
    run_cli: RunCli, table_args: list[str], tmp_path: Path
) -> None:
    result = run_cli(
        *table_args,
        "migrate",
        *DOMAINS,
        "--map",
        str(write_map(tmp_path, MAP)),
        "--dry-run",
    )

    assert result.code == ExitCode.NOT_FOUND
    assert "domain old has no profiles or spaces in the registry" in result.err


def test_match_proposes_by_identity_and_writes_an_editable_map(
    run_cli: RunCli, table_args: list[str], registry: RegistryRepository, tmp_path: Path
) -> None:
    for number, name in enumerate(("alice", "bob"), start=1):
        registry.record_generation(
            user(name, "old"),
            domain_id="d-old",
            efs_id=OLD_EFS,
            uid=str(200000 + number),
            created_at=T0,
        )
    registry.record_generation(
        user("a-smith", "new"), domain_id="d-new", efs_id=NEW_EFS, uid="300001", created_at=T0,
        sso_user_value="alice@example.com",
    )  # fmt: skip
    written = tmp_path / "proposed.csv"

    result = run_cli(
        *table_args, "migrate", *DOMAINS, "--match", "--identity-template", "{name}@example.com",
        "--write-map", str(written),
    )  # fmt: skip

    assert result.code == ExitCode.OK, result.err
    assert "Identity Center user alice@example.com" in result.out
    assert "no target with same name" in result.out  # bob is left for the admin
    text = written.read_text(encoding="utf-8")
    assert "profile,alice,profile,a-smith" in text
    assert "# unmatched profile bob" in text
    dry = run_cli(
        *table_args, "migrate", *DOMAINS, "--map", str(written), "--dry-run", "--json"
    )
    assert [p["target"] for p in dry.json()["pairs"]] == ["profile a-smith"]


PAIRS = 2000
DRY_RUN_BUDGET_SECONDS = 60.0
"""The CLI's whole dry run of 2,000 pairs on moto in-process (two Scans, the plan, the
table): 17 s measured on a loaded 2-core machine; a per-pair read of the registry would take minutes."""


def test_two_thousand_pairs_dry_run_in_seconds(
    run_cli: RunCli, table_args: list[str], registry_table: Any, tmp_path: Path
) -> None:
    with registry_table.batch_writer() as batch:
        for n in range(PAIRS):
            for domain, name, uid, efs in (
                ("old", f"user{n}", 200000 + n, OLD_EFS),
                ("new", f"person{n}", 300000 + n, NEW_EFS),
            ):
                g = Generation(
                    domain_name=domain,
                    kind="user",
                    name=name,
                    domain_id=f"d-{domain}",
                    efs_id=efs,
                    uid=str(uid),
                    generation=1,
                    created_at=T0,
                )
                batch.put_item(Item=g.to_item())
                batch.put_item(
                    Item=Profile(
                        **g.model_dump(exclude={"has_data", "event_id"})
                    ).to_item()
                )
    lines = [f"profile,user{n},profile,person{n}" for n in range(PAIRS)]
    mapping = write_map(tmp_path, "\n".join(lines))
    started = time.perf_counter()

    result = run_cli(
        *table_args, "migrate", *DOMAINS, "--map", str(mapping), "--dry-run", "--json"
    )

    elapsed = time.perf_counter() - started
    assert result.code == ExitCode.OK, result.err
    assert result.json()["summary"]["waiting"] == PAIRS
    print(
        f"\n{PAIRS} pairs: dry run in {elapsed:.1f} s"
    )  # the measured number (-s shows it)
    assert elapsed < DRY_RUN_BUDGET_SECONDS, (
        f"{PAIRS} pairs: dry run took {elapsed:.1f} s"
    )
