"""Log lines: one line per event, tagged with the request or update id, as key=value or JSON.

`configure(fmt)` is called once at start-up by each long-running command
(`minyi serve`, through `minyi.runner.configure_logging`), from
`Settings.log_format`. Every line carries `event=`: `req=<X-Request-ID>`
inside a console or web chat request, `upd=<channel>:<update id>` inside the
conversation engine, `out=<outbox row>` while the notifier delivers, `-` elsewhere
(`store.ops.logctx`). A message's newlines are escaped, so one event never
spans two lines and a reader can split on lines.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import TextIO

from store.ops import logctx

FORMATS = ("kv", "json")


class EventFilter(logging.Filter):
    """Puts the current event's tag on the record as `event`."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.event = logctx.current.get()
        return True


class LineFormatter(logging.Formatter):
    """`ts=… level=… logger=… event=… msg="…"` (kv) or one JSON object (json) per record."""

    def __init__(self, fmt: str = "kv") -> None:
        super().__init__()
        if fmt not in FORMATS:
            raise ValueError(f"log format must be one of {FORMATS}, got {fmt!r}")
        self.fmt = fmt

    def format(self, record: logging.LogRecord) -> str:
        message = record.getMessage()
        if record.exc_info:
            message = f"{message}\n{self.formatException(record.exc_info)}"
        fields = {
            "ts": datetime.fromtimestamp(record.created, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "event": getattr(record, "event", logctx.current.get()),
            "msg": message,
        }
        if self.fmt == "json":
            return json.dumps(fields, ensure_ascii=False)
        return " ".join(f"{key}={_quoted(str(value))}" for key, value in fields.items())


def _quoted(value: str) -> str:
    if value and not any(c in value for c in ' "=\n\r\t\\'):
        return value
    return json.dumps(value, ensure_ascii=False)  # quotes, and escapes newlines and quotes


def configure(fmt: str = "kv", level: int = logging.INFO, stream: TextIO | None = None) -> None:
    """Send every log record to `stream` (stderr) as one tagged line; quiet chatty libraries."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(LineFormatter(fmt))
    handler.addFilter(EventFilter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    # httpx logs every long-poll request at INFO; apscheduler every run; waitress every queue wait.
    for noisy in ("httpx", "httpcore", "apscheduler.executors", "apscheduler.scheduler"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
