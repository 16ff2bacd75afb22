"""Which event a log line belongs to: the request id (web) or the update id (chat engine).

The edge that starts an event tags it (`tagged`); `minyi.logs` writes the tag
on every line logged meanwhile, in whatever thread or task logs it. A
contextvar keeps concurrent requests and updates apart.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

# "req=<id>" or "upd=<channel>:<update id>"; "-" outside any event.
current: ContextVar[str] = ContextVar("minyi_event", default="-")


@contextmanager
def tagged(event: str) -> Iterator[None]:
    """Tag the lines logged inside the block with `event`."""
    token = current.set(event)
    try:
        yield
    finally:
        current.reset(token)
