"""`minyi web`, `minyi bot`, `minyi worker`: the parts of `minyi serve` as processes of their own,
each runnable more than once on one PostgreSQL database (docs/DEPLOY.md)."""

from __future__ import annotations

import argparse
from dataclasses import replace

from minyi.cli.common import CommandError, Subcommands, open_data_keys, require_schema
from minyi.settings import Settings
from store.db import make_engine


def register(sub: Subcommands) -> None:
    p = sub.add_parser("web", help="run the console and web chat under gunicorn")
    p.add_argument("--bind", help="address:port to listen on (default: HOST:PORT)")
    p.add_argument("--workers", type=int, help="processes (default: WEB_WORKERS, 2)")
    p.add_argument("--threads", type=int, help="threads per process (default: WEB_THREADS, 4)")
    p.set_defaults(handler=cmd_web)
    p = sub.add_parser("bot", help="answer Telegram (long polling, or webhook when "
                                   "TELEGRAM_WEBHOOK_URL is set)")
    p.add_argument("--host", help="webhook listen address (default: BOT_HOST)")
    p.add_argument("--port", type=int, help="webhook listen port (default: BOT_PORT, 8081)")
    p.set_defaults(handler=cmd_bot)
    p = sub.add_parser("worker", help="deliver the outbox and run the scheduled jobs")
    p.set_defaults(handler=cmd_worker)


def _ready(settings: Settings) -> None:
    """Refuse to start on a database that is not set up, or without the data key."""
    engine = make_engine(settings.database_url)
    try:
        require_schema(engine)
        open_data_keys(settings, engine)
    finally:
        engine.dispose()


def cmd_web(settings: Settings, args: argparse.Namespace) -> None:
    """Serve the console and web chat with several processes and threads."""
    from minyi.web_server import WebServer

    workers = args.workers or settings.web_workers
    threads = args.threads or settings.web_threads
    if workers < 1 or threads < 1:
        raise CommandError("--workers and --threads must be 1 or more")
    _ready(settings)
    settings.upload_dir.mkdir(parents=True, exist_ok=True)
    WebServer(settings, args.bind or f"{settings.host}:{settings.port}", workers, threads).run()


def cmd_bot(settings: Settings, args: argparse.Namespace) -> None:
    """Answer Telegram until stopped."""
    from minyi.apart import bot
    from minyi.runner import StartupError

    settings = replace(settings, bot_host=args.host or settings.bot_host,
                       bot_port=args.port or settings.bot_port)
    _ready(settings)
    try:
        bot(settings)
    except StartupError as exc:
        raise CommandError(f"cannot start: {exc}") from exc


def cmd_worker(settings: Settings, args: argparse.Namespace) -> None:
    """Deliver the outbox and run the scheduled jobs until stopped."""
    from minyi.apart import worker

    _ready(settings)
    worker(settings)
