"""The conversation engine: one `Inbound` in, a list of `Reply` out.

Channel-neutral and form-driven: the engine walks the steps of a form file
and never names a question. Its state lives in the `conversations` row, which
it saves at every step (the caller commits), so a restart loses nothing.

Its modes, and which input moves which mode where, are the table in
`store.conversation.modes`; `Turn` dispatches by it.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from store import upsert
from store.conversation import messages as _messages  # noqa: F401  (registers the texts)
from store.conversation.context import Malformed
from store.conversation.flood import FloodGuard
from store.conversation.modes import Mode
from store.conversation.row import COLUMNS, ConvRow, select_by_sender
from store.conversation.sender import COLUMNS as SENDER_COLUMNS
from store.conversation.sender import Sender
from store.conversation.turn import Turn
from store.conversation.types import EngineConfig, Inbound, Reply
from store.db import Unit
from store.delivery import outbox
from store.i18n import lang_of, t
from store.models import Conversation, ProcessedUpdate, Reporter, utcnow
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
        # Lines logged while answering carry the update (or, without one, the sender).
        event = inbound.update_id if inbound.update_id is not None else f"from-{inbound.user_id}"
        with logctx.tagged(f"upd={inbound.channel.value}:{event}"):
            return self._handle(work if isinstance(work, Unit) else Unit.of(work), inbound)

    def _handle(self, unit: Unit, inbound: Inbound) -> list[Reply]:
        # The engine's own statements run on the connection's driver (`store.prepared`).
        conn = unit.conn
        if inbound.update_id is not None and self._seen(conn, inbound):
            return self._again(unit, inbound)
        verdict = self.flood.check(f"{inbound.channel}:{inbound.user_id}")
        if verdict != "ok":
            lang = lang_of(inbound.language)
            return [Reply(t("chat.flood", lang))] if verdict == "warn" else []
        sender, conv, made = self._load(unit, inbound)
        replies = Turn(self.config, self.flood, unit, inbound, sender, conv,
                       new_reporter=made).run()
        # Mapped objects (the reporter among them) only when a move touched them; the
        # conversation in one UPDATE.
        unit.flush()
        conv.save(conn)
        return replies

    def _seen(self, conn: sa.Connection, inbound: Inbound) -> bool:
        # One statement: of two deliveries of an update at once, exactly one inserts.
        return _SEEN.first(conn, {"channel": inbound.channel.value,
                                  "update_id": str(inbound.update_id),
                                  "created_at": utcnow()}) is None

    def _again(self, unit: Unit, inbound: Inbound) -> list[Reply]:
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
        # Asking again starts a new turn (the buttons shown so far stop working): kept, so the
        # buttons of this answer work. Nothing else moves.
        unit.flush()
        if conv.changes():
            conv.save(unit.conn)
        return replies

    def _load(self, unit: Unit, inbound: Inbound) -> tuple[Sender, ConvRow, bool]:
        """The reporter and their conversation in one query; each made first if missing.

        Made with ON CONFLICT DO NOTHING, then read: two first messages of one person
        at once (a double tap, two workers) both find the one row. The flag says this
        input made the reporter (so they have filed nothing yet).
        """
        conn = unit.conn
        params = _pair_of(inbound)
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


_PROCESSED = ProcessedUpdate.__table__
# Records an update id; of two deliveries at once, exactly one inserts and returns it.
_SEEN = Prepared(lambda dialect: (
    upsert.insert_for(dialect, _PROCESSED)
    .on_conflict_do_nothing(index_elements=["channel", "update_id"])
    .returning(_PROCESSED.c.update_id)))


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
# Where each part is in its row.
_SENDER = slice(0, len(SENDER_COLUMNS))
_CONV = slice(len(SENDER_COLUMNS), len(SENDER_COLUMNS) + len(COLUMNS))
_GONE = len(SENDER_COLUMNS) + len(COLUMNS)
