"""The `conversations` row while one input is answered: plain attributes, saved by one UPDATE.

The engine reads the row with the reporter (one SELECT for a round of inputs,
`Engine.handle_all`) and writes back only the columns the move changed, with
`updated_at`, in one UPDATE built once per set of columns and run on the driver
(`store.prepared`): a round's rows that changed alike by one executemany. Not an ORM object: for
a row read and written once per input, the identity map, attribute
instrumentation and unit of work cost more than the two statements themselves
(issue 16's profile).

Values are compared with what was read (`!=`), as the ORM does: a move
replaces `answers` and `context` instead of changing them in place.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from store.models import Channel, Conversation, utcnow
from store.prepared import Prepared

TABLE: sa.Table = Conversation.__table__  # type: ignore[assignment]
# What a move may change; the rest (id, who, form) is fixed once the row is made.
SAVED = ("point_id", "mode", "step", "answers", "context", "refused_code", "turn")
READ = ("id", "channel", "external_id", "reporter_id", "form", *SAVED, "updated_at")
# The row's columns under labels of their own, for a SELECT that also reads other tables.
PREFIX = "conv_"
COLUMNS = tuple(TABLE.c[name].label(PREFIX + name) for name in READ)

# UPDATE statements by the columns they set: built and compiled once.
_UPDATES: dict[tuple[str, ...], Prepared] = {}


class ConvRow:
    """One reporter's place in a form, as read at the start of the input."""

    id: int
    channel: Channel
    external_id: str
    reporter_id: int
    form: str
    point_id: int | None
    mode: str
    step: str | None
    answers: dict[str, Any]
    context: dict[str, Any]
    refused_code: str | None
    turn: int
    updated_at: datetime

    def __init__(self, values: Sequence[Any]) -> None:
        """`values`: the row's `READ` columns, in that order (as `COLUMNS` selects them)."""
        for name, value in zip(READ, values, strict=True):
            setattr(self, name, value)
        self._read = tuple(getattr(self, name) for name in SAVED)

    @classmethod
    def of(cls, values: Sequence[Any]) -> ConvRow | None:
        """The conversation in values selected with `COLUMNS`, or None (an outer join found none)."""
        return None if values[0] is None else cls(values)

    def changes(self) -> dict[str, Any]:
        return {name: now for name, was in zip(SAVED, self._read, strict=True)
                if (now := getattr(self, name)) != was}

    def save(self, conn: sa.Connection) -> None:
        """Write what changed since it was read (or saved), stamping `updated_at`.

        A row nothing changed in is stamped too: `updated_at` says when the
        chat was last used (stale drafts' files are let go by it).
        """
        save_all(conn, [self])

    def _saving(self) -> tuple[tuple[str, ...], dict[str, Any]]:
        """The columns to write and the UPDATE's parameters; from now on the row holds them."""
        values = self.changes()
        self.updated_at = values["updated_at"] = utcnow()
        self._read = tuple(getattr(self, name) for name in SAVED)
        return tuple(values), {"row_id": self.id, **{f"new_{k}": v for k, v in values.items()}}


def save_all(conn: sa.Connection, rows: Sequence[ConvRow]) -> None:
    """`save` each of `rows` (of different conversations), in id order, so that two rounds
    updating the same rows at once wait for each other instead of deadlocking (PostgreSQL):
    rows next in that order that changed the same columns by one executemany of their UPDATE
    (a round's inputs are mostly answers to the same kind of question)."""
    run: list[dict[str, Any]] = []
    names: tuple[str, ...] = ()
    for row in sorted(rows, key=lambda r: r.id):
        these, params = row._saving()
        if these != names and run:
            _update(names).many(conn, run)
            run = []
        names = these
        run.append(params)
    if run:
        _update(names).many(conn, run)


def _update(names: tuple[str, ...]) -> Prepared:
    """The UPDATE of a conversation's columns `names` (built and compiled once)."""
    stmt = _UPDATES.get(names)
    if stmt is None:
        stmt = _UPDATES[names] = Prepared(
            sa.update(TABLE).where(TABLE.c.id == sa.bindparam("row_id"))
            .values({name: sa.bindparam(f"new_{name}", type_=TABLE.c[name].type) for name in names}))
    return stmt


def select_by_sender(channel: Channel | sa.BindParameter[Any],
                     external_id: str | sa.BindParameter[Any]) -> sa.Select[Any]:
    return sa.select(*COLUMNS).where(TABLE.c.channel == channel, TABLE.c.external_id == external_id)
