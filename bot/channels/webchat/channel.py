"""The web chat as a `ChannelPort`: delivering is adding a line to the visitor's transcript."""

from __future__ import annotations

import asyncio

import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from bot.channels.base import BaseChannel, Message, Outcome, PointLinks, RatePolicy
from store.conversation.types import BUTTONS_ONLY
from store.models import Channel, WebChatMessage
from store.network import points

CAPABILITIES = BUTTONS_ONLY


def transcribe(session: Session, outbox_id: int, chat_id: str, text: str,
               buttons: list[list[dict[str, str]]] | None) -> None:
    """Outbox row `outbox_id` as a line of chat `chat_id`'s transcript; a second time is a no-op."""
    exists = session.scalar(sa.select(WebChatMessage.id).where(WebChatMessage.outbox_id == outbox_id))
    if exists is None:
        session.add(WebChatMessage(chat_id=chat_id, direction="out", text=text,
                                   buttons=buttons, outbox_id=outbox_id))


class WebChatChannel(BaseChannel):
    """Always on: the transcript is in our own database, polled by the visitor's page.

    Its inbound side is `web/chat.py`, a blueprint of the app itself.
    """

    kind = Channel.WEB
    name = "网页"
    capabilities = CAPABILITIES
    rate = RatePolicy()

    def __init__(self, public_url: str, sessions: sessionmaker[Session]) -> None:
        self.public_url = public_url
        self.sessions = sessions

    async def deliver(self, message: Message) -> Outcome:
        await asyncio.to_thread(self._write, message)
        return Outcome.sent()

    def _write(self, message: Message) -> None:
        with self.sessions() as session, session.begin():
            transcribe(session, message.id, message.chat_id, message.text, message.buttons)

    def links(self, token: str) -> PointLinks:
        link = points.web_link(self.public_url, token)
        return PointLinks(Channel.WEB, "网页反映", "手机浏览器扫码反映", link, link)
