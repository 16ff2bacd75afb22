"""`python -m bench` (one row) and `python -m bench.crash_drill` (the command line)."""

from __future__ import annotations

import argparse
import signal
import sys
import time
from pathlib import Path
from typing import Any

import bench.crash_drill
from bench.crash_drill.checks import IN_DOUBT_MS
from bench.crash_drill.conversations import CONCURRENCY
from bench.crash_drill.drill import run
from bench.crash_drill.processes import KILL_EVERY
from bench.table import Options, Row


def rows(opts: Options) -> list[Row]:
    """One row: the full drill (1,000 conversations; 40 with `quick`), problems found."""
    n = 40 if opts.quick else 1000
    found = [run(n, say=opts.say)]
    if opts.postgres_url:
        found.append(run(n, postgres_url=opts.postgres_url, say=opts.say))
    out = []
    for r in found:
        kills = sum(r.kills.values())
        doubt = (f" ({len(r.in_doubt)} twice: a kill within {IN_DOUBT_MS} ms of Telegram "
                 f"accepting the first copy)" if r.in_doubt else "")
        out.append(Row(key=f"15.2 {'pg' if 'PostgreSQL' in r.mode else 'sqlite'}",
                       what=f"{r.conversations} conversations, {kills} SIGKILLs ({r.mode})",
                       figure=float(len(r.problems)), unit="problems", goal="= 0",
                       met=not r.problems and kills > 0, higher_is_better=False,
                       note=f"{r.receipts} receipts, {r.reports} reports, {r.feedback} feedback"
                            f"{doubt}; "
                            f"{r.seconds:.0f} s wall, {r.cpu:.0f} CPU s"))
    return out


def main(argv: list[str] | None = None) -> int:
    # The drill's docstring is the package's; run as a package, argv[0] would be __main__.py.
    parser = argparse.ArgumentParser(prog="python -m bench.crash_drill",
                                     description=str(bench.crash_drill.__doc__).split("\n")[0])
    parser.add_argument("--conversations", type=int, default=1000)
    parser.add_argument("--postgres", help="a PostgreSQL server URL: run the split deployment "
                                           "on a fresh database there (else minyi serve on SQLite)")
    parser.add_argument("--seed", type=int, default=15)
    parser.add_argument("--kill-every", type=float, default=KILL_EVERY,
                        help="seconds between kills, about")
    parser.add_argument("--concurrency", type=int, default=CONCURRENCY,
                        help="conversations in flight at once")
    parser.add_argument("--telegram", choices=("polling", "webhook"),
                        help="how `minyi bot` takes updates (default: webhook on PostgreSQL)")
    parser.add_argument("--keep", type=Path, help="a folder to keep the processes' logs in")
    args = parser.parse_args(argv)
    # Stopped from outside: the processes are stopped on the way out, not left running.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    t0 = time.monotonic()

    def say(*parts: Any) -> None:
        print(f"[{time.monotonic() - t0:5.0f} s]", *parts, flush=True)

    result = run(args.conversations, say=say, postgres_url=args.postgres, seed=args.seed,
                 kill_every=args.kill_every, concurrency=args.concurrency, base=args.keep,
                 webhook=None if args.telegram is None else args.telegram == "webhook")
    return 1 if result.problems else 0
