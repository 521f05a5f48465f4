"""The README's Terraform inputs and outputs tables match variables.tf and outputs.tf.

The root module's tables live in README.md between `<!-- BEGIN_TF_DOCS -->` and
`<!-- END_TF_DOCS -->`; each
submodule's tables live in its own README.md between the same markers.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BEGIN, END = "<!-- BEGIN_TF_DOCS -->", "<!-- END_TF_DOCS -->"
BLOCK_START = re.compile(r'^(variable|output) "([A-Za-z0-9_]+)" \{\s*$', re.MULTILINE)
ATTRIBUTE = re.compile(r"^  (type|default)\s+= (.+)$", re.MULTILINE)
ROW = re.compile(r"^\|\s*`?([A-Za-z0-9_]+)`?\s*\|(.*)\|\s*$")
# Every module under modules/ has a README whose tables must match its variables and outputs.
MODULES = sorted(
    p.name for p in (ROOT / "modules").iterdir() if (p / "variables.tf").exists()
)


@dataclass(frozen=True)
class Variable:
    """What a table row must say about one variable."""

    name: str
    required: bool
    default: (
        str | None
    )  # the one-line default as written, None when multi-line or absent


def blocks(text: str, kind: str) -> dict[str, str]:
    """Body of every top-level `variable`/`output` block, by name."""
    found: dict[str, str] = {}
    for match in BLOCK_START.finditer(text):
        if match.group(1) != kind:
            continue
        end = text.find("\n}", match.end())
        found[match.group(2)] = text[match.end() : end]
    return found


def variables_of(module_dir: Path) -> dict[str, Variable]:
    """Every variable of a module, with whether it is required and its one-line default."""
    result: dict[str, Variable] = {}
    for name, body in blocks(
        (module_dir / "variables.tf").read_text(), "variable"
    ).items():
        attributes = {key: value.strip() for key, value in ATTRIBUTE.findall(body)}
        default = attributes.get("default")
        one_line = (
            default if default is not None and default[-1:] not in "{[(" else None
        )
        result[name] = Variable(name=name, required=default is None, default=one_line)
    return result


def outputs_of(module_dir: Path) -> set[str]:
    """Names of every output of a module."""
    return set(blocks((module_dir / "outputs.tf").read_text(), "output"))


def docs_section(readme: Path) -> str:
    """The generated part of a README, between the markers."""
    text = readme.read_text()
    assert BEGIN in text and END in text, f"{readme} has no {BEGIN} ... {END} section"
    return text[text.index(BEGIN) + len(BEGIN) : text.index(END)]


def table_rows(section: str, heading: str) -> dict[str, list[str]]:
    """Rows (first cell -> other cells) of the table under a `## Inputs`/`## Outputs` heading."""
    match = re.search(rf"^#+ {heading}\s*$", section, re.MULTILINE)
    assert match, f"no '{heading}' heading"
    rows: dict[str, list[str]] = {}
    for line in section[match.end() :].lstrip("\n").splitlines():
        if not line.startswith("|"):
            break
        row = ROW.match(line)
        if row and row.group(1) not in {"Name"} and not set(line) <= set("|-: "):
            rows[row.group(1)] = [cell.strip() for cell in row.group(2).split("|")]
    return rows


def root_docs() -> Path:
    """The repository README holds the root module's tables."""
    return ROOT / "README.md"


CASES = [(ROOT, root_docs())] + [
    (ROOT / "modules" / m, ROOT / "modules" / m / "README.md") for m in MODULES
]
IDS = ["root"] + MODULES


@pytest.mark.parametrize(("module_dir", "readme"), CASES, ids=IDS)
def test_inputs_table_lists_every_variable(module_dir: Path, readme: Path) -> None:
    # given the module's variables and its README
    variables = variables_of(module_dir)
    rows = table_rows(docs_section(readme), "Inputs")
    # then the table names exactly those variables
    assert set(rows) == set(variables)


@pytest.mark.parametrize(("module_dir", "readme"), CASES, ids=IDS)
def test_inputs_table_says_which_are_required_and_their_defaults(
    module_dir: Path, readme: Path
) -> None:
    variables = variables_of(module_dir)
    rows = table_rows(docs_section(readme), "Inputs")
    for name, variable in variables.items():
        # columns: Description | Type | Default | Required
        description, _type, default, required = rows[name][:4]
        assert description, f"{name}: empty description"
        assert required == ("yes" if variable.required else "no"), name
        if variable.required:
            assert default == "n/a", name
        elif variable.default is not None:
            assert default == f"`{variable.default}`", name


@pytest.mark.parametrize(("module_dir", "readme"), CASES, ids=IDS)
def test_outputs_table_lists_every_output(module_dir: Path, readme: Path) -> None:
    outputs = outputs_of(module_dir)
    rows = table_rows(docs_section(readme), "Outputs")
    assert set(rows) == outputs
    assert all(cells and cells[0] for cells in rows.values())


def test_root_outputs_are_the_documented_contract() -> None:
    # docs/internals.md section 5 lists what the admin CLI reads with --tf-output
    internals = (ROOT / "docs" / "internals.md").read_text()
    section = internals[internals.index("## 5.") : internals.index("## 6.")]
    contract = set(re.findall(r"`([a-z_]+)`", section)) - {"null"}
    assert contract <= outputs_of(ROOT)


def test_parser_sees_a_missing_row(tmp_path: Path) -> None:
    # given a module with two variables and a README that documents one
    (tmp_path / "variables.tf").write_text(
        'variable "a" {\n  type        = string\n}\n\n'
        'variable "b" {\n  type        = number\n  default     = 3\n}\n'
    )
    readme = tmp_path / "README.md"
    readme.write_text(
        f"{BEGIN}\n## Inputs\n\n| Name | Description | Type | Default | Required |\n"
        f"|---|---|---|---|:---:|\n| `a` | A. | `string` | n/a | yes |\n{END}\n"
    )
    # then the comparison finds the difference
    variables = variables_of(tmp_path)
    assert variables["b"] == Variable(name="b", required=False, default="3")
    assert set(table_rows(docs_section(readme), "Inputs")) != set(variables)
