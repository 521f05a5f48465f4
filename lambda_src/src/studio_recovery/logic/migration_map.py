"""The name map of a bulk migration (`studio-recovery migrate`): read, write, propose.

Pure, no AWS. A map is a CSV file, one pair a line: source kind, source name, target kind,
target name. Kinds are `profile` (a user profile; `user` is accepted too) and `space`. An
optional header line, blank lines and lines starting with `#` are ignored. A line that
cannot be read is kept as a `MapError` with its line number, so the plan can show it.

`propose_map` builds a map from what the registry knows of both domains, by rules tried
in order for each source:

- `identity`: a target user profile whose IAM Identity Center user (`SingleSignOnUserValue`,
  recorded on the registry rows as `sso_user_value`) equals the source's name put through a
  template (`{name}` by default; e.g. `{name}@example.com`, or named groups of a pattern
  matched against the source name: `{first}.{last}@example.com`); compared case-insensitively.
- `name`: a target of the same kind and the same name.

The migration id is a hash of the two domains and the sorted pairs, so the same map always
names the same migration (and an edited map a new one).
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Literal

from studio_recovery.models.registry import NAME_PATTERN, Kind, Profile, ProfileKey

KIND_OF: dict[str, Kind] = {"profile": "user", "user": "user", "space": "space"}
"""Kind words a map may use -> the registry's kind."""
WORD_OF: dict[Kind, str] = {"user": "profile", "space": "space"}
HEADER = ("source_kind", "source_name", "target_kind", "target_name")
MIGRATION_ID_PREFIX = "mig-"
_NAME = re.compile(NAME_PATTERN)
_FIELD = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")

MatchBy = Literal["identity", "name"]
MATCH_RULES: tuple[MatchBy, ...] = ("identity", "name")


@dataclass(frozen=True)
class MapRow:
    """One pair of the map, from line `line`."""

    line: int
    source: ProfileKey
    target: ProfileKey


@dataclass(frozen=True)
class MapError:
    """A line of the map that cannot be a pair: what it says and what is wrong."""

    line: int
    text: str
    problem: str


@dataclass(frozen=True)
class MigrationMap:
    """Every pair of a map, and every line that could not be read."""

    from_domain: str
    to_domain: str
    rows: tuple[MapRow, ...]
    errors: tuple[MapError, ...] = ()

    @property
    def migration_id(self) -> str:
        """`mig-<12 hex>` from the domains and the sorted pairs (line numbers and order
        do not count; the lines that could not be read do)."""
        pairs = sorted(f"{r.source.pk}>{r.target.pk}" for r in self.rows)
        bad = sorted(e.text for e in self.errors)
        material = "\n".join([self.from_domain, self.to_domain, *pairs, "--", *bad])
        return MIGRATION_ID_PREFIX + hashlib.sha256(material.encode()).hexdigest()[:12]


def parse_map(text: str, *, from_domain: str, to_domain: str) -> MigrationMap:
    """Read a map; every line that is not a pair becomes a `MapError` (none is skipped
    silently, except blank lines, `#` comments and a header line)."""
    rows: list[MapRow] = []
    errors: list[MapError] = []
    lines = text.splitlines()
    for number, raw in enumerate(lines, start=1):
        stripped = raw.strip()
        if not stripped or stripped.startswith("#"):
            continue
        try:
            cells = next(csv.reader([raw]))
        except csv.Error as exc:
            errors.append(MapError(number, stripped, f"not CSV: {exc}"))
            continue
        cells = [cell.strip() for cell in cells]
        if _is_header(cells):
            continue
        row = _row(number, cells, from_domain, to_domain)
        if isinstance(row, MapRow):
            rows.append(row)
        else:
            errors.append(MapError(number, stripped, row))
    return MigrationMap(from_domain, to_domain, tuple(rows), tuple(errors))


def _is_header(cells: Sequence[str]) -> bool:
    first = cells[0].lower().replace(" ", "_") if cells else ""
    return first == HEADER[0]


def _row(number: int, cells: Sequence[str], from_domain: str, to_domain: str) -> MapRow | str:
    """The pair on this line, or what is wrong with it."""
    if len(cells) != len(HEADER):
        return (
            f"expected 4 columns ({', '.join(HEADER)}), found {len(cells)}; "
            "write e.g. profile,alice,profile,alice-example-com"
        )
    source_kind, source_name, target_kind, target_name = cells
    problems: list[str] = []
    kinds: list[Kind] = []
    for role, word in (("source", source_kind), ("target", target_kind)):
        kind = KIND_OF.get(word.lower())
        if kind is None:
            problems.append(f"unknown {role} kind {word!r} (write profile or space)")
        else:
            kinds.append(kind)
    for role, name in (("source", source_name), ("target", target_name)):
        if not _NAME.fullmatch(name):
            problems.append(
                f"{role} name {name!r} is not a Studio name "
                "(1-63 letters, digits and inner hyphens)"
            )
    if problems:
        return "; ".join(problems)
    return MapRow(
        line=number,
        source=ProfileKey(domain_name=from_domain, kind=kinds[0], name=source_name),
        target=ProfileKey(domain_name=to_domain, kind=kinds[1], name=target_name),
    )


def render_map(rows: Iterable[MapRow], comments: Sequence[str] = ()) -> str:
    """The CSV text of `rows` (a header first; `comments` as `#` lines before it)."""
    buffer = io.StringIO()
    for comment in comments:
        buffer.write(f"# {comment}\n")
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(HEADER)
    for row in rows:
        writer.writerow(
            [WORD_OF[row.source.kind], row.source.name, WORD_OF[row.target.kind], row.target.name]
        )
    return buffer.getvalue()


# ------------------------------------------------------------------ proposing


@dataclass(frozen=True)
class MatchRule:
    """How `propose_map` pairs sources with targets (see the module docstring)."""

    by: tuple[MatchBy, ...] = MATCH_RULES
    template: str = "{name}"
    pattern: re.Pattern[str] | None = None

    def fields(self) -> set[str]:
        """The `{field}` names the template uses."""
        return set(_FIELD.findall(self.template))

    def problems(self) -> list[str]:
        """What is wrong with the rule (empty when it can be used)."""
        known = {"name", "kind"} | set(self.pattern.groupindex if self.pattern else ())
        unknown = sorted(self.fields() - known)
        if unknown:
            return [
                f"the identity template uses {', '.join('{' + u + '}' for u in unknown)}: "
                f"only {', '.join('{' + k + '}' for k in sorted(known))} are known "
                "(named groups of the pattern count)"
            ]
        return []

    def identity_of(self, source: ProfileKey) -> str | None:
        """The Identity Center user name this rule expects for `source`; None when the
        pattern does not match its name."""
        values = {"name": source.name, "kind": WORD_OF[source.kind]}
        if self.pattern is not None:
            found = self.pattern.fullmatch(source.name)
            if found is None:
                return None
            values.update({k: v or "" for k, v in found.groupdict().items()})
        return _FIELD.sub(lambda m: values[m.group(1)], self.template)


@dataclass(frozen=True)
class Proposal:
    """A proposed pair and why it was proposed."""

    row: MapRow
    how: str


@dataclass
class ProposedMap:
    """What `propose_map` found: pairs, and sources it could not pair (with why)."""

    proposals: list[Proposal] = field(default_factory=list)
    unmatched: list[tuple[ProfileKey, str]] = field(default_factory=list)


def propose_map(
    sources: Sequence[Profile], targets: Sequence[Profile], rule: MatchRule
) -> ProposedMap:
    """A map pairing each source with one target, by the first rule that finds exactly
    one. Deleted targets are not proposed; a source no rule pairs is listed as unmatched."""
    live = [t for t in targets if not t.is_deleted]
    by_identity: dict[str, list[Profile]] = {}
    by_name: dict[tuple[Kind, str], list[Profile]] = {}
    for target in live:
        if target.kind == "user" and target.sso_user_value:
            by_identity.setdefault(target.sso_user_value.casefold(), []).append(target)
        by_name.setdefault((target.kind, target.name), []).append(target)
    result = ProposedMap()
    for number, source in enumerate(sorted(sources, key=lambda p: (p.kind, p.name)), start=1):
        found = _match_one(source, rule, by_identity, by_name)
        if isinstance(found, str):
            result.unmatched.append((source.key, found))
            continue
        target, how = found
        result.proposals.append(Proposal(MapRow(number, source.key, target.key), how))
    return result


def _match_one(
    source: Profile,
    rule: MatchRule,
    by_identity: dict[str, list[Profile]],
    by_name: dict[tuple[Kind, str], list[Profile]],
) -> tuple[Profile, str] | str:
    """(target, how) by the first rule that finds exactly one; else why none did."""
    tried: list[str] = []
    for by in rule.by:
        if by == "identity":
            if source.kind != "user":
                continue
            identity = rule.identity_of(source.key)
            if identity is None:
                tried.append("its name does not match the pattern")
                continue
            hits = by_identity.get(identity.casefold(), [])
            how = f"Identity Center user {identity}"
        else:
            hits = by_name.get((source.kind, source.name), [])
            how = "same name"
        if len(hits) == 1:
            return hits[0], how
        tried.append(f"{len(hits)} targets with {how}" if hits else f"no target with {how}")
    return "; ".join(tried) or "no rule applies"
