"""The benchmark's result model, goal checks, the table and the JSON file (no I/O besides
`write_json`). Kept apart from the measurements so a unit test can drive it with fake
numbers."""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, Literal

Direction = Literal["higher", "lower", "max"]
GOAL_MISSED = "GOAL MISSED"


@dataclass(frozen=True)
class Goal:
    """A target for one row: `ratio >= value` (higher), `ours <= value` (max)."""

    direction: Direction
    value: float
    text: str

    def met(self, row: Row) -> bool | None:
        """True/False when the row can be judged; None when a figure is missing."""
        figure = row.ratio if self.direction == "higher" else row.ours
        if figure is None or (isinstance(figure, float) and math.isnan(figure)):
            return None
        if self.direction == "higher":
            return figure >= self.value
        return figure <= self.value


@dataclass
class Row:
    """One line of the table: our figure beside the baseline's, same unit."""

    section: str
    metric: str
    ours: float | None
    baseline: float | None = None
    unit: str = ""
    goal: Goal | None = None
    note: str = ""
    ratio_kind: Literal["baseline/ours", "ours/baseline", "none"] = "baseline/ours"

    @property
    def ratio(self) -> float | None:
        """How many times better ours is (baseline/ours), or ours/baseline when asked."""
        if self.ratio_kind == "none" or self.ours is None or self.baseline is None:
            return None
        num, den = (
            (self.baseline, self.ours)
            if self.ratio_kind == "baseline/ours"
            else (self.ours, self.baseline)
        )
        if den == 0:
            return math.inf if num > 0 else None
        return num / den

    @property
    def status(self) -> str:
        if self.goal is None:
            return ""
        met = self.goal.met(self)
        if met is None:
            return "not measured"
        return "ok" if met else GOAL_MISSED


@dataclass
class Results:
    """Everything one run measured: the rows, the raw details, and the context."""

    rows: list[Row] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)
    meta: dict[str, Any] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)

    def add(self, row: Row) -> Row:
        self.rows.append(row)
        return row

    @property
    def missed(self) -> list[Row]:
        return [row for row in self.rows if row.status == GOAL_MISSED]


def fmt(value: float | None, unit: str = "") -> str:
    """A figure for the table: 3 significant digits, thousands separated, unit appended."""
    if value is None:
        return "-"
    if math.isinf(value):
        return "inf"
    if unit == "$":
        text = f"${value:,.6f}" if abs(value) < 0.01 else f"${value:,.4f}"
        return text.rstrip("0").rstrip(".") if "." in text else text
    if value == int(value) and abs(value) >= 1:
        text = f"{int(value):,}"
    elif abs(value) >= 100:
        text = f"{value:,.0f}"
    elif abs(value) >= 10:
        text = f"{value:.1f}"
    else:
        text = f"{value:.3g}"
    return f"{text} {unit}".strip() if unit else text


def fmt_ratio(row: Row) -> str:
    ratio = row.ratio
    if ratio is None:
        return "-"
    if math.isinf(ratio):
        return "inf"
    return f"{ratio:.1f}x" if ratio < 100 else f"{ratio:,.0f}x"


HEADER = ("Section", "Measure", "Ours", "Baseline", "Ratio", "Goal", "Status")


def table_rows(rows: Iterable[Row]) -> list[tuple[str, ...]]:
    """The rows as text cells, in HEADER order."""
    return [
        (
            row.section,
            row.metric + (f" ({row.note})" if row.note else ""),
            fmt(row.ours, row.unit),
            fmt(row.baseline, row.unit),
            fmt_ratio(row),
            row.goal.text if row.goal else "",
            row.status,
        )
        for row in rows
    ]


def render_markdown(rows: Sequence[Row]) -> str:
    """A Markdown table (it reads well in a terminal too)."""
    cells = [HEADER, *table_rows(rows)]
    widths = [max(len(line[i]) for line in cells) for i in range(len(HEADER))]

    def line(values: Sequence[str]) -> str:
        return (
            "| "
            + " | ".join(v.ljust(w) for v, w in zip(values, widths, strict=True))
            + " |"
        )

    separator = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
    return "\n".join([line(cells[0]), separator, *(line(c) for c in cells[1:])])


def summary(results: Results) -> str:
    """One closing line: goals met or the list of missed ones."""
    judged = [row for row in results.rows if row.goal is not None]
    missed = results.missed
    text = f"{len(judged) - len(missed)}/{len(judged)} goals met"
    if missed:
        text += (
            "; "
            + GOAL_MISSED
            + ": "
            + ", ".join(f"{r.section}/{r.metric}" for r in missed)
        )
    if results.errors:
        text += f"; {len(results.errors)} part(s) failed: " + "; ".join(results.errors)
    return text


def to_json(results: Results) -> dict[str, Any]:
    """JSON-ready form: rows with their computed ratio and status."""
    rows = []
    for row in results.rows:
        data = asdict(row)
        ratio = row.ratio
        data["ratio"] = None if ratio is None or math.isinf(ratio) else ratio
        data["status"] = row.status
        rows.append(data)
    return {
        "meta": results.meta,
        "rows": rows,
        "details": results.details,
        "errors": results.errors,
        "goals_missed": [f"{r.section}/{r.metric}" for r in results.missed],
    }


def write_json(results: Results, path: Path) -> Path:
    path.write_text(
        json.dumps(to_json(results), indent=2, sort_keys=True, default=str) + "\n"
    )
    return path


def keep_other_sections(results: Results, path: Path) -> None:
    """Add the rows, details and part times of an earlier `path` for the sections this
    (partial) run did not measure, so `--only` updates its own rows and keeps the rest."""
    if not path.is_file():
        return
    earlier = json.loads(path.read_text())
    measured = {row.section for row in results.rows}
    names = {f.name for f in fields(Row)}
    for data in earlier.get("rows", []):
        if data.get("section") in measured:
            continue
        row = {k: v for k, v in data.items() if k in names}
        goal = row.get("goal")
        row["goal"] = Goal(**goal) if isinstance(goal, dict) else None
        results.rows.append(Row(**row))
    for key, value in earlier.get("details", {}).items():
        results.details.setdefault(key, value)
    seconds = results.meta.setdefault("part_seconds", {})
    for part, spent in earlier.get("meta", {}).get("part_seconds", {}).items():
        seconds.setdefault(part, spent)
    results.meta["kept_from"] = earlier.get("meta", {}).get("started_at")
