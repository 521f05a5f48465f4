"""Issue 5's restore paths, end to end on the sandbox with the real module applied.

Each scenario drives SageMaker as Studio and an admin would, then checks the files (byte for
byte, modes, owned by the new uid), the registry rows, the notifications and that no DataSync
task, location or access point is left behind.
"""

from __future__ import annotations

from collections.abc import Callable

from studio_sandbox import posix
from studio_sandbox.harness.scenario import (
    create_sso_domain,
    create_sso_user,
    snapshot,
    write_sample_home,
)

from tests.e2e.conftest import Deployed
from tests.e2e.flows import SAMPLE_MB, assert_succeeded, new_domain, recreate, seed

KEPT_FILE = "data/kept-by-new-owner.txt"


def test_user_recreated_gets_the_old_files_and_keeps_its_own(
    deployed: Deployed, unique: Callable[[str], str]
) -> None:
    domain = unique("user")
    seeded = seed(deployed, domain, new_domain(deployed, domain), "user", "alice")
    before = dict(seeded.before)
    clash = "data/alice.txt"  # also in the old home: the new owner's version must stay

    home = recreate(deployed, seeded)
    (home.path / "data").mkdir(exist_ok=True)
    (home.path / clash).write_bytes(b"the new alice wrote this first\n")
    for path in (home.path / "data", home.path / clash):  # written as the new alice
        posix.set_owner(path, home.uid, 100)

    assert home.uid != seeded.home.uid
    assert_succeeded(
        deployed, domain, "user", "alice", 2, before, home,
        kept={clash: b"the new alice wrote this first\n"},
    )  # fmt: skip


def test_space_recreated_is_restored_and_recorded(
    deployed: Deployed, unique: Callable[[str], str]
) -> None:
    domain = unique("space")
    seeded = seed(deployed, domain, new_domain(deployed, domain), "space", "team")

    home = recreate(deployed, seeded)

    assert_succeeded(deployed, domain, "space", "team", 2, seeded.before, home)


def test_user_and_space_with_one_name_never_mix(
    deployed: Deployed, unique: Callable[[str], str]
) -> None:
    domain = unique("mix")
    domain_id = new_domain(deployed, domain)
    user = seed(deployed, domain, domain_id, "user", "shared")
    space = seed(deployed, domain, domain_id, "space", "shared")

    user_home = recreate(deployed, user)
    space_home = recreate(deployed, space)

    assert_succeeded(deployed, domain, "user", "shared", 2, user.before, user_home)
    assert_succeeded(deployed, domain, "space", "shared", 2, space.before, space_home)
    item = deployed.registry.wait_for_restore(domain, "space", "shared", 2)
    assert item["source"]["uid"] == str(space.home.uid)


def test_domain_recreated_with_retain_restores_from_the_retained_volume(
    deployed: Deployed, unique: Callable[[str], str]
) -> None:
    domain = unique("retain")
    domain_id = new_domain(deployed, domain)
    seeded = seed(deployed, domain, domain_id, "user", "bob")
    old_efs = deployed.studio.domain_efs(domain_id)

    deployed.studio.delete(domain_id, "user", "bob")
    deployed.studio.delete_domain(domain_id, retain=True)
    new_id = new_domain(deployed, domain)
    deployed.studio.create(new_id, "user", "bob")
    home = deployed.studio.open_app(new_id, "user", "bob")

    assert home.efs_id != old_efs
    item = assert_succeeded(deployed, domain, "user", "bob", 2, seeded.before, home)
    assert item["source"]["efs_id"] == old_efs
    assert item["target"]["efs_id"] == home.efs_id


def test_admin_copy_into_an_existing_profile_of_another_domain(
    deployed: Deployed, unique: Callable[[str], str]
) -> None:
    source_domain, target_domain = unique("copy-src"), unique("copy-dst")
    seeded = seed(
        deployed, source_domain, new_domain(deployed, source_domain), "user", "carol"
    )
    target_id = new_domain(deployed, target_domain)
    deployed.studio.create(target_id, "user", "dave")
    home = deployed.studio.open_app(target_id, "user", "dave")
    deployed.registry.wait_for_generation(target_domain, "user", "dave", 1)

    code, output = deployed.admin(
        "copy", "--from-domain", source_domain, "--from-user", "carol",
        "--to-domain", target_domain, "--to-user", "dave",
    )  # fmt: skip

    assert code == 0, output
    item = assert_succeeded(
        deployed, target_domain, "user", "dave", 1, seeded.before, home
    )
    assert item["trigger"] == "copy"
    assert item["source"]["domain_name"] == source_domain


def test_admin_copy_into_a_profile_created_later(
    deployed: Deployed, unique: Callable[[str], str]
) -> None:
    source_domain, target_domain = unique("later-src"), unique("later-dst")
    seeded = seed(
        deployed, source_domain, new_domain(deployed, source_domain), "space", "lab"
    )
    target_id = new_domain(deployed, target_domain)

    code, output = deployed.admin(
        "copy", "--from-domain", source_domain, "--from-space", "lab",
        "--to-domain", target_domain, "--to-user", "erin",
    )  # fmt: skip
    assert code == 0, output
    deployed.studio.create(target_id, "user", "erin")
    home = deployed.studio.open_app(target_id, "user", "erin")

    item = assert_succeeded(
        deployed, target_domain, "user", "erin", 1, seeded.before, home
    )
    assert item["trigger"] == "copy"
    assert item["source"]["kind"] == "space"


def test_opted_out_profile_is_skipped_with_its_reason(
    deployed: Deployed, unique: Callable[[str], str]
) -> None:
    domain = unique("optout")
    seeded = seed(deployed, domain, new_domain(deployed, domain), "user", "frank")

    code, output = deployed.admin("opt-out", "--domain", domain, "--user", "frank")
    assert code == 0, output
    home = recreate(deployed, seeded)

    item = deployed.registry.wait_for_restore(domain, "user", "frank", 2)
    assert item["status"] == "SKIPPED", item
    assert "opt" in str(item.get("reason", "")).lower(), item
    profile = deployed.registry.profile(domain, "user", "frank")
    assert profile is not None
    assert profile["replication"] is False
    assert profile["replication_status"] == "SKIPPED"
    assert snapshot(home.path) == {}
    assert deployed.leftovers() == {"tasks": [], "locations": [], "access_points": []}


def test_name_reused_by_another_identity_is_skipped_and_admin_can_restore(
    deployed: Deployed, unique: Callable[[str], str]
) -> None:
    domain = unique("sso")
    domain_id = create_sso_domain(deployed.studio, domain)
    deployed.open_efs(domain_id)
    create_sso_user(deployed.studio, domain_id, "gina", "gina@example.com")
    old_home = deployed.studio.open_app(domain_id, "user", "gina")
    write_sample_home(old_home, big_file_mb=SAMPLE_MB)
    before = snapshot(old_home.path)
    deployed.registry.wait_for_generation(domain, "user", "gina", 1)

    deployed.studio.delete(domain_id, "user", "gina")
    create_sso_user(deployed.studio, domain_id, "gina", "someone-else@example.com")
    home = deployed.studio.open_app(domain_id, "user", "gina")

    item = deployed.registry.wait_for_restore(domain, "user", "gina", 2)
    assert item["status"] == "SKIPPED", item
    assert "identity" in str(item.get("reason", "")).lower(), item
    assert snapshot(home.path) == {}

    code, output = deployed.admin(
        "restore", "--domain", domain, "--user", "gina",
    )  # fmt: skip
    assert code == 0, output
    assert_succeeded(
        deployed, domain, "user", "gina", 2, before, home, trigger="manual"
    )
