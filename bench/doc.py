"""docs/BENCHMARKS.md keeps the latest table: `python -m bench --write-doc` rewrites it.

Only the text between the two markers is replaced; the prose around them is
the document's own. A document without the markers gets them appended.
"""

from __future__ import annotations

import os
import platform
import sqlite3
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from bench import pg
from bench.table import render, render_notes

if TYPE_CHECKING:
    from bench.__main__ import Outcome

DEFAULT_PATH = Path(__file__).resolve().parent.parent / "docs" / "BENCHMARKS.md"
START = "<!-- bench:table:start (python -m bench --write-doc rewrites what follows) -->"
END = "<!-- bench:table:end -->"


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _ram_gib() -> float | None:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    except (ValueError, OSError, AttributeError):
        return None


def machine(postgres_url: str | None) -> str:
    """One line: CPU model, cores, RAM, Python, SQLite and PostgreSQL versions."""
    ram = _ram_gib()
    version = pg.version(postgres_url) if postgres_url else None
    return (f"{_cpu_model()}, {os.cpu_count()} cores, "
            f"{f'{ram:.1f} GiB RAM' if ram is not None else 'RAM unknown'}; "
            f"Python {platform.python_version()}, SQLite {sqlite3.sqlite_version}, "
            f"PostgreSQL {version or 'not used'}")


def section(outcome: Outcome, command: str, *, quick: bool, now: datetime | None = None) -> str:
    """What goes between the markers: the command, the date, the machine, the table, the notes."""
    when = (now or datetime.now(UTC)).strftime("%Y-%m-%d %H:%M UTC")
    parts = [f"Command: `{command}`  ", f"Date: {when}  ", f"Machine: {machine(outcome.postgres_url)}",
             ""]
    if quick:
        parts += ["**Quick run** (`--quick`): every figure below is from the small size, not the "
                  "issue's; rows that extrapolate say so in their notes.", ""]
    parts += [render(outcome.rows), ""]
    notes = render_notes(outcome.rows)
    if notes:
        parts += ["What each row checked:", "", notes, ""]
    parts.append(outcome.postgres)
    return "\n".join(parts)


def write(path: Path, body: str) -> None:
    """Replace what lies between the markers in `path` with `body` (appending them if absent)."""
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    block = f"{START}\n{body}\n{END}"
    if START in text and END in text.split(START, 1)[1]:
        head, rest = text.split(START, 1)
        tail = rest.split(END, 1)[1]
        text = head + block + tail
    else:
        text = (text.rstrip("\n") + "\n\n" if text else "") + block + "\n"
    path.write_text(text, encoding="utf-8")
