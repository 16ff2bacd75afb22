"""The web chat's transcript: what a visitor said and every reply they got.

The web chat adapter records each inbound message and each engine reply;
the notifier adds console feedback through the web chat channel
(`bot.channels.webchat.channel.transcribe`).
A page polls `since()` to show what is new.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from store.models import WebChatMessage

IN, OUT = "in", "out"
# How far back a pressed button's label is looked up, and how much a poll returns.
LABEL_LOOKBACK = 30
POLL_LIMIT = 200


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
