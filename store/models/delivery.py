"""Messages out and channel state: the outbox, staff notices, channel state, WeChat's token and inbox."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from store.models.base import Base, enum_type, utcnow
from store.models.enums import Channel, OutboxStatus, WeChatInboxStatus

if TYPE_CHECKING:
    pass


class OutboxMessage(Base):
    """A message owed to a reporter, written in the transaction that owes it."""

    __tablename__ = "outbox"

    id: Mapped[int] = mapped_column(primary_key=True)
    # The recipient: a reporter, or a staff member at one of their StaffAddress chats.
    reporter_id: Mapped[int | None] = mapped_column(sa.ForeignKey("reporters.id"), index=True)
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"), index=True)
    report_id: Mapped[int | None] = mapped_column(sa.ForeignKey("reports.id"))
    channel: Mapped[Channel] = mapped_column(enum_type(Channel))
    chat_id: Mapped[str] = mapped_column(sa.String(64))
    text: Mapped[str] = mapped_column(sa.Text)
    # [[{"label": ..., "data": ...}, ...], ...]: rows of buttons.
    buttons: Mapped[list[Any] | None] = mapped_column(sa.JSON)
    status: Mapped[OutboxStatus] = mapped_column(enum_type(OutboxStatus), default=OutboxStatus.PENDING)
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_error: Mapped[str | None] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]

    __table_args__ = (sa.Index("ix_outbox_due", "status", "next_attempt_at"),
                      # A chat's queue in the order written (store.delivery.outbox.claim_due).
                      sa.Index("ix_outbox_chat", "channel", "chat_id", "id"))


class StaffNotice(Base):
    """Something a staff member should look at: the console badge."""

    __tablename__ = "staff_notices"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    report_id: Mapped[int | None] = mapped_column(sa.ForeignKey("reports.id"))
    kind: Mapped[str] = mapped_column(sa.String(30))  # urgent | overdue | escalated | returned ...
    text: Mapped[str] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    read_at: Mapped[datetime | None]


class ChannelState(Base):
    """A channel's small shared facts by key: cached QR tickets, options last offered, nonces seen.

    Kept in the database so every process of an office sees the same; rows
    with an `expires_at` in the past are pruned by their writer.
    """

    __tablename__ = "channel_state"

    key: Mapped[str] = mapped_column(sa.String(200), primary_key=True)
    value: Mapped[dict[str, Any]] = mapped_column(default=dict)
    expires_at: Mapped[datetime | None] = mapped_column(index=True)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class WeChatToken(Base):
    """The access token of one WeChat app, shared by every process; `version` counts refreshes.

    A refresh is claimed by setting `refreshing_until` on the version seen, so
    one process fetches and the others wait for the next version.
    """

    __tablename__ = "wechat_tokens"

    app_id: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    access_token: Mapped[str | None] = mapped_column(sa.String(1024))
    expires_at: Mapped[datetime | None]
    version: Mapped[int] = mapped_column(default=0)
    refreshing_until: Mapped[datetime | None]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class WeChatInbox(Base):
    """One callback from WeChat, kept from the moment it is acknowledged until its replies are out."""

    __tablename__ = "wechat_inbox"
    __table_args__ = (sa.Index("ix_wechat_inbox_due", "status", "next_attempt_at"),
                      sa.Index("ix_wechat_inbox_openid_id", "openid", "id"))

    id: Mapped[int] = mapped_column(primary_key=True)
    # MsgId, or sender + time + event for events: WeChat's retries carry the same.
    msg_key: Mapped[str] = mapped_column(sa.String(160), unique=True)
    openid: Mapped[str] = mapped_column(sa.String(64))
    payload: Mapped[str] = mapped_column(sa.Text)  # the message XML, decrypted
    status: Mapped[WeChatInboxStatus] = mapped_column(enum_type(WeChatInboxStatus),
                                                      default=WeChatInboxStatus.PENDING)
    replies: Mapped[list[Any] | None] = mapped_column(sa.JSON)
    sent_parts: Mapped[int] = mapped_column(default=0)
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_error: Mapped[str | None] = mapped_column(sa.Text)
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    done_at: Mapped[datetime | None]
