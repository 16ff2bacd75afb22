"""The conversation engine: one `Inbound` in, a list of `Reply` out.

Channel-neutral and form-driven: the engine walks the steps of a form file
and never names a question. Its state lives in the `conversations` row, which
it saves at every step (the caller commits), so a restart loses nothing.

Its modes, and which input moves which mode where, are the table in
`store.conversation.modes`; `Turn` dispatches by it.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from store import upsert
from store.conversation import messages as _messages  # noqa: F401  (registers the texts)
from store.conversation.context import Malformed
from store.conversation.flood import FloodGuard
from store.conversation.modes import Mode
from store.conversation.row import COLUMNS, ConvRow, save_all, select_by_sender
from store.conversation.sender import COLUMNS as SENDER_COLUMNS
from store.conversation.sender import NAMES as SENDER_NAMES
from store.conversation.sender import Sender
from store.conversation.turn import Turn
from store.conversation.types import EngineConfig, Inbound, Reply
from store.db import Unit
from store.delivery import outbox
from store.i18n import lang_of, t
from store.models import Channel, Conversation, ProcessedUpdate, Reporter, utcnow
from store.network import addresses
from store.ops import logctx
from store.prepared import Prepared, binds


class Engine:
    """Runs report forms for any channel. One instance per process."""

    def __init__(self, config: EngineConfig) -> None:
        self.config = config
        self.flood = FloodGuard(config.flood_burst, config.flood_window)

    # -- entry point -------------------------------------------------------

    def handle(self, work: Unit | Session, inbound: Inbound) -> list[Reply]:
        """Answer one user input in the caller's unit of work (`store.db.unit`, or a session
        of the caller's); state changes are flushed, the caller commits."""
        return self.handle_all(work, [inbound])[0]

    def handle_all(self, work: Unit | Session, inbounds: Sequence[Inbound]) -> list[list[Reply]]:
        """Answer several inputs in the caller's unit of work, each as `handle` answers it, in
        their order: a channel's group commit hands over the inputs waiting together
        (bot/channels/group_commit.py).

        The statements every input runs are shared by the round: one INSERT records the
        update ids, one SELECT reads the reporters with their conversations, and the
        conversations are saved by one executemany once every input is answered. Each
        input writes only its own sender's rows, so an input reads what it would have read
        alone. Inputs of one sender, or one update twice, are answered one after the other.
        """
        unit = work if isinstance(work, Unit) else Unit.of(work)
        if not _apart(inbounds):
            return [self._round(unit, [inbound])[0] for inbound in inbounds]
        return self._round(unit, inbounds)

    def _round(self, unit: Unit, inbounds: Sequence[Inbound]) -> list[list[Reply]]:
        # The engine's own statements run on the connection's driver (`store.prepared`).
        conn = unit.conn
        new = _record(conn, inbounds)
        read = _read(conn, [inbound for inbound, fresh in zip(inbounds, new, strict=True) if fresh])
        answered: list[list[Reply]] = []
        changed: list[ConvRow] = []
        for inbound, fresh in zip(inbounds, new, strict=True):
            # Lines logged while answering carry the update (or, without one, the sender).
            event = inbound.update_id if inbound.update_id is not None else f"from-{inbound.user_id}"
            with logctx.tagged(f"upd={inbound.channel.value}:{event}"):
                if not fresh:
                    answered.append(self._again(unit, inbound, changed))
                    continue
                verdict = self.flood.check(f"{inbound.channel}:{inbound.user_id}")
                if verdict != "ok":
                    lang = lang_of(inbound.language)
                    answered.append([Reply(t("chat.flood", lang))] if verdict == "warn" else [])
                    continue
                sender, conv, made = self._load(unit, inbound, read.get((inbound.channel, inbound.user_id)))
                answered.append(Turn(self.config, self.flood, unit, inbound, sender, conv,
                                     new_reporter=made).run())
                # Mapped objects (the reporter among them) only when a move touched them.
                unit.flush()
                changed.append(conv)
        # The conversations, each in one UPDATE: one executemany for those that changed alike.
        save_all(conn, changed)
        return answered

    def _again(self, unit: Unit, inbound: Inbound, changed: list[ConvRow]) -> list[Reply]:
        """An update applied before, delivered again: the process that applied it died before
        its answer went out (or did not, and this is a duplicate). Nothing is applied twice; the
        question that stands now is asked again, so the person is never left without one, and
        the press that filed a report gets its tracking number again, not only the menu."""
        row = _PAIR.first(unit.conn, _pair_of(inbound))
        conv = None if row is None else ConvRow.of(row[_CONV])
        if row is None or conv is None:
            return []
        turn = Turn(self.config, self.flood, unit, inbound, Sender(row[_SENDER]), conv)
        try:
            turn.load_state()
        except Malformed:
            return []
        pressed, _, rest = (inbound.callback or "").partition(":")
        if rest.partition(":")[0] == "ok" and pressed == turn.ctx.submitted_turn:
            # The 确认提交 that filed the last report: answered as a late second press is.
            replies = turn.callback(inbound.callback or "")
        else:
            replies = turn.current_prompt()
        # Asking again starts a new turn (the buttons shown so far stop working): kept (in
        # `changed`, saved with the round's), so the buttons of this answer work. Nothing else
        # moves.
        unit.flush()
        if conv.changes():
            changed.append(conv)
        return replies

    def _load(self, unit: Unit, inbound: Inbound,
              row: Sequence[Any] | None) -> tuple[Sender, ConvRow, bool]:
        """The reporter and their conversation: `row`, as the round read it (`_read`; None:
        there is no such reporter yet); each made first if missing.

        Made with ON CONFLICT DO NOTHING, then read: two first messages of one person
        at once (a double tap, two workers) both find the one row. The flag says this
        input made the reporter (so they have filed nothing yet).
        """
        conn = unit.conn
        params = _pair_of(inbound)
        if row is not None and row[_CHAT] != inbound.chat_id:
            # The round asked whether the stored chat is a staff address gone; this is another.
            row = _PAIR.first(conn, params)
        made = False
        if row is None:
            made = _FIRST_REPORTER.first(conn, {
                "channel": inbound.channel, "external_id": inbound.user_id, "chat_id": inbound.chat_id,
                "language": lang_of(inbound.language), "created_at": utcnow(),
                "display_name": inbound.display_name[:200] if inbound.display_name else None,
            }) is not None
            row = _PAIR.first(conn, params)
            assert row is not None
        sender, conv, staff_gone = Sender(row[_SENDER]), ConvRow.of(row[_CONV]), row[_GONE]
        # Set only what changed, on the mapped reporter (made for it): most inputs change
        # nothing, and need none.
        changed: dict[str, object] = {}
        # /lang outranks the client's language.
        if (inbound.language and not sender["language_chosen"]
                and sender.language != (lang := lang_of(inbound.language))):
            changed["language"] = lang
        if inbound.display_name and sender["display_name"] != (name := inbound.display_name[:200]):
            changed["display_name"] = name
        if sender["chat_id"] != inbound.chat_id:
            changed["chat_id"] = inbound.chat_id
        # Writing to us again means we can reach them again.
        if changed or staff_gone or sender["blocked_at"] is not None:
            reporter = sender.reporter(unit.session)
            for name, value in changed.items():
                setattr(reporter, name, value)
            outbox.heard_from(unit.session, reporter, staff_gone=staff_gone)
        if conv is None:
            conv = self._conversation(conn, inbound, sender.id)
        return sender, conv, made

    def _conversation(self, conn: sa.Connection, inbound: Inbound, reporter_id: int) -> ConvRow:
        made = _FIRST_CONVERSATION.first(conn, {
            "channel": inbound.channel, "external_id": inbound.user_id, "reporter_id": reporter_id,
            "form": self.config.form, "mode": Mode.IDLE.value, "answers": {}, "context": {},
            "turn": 0, "updated_at": utcnow()})
        # None: another input of theirs made it first; read that one.
        row = made or _BY_SENDER.first(conn, {"channel": inbound.channel, "external_id": inbound.user_id})
        assert row is not None
        return ConvRow(row)


# Rows one statement of a round names at most (bind parameters: SQLite's oldest limit is 999).
_CHUNK = 128


def _padded(rows: list[Any]) -> list[Any]:
    """`rows` with its last repeated up to the next power of two: a process then compiles a
    statement for eight sizes, not for every size of round it meets (each compiled statement
    keeps its parameters' processors, up to ~50 KB). A row twice is harmless in both: an IN
    list, and an INSERT … ON CONFLICT DO NOTHING (the second copy conflicts with the first)."""
    size = 1
    while size < len(rows):
        size *= 2
    return rows + rows[-1:] * (size - len(rows))


def _apart(inbounds: Sequence[Inbound]) -> bool:
    """Whether `inbounds` can share a round's statements: each of another sender, and no
    update twice."""
    senders = {(inbound.channel, inbound.user_id) for inbound in inbounds}
    updates = [(inbound.channel, str(inbound.update_id)) for inbound in inbounds
               if inbound.update_id is not None]
    return len(senders) == len(inbounds) and len(set(updates)) == len(updates)


_PROCESSED = ProcessedUpdate.__table__


@functools.cache
def _seen(n: int) -> Prepared:
    """Records `n` update ids and returns those it inserted: of two deliveries of an update
    at once, exactly one inserts it."""
    at = sa.bindparam("created_at", type_=_PROCESSED.c.created_at.type)
    return Prepared(lambda dialect: (
        upsert.insert_for(dialect, _PROCESSED)
        .values([{"channel": sa.bindparam(f"c{i}", type_=_PROCESSED.c.channel.type),
                  "update_id": sa.bindparam(f"u{i}", type_=_PROCESSED.c.update_id.type),
                  "created_at": at} for i in range(n)])
        .on_conflict_do_nothing(index_elements=["channel", "update_id"])
        .returning(_PROCESSED.c.channel, _PROCESSED.c.update_id)))


def _record(conn: sa.Connection, inbounds: Sequence[Inbound]) -> list[bool]:
    """Record the update ids of `inbounds` (distinct): whether each input is new, not an update
    applied before (an input without an id is new). In key order, so that two rounds naming
    the same updates at once wait for each other instead of deadlocking (PostgreSQL)."""
    ids = sorted({(inbound.channel.value, str(inbound.update_id)) for inbound in inbounds
                  if inbound.update_id is not None})
    made: set[tuple[str, str]] = set()
    now = utcnow()
    for start in range(0, len(ids), _CHUNK):
        chunk = _padded(ids[start:start + _CHUNK])
        params: dict[str, object] = {"created_at": now}
        for i, (channel, update) in enumerate(chunk):
            params[f"c{i}"], params[f"u{i}"] = channel, update
        made.update((channel, update) for channel, update in _seen(len(chunk)).rows(conn, params))
    return [inbound.update_id is None or (inbound.channel.value, str(inbound.update_id)) in made
            for inbound in inbounds]


def _first(what: str) -> Prepared:
    """The INSERT … ON CONFLICT DO NOTHING that makes a first input's reporter or conversation,
    returning what it made (nothing: another input of theirs made it first). Not rowcount:
    PostgreSQL's driver gives -1 for an INSERT with RETURNING."""
    table = Reporter.__table__ if what == "reporter" else Conversation.__table__
    names = (("channel", "external_id", "chat_id", "language", "created_at", "display_name")
             if what == "reporter" else
             ("channel", "external_id", "reporter_id", "form", "mode", "answers", "context", "turn",
              "updated_at"))
    returned = COLUMNS if what == "conversation" else (table.c.id,)
    return Prepared(lambda dialect: (
        upsert.insert_for(dialect, table)
        .values(binds(table, *names))
        .on_conflict_do_nothing(index_elements=["channel", "external_id"])
        .returning(*returned)))


_FIRST_REPORTER = _first("reporter")
_FIRST_CONVERSATION = _first("conversation")
_BY_SENDER = Prepared(select_by_sender(sa.bindparam("channel", type_=Conversation.__table__.c.channel.type),
                                       sa.bindparam("external_id")))


def _pair_of(inbound: Inbound) -> dict[str, object]:
    """`_PAIR`'s parameters for the sender of `inbound`."""
    return {"channel": inbound.channel, "external_id": inbound.user_id, "chat_id": inbound.chat_id}


# A reporter, their conversation (None before their first input) and whether a staff
# address of the chat is marked gone: what every input reads, in one statement.
_PAIR = Prepared(
    sa.select(*SENDER_COLUMNS, *COLUMNS,
              addresses.gone(Reporter.channel, sa.bindparam("chat_id")).label("staff_gone"))
    .outerjoin(Conversation, sa.and_(Conversation.channel == Reporter.channel,
                                     Conversation.external_id == Reporter.external_id))
    .where(Reporter.channel == sa.bindparam("channel"),
           Reporter.external_id == sa.bindparam("external_id")))


@functools.cache
def _pairs(n: int) -> Prepared:
    """`_PAIR` for `n` senders of one channel at once; whether a staff address is gone is
    asked of each reporter's stored chat (`_load` reads again where the input's is another)."""
    # Built when compiled, not kept: only the compiled text stays (a statement of a hundred
    # parameters holds ~30 KB of SQLAlchemy objects).
    return Prepared(lambda _dialect: (
        sa.select(*SENDER_COLUMNS, *COLUMNS,
                  addresses.gone(Reporter.channel, Reporter.chat_id).label("staff_gone"))
        .outerjoin(Conversation, sa.and_(Conversation.channel == Reporter.channel,
                                         Conversation.external_id == Reporter.external_id))
        .where(Reporter.channel == sa.bindparam("channel"),
               Reporter.external_id.in_([sa.bindparam(f"e{i}") for i in range(n)]))))


def _read(conn: sa.Connection, inbounds: Sequence[Inbound]) -> dict[tuple[Channel, str], Sequence[Any]]:
    """The `_PAIR` rows of the senders of `inbounds`, by channel and user id; a sender not
    found (a first input) has none."""
    users: dict[Channel, list[str]] = {}
    for inbound in inbounds:
        users.setdefault(inbound.channel, []).append(inbound.user_id)
    found: dict[tuple[Channel, str], Sequence[Any]] = {}
    for channel, ids in users.items():
        for start in range(0, len(ids), _CHUNK):
            chunk = _padded(ids[start:start + _CHUNK])
            params: dict[str, object] = {"channel": channel}
            params.update((f"e{i}", user) for i, user in enumerate(chunk))
            for row in _pairs(len(chunk)).rows(conn, params):
                found[(channel, row[_EXTERNAL])] = row
    return found


# Where each part is in its row.
_SENDER = slice(0, len(SENDER_COLUMNS))
_EXTERNAL = SENDER_NAMES.index("external_id")
_CHAT = SENDER_NAMES.index("chat_id")
_CONV = slice(len(SENDER_COLUMNS), len(SENDER_COLUMNS) + len(COLUMNS))
_GONE = len(SENDER_COLUMNS) + len(COLUMNS)
