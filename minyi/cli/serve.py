"""`minyi serve`: console, web chat, Telegram bot, notifier and scheduler in one process."""

from __future__ import annotations

import argparse

from minyi.cli.common import CommandError, Subcommands, open_data_keys, require_schema
from minyi.settings import Settings
from store.db import make_engine


def register(sub: Subcommands) -> None:
    p = sub.add_parser("serve", help="run console, web chat, bot, notifier and scheduler")
    p.add_argument("--host", help="listen address (default: HOST)")
    p.add_argument("--port", type=int, help="listen port (default: PORT)")
    p.set_defaults(handler=cmd_serve)


def cmd_serve(settings: Settings, args: argparse.Namespace) -> None:
    """Run the console, web chat, Telegram bot, notifier and scheduler in one process."""
    from minyi.runner import StartupError, serve

    if args.host or args.port:
        from dataclasses import replace

        settings = replace(settings, host=args.host or settings.host,
                           port=args.port or settings.port)
    engine = make_engine(settings.database_url)
    try:
        require_schema(engine)
        open_data_keys(settings, engine)
    finally:
        engine.dispose()
    try:
        serve(settings)
    except StartupError as exc:
        raise CommandError(f"cannot start: {exc}") from exc
