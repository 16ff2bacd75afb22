"""The conversation engine: one `Inbound` in, a list of `Reply` out.

Channel-neutral and form-driven: the engine walks the steps of a form file
and never names a question. Its state lives in the `conversations` row, which
it saves at every step (the caller commits), so a restart loses nothing.

Its modes, and which input moves which mode where, are the table in
`store.conversation.modes`; `Turn` dispatches by it.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from store import upsert
from store.conversation import messages as _messages  # noqa: F401  (registers the texts)
from store.conversation.context import Malformed
from store.conversation.flood import FloodGuard
from store.conversation.modes import Mode
from store.conversation.row import COLUMNS, PREFIX, ConvRow, select_by_sender
from store.conversation.turn import Turn
from store.conversation.types import EngineConfig, Inbound, Reply
from store.delivery import outbox
from store.i18n import lang_of, t
from store.models import Conversation, ProcessedUpdate, Reporter, utcnow
from store.network import addresses
from store.ops import logctx


class Engine:
    """Runs report forms for any channel. One instance per process."""

    def __init__(self, config: EngineConfig) -> None:
        self.config = config
        self.flood = FloodGuard(config.flood_burst, config.flood_window)

    # -- entry point -------------------------------------------------------

    def handle(self, session: Session, inbound: Inbound) -> list[Reply]:
        """Answer one user input; state changes are flushed, the caller commits."""
        # Lines logged while answering carry the update (or, without one, the sender).
        event = inbound.update_id if inbound.update_id is not None else f"from-{inbound.user_id}"
        with logctx.tagged(f"upd={inbound.channel.value}:{event}"):
            return self._handle(session, inbound)

    def _handle(self, session: Session, inbound: Inbound) -> list[Reply]:
        # One connection for the statements the engine runs itself: asking the session for
        # it costs more than the statement that records the update.
        conn = session.connection()
        if inbound.update_id is not None and self._seen(conn, inbound):
            return self._again(session, inbound)
        verdict = self.flood.check(f"{inbound.channel}:{inbound.user_id}")
        if verdict != "ok":
            lang = lang_of(inbound.language)
            return [Reply(t("chat.flood", lang))] if verdict == "warn" else []
        reporter, conv, made = self._load(session, inbound)
        replies = Turn(self.config, self.flood, session, inbound, reporter, conv,
                       new_reporter=made).run()
        # The reporter (an ORM object) only when it changed; the conversation in one UPDATE.
        session.flush()
        conv.save(conn)
        return replies

    def _seen(self, conn: sa.Connection, inbound: Inbound) -> bool:
        # One statement: of two deliveries of an update at once, exactly one inserts.
        # Core, built once per dialect: the ORM's bulk-insert path costs more than the insert.
        stmt = _SEEN.get(conn.dialect.name)
        if stmt is None:
            stmt = _SEEN[conn.dialect.name] = (
                upsert.insert_for(conn.dialect.name, _PROCESSED)
                .on_conflict_do_nothing(index_elements=["channel", "update_id"])
                .returning(_PROCESSED.c.update_id))
        written = conn.execute(stmt, {"channel": inbound.channel.value,
                                      "update_id": str(inbound.update_id),
                                      "created_at": utcnow()}).scalar()
        return written is None

    def _again(self, session: Session, inbound: Inbound) -> list[Reply]:
        """An update applied before, delivered again: the process that applied it died before
        its answer went out (or did not, and this is a duplicate). Nothing is applied twice; the
        question that stands now is asked again, so the person is never left without one, and
        the press that filed a report gets its tracking number again, not only the menu."""
        row = session.execute(_PAIR, _pair_of(inbound)).first()
        if row is None or row.conv_id is None:
            return []
        reporter, conv = row[0], ConvRow.of(row)
        assert conv is not None
        turn = Turn(self.config, self.flood, session, inbound, reporter, conv)
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
        session.flush()
        if conv.changes():
            conv.save(session.connection())
        return replies

    def _load(self, session: Session, inbound: Inbound) -> tuple[Reporter, ConvRow, bool]:
        """The reporter and their conversation in one query; each made first if missing.

        Made with ON CONFLICT DO NOTHING, then read: two first messages of one person
        at once (a double tap, two workers) both find the one row. The flag says this
        input made the reporter (so they have filed nothing yet).
        """
        params = _pair_of(inbound)
        row = session.execute(_PAIR, params).first()
        made = False
        if row is None:
            conn = session.connection()
            made = conn.execute(_first(conn, "reporter"), {
                "channel": inbound.channel, "external_id": inbound.user_id, "chat_id": inbound.chat_id,
                "language": lang_of(inbound.language), "created_at": utcnow(),
                "display_name": inbound.display_name[:200] if inbound.display_name else None}
            ).first() is not None
            row = session.execute(_PAIR, params).one()
        reporter, conv, staff_gone = row[0], ConvRow.of(row), row.staff_gone
        # Set only what changed: an attribute set to its own value still costs the flush
        # a look at the row.
        # /lang outranks the client's language.
        if (inbound.language and not reporter.language_chosen
                and reporter.language != (lang := lang_of(inbound.language))):
            reporter.language = lang
        if inbound.display_name and reporter.display_name != (name := inbound.display_name[:200]):
            reporter.display_name = name
        if reporter.chat_id != inbound.chat_id:
            reporter.chat_id = inbound.chat_id
        # Writing to us again means we can reach them again.
        outbox.heard_from(session, reporter, staff_gone=staff_gone)
        if conv is None:
            conv = self._conversation(session, inbound, reporter)
        return reporter, conv, made

    def _conversation(self, session: Session, inbound: Inbound, reporter: Reporter) -> ConvRow:
        conn = session.connection()
        made = conn.execute(_first(conn, "conversation"), {
            "channel": inbound.channel, "external_id": inbound.user_id, "reporter_id": reporter.id,
            "form": self.config.form, "mode": Mode.IDLE.value, "answers": {}, "context": {},
            "turn": 0, "updated_at": utcnow()}).first()
        # None: another input of theirs made it first; read that one.
        row = made or conn.execute(select_by_sender(inbound.channel, inbound.user_id)).one()
        return ConvRow(row._mapping, PREFIX)


_PROCESSED = ProcessedUpdate.__table__
# The statement that records an update id, per dialect (built at first use).
_SEEN: dict[str, Any] = {}
# A first input's INSERTs, per dialect and table (Core, built once: compiled once).
_FIRST: dict[tuple[str, str], Any] = {}


def _first(conn: sa.Connection, what: str) -> Any:
    """The INSERT … ON CONFLICT DO NOTHING that makes a first input's reporter or conversation."""
    stmt = _FIRST.get((conn.dialect.name, what))
    if stmt is None:
        table = Reporter.__table__ if what == "reporter" else Conversation.__table__
        stmt = (upsert.insert_for(conn.dialect.name, table)
                .on_conflict_do_nothing(index_elements=["channel", "external_id"]))
        # Whatever it made (nothing: another input of theirs made it first). Not rowcount:
        # PostgreSQL's driver gives -1 for an INSERT SQLAlchemy added RETURNING to.
        stmt = stmt.returning(*COLUMNS) if what == "conversation" else stmt.returning(table.c.id)
        _FIRST[(conn.dialect.name, what)] = stmt
    return stmt
# A reporter, their conversation (None before their first input) and whether a staff
# address of the chat is marked gone: what every input reads, in one statement.
def _pair_of(inbound: Inbound) -> dict[str, object]:
    """`_PAIR`'s parameters for the sender of `inbound`."""
    return {"channel": inbound.channel, "external_id": inbound.user_id, "chat_id": inbound.chat_id}


_PAIR = (
    sa.select(Reporter, *COLUMNS,
              addresses.gone(Reporter.channel, sa.bindparam("chat_id")).label("staff_gone"))
    .outerjoin(Conversation, sa.and_(Conversation.channel == Reporter.channel,
                                     Conversation.external_id == Reporter.external_id))
    .where(Reporter.channel == sa.bindparam("channel"),
           Reporter.external_id == sa.bindparam("external_id")))
