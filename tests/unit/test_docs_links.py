"""Every relative link in the README and the docs points to a file (or folder) that exists,
and a link to a heading of a Markdown file names a heading that file has (GitHub's anchors).
The README stays under 30 KB (issue 15)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PAGES = sorted(
    [
        ROOT / "README.md",
        *(ROOT / "docs").glob("*.md"),
        *(ROOT / "examples").glob("*/README.md"),
    ]
)
FENCE = re.compile(r"^(```|~~~).*?^\1", re.MULTILINE | re.DOTALL)
CODE_SPAN = re.compile(r"`[^`\n]*`")
LINK = re.compile(r"(?<!!)\[[^\]\n]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")
HEADING = re.compile(r"^#{1,6}\s+(.+?)\s*#*\s*$", re.MULTILINE)


def prose(text: str) -> str:
    """The text without fenced blocks and code spans (their brackets are not links)."""
    return CODE_SPAN.sub("", FENCE.sub("", text))


def anchors(text: str) -> set[str]:
    """GitHub's anchor of every heading: lowercase, punctuation dropped, spaces to hyphens,
    a repeated anchor numbered -1, -2, ..."""
    seen: dict[str, int] = {}
    found = set()
    for heading in HEADING.findall(FENCE.sub("", text)):
        slug = re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-")
        count = seen.get(slug, 0)
        seen[slug] = count + 1
        found.add(slug if count == 0 else f"{slug}-{count}")
    return found


def broken_links(page: Path) -> list[str]:
    """Every relative link of `page` whose file or heading does not exist."""
    broken = []
    for target in LINK.findall(prose(page.read_text())):
        if re.match(r"^[a-z][a-z0-9+.-]*:", target):  # http:, https:, mailto:
            continue
        path_part, _, anchor = target.partition("#")
        path = (page.parent / path_part).resolve() if path_part else page
        if not path.exists():
            broken.append(f"{target}: no such file")
        elif (
            anchor and path.suffix == ".md" and anchor not in anchors(path.read_text())
        ):
            broken.append(f"{target}: no such heading")
    return broken


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_resolves(page: Path) -> None:
    assert broken_links(page) == []


def test_a_broken_link_or_heading_is_found(tmp_path: Path) -> None:
    # given
    (tmp_path / "other.md").write_text("# Other page\n\n## 1. A `code` heading (x)\n")
    page = tmp_path / "page.md"
    page.write_text(
        "# Page\n\n[ok](other.md) [ok](other.md#1-a-code-heading-x) [ok](#page)\n"
        "[gone](missing.md) [bad](other.md#nothing) [web](https://example.com/x)\n"
        "`[not a link](nowhere.md)`\n\n```text\n[nor this](nowhere.md)\n```\n"
    )
    # when / then
    assert broken_links(page) == [
        "missing.md: no such file",
        "other.md#nothing: no such heading",
    ]


def test_the_readme_stays_under_30_kb() -> None:
    assert (ROOT / "README.md").stat().st_size < 30 * 1024
