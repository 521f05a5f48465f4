"""Write the Lambda deployment zip reproducibly.

Same sources give the same bytes: entries are sorted, timestamps and permissions are
fixed, and only this project's runtime code goes in. The admin CLI is excluded (the
sandbox is a distribution of its own, in sandbox/, never under this package), and so are
boto3/botocore (the Lambda runtime has them) and Powertools with
pydantic (they come from the official Powertools layer).

Usage: python scripts/build_lambda_zip.py SRC_DIR OUT_ZIP
"""

from __future__ import annotations

import sys
import zipfile
from pathlib import Path

PACKAGE = "studio_recovery"
EXCLUDED_SUBPACKAGES = ("cli",)
FIXED_DATE = (1980, 1, 1, 0, 0, 0)
SIZE_BUDGET_BYTES = 200 * 1024


def runtime_files(src: Path) -> list[Path]:
    """Every file of the runtime package, sorted, without the CLI or caches."""
    root = src / PACKAGE
    files = []
    for path in root.rglob("*"):
        rel = path.relative_to(root)
        if not path.is_file() or "__pycache__" in rel.parts:
            continue
        if rel.parts[0] in EXCLUDED_SUBPACKAGES:
            continue
        if path.suffix not in {".py", ".typed", ".json"}:
            continue
        files.append(path)
    return sorted(files, key=lambda p: p.relative_to(src).as_posix())


def write_zip(src: Path, out: Path) -> int:
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".zip.tmp")
    with zipfile.ZipFile(
        tmp, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9
    ) as zf:
        for path in runtime_files(src):
            info = zipfile.ZipInfo(
                path.relative_to(src).as_posix(), date_time=FIXED_DATE
            )
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            info.create_system = 3
            zf.writestr(info, path.read_bytes())
    tmp.replace(out)  # never leave a half-written zip behind
    return out.stat().st_size


def main(argv: list[str]) -> int:
    if len(argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    src, out = Path(argv[1]), Path(argv[2])
    if not (src / PACKAGE / "__init__.py").is_file():
        print(f"error: {src} does not contain the {PACKAGE} package", file=sys.stderr)
        return 2
    size = write_zip(src, out)
    verdict = "ok" if size <= SIZE_BUDGET_BYTES else "OVER BUDGET"
    print(
        f"wrote {out} ({size / 1024:.1f} KB, budget {SIZE_BUDGET_BYTES // 1024} KB: {verdict})"
    )
    return 0 if size <= SIZE_BUDGET_BYTES else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
