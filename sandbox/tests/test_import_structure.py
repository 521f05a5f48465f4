"""The package's structure: no import cycles, no private names across modules, and the
product never imports the sandbox.

The import graph is read from the source (ast), imports inside functions and under
`TYPE_CHECKING` included: an import moved into a function still counts.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SANDBOX_SRC = REPO / "sandbox" / "src"
PRODUCT_SRC = REPO / "lambda_src" / "src"
PACKAGE = "studio_sandbox"


@dataclass
class Package:
    """Every module of one package (dotted name -> file) and what each imports."""

    modules: dict[str, Path]
    edges: dict[str, set[str]] = field(default_factory=dict)
    private_uses: list[str] = field(default_factory=list)


def module_name(src: Path, path: Path) -> str:
    parts = list(path.relative_to(src).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _resolve(importer: str, is_package: bool, level: int, target: str | None) -> str:
    """The absolute name of a (possibly relative) `from ... import`."""
    if level == 0:
        return target or ""
    base = importer.split(".")
    if not is_package:
        base = base[:-1]
    base = base[: len(base) - (level - 1)]
    return ".".join([*base, target] if target else base)


def scan(src: Path, package: str) -> Package:
    """Read every module of `package` under `src`: its imports of the package's modules, and
    every use of another module's private (`_name`) names."""
    files = sorted((src / package).rglob("*.py"))
    result = Package({module_name(src, f): f for f in files})
    known = set(result.modules)
    for name, path in result.modules.items():
        is_package = path.name == "__init__.py"
        edges = result.edges.setdefault(name, set())
        aliases: dict[str, str] = {}  # local name -> imported module of the package
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name in known:
                        edges.add(alias.name)
                        if alias.asname:
                            aliases[alias.asname] = alias.name
            elif isinstance(node, ast.ImportFrom):
                base = _resolve(name, is_package, node.level, node.module)
                if base != package and not base.startswith(package + "."):
                    continue
                for alias in node.names:
                    full = f"{base}.{alias.name}"
                    if full in known:  # `from pkg import module`
                        edges.add(full)
                        aliases[alias.asname or alias.name] = full
                    else:  # `from module import name`
                        if base in known:
                            edges.add(base)
                        if alias.name.startswith("_") and base != name:
                            result.private_uses.append(f"{name} imports {base}.{alias.name}")
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Attribute)
                and isinstance(node.value, ast.Name)
                and node.value.id in aliases
                and node.attr.startswith("_")
                and not node.attr.startswith("__")
                and aliases[node.value.id] != name
            ):
                result.private_uses.append(
                    f"{name} uses {aliases[node.value.id]}.{node.attr} (line {node.lineno})"
                )
        edges.discard(name)
    return result


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Every strongly connected group of more than one module (Tarjan), sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(edges.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return sorted(found)


def test_the_sandbox_has_no_import_cycle() -> None:
    package = scan(SANDBOX_SRC, PACKAGE)

    assert len(package.modules) > 20  # the scan found the package
    assert cycles(package.edges) == []


def test_no_sandbox_module_uses_another_modules_private_names() -> None:
    assert scan(SANDBOX_SRC, PACKAGE).private_uses == []


def test_no_product_module_imports_the_sandbox() -> None:
    offenders = []
    for path in sorted((PRODUCT_SRC / "studio_recovery").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                names = [node.module or ""]
            offenders += [
                f"{path.relative_to(REPO)}:{node.lineno} imports {n}"
                for n in names
                if n == PACKAGE or n.startswith(PACKAGE + ".")
            ]

    assert offenders == []


def test_no_sandbox_file_is_left_under_the_product() -> None:
    assert not (PRODUCT_SRC / "studio_recovery" / "sandbox").exists()


# ---- the checks themselves can fail


def _write(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        path = root / "pkg" / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        (
            {"__init__.py": "", "a.py": "from pkg import b\n", "b.py": "import pkg.a\n"},
            [["pkg.a", "pkg.b"]],
        ),
        (  # hidden in a function, and through a relative import inside a subpackage
            {
                "__init__.py": "",
                "a.py": "def f():\n    from pkg.sub.c import thing\n",
                "sub/__init__.py": "",
                "sub/c.py": "from ..a import f\nthing = 1\n",
            },
            [["pkg.a", "pkg.sub.c"]],
        ),
        ({"__init__.py": "", "a.py": "from pkg import b\n", "b.py": "x = 1\n"}, []),
    ],
)
def test_a_cycle_is_found(tmp_path: Path, files: dict[str, str], expected: list[list[str]]) -> None:
    package = scan(_write(tmp_path, files), "pkg")

    assert cycles(package.edges) == expected


def test_a_private_name_used_across_modules_is_found(tmp_path: Path) -> None:
    files = {
        "__init__.py": "",
        "a.py": "_secret = 1\nfrom pkg.a import _secret as again\n",
        "b.py": "from pkg.a import _secret\n",
        "c.py": "from pkg import a\n\nvalue = a._secret\n",
    }
    package = scan(_write(tmp_path, files), "pkg")

    assert package.private_uses == [
        "pkg.b imports pkg.a._secret",
        "pkg.c uses pkg.a._secret (line 3)",
    ]
