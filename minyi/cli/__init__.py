"""The `minyi` command: set up the database, add staff and points, serve.

One module per noun (`init`, `serve`, `processes` (web, bot, worker), `user`, `point`,
`posters`, `unit`, `report-up`, `journal`, `search`, `export`, `stats`, `token`, `bulletin`, `audit`,
`keys`, `seed`, `bench`, `backup` and `restore`);
each has `register(sub)`, which adds its subcommand and sets `handler` on the
parsed arguments. To add a command, write `minyi/cli/<noun>.py` and list it in
`NOUNS`. Each handler takes the settings built once here, opens its own unit
of work (`common.unit_of_work`) and prints what a person needs next.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from minyi.cli import (
    audit,
    backup,
    bench,
    bulletin,
    export,
    init,
    journal,
    keys,
    points,
    posters,
    processes,
    search,
    seed,
    serve,
    stats,
    tokens,
    units,
    upward,
    users,
)
from minyi.cli.common import CommandError, Handler
from minyi.settings import ConfigError, Settings
from store import sealing
from store.errors import DomainError

# In the order `minyi --help` lists them.
NOUNS = (init, serve, processes, users, points, posters, units, upward, journal, search, export, stats,
         tokens, bulletin, audit, keys, seed, bench, backup)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="minyi", description="民意直通车 — public opinion reports via Telegram and web chat",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for noun in NOUNS:
        noun.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `minyi` command; returns the exit status."""
    args = build_parser().parse_args(argv)
    try:
        settings = Settings.from_env()
        if settings.data_keys:
            sealing.install(sealing.Keyring.of(settings.data_keys))
        handler: Handler = args.handler
        handler(settings, args)
    except ConfigError as exc:
        print(f"minyi: configuration error / 配置错误: {exc}", file=sys.stderr)
        return 2
    except (CommandError, DomainError) as exc:
        print(f"minyi: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    return 0

