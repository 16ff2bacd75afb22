"""The web chat's transcript: what a visitor said and every reply they got.

The web chat adapter records each inbound message and each engine reply;
the notifier adds console feedback through the web chat channel
(`bot.channels.webchat.channel.transcribe`).
A page polls `since()` to show what is new.

Each message the page sends carries a client message id (`mid`), kept until the
server answered and sent again with every retry. `claim` records it in the
transaction that applies the message; a resend finds it there, applies nothing
and is answered with the transcript lines the first sending wrote (`replay`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from store import upsert
from store.models import WebChatMessage, WebChatSend, utcnow

IN, OUT = "in", "out"
# How far back a pressed button's label is looked up, and how much a poll returns.
LABEL_LOOKBACK = 30
POLL_LIMIT = 200
# A client message id: made by the page once per message (chat.js).
MID_RE = re.compile(r"[A-Za-z0-9_-]{8,64}")
# A page retries for minutes, a reloaded one for an hour (chat.js); a day is ample margin.
KEEP_SENDS = timedelta(days=1)


def record_in(session: Session, chat_id: str, text: str) -> WebChatMessage:
    """Keep what the visitor sent, as they should see it in their transcript."""
    msg = WebChatMessage(chat_id=chat_id, direction=IN, text=text)
    session.add(msg)
    session.flush()
    return msg


def record_out(
    session: Session, chat_id: str, replies: Iterable[tuple[str, list[Any] | None]]
) -> list[WebChatMessage]:
    """Keep the replies (text, buttons as JSON rows) in the order they were given."""
    rows = [WebChatMessage(chat_id=chat_id, direction=OUT, text=text, buttons=buttons or None)
            for text, buttons in replies]
    session.add_all(rows)
    session.flush()
    return rows


def record_out_unless_shown(
    session: Session, chat_id: str, replies: Iterable[tuple[str, list[Any] | None]]
) -> list[WebChatMessage]:
    """Keep the replies unless the transcript already ends with exactly them.

    Opening the page again answers with the reporter's news; when nothing moved
    since, the bubbles at the end of the transcript already say it.
    """
    replies = [(text, buttons or None) for text, buttons in replies]
    if replies:
        tail = list(session.execute(
            sa.select(WebChatMessage.direction, WebChatMessage.text, WebChatMessage.buttons)
            .where(WebChatMessage.chat_id == chat_id)
            .order_by(WebChatMessage.id.desc()).limit(len(replies))))
        tail.reverse()
        if [(d, t, b or None) for d, t, b in tail] == [(OUT, t, b) for t, b in replies]:
            return []
    return record_out(session, chat_id, replies)


def since(session: Session, chat_id: str, after: int = 0,
          limit: int = POLL_LIMIT) -> list[WebChatMessage]:
    """Messages of `chat_id` newer than id `after`, oldest first.

    With `after=0` a long transcript is cut to its last `limit` messages.
    """
    query = sa.select(WebChatMessage).where(WebChatMessage.chat_id == chat_id)
    if after > 0:
        return list(session.scalars(
            query.where(WebChatMessage.id > after).order_by(WebChatMessage.id).limit(limit)))
    rows = list(session.scalars(query.order_by(WebChatMessage.id.desc()).limit(limit)))
    rows.reverse()
    return rows


def button_label(session: Session, chat_id: str, data: str) -> str | None:
    """The label of the most recent button in this chat that sends `data`."""
    recent = session.scalars(
        sa.select(WebChatMessage.buttons)
        .where(WebChatMessage.chat_id == chat_id, WebChatMessage.direction == OUT)
        .order_by(WebChatMessage.id.desc()).limit(LABEL_LOOKBACK)
    )
    for rows in recent:
        for row in rows or []:
            for button in row:
                if isinstance(button, dict) and button.get("data") == data:
                    return str(button.get("label", ""))
    return None


def as_json(msg: WebChatMessage) -> dict[str, Any]:
    return {"id": msg.id, "dir": msg.direction, "text": msg.text, "buttons": msg.buttons or [],
            "at": msg.created_at.isoformat() if msg.created_at else None}


def claim(session: Session, chat_id: str, mid: str) -> WebChatSend | None:
    """None when this transaction is the first to send `mid` in `chat_id`: apply the message,
    then say what it wrote (`answered`). Otherwise the first sending's row: apply nothing.

    One statement: of two sendings at once, the second waits on the first's key and,
    once that commits, finds it (or, if it rolled back, inserts after all).
    """
    written = session.scalar(
        upsert.insert(session, WebChatSend)
        .values(chat_id=chat_id, mid=mid, created_at=utcnow())
        .on_conflict_do_nothing(index_elements=[WebChatSend.chat_id, WebChatSend.mid])
        .returning(WebChatSend.mid))
    if written is not None:
        return None
    earlier = session.get(WebChatSend, (chat_id, mid))
    # Pruned in the meantime (a day old): nothing left to show, and still nothing to apply.
    return earlier if earlier is not None else WebChatSend(chat_id=chat_id, mid=mid)


def answered(session: Session, chat_id: str, mid: str, lines: list[WebChatMessage]) -> None:
    """Note which transcript lines the first sending of `mid` wrote (its input and replies)."""
    if lines:
        session.execute(sa.update(WebChatSend)
                        .where(WebChatSend.chat_id == chat_id, WebChatSend.mid == mid)
                        .values(first_id=min(m.id for m in lines), last_id=max(m.id for m in lines)))


def replay(session: Session, sent: WebChatSend, after: int = 0) -> list[WebChatMessage]:
    """A resend's answer: the lines its first sending wrote, and whatever is newer than `after`."""
    lines = {m.id: m for m in since(session, sent.chat_id, after)}
    if sent.first_id is not None and sent.last_id is not None:
        lines.update((m.id, m) for m in session.scalars(
            sa.select(WebChatMessage).where(WebChatMessage.chat_id == sent.chat_id,
                                            WebChatMessage.id.between(sent.first_id, sent.last_id))))
    return [lines[i] for i in sorted(lines)]


def prune_sends(session: Session, now: datetime | None = None) -> int:
    """Forget message ids older than `KEEP_SENDS`; returns how many went."""
    cutoff = (now or utcnow()) - KEEP_SENDS
    result = session.execute(sa.delete(WebChatSend).where(WebChatSend.created_at < cutoff))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
