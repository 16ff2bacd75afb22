"""A reporter talking to the engine directly, for engine tests and channel-free scenarios."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from store import db
from store.conversation.engine import Engine
from store.conversation.types import Capabilities, Inbound, IncomingFile, Reply
from store.models import Channel
from tests.form_walk import JPEG, SITUATION, SUGGESTION, Answer, walk

__all__ = ["JPEG", "SITUATION", "SUGGESTION", "Chat"]


@dataclass
class Chat:
    Session: sessionmaker[Session]
    engine: Engine
    user_id: str = "1001"
    channel: Channel = Channel.TELEGRAM
    language: str | None = "zh-hans"
    capabilities: Capabilities = Capabilities()
    log: list[Reply] = field(default_factory=list)

    def send(self, **kw: Any) -> list[Reply]:
        kw.setdefault("language", self.language)
        kw.setdefault("capabilities", self.capabilities)
        # As the Telegram channel does: a unit of work of its own (`store.db.unit`).
        with db.unit(self.Session) as work:
            replies = self.engine.handle(
                work, Inbound(channel=self.channel, user_id=self.user_id, chat_id=self.user_id, **kw))
        self.log.extend(replies)
        return replies

    def text(self, text: str) -> list[Reply]:
        return self.send(text=text)

    def command(self, name: str, args: str = "") -> list[Reply]:
        return self.send(command=name, args=args)

    def photo(self, data: bytes = JPEG, name: str = "photo.jpg") -> list[Reply]:
        return self.send(file=IncomingFile("photo", name, "image/jpeg", len(data), data, ref=name))

    @property
    def last(self) -> Reply:
        return self.log[-1]

    def button(self, label_part: str, reply: Reply | None = None) -> str:
        """The data of the button whose label contains `label_part` on the latest reply with buttons."""
        candidates = [reply] if reply else [r for r in reversed(self.log) if r.buttons]
        for r in candidates:
            for row in r.buttons:
                for b in row:
                    if label_part in b.label:
                        return b.data
            if reply is None:
                break
        raise AssertionError(f"no button {label_part!r} in {[[b.label for b in row] for row in (candidates[0].buttons if candidates else [])]}")

    def press(self, label_part: str) -> list[Reply]:
        return self.send(callback=self.button(label_part))

    def answer(self, a: Answer) -> list[Reply]:
        """Give one step its answer the way a Telegram user would: a button, text, a point, a photo."""
        if a.skip or a.kind in ("choice", "yesno"):
            return self.press(a.label)
        if a.kind == "location" and isinstance(a.value, tuple):
            return self.send(location=a.value)
        if a.kind == "file":
            self.photo(a.value)
            return self.press("完成")
        return self.text(a.value)

    def fill_report(self, *, photo: bool = True, urgent: bool = False, anonymous: bool = False,
                    skip: tuple[str, ...] = ("analysis",), since: str | None = None,
                    until: str | None = None, **choose: Any) -> list[Reply]:
        """Answer the shipped form's questions (`tests.form_walk.walk`) up to the read-back summary,
        from step `since` and up to step `until` if given; `choose` sets answers by step key."""
        replies: list[Reply] = []
        skipped = set(skip) | (set() if photo else {"photos"})
        for a in walk(choose={"urgent": urgent, "anonymous": anonymous, **choose}, skip=skipped,
                      since=since, until=until):
            replies = self.answer(a)
        return replies
