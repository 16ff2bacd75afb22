"""`minyi web`: the console and the web chat behind gunicorn (several processes, each with threads).

Each gunicorn worker builds its own app (`load`), with its own database
connections: nothing is shared across a fork. X-Forwarded-* are read by the
app itself (TRUSTED_PROXIES); gunicorn believes them only from 127.0.0.1. The channels' background work
(WeChat's inbox), the outbox and the scheduled jobs are `minyi worker`'s.
"""

from __future__ import annotations

from typing import Any

from gunicorn.app.base import BaseApplication

from minyi.settings import Settings


def build_app(settings: Settings) -> Any:
    """The Flask app of one web process, with its own database engine."""
    from bot.channels import registry
    from minyi import logs
    from store import limits
    from store.conversation.engine import Engine
    from store.db import make_engine, make_sessionmaker
    from store.ops import heap
    from web import create_app

    logs.configure(settings.log_format)
    limits.configure(settings.redis_url)
    sessions = make_sessionmaker(make_engine(settings.database_url))
    app = create_app(settings, session_factory=sessions, engine=Engine(settings.engine_config()),
                     channels=registry(settings, sessions))
    heap.settle()  # a gunicorn worker of its own: its start-up objects, frozen
    return app


class WebServer(BaseApplication):  # type: ignore[misc]
    """gunicorn, configured from arguments rather than its own command line."""

    def __init__(self, settings: Settings, bind: str, workers: int, threads: int) -> None:
        self.settings = settings
        self.options = {
            "bind": [bind], "workers": workers, "threads": threads,
            "worker_class": "gthread" if threads > 1 else "sync",
            # A long upload on a slow line must not be cut off as a hung worker.
            "timeout": 120, "graceful_timeout": 30, "keepalive": 5,
            "accesslog": "-", "errorlog": "-", "proc_name": "minyi-web",
        }
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self) -> Any:
        return build_app(self.settings)
