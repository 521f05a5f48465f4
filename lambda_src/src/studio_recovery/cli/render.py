"""Output: rich tables and progress on a terminal, plain JSON with `--json`."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any, TextIO

from rich.console import Console
from rich.table import Table

_WIDE = 200
"""Width of tables when the output is not a terminal (files, pipes, tests)."""


def _default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, set | frozenset | tuple):
        return sorted(value) if isinstance(value, set | frozenset) else list(value)
    return str(value)


def to_json(data: Any) -> str:
    """JSON text of `data` (Decimals from DynamoDB become numbers)."""
    return json.dumps(data, indent=2, default=_default, sort_keys=False)


class Output:
    """Where a command writes: tables and messages, or one JSON document."""

    def __init__(self, json_mode: bool = False, stream: TextIO | None = None) -> None:
        self.json_mode = json_mode
        self.stream = stream if stream is not None else sys.stdout
        terminal = self.stream.isatty()
        self.console = Console(
            file=self.stream,
            width=None if terminal else _WIDE,
            highlight=False,
            soft_wrap=not terminal,
        )

    @property
    def interactive(self) -> bool:
        """True when progress displays make sense (a terminal, not --json)."""
        return not self.json_mode and self.console.is_terminal

    def json(self, data: Any) -> None:
        """Write one JSON document (only in --json mode does anything else stay quiet)."""
        self.stream.write(to_json(data) + "\n")

    def line(self, text: str) -> None:
        """A message for people; silent in --json mode."""
        if not self.json_mode:
            self.console.print(text, markup=False)

    def table(
        self, title: str | None, columns: Sequence[str], rows: Iterable[Sequence[Any]]
    ) -> None:
        """A rich table; cells are shown with `cell()`."""
        table = Table(title=title, title_justify="left")
        for column in columns:
            table.add_column(column, overflow="fold")
        for row in rows:
            table.add_row(*(cell(value) for value in row))
        self.console.print(table)


def cell(value: Any) -> str:
    """A value as shown in a table: `-` for nothing, whole numbers without decimals."""
    if value is None or value == "":
        return "-"
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, Decimal):
        return str(int(value)) if value == value.to_integral_value() else str(value)
    return str(value)


def human_bytes(value: Any) -> str | None:
    """`1.5 GiB` for a byte count; None when unknown."""
    if value is None:
        return None
    amount = float(value)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if amount < 1024 or unit == "TiB":
            return f"{amount:.0f} {unit}" if unit == "B" else f"{amount:.1f} {unit}"
        amount /= 1024
    return None  # pragma: no cover - the loop always returns


def human_duration(milliseconds: Any) -> str | None:
    """`1m 05s` for a duration in milliseconds; None when unknown."""
    if milliseconds is None:
        return None
    seconds = int(milliseconds) // 1000
    minutes, seconds = divmod(seconds, 60)
    hours, minutes = divmod(minutes, 60)
    if hours:
        return f"{hours}h {minutes:02d}m"
    if minutes:
        return f"{minutes}m {seconds:02d}s"
    return f"{seconds}s"
