"""`opt-out` / `opt-in`: the profile's replication flag (kept across recreations)."""

from __future__ import annotations

import argparse
from typing import Any

from studio_recovery.cli.args import add_profile_options, profile_key
from studio_recovery.cli.context import Context
from studio_recovery.cli.errors import NotFound
from studio_recovery.cli.exit_codes import ExitCode


def register(subparsers: Any, parents: list[argparse.ArgumentParser]) -> None:
    for command, enabled, text in (
        ("opt-out", False, "never restore this profile or space automatically"),
        ("opt-in", True, "restore this profile or space again when it is recreated"),
    ):
        parser = subparsers.add_parser(
            command,
            parents=parents,
            help=text,
            description=f"{text[0].upper()}{text[1:]}. The flag survives recreations.",
        )
        add_profile_options(parser)
        parser.set_defaults(run=run, enabled=enabled)


def run(context: Context) -> int:
    key = profile_key(context.args)
    enabled: bool = context.args.enabled
    registry = context.registry()
    before = registry.get_profile(key)
    if before is None:
        raise NotFound(f"{key.kind} {key.name} of domain {key.domain_name} is not in the registry")
    after = registry.set_replication(key, enabled)
    changed = before.replication != after.replication
    if context.out.json_mode:
        context.out.json(
            {
                "domain": key.domain_name,
                "kind": key.kind,
                "name": key.name,
                "replication": after.replication,
                "changed": changed,
            }
        )
        return ExitCode.OK
    state = "on" if after.replication else "off"
    note = "" if changed else " (unchanged)"
    context.out.line(
        f"Replication for {key.kind} {key.name} in domain {key.domain_name}: {state}{note}"
    )
    return ExitCode.OK
