"""One line of `python -m bench`'s table, and the table itself.

Every benchmark module that takes part exposes

    def rows(opts: bench.table.Options) -> list[bench.table.Row]

which runs the benchmark (at full size unless `opts.quick`), checks its own
output (every report stored once, every message delivered once: a fast wrong
answer raises `Wrong`, it never becomes a row) and returns one row per
figure it measured, each beside the baseline measured in the same run.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, TextIO


class Wrong(AssertionError):
    """A benchmark's own check failed: its figure would mean nothing."""


@dataclass(frozen=True)
class Options:
    quick: bool = False  # a small size that runs in about a minute, for CI and a first try
    postgres_url: str | None = None  # an empty PostgreSQL database to use, or None: SQLite only
    out: TextIO = field(default_factory=lambda: sys.stderr)  # progress lines go here

    def say(self, *parts: Any) -> None:
        print(*parts, file=self.out, flush=True)


@dataclass(frozen=True)
class Row:
    key: str  # the goal's number in issue 16's table, with the case: "P1 sqlite", "P3 clerk 3-char"
    what: str  # what was measured, in a few words
    figure: float  # the project's figure
    unit: str  # its unit: "reports/CPU-s", "ms p95", "msg/s", "MiB"
    goal: str  # as the issue states it: "≥ 1.0× baseline", "≤ 150 ms"
    met: bool
    baseline: float | None = None  # the baseline's figure in the same run, in the same unit
    higher_is_better: bool = True
    note: str = ""  # what the benchmark checked, or why a figure is missing
    status: str = ""  # "" when measured; "not available", "skipped" or "FAILED" (then `note` says why)

    @classmethod
    def unmeasured(cls, key: str, what: str, status: str, why: str, goal: str = "") -> Row:
        """A line for a benchmark that gave no figure: missing, skipped, or failed (`why`)."""
        return cls(key, what, float("nan"), "", goal, False, status=status, note=why)

    @property
    def ratio(self) -> float | None:
        """How many times better than the baseline (> 1 is better), whichever way the unit runs."""
        if self.baseline is None or not self.figure or not self.baseline:
            return None
        return self.figure / self.baseline if self.higher_is_better else self.baseline / self.figure


def _num(value: float | None) -> str:
    if value is None:
        return "—"
    if value >= 100:
        return f"{value:,.0f}"
    if value >= 10:
        return f"{value:.1f}"
    return f"{value:.3g}"


def _cell(text: str) -> str:
    """`text` on one table line: newlines and pipes would break the Markdown table."""
    return " ".join(text.split()).replace("|", "\\|")


def render(rows: Iterable[Row]) -> str:
    """A Markdown table: what docs/BENCHMARKS.md keeps and `python -m bench` prints."""
    lines = ["| # | what | project | baseline | ratio | goal | met |",
             "| --- | --- | --- | --- | --- | --- | --- |"]
    for r in rows:
        if r.status:
            lines.append(f"| {r.key} | {r.what} | {r.status}: {_cell(r.note)} | — | — | {r.goal} | "
                         f"{'FAILED' if r.status == 'FAILED' else '—'} |")
            continue
        ratio = r.ratio
        lines.append(
            f"| {r.key} | {r.what} | {_num(r.figure)} {r.unit} | "
            f"{_num(r.baseline) + ' ' + r.unit if r.baseline is not None else '—'} | "
            f"{f'{ratio:.2f}×' if ratio is not None else '—'} | {r.goal} | {'yes' if r.met else 'NO'} |")
    return "\n".join(lines)


def render_notes(rows: Iterable[Row]) -> str:
    """What each measured row checked (its `note`), one line each, to print below the table."""
    return "\n".join(f"- {r.key}, {r.what}: {_cell(r.note)}" for r in rows if r.note and not r.status)
