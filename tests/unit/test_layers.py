"""The layers keep their jobs (docs/architecture.md): checked on the source, with `ast`.

- `logic/` (the decisions) imports nothing from `dal/` (not even for typing) and nothing
  from boto3/botocore: what it needs from AWS is a port (`logic/ports.py`), what it reads
  is a model (`models/`). It may name the service containers (`studio_recovery.services`,
  which build the AWS implementations) for typing only, under `if TYPE_CHECKING:`.
- Every error class of the library is defined in `models/errors.py`. The CLI's own
  presentation errors (`cli/errors.py`: exit codes and messages for people, never raised
  by the library) are the one exception, kept beside the CLI that renders them.

Each rule is also run on a small bad example, so that a checker that finds nothing
cannot pass unnoticed.
"""

from __future__ import annotations

import ast
import builtins
from collections.abc import Iterator
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "lambda_src" / "src" / "studio_recovery"
ERRORS_MODULE = "models/errors.py"
CLI_PRESENTATION_ERRORS = "cli/errors.py"
FORBIDDEN_IN_LOGIC = ("studio_recovery.dal", "boto3", "botocore", "mypy_boto3")
TYPING_ONLY_IN_LOGIC = ("studio_recovery.services",)
BUILTIN_EXCEPTIONS = frozenset(
    name
    for name in dir(builtins)
    if isinstance(getattr(builtins, name), type)
    and issubclass(getattr(builtins, name), BaseException)
)


def product_modules() -> Iterator[tuple[str, str]]:
    """(path relative to the package, source) of every product module (not the sandbox)."""
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(PACKAGE).as_posix()
        if not relative.startswith("sandbox/"):
            yield relative, path.read_text(encoding="utf-8")


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def imports(tree: ast.AST) -> Iterator[tuple[str, int, bool]]:
    """(module imported, line, under `if TYPE_CHECKING:`) of every import in `tree`."""

    def walk(node: ast.AST, typing_only: bool) -> Iterator[tuple[str, int, bool]]:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.Import):
                for alias in child.names:
                    yield alias.name, child.lineno, typing_only
            elif (
                isinstance(child, ast.ImportFrom) and child.module and child.level == 0
            ):
                yield child.module, child.lineno, typing_only
            elif isinstance(child, ast.If) and _is_type_checking(child.test):
                for statement in child.body:
                    yield from walk(ast.Module(body=[statement], type_ignores=[]), True)
                for statement in child.orelse:
                    yield from walk(
                        ast.Module(body=[statement], type_ignores=[]), typing_only
                    )
            else:
                yield from walk(child, typing_only)

    yield from walk(tree, False)


def _matches(module: str, prefixes: tuple[str, ...]) -> bool:
    return any(
        module == prefix or module.startswith(prefix + ".") for prefix in prefixes
    )


def logic_import_violations(relative: str, source: str) -> list[str]:
    """Imports a `logic/` module must not make."""
    found = []
    for module, line, typing_only in imports(ast.parse(source)):
        if _matches(module, FORBIDDEN_IN_LOGIC):
            found.append(f"{relative}:{line} imports {module}")
        elif _matches(module, TYPING_ONLY_IN_LOGIC) and not typing_only:
            found.append(f"{relative}:{line} imports {module} outside TYPE_CHECKING")
    return found


def error_classes(modules: list[tuple[str, str]]) -> list[tuple[str, str, int]]:
    """(class, module, line) of every exception class defined in `modules`: a class whose
    base is a built-in exception or, transitively, another such class."""
    classes: list[tuple[str, list[str], str, int]] = []
    for relative, source in modules:
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.ClassDef):
                bases = [
                    base.id if isinstance(base, ast.Name) else getattr(base, "attr", "")
                    for base in node.bases
                ]
                classes.append((node.name, bases, relative, node.lineno))
    errors: set[str] = set(BUILTIN_EXCEPTIONS)
    changed = True
    while changed:
        changed = False
        for name, bases, _, _ in classes:
            if name not in errors and any(base in errors for base in bases):
                errors.add(name)
                changed = True
    return [
        (name, relative, line)
        for name, bases, relative, line in classes
        if any(base in errors for base in bases)
    ]


def misplaced_errors(modules: list[tuple[str, str]]) -> list[str]:
    return [
        f"{relative}:{line} defines {name}"
        for name, relative, line in error_classes(modules)
        if relative not in {ERRORS_MODULE, CLI_PRESENTATION_ERRORS}
    ]


# ------------------------------------------------------------------------------- tests


def test_logic_imports_no_data_access_and_no_aws_sdk() -> None:
    logic = [(r, s) for r, s in product_modules() if r.startswith("logic/")]
    assert len(logic) >= 8, [r for r, _ in logic]
    violations = [
        v
        for relative, source in logic
        for v in logic_import_violations(relative, source)
    ]
    assert violations == []


def test_every_error_class_is_in_models_errors() -> None:
    modules = list(product_modules())
    defined = {
        name
        for name, relative, _ in error_classes(modules)
        if relative == ERRORS_MODULE
    }
    assert {"StudioRecoveryError", "TransientAwsError", "ResourceGoneError"} <= defined
    assert misplaced_errors(modules) == []


def test_the_checks_find_what_they_are_for() -> None:
    bad_logic = (
        "from typing import TYPE_CHECKING\n"
        "import botocore.exceptions\n"
        "from studio_recovery.services import TransferServices\n"
        "if TYPE_CHECKING:\n"
        "    from studio_recovery.dal.registry import RegistryRepository\n"
        "    from studio_recovery.services import StreamServices\n"
        "def f():\n"
        "    import boto3\n"
    )
    assert logic_import_violations("logic/bad.py", bad_logic) == [
        "logic/bad.py:2 imports botocore.exceptions",
        "logic/bad.py:3 imports studio_recovery.services outside TYPE_CHECKING",
        "logic/bad.py:5 imports studio_recovery.dal.registry",
        "logic/bad.py:8 imports boto3",
    ]
    bad_dal = (
        "from studio_recovery.models import errors\n"
        "class _Conflict(Exception): ...\n"
        "class Gone(errors.StudioRecoveryError): ...\n"
        "class Later(Gone): ...\n"
        "class Model(BaseModel): ...\n"
    )
    bad_errors = [
        (ERRORS_MODULE, "class StudioRecoveryError(Exception): ...\n"),
        ("dal/bad.py", bad_dal),
    ]
    assert misplaced_errors(bad_errors) == [
        "dal/bad.py:2 defines _Conflict",
        "dal/bad.py:3 defines Gone",
        "dal/bad.py:4 defines Later",
    ]
