"""`migrate`: copy a whole domain's homes into another domain's profiles, by a name map.

`--map FILE` names the pairs; `--match` proposes a map from what the registry knows of
both domains (`--write-map FILE` writes it for review). `--dry-run` shows the plan;
`--status` where a migration stands; otherwise it runs (`migrate_run`). The decisions are
`studio_recovery.logic.migration`; each pair is a copy as `studio-recovery copy` makes.
"""

from __future__ import annotations

import argparse
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from studio_recovery.cli.args import positive_int, positive_seconds, studio_name
from studio_recovery.cli.commands import migrate_run, migrate_view
from studio_recovery.cli.commands.migrate_view import who
from studio_recovery.cli.commands.restore import DEFAULT_POLL_SECONDS
from studio_recovery.cli.context import Context
from studio_recovery.cli.errors import NotFound, UsageError
from studio_recovery.cli.exit_codes import ExitCode
from studio_recovery.dal.registry.migrations import MigrationRepository
from studio_recovery.logic.migration import PairPlan, plan_migration
from studio_recovery.logic.migration_map import (
    MATCH_RULES,
    MapRow,
    MatchRule,
    MigrationMap,
    parse_map,
    propose_map,
    render_map,
)
from studio_recovery.models.history import ProfileHistory
from studio_recovery.models.registry import ProfileKey

DEFAULT_PARALLEL = 20
DEFAULT_TIMEOUT_SECONDS = 12 * 3600
_ID = re.compile(r"^mig-[0-9a-f]{12}$")


def register(subparsers: Any, parents: list[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "migrate",
        parents=parents,
        help="copy every home of a domain into another domain's profiles, by a name map",
        description=(
            "Copy each source of --from-domain into its target in --to-domain, as `copy` "
            "does: at once when the target exists, otherwise when it is created. The pairs "
            "come from --map FILE (CSV: source kind, source name, target kind, target name; "
            "kinds profile and space), or --match proposes them. Run it again after an "
            "interruption: a pair is never copied twice. Run it again after a failure: "
            "each pair whose copy FAILED or was PARTIAL is tried again (a new attempt), "
            "the others are left alone. Files already in a target are never overwritten."
        ),
    )
    parser.add_argument("--from-domain", type=studio_name, metavar="NAME", help="source domain")
    parser.add_argument("--to-domain", type=studio_name, metavar="NAME", help="target domain")
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--map", type=Path, metavar="FILE", help="the name map (CSV)")
    source.add_argument(
        "--match", action="store_true", help="propose a map from both domains' profiles"
    )
    match = parser.add_argument_group("--match rules")
    match.add_argument(
        "--match-by",
        type=_rules,
        default=MATCH_RULES,
        metavar="RULES",
        help="rules to try in order, comma-separated: identity (the target's Identity Center "
        "user equals the template), name (same kind and name); default identity,name",
    )
    match.add_argument(
        "--identity-template",
        default="{name}",
        metavar="T",
        help="the Identity Center user name expected for a source: {name}, {kind} and the "
        "named groups of --name-pattern, e.g. '{name}@example.com' (default {name})",
    )
    match.add_argument(
        "--name-pattern",
        type=_pattern,
        metavar="REGEX",
        help="a regular expression the source name must match; its named groups feed the "
        "template, e.g. '(?P<first>[a-z]+)-(?P<last>[a-z]+)'",
    )
    match.add_argument("--write-map", type=Path, metavar="FILE", help="write the proposed map")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--dry-run", action="store_true", help="show the plan; change nothing")
    mode.add_argument("--status", action="store_true", help="show where a migration stands")
    parser.add_argument(
        "--migration-id", type=_migration_id, metavar="ID", help="--status of this migration"
    )
    parser.add_argument(
        "--parallel",
        type=positive_int,
        default=DEFAULT_PARALLEL,
        metavar="N",
        help="pairs in flight at once (each still waits for one of the module's transfer "
        f"slots; default {DEFAULT_PARALLEL})",
    )
    parser.add_argument(
        "--poll-seconds",
        type=positive_seconds,
        default=DEFAULT_POLL_SECONDS,
        metavar="S",
        help=f"seconds between progress checks (default {DEFAULT_POLL_SECONDS:g})",
    )
    parser.add_argument(
        "--timeout",
        type=positive_int,
        default=DEFAULT_TIMEOUT_SECONDS,
        metavar="S",
        help=f"stop following after S seconds (default {DEFAULT_TIMEOUT_SECONDS}); "
        "run it again to go on",
    )
    parser.set_defaults(run=run)


def _rules(value: str) -> tuple[str, ...]:
    rules = tuple(part.strip() for part in value.split(",") if part.strip())
    unknown = [r for r in rules if r not in MATCH_RULES]
    if unknown or not rules:
        raise argparse.ArgumentTypeError(
            f"{value!r}: rules are {', '.join(MATCH_RULES)} (comma-separated, in order)"
        )
    return rules


def _pattern(value: str) -> re.Pattern[str]:
    try:
        return re.compile(value)
    except re.error as exc:
        raise argparse.ArgumentTypeError(f"{value!r} is not a regular expression: {exc}") from exc


def _migration_id(value: str) -> str:
    if not _ID.fullmatch(value):
        raise argparse.ArgumentTypeError(f"{value!r} is not a migration id (mig-<12 hex>)")
    return value


def run(context: Context) -> int:
    args = context.args
    if args.write_map is not None and not args.match:
        raise UsageError("--write-map writes the map --match proposes: add --match")
    if args.migration_id is not None and not args.status:
        raise UsageError("--migration-id names the migration --status shows: add --status")
    if args.status:
        return _status(context)
    domains = _domains(args)
    if args.match:
        mapping = _propose(context, *domains)
        if not args.dry_run:
            return ExitCode.OK
    elif args.map is not None:
        mapping = parse_map(_read(args.map), from_domain=domains[0], to_domain=domains[1])
    else:
        raise UsageError("say which pairs: --map FILE, or --match to propose a map")
    if not mapping.rows and not mapping.errors:
        raise UsageError(
            f"{args.map} has no pairs: one line per pair, e.g. profile,alice,profile,alice2"
        )
    plans = plan(context, mapping)
    if args.dry_run:
        migrate_view.plan_table(context, mapping, plans)
        return ExitCode.OK
    return migrate_run.execute(context, mapping, plans)


def _domains(args: argparse.Namespace) -> tuple[str, str]:
    if not args.from_domain or not args.to_domain:
        raise UsageError("--from-domain and --to-domain are both needed")
    if args.from_domain == args.to_domain and args.match:
        raise UsageError("--match pairs two different domains; give a --map for one domain")
    return args.from_domain, args.to_domain


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise UsageError(f"cannot read --map {path}: {exc.strerror}") from exc
    except UnicodeDecodeError as exc:
        raise UsageError(f"--map {path} is not UTF-8 text (save it as UTF-8 CSV)") from exc


def repository(context: Context) -> MigrationRepository:
    table = context.resources.require("registry_table_name")
    return MigrationRepository(table, context.aws.resource("dynamodb"))


def histories(context: Context, domain: str) -> dict[ProfileKey, ProfileHistory]:
    return repository(context).domain_histories(domain)


def plan(
    context: Context,
    mapping: MigrationMap,
    sources: dict[ProfileKey, ProfileHistory] | None = None,
    *,
    retry_failed: bool = True,
) -> list[PairPlan]:
    """Read both domains (one Scan each) and plan every pair (a failed one as a retry,
    unless `retry_failed` is off: `--status` reports the failure)."""
    if sources is None:
        sources = histories(context, mapping.from_domain)
    if not sources:
        raise NotFound(
            f"domain {mapping.from_domain} has no profiles or spaces in the registry: check "
            "the name (`studio-recovery status`), or record them with `studio-recovery seed`"
        )
    targets = (
        sources
        if mapping.to_domain == mapping.from_domain
        else histories(context, mapping.to_domain)
    )
    return plan_migration(
        mapping,
        sources=sources,
        targets=targets,
        volumes=migrate_run.source_volumes(context, sources),
        requested_at=datetime.now(UTC),
        retry_failed=retry_failed,
    )


def _propose(context: Context, from_domain: str, to_domain: str) -> MigrationMap:
    args = context.args
    rule = MatchRule(by=args.match_by, template=args.identity_template, pattern=args.name_pattern)
    problems = rule.problems()
    if problems:
        raise UsageError("; ".join(problems))
    sources = histories(context, from_domain)
    targets = histories(context, to_domain)
    proposed = propose_map(
        [h.profile for h in sources.values() if h.profile is not None],
        [h.profile for h in targets.values() if h.profile is not None],
        rule,
    )
    rows: list[MapRow] = [p.row for p in proposed.proposals]
    mapping = MigrationMap(from_domain, to_domain, tuple(rows))
    migrate_view.proposal_table(context, proposed)
    if args.write_map is not None:
        comments = [
            f"migrate --from-domain {from_domain} --to-domain {to_domain}: proposed by "
            f"--match-by {','.join(rule.by)} --identity-template '{rule.template}'",
            "review and edit, then: studio-recovery migrate ... --map THIS_FILE --dry-run",
        ]
        comments += [f"unmatched {who(key)}: {why}" for key, why in proposed.unmatched]
        try:
            args.write_map.write_text(render_map(rows, comments), encoding="utf-8")
        except OSError as exc:
            raise UsageError(f"cannot write --write-map {args.write_map}: {exc.strerror}") from exc
        context.out.line(f"Wrote {len(rows)} pairs to {args.write_map}")
    return mapping


def _status(context: Context) -> int:
    """Where a migration stands: by --migration-id, by its map, or a list of them all."""
    args = context.args
    migrations = repository(context)
    if args.migration_id is None and args.map is None:
        return migrate_view.migration_list(context, migrations.list_migrations())
    if args.migration_id is not None:
        record = migrations.get_migration(args.migration_id)
        if record is None:
            raise NotFound(
                f"migration {args.migration_id} is not in the registry (see `migrate --status`)"
            )
        pairs = migrations.migration_pairs(record.migration_id)
        rows = tuple(MapRow(p.line, p.source, p.target) for p in pairs)
        mapping = MigrationMap(record.from_domain, record.to_domain, rows)
        migration_id = record.migration_id
    else:
        from_domain, to_domain = _domains(args)
        mapping = parse_map(_read(args.map), from_domain=from_domain, to_domain=to_domain)
        migration_id = mapping.migration_id
    plans = plan(context, mapping, retry_failed=False)
    return migrate_view.status_report(context, migration_id, plans)
