"""A reporter talking to the engine directly, for engine tests and channel-free scenarios."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from store.conversation.engine import Engine
from store.conversation.types import Capabilities, Inbound, IncomingFile, Reply
from store.models import Channel

JPEG = b"\xff\xd8\xff\xe0" + b"minyi-test-photo" * 8

SITUATION = "人民路共有路灯40盏，其中12盏已经损坏超过3个月，附近2000多户居民夜间出行不便。"
SUGGESTION = "建议城管部门尽快排查维修，并建立路灯定期巡查机制。"


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
        with self.Session() as s, s.begin():
            replies = self.engine.handle(
                s, Inbound(channel=self.channel, user_id=self.user_id, chat_id=self.user_id, **kw))
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

    def fill_report(self, *, photo: bool = True, urgent: bool = False,
                    anonymous: bool = False) -> list[Reply]:
        """Answer every question of the shipped form up to the read-back summary."""
        self.press("民生保障")
        self.text("城关镇人民路路灯长期不亮")
        self.text(SITUATION)
        self.press("跳过")
        self.text(SUGGESTION)
        self.text("城关镇人民路")
        if photo:
            self.photo()
            self.press("完成")
        else:
            self.press("跳过")
        self.press("是" if urgent else "否")
        self.press("是" if anonymous else "否")
        if not anonymous:
            return self.text("张先生 13800000000")
        return self.log[-1:]
