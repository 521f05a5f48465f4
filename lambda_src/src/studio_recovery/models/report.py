"""What a restore's DataSync task report says about the copy (docs/internals.md section 4).

`CopyCheck` is the digest finalize records: how many entries the source had, which ones the
new home is missing, and which paths clashed with something the user already had there
(kept as the user left it). Lists are bounded (`MAX_LISTED` paths, each at most
`MAX_PATH_CHARS`); the counts are exact.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

MAX_LISTED = 50
"""Paths kept in a list on the registry item (the counts stay exact)."""
MAX_PATH_CHARS = 300
"""A longer path is cut, with `...` at the end."""
SHOWN = 10
"""Paths named in a reason or a notification."""

ConflictKind = Literal["file-over-directory", "directory-over-file", "changed-file"]
"""What the user has at a restored path: a file (or symlink) where the source had a
directory, a directory where the source had a file, or a different file at the same path."""

CONFLICT_WORDS: dict[str, str] = {
    "file-over-directory": "the new home has a file where the old home had a directory",
    "directory-over-file": "the new home has a directory where the old home had a file",
    "changed-file": "the new home has its own version of this file",
}


def short_path(path: str) -> str:
    return path if len(path) <= MAX_PATH_CHARS else path[: MAX_PATH_CHARS - 3] + "..."


class Conflict(BaseModel):
    """One path the user already had: their version is kept; `blocked` entries of the old
    home lie under it (a directory the user's file stands in for) and were not restored."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    path: str
    kind: ConflictKind
    blocked: int = Field(default=0, ge=0)

    def describe(self) -> str:
        under = f" ({self.blocked} entries under it not restored)" if self.blocked else ""
        return f"{self.path}: {CONFLICT_WORDS[self.kind]}{under}"


class CopyCheck(BaseModel):
    """The digest of one execution's task report."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    source_entries: int = Field(default=0, ge=0)
    """Files, directories and symlinks found at the source, its root excluded."""
    restored: int = Field(default=0, ge=0)
    """Entries transferred, or already present and identical."""
    missing: list[str] = Field(default_factory=list)
    missing_count: int = Field(default=0, ge=0)
    conflicts: list[Conflict] = Field(default_factory=list)
    conflict_count: int = Field(default=0, ge=0)

    @property
    def complete(self) -> bool:
        return self.missing_count == 0

    def describe_missing(self) -> str:
        shown = ", ".join(self.missing[:SHOWN])
        more = self.missing_count - min(len(self.missing), SHOWN)
        return shown + (f" and {more} more" if more > 0 else "")

    def describe_conflicts(self) -> str:
        shown = "; ".join(c.describe() for c in self.conflicts[:SHOWN])
        more = self.conflict_count - min(len(self.conflicts), SHOWN)
        return shown + (f"; and {more} more" if more > 0 else "")
