"""`python -m bench` (or `minyi bench`): every benchmark, one table.

Run: .venv/bin/python -m bench [--quick] [--only P1,P4] [--postgres-url URL] [--write-doc] [--strict]

Each module in `REGISTRY` that exposes `rows(opts)` runs in turn and gives its
rows (bench/table.py). A module that does not exist yet, or has no `rows`,
is listed as "not available"; one that raises `Wrong` (its own check failed)
or any other error is listed as FAILED with the reason, and the exit status
is 1. `--strict` also exits 1 when a measured row misses its goal.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TextIO

from bench import doc, pg
from bench.table import Options, Row, Wrong, render, render_notes

# (goal key in issue 16's table, module): the order the table lists them in.
REGISTRY: list[tuple[str, str]] = [
    ("P1", "bench.bench_engine"),
    ("P2", "bench.bench_delivery"),
    ("P3", "bench.bench_search"),
    ("P4", "bench.bench_posters"),
    ("P4", "bench.bench_journal"),
    ("P4", "bench.bench_bulletin"),
    ("P5", "bench.bench_memory"),
    ("P6", "bench.bench_seed"),
    ("I13", "bench.bench_dashboard"),
    ("I13", "bench.bench_export"),
    ("I15", "bench.crash_drill"),
    ("I15", "bench.bench_web_scale"),
]

# Each goal as issue 16 (and 13, 15) state it: shown on a row that has no figure.
GOALS = {
    "bench.bench_engine": "≥ 1.0× pickle60 reports/CPU-s; p95 ≤ 10 ms",
    "bench.bench_delivery": "≥ 95 % of 30 msg/s; 0 lost, 0 duplicated",
    "bench.bench_search": "p95 ≤ 150 ms pages, ≤ 300 ms searches",
    "bench.bench_posters": "≤ 30 s CPU",
    "bench.bench_journal": "≤ 3 s",
    "bench.bench_bulletin": "≤ 10 s",
    "bench.bench_memory": "≤ the baseline's RSS growth",
    "bench.bench_seed": "≤ 10 min",
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options `python -m bench` and `minyi bench` share."""
    parser.add_argument("--quick", action="store_true",
                        help="small sizes: about a minute per benchmark (CI, a first try)")
    parser.add_argument("--only", metavar="KEYS",
                        help="comma-separated goal keys or module names: P1,P3 or bench_seed")
    parser.add_argument("--postgres-url", default=None,
                        help="a PostgreSQL server to create fresh databases on (default: "
                             "MINYI_BENCH_POSTGRES_URL or MINYI_TEST_POSTGRES_URL); "
                             "without one the PostgreSQL cases are skipped")
    parser.add_argument("--write-doc", nargs="?", const=str(doc.DEFAULT_PATH), default=None,
                        metavar="PATH", help="rewrite the table in docs/BENCHMARKS.md (or PATH)")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a goal is missed too")


@dataclass
class Outcome:
    rows: list[Row]
    postgres: str  # one line: which PostgreSQL server was used, or why its cases were skipped
    postgres_url: str | None

    @property
    def failed(self) -> list[Row]:
        return [r for r in self.rows if r.status == "FAILED"]

    @property
    def missed(self) -> list[Row]:
        return [r for r in self.rows if not r.status and not r.met]


def selected(only: str | None, registry: Sequence[tuple[str, str]] = REGISTRY) -> list[tuple[str, str]]:
    """The registry entries `--only` names (all without it); an unknown name is an error."""
    if not only:
        return list(registry)
    wanted = {w.strip() for w in only.split(",") if w.strip()}
    chosen = [(key, module) for key, module in registry
              if {key, module, module.removeprefix("bench.")} & wanted]
    known = {n for key, module in registry for n in (key, module, module.removeprefix("bench."))}
    unknown = sorted(wanted - known)
    if unknown:
        raise SystemExit(f"bench: unknown benchmark {', '.join(unknown)}; known: "
                         f"{', '.join(dict.fromkeys(k for k, _ in registry))} or a module name")
    return chosen


def postgres(url: str | None) -> tuple[str | None, str]:
    """(the URL to hand benchmarks, or None; one line saying so)."""
    url = pg.normalise(url) if url else pg.configured()
    if url is None:
        return None, ("PostgreSQL: no server given (--postgres-url or MINYI_BENCH_POSTGRES_URL); "
                      "PostgreSQL cases skipped")
    why = pg.unreachable(url)
    if why is not None:
        return None, f"{why}; PostgreSQL cases skipped"
    return url, f"PostgreSQL: fresh databases on {pg.display(url)}"


def run_one(key: str, module: str, opts: Options) -> list[Row]:
    """The rows of one benchmark, or one row saying why there are none."""
    rows = _run_one(key, module, opts)
    goal = GOALS.get(module, "")
    return [replace(r, goal=goal) if r.status and not r.goal else r for r in rows]


def _run_one(key: str, module: str, opts: Options) -> list[Row]:
    name = module.removeprefix("bench.")
    try:
        mod = importlib.import_module(module)
    except ModuleNotFoundError as exc:
        if exc.name != module:  # the module exists but something it imports does not
            return [Row.unmeasured(key, name, "FAILED", f"import: {exc}")]
        return [Row.unmeasured(key, name, "not available", "no such module yet")]
    rows = getattr(mod, "rows", None)
    if not callable(rows):
        return [Row.unmeasured(key, name, "not available", "has no rows(opts) yet")]
    started = time.process_time()
    try:
        out = list(rows(opts))
    except Wrong as exc:
        return [Row.unmeasured(key, name, "FAILED", f"wrong output: {exc}")]
    except Exception as exc:  # noqa: BLE001 - one benchmark's crash is a line in the table
        return [Row.unmeasured(key, name, "FAILED", f"{type(exc).__name__}: {exc}")]
    opts.say(f"bench: {name} done in {time.process_time() - started:.1f} CPU s")
    return out


def run(quick: bool = False, only: str | None = None, postgres_url: str | None = None,
        out: TextIO | None = None, registry: Sequence[tuple[str, str]] | None = None) -> Outcome:
    url, line = postgres(postgres_url)
    opts = Options(quick=quick, postgres_url=url, out=out or sys.stderr)
    opts.say(line)
    rows: list[Row] = []
    for key, module in selected(only, REGISTRY if registry is None else registry):
        opts.say(f"bench: {module} ...")
        rows.extend(run_one(key, module, opts))
    return Outcome(rows, line, url)


def parse(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=(__doc__ or "").splitlines()[0])
    add_arguments(parser)
    return parser.parse_args(argv)


def main(args: argparse.Namespace, argv: Sequence[str] | None = None, out: TextIO | None = None,
         registry: Sequence[tuple[str, str]] | None = None) -> int:
    """Run, print the table (and write the doc); the exit status."""
    from bench import install_data_key

    install_data_key()
    out = out or sys.stdout
    outcome = run(args.quick, args.only, args.postgres_url, registry=registry)
    print(render(outcome.rows), file=out)
    notes = render_notes(outcome.rows)
    if notes:
        print("\n" + notes, file=out)
    print("\n" + outcome.postgres, file=out)
    if args.write_doc:
        command = "python -m bench " + " ".join(argv if argv is not None else sys.argv[1:])
        path = Path(args.write_doc)
        doc.write(path, doc.section(outcome, command.strip(), quick=args.quick))
        print(f"wrote the table to {path}", file=out)
    if outcome.failed:
        print(f"{len(outcome.failed)} benchmark(s) FAILED", file=out)
        return 1
    if args.strict and outcome.missed:
        print(f"{len(outcome.missed)} goal(s) missed (--strict)", file=out)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(parse()))
