"""docs/sandbox-fidelity.md stays true: every row cites a source, every test it names exists,
every sandbox module that models AWS appears, and the known differences are listed as gaps."""

from __future__ import annotations

import gzip
import json
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "sandbox-fidelity.md"
SANDBOX = ROOT / "sandbox" / "src" / "studio_sandbox"
HEADER = ["Behaviour", "AWS source", "Test that pins it", "Known gaps"]

# Sandbox modules that define AWS behaviour: each must be named in at least one row.
AWS_MODULES = (
    "datasync",
    "efs",
    "posix",
    "sagemaker",
    "s3_policy",
    "stepfunctions",
    "eventbridge",
    "dynamodb_streams",
    "lambda_runtime",
    "delivery",
    "faults",
    "iam",
    "server/compat.py",
)

# Differences known from DESIGN.md section 8 and issue 16, closed since: each must now be a
# fidelity row (not a gap row) that names it and the test pinning it.
CLOSED_DIFFERENCES = (
    "identity polic",
    "FilesListed",
    "directory",
    "25,000",
    "JSONPath",
    "HomeEfsFileSystemCreation",
    "Pending",
    "ingestion time",
    "10 items a page",
)

_TEST_REF = re.compile(r"^(?P<path>[\w./-]+\.py)::(?P<name>\w+)$")
_BOTOCORE = re.compile(
    r"botocore (?P<service>[a-z0-9-]+)/(?P<version>\d{4}-\d{2}-\d{2}) "
    r"(?P<shape>[A-Za-z0-9]+)(?:\.(?P<member>[A-Za-z0-9]+))?(?: \(errors: (?P<errors>[^)]*)\))?"
)
_URL = re.compile(r"https?://[^\s;)]+")


@dataclass(frozen=True)
class Row:
    line: int
    behaviour: str
    source: str
    tests: str
    gaps: str

    @property
    def is_gap(self) -> bool:
        return self.behaviour.startswith("**Gap:**")


def _cells(line: str) -> list[str]:
    """The cells of a Markdown table line; `\\|` is a literal pipe inside a cell."""
    body = line.strip().removeprefix("|")
    if body.endswith("|") and not body.endswith("\\|"):
        body = body[:-1]
    return [cell.strip().replace("\\|", "|") for cell in re.split(r"(?<!\\)\|", body)]


def parse(text: str) -> list[Row]:
    """Every row of every table whose header is :data:`HEADER`."""
    rows: list[Row] = []
    lines = text.splitlines()
    index = 0
    while index < len(lines):
        if lines[index].lstrip().startswith("|") and _cells(lines[index]) == HEADER:
            index += 2  # the header and its separator
            while index < len(lines) and lines[index].lstrip().startswith("|"):
                cells = _cells(lines[index])
                assert len(cells) == 4, (
                    f"line {index + 1}: {len(cells)} cells, expected 4"
                )
                rows.append(Row(index + 1, *cells))
                index += 1
        else:
            index += 1
    return rows


@pytest.fixture(scope="module")
def rows() -> list[Row]:
    return parse(DOC.read_text(encoding="utf-8"))


def test_the_table_has_rows(rows: list[Row]) -> None:
    assert len(rows) >= 40


def test_every_row_has_a_behaviour_and_a_source(rows: list[Row]) -> None:
    for row in rows:
        assert row.behaviour, f"line {row.line}: empty behaviour"
        assert row.source, f"line {row.line}: empty source"
        assert row.gaps, f"line {row.line}: empty known-gaps cell (write 'None known.')"


def test_every_source_is_aws_documentation_botocore_or_says_none(
    rows: list[Row],
) -> None:
    for row in rows:
        urls = _URL.findall(row.source)
        for url in urls:
            assert url.startswith("https://docs.aws.amazon.com/"), (
                f"line {row.line}: {url}"
            )
        said_none = row.source.startswith(("No AWS source", "No AWS page"))
        assert urls or "botocore" in row.source or said_none, (
            f"line {row.line}: cite a docs.aws.amazon.com page or the botocore model: {row.source}"
        )


def test_every_named_test_exists(rows: list[Row]) -> None:
    for row in rows:
        if row.tests == "none":
            continue
        for ref in (part.strip() for part in row.tests.split(";")):
            found = _TEST_REF.match(ref)
            assert found, f"line {row.line}: not path::test_name: {ref!r}"
            path = ROOT / found["path"]
            assert path.is_file(), f"line {row.line}: no file {found['path']}"
            defined = re.search(
                rf"^\s*(async\s+)?def {re.escape(found['name'])}\(",
                path.read_text(encoding="utf-8"),
                re.MULTILINE,
            )
            assert defined, (
                f"line {row.line}: no def {found['name']} in {found['path']}"
            )


def test_a_row_without_a_test_states_its_gap(rows: list[Row]) -> None:
    for row in rows:
        if row.tests == "none" or row.is_gap:
            assert row.gaps.lower() not in ("", "none", "none known."), (
                f"line {row.line}: no test or a gap row, so the gap must be stated"
            )


def test_a_row_without_a_source_says_so_honestly(rows: list[Row]) -> None:
    for row in rows:
        if row.source.startswith(("No AWS source", "No AWS page")):
            gaps = row.gaps.lower()
            assert (
                "no aws source found; stricter behaviour chosen" in gaps
                or "gap" in gaps
                or row.is_gap
            ), (
                f"line {row.line}: no source: say stricter behaviour was chosen, or that it is a gap"
            )


def test_every_sandbox_module_modelling_aws_is_named(rows: list[Row]) -> None:
    for module in AWS_MODULES:
        assert (SANDBOX / module).exists() or (SANDBOX / f"{module}.py").exists(), (
            module
        )
        assert any(f"`{module}`" in row.behaviour for row in rows), (
            f"no row names `{module}`"
        )


def test_every_closed_difference_has_a_fidelity_row(rows: list[Row]) -> None:
    fidelity_rows = [row for row in rows if not row.is_gap]
    for phrase in CLOSED_DIFFERENCES:
        assert any(phrase in row.behaviour for row in fidelity_rows), (
            f"no fidelity row names {phrase!r}"
        )


@cache
def _model(service: str, version: str) -> dict[str, Any]:
    botocore = pytest.importorskip("botocore")
    path = (
        Path(botocore.__file__).parent
        / "data"
        / service
        / version
        / "service-2.json.gz"
    )
    if not path.is_file():
        path = path.with_suffix("")  # an uncompressed model
    assert path.is_file(), f"no botocore model {service}/{version}"
    with gzip.open(path, "rt") if path.suffix == ".gz" else path.open() as model:
        loaded: dict[str, Any] = json.load(model)
    return loaded


def test_every_botocore_citation_names_a_real_shape(rows: list[Row]) -> None:
    cited = 0
    for row in rows:
        for found in _BOTOCORE.finditer(row.source):
            cited += 1
            model = _model(found["service"], found["version"])
            name, member = found["shape"], found["member"]
            where = f"line {row.line}: {found[0]}"
            if name in model["operations"]:
                operation = model["operations"][name]
                assert member is None, (
                    f"{where}: name a shape's member, not an operation's"
                )
                errors = {error["shape"] for error in operation.get("errors", [])}
                for error in filter(
                    None, (e.strip() for e in (found["errors"] or "").split(","))
                ):
                    assert error in errors, (
                        f"{where}: {error} is not an error of {name}"
                    )
                continue
            assert name in model["shapes"], f"{where}: no shape or operation {name}"
            if member is not None:
                members = model["shapes"][name].get("members", {})
                assert member in members, f"{where}: {name} has no member {member}"
    assert cited > 0
