"""The Lambda zip is reproducible and holds only runtime code."""

from __future__ import annotations

import hashlib
import importlib.util
import sys
import zipfile
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[2]
SRC = ROOT / "lambda_src" / "src"


def _load_builder() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "build_lambda_zip", ROOT / "scripts" / "build_lambda_zip.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


builder = _load_builder()


def test_same_sources_give_the_same_bytes(tmp_path: Path) -> None:
    first, second = tmp_path / "a.zip", tmp_path / "b.zip"
    builder.write_zip(SRC, first)
    builder.write_zip(SRC, second)
    assert (
        hashlib.sha256(first.read_bytes()).digest()
        == hashlib.sha256(second.read_bytes()).digest()
    )


def test_only_runtime_code_is_packaged(tmp_path: Path) -> None:
    out = tmp_path / "lambda.zip"
    builder.write_zip(SRC, out)
    names = zipfile.ZipFile(out).namelist()
    assert "studio_recovery/__init__.py" in names
    assert names == sorted(names)
    forbidden = (
        "studio_recovery/cli/",
        "studio_recovery/sandbox/",
        "boto3/",
        "botocore/",
    )
    assert not [n for n in names if n.startswith(forbidden) or "__pycache__" in n]
    assert all(n.startswith("studio_recovery/") for n in names)


def test_entries_have_fixed_timestamps_and_permissions(tmp_path: Path) -> None:
    out = tmp_path / "lambda.zip"
    builder.write_zip(SRC, out)
    for info in zipfile.ZipFile(out).infolist():
        assert info.date_time == (1980, 1, 1, 0, 0, 0)
        assert (info.external_attr >> 16) == 0o644


def test_refuses_a_directory_without_the_package(tmp_path: Path) -> None:
    assert builder.main(["build", str(tmp_path), str(tmp_path / "x.zip")]) == 2
    assert not (tmp_path / "x.zip").exists()
