"""Chat state: conversations, processed updates, the web chat's transcript and sends."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from store.models.base import Base, enum_type, utcnow
from store.models.enums import Channel
from store.sealing import SealedJSON


class WebChatMessage(Base):
    """The web chat's transcript: what the page shows when it is opened again."""

    __tablename__ = "web_chat_messages"

    id: Mapped[int] = mapped_column(primary_key=True)
    chat_id: Mapped[str] = mapped_column(sa.String(64), index=True)
    direction: Mapped[str] = mapped_column(sa.String(3))  # in | out
    text: Mapped[str] = mapped_column(sa.Text)
    buttons: Mapped[list[Any] | None] = mapped_column(sa.JSON)
    # Set when the message came from the outbox, so a redelivery is a no-op.
    outbox_id: Mapped[int | None] = mapped_column(sa.ForeignKey("outbox.id"), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class WebChatSend(Base):
    """A message the web chat page sent, by its client message id (`mid`), and what it got.

    Inserted in the transaction that applies the message, so a resend of the same
    `mid` finds it and is answered from the transcript instead of applied again
    (`store.delivery.webchat.claim`). `first_id`..`last_id` are the transcript lines
    the message wrote; housekeeping forgets rows after a day.
    """

    __tablename__ = "web_chat_sends"

    chat_id: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    mid: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    first_id: Mapped[int | None]
    last_id: Mapped[int | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class Conversation(Base):
    """One reporter's place in a form, saved at every step."""

    __tablename__ = "conversations"
    __table_args__ = (
        sa.UniqueConstraint("channel", "external_id", name="uq_conversations_channel_external"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[Channel] = mapped_column(enum_type(Channel))
    external_id: Mapped[str] = mapped_column(sa.String(64))
    reporter_id: Mapped[int] = mapped_column(sa.ForeignKey("reporters.id"))
    point_id: Mapped[int | None] = mapped_column(sa.ForeignKey("collection_points.id"))
    form: Mapped[str] = mapped_column(sa.String(40), default="report")
    # A `store.conversation.modes.Mode` value (idle, filling, review, editing, supplement, reopen).
    mode: Mapped[str] = mapped_column(sa.String(20), default="idle")
    step: Mapped[str | None] = mapped_column(sa.String(40))
    # The draft's answers, the reporter's contact among them: sealed as a whole (store.sealing).
    answers: Mapped[dict[str, Any]] = mapped_column(SealedJSON(), default=dict)
    # The mode's typed context, read and written by `store.conversation.context` only.
    context: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # Why the last point code this chat opened with was refused (forged, unknown, retired,
    # inactive); cleared by a valid code or a plain start. Such a chat files nothing
    # without a point (`Turn.needs_point`).
    refused_code: Mapped[str | None] = mapped_column(sa.String(16))
    # Bumped at every step; buttons carry it so a stale or double click is spotted.
    turn: Mapped[int] = mapped_column(default=0)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class ProcessedUpdate(Base):
    """Channel updates already handled, so a redelivered update does nothing."""

    __tablename__ = "processed_updates"

    channel: Mapped[str] = mapped_column(sa.String(16), primary_key=True)
    update_id: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
