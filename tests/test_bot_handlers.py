"""The Telegram handler over HTTP with a stand-in engine: what reaches the engine, what users see."""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace

import pytest
from sqlalchemy.orm import Session, sessionmaker
from telegram import Bot, BotCommand

from bot.channels.telegram.app import COMMANDS, build_application, register_commands
from minyi.settings import ConfigError, Settings
from store import db
from store.conversation.types import Button, Inbound, Reply
from tests.botapi_emulator import TOKEN, BotAPIEmulator, RunningBot

pytestmark = pytest.mark.e2e


@dataclass
class FakeEngine:
    """Records what it was handed; answers with `script` or raises `fail`."""

    seen: list[Inbound] = field(default_factory=list)
    in_transaction: list[bool] = field(default_factory=list)
    script: list[Reply] = field(default_factory=lambda: [Reply("收到")])
    fail: Exception | None = None

    def handle(self, work: db.Unit, inbound: Inbound) -> list[Reply]:
        self.in_transaction.append(work.conn.in_transaction())
        self.seen.append(inbound)
        if self.fail is not None:
            raise self.fail
        return self.script

    def handle_all(self, work: db.Unit, inbounds: Sequence[Inbound]) -> list[list[Reply]]:
        return [self.handle(work, inbound) for inbound in inbounds]


@dataclass
class Rig:
    emu: BotAPIEmulator
    bot: RunningBot
    engine: FakeEngine


@pytest.fixture
def rig(settings: Settings, Session_: sessionmaker[Session]) -> Iterator[Rig]:  # noqa: N803
    with BotAPIEmulator() as emu:
        tg = replace(settings, telegram_bot_token=TOKEN, telegram_base_url=emu.base_url,
                     telegram_base_file_url=emu.base_file_url, telegram_poll_timeout=1)
        engine = FakeEngine()
        running = RunningBot(build_application(tg, Session_, engine), emu).start()
        try:
            yield Rig(emu, running, engine)
        finally:
            running.stop()


def test_it_hands_the_engine_one_inbound_per_update_in_a_unit_of_work(rig: Rig) -> None:
    rig.engine.script = [Reply("请选择：", [[Button("是", "t1:y"), Button("否", "t1:n")]]),
                         Reply("第二条")]
    sent = rig.bot.act(7, lambda: rig.emu.user_sends_command(7, "start", "p1_1_abc",
                                                            language_code="en"))
    [inbound] = rig.engine.seen
    assert (inbound.command, inbound.args, inbound.language) == ("start", "p1_1_abc", "en")
    assert rig.engine.in_transaction == [True]
    assert [s.text for s in sent] == ["请选择：", "第二条"]
    assert sent[0].buttons == [[("是", "t1:y"), ("否", "t1:n")]]
    assert sent[1].buttons == []


def test_it_answers_a_press_and_takes_the_buttons_away(rig: Rig) -> None:
    rig.engine.script = [Reply("请选择：", [[Button("是", "t1:y")]])]
    [prompt] = rig.bot.act(7, lambda: rig.emu.user_sends_text(7, "开始"))
    rig.engine.script = [Reply("好的")]

    first = rig.emu.user_presses(7, "t1:y", prompt.message_id)
    second = rig.emu.user_presses(7, "t1:y", prompt.message_id)  # a double tap
    rig.bot.wait_handled(first)
    rig.bot.wait_handled(second)

    assert [i.callback for i in rig.engine.seen[1:]] == ["t1:y", "t1:y"]  # the engine guards
    assert len(rig.emu.answered_callbacks) == 2
    assert rig.emu.shown_buttons(7, prompt.message_id) == []


def test_it_fetches_the_largest_photo_for_the_engine(rig: Rig) -> None:
    rig.bot.act(7, lambda: rig.emu.user_sends_photo(7, b"\xff\xd8 full size"))
    [inbound] = rig.engine.seen
    assert inbound.file is not None and inbound.file.kind == "photo"
    assert inbound.file.data == b"\xff\xd8 full size"


def test_it_does_not_fetch_a_document_over_twenty_megabytes(rig: Rig) -> None:
    rig.bot.act(7, lambda: rig.emu.user_sends_document(7, size=21 * 1024 * 1024))
    [inbound] = rig.engine.seen
    assert inbound.file is not None
    assert inbound.file.data is None and inbound.file.size == 21 * 1024 * 1024
    assert "getFile" not in [m for m, _ in rig.emu.calls]


def test_it_tells_the_user_to_try_again_when_handling_fails(rig: Rig) -> None:
    rig.engine.fail = RuntimeError("database is locked")
    sent = rig.bot.act(7, lambda: rig.emu.user_sends_text(7, "路灯坏了"))
    assert len(sent) == 1 and "系统繁忙，请稍后再试" in (sent[0].text or "")

    rig.engine.fail = None  # and the bot keeps going
    assert [s.text for s in rig.bot.act(7, lambda: rig.emu.user_sends_text(7, "再试"))] == ["收到"]


def test_it_logs_a_blocked_chat_without_its_id(rig: Rig, caplog: pytest.LogCaptureFixture) -> None:
    """A private chat's id is the reporter's Telegram id (保密): logs say what failed, not whose."""
    caplog.set_level(logging.INFO, logger="bot.channels.telegram.handlers")
    rig.emu.block_bot(5550001234)
    assert rig.bot.act(5550001234, lambda: rig.emu.user_sends_text(5550001234, "路灯坏了")) == []
    failed = [r.getMessage() for r in caplog.records if r.name == "bot.channels.telegram.handlers"]
    assert failed and all("5550001234" not in m for m in failed)


def test_it_answers_in_english_when_the_client_is_english(rig: Rig) -> None:
    rig.engine.fail = RuntimeError("boom")
    sent = rig.bot.act(7, lambda: rig.emu.user_sends_text(7, "hello", language_code="en-US"))
    assert "try again later" in (sent[0].text or "")


def test_it_keeps_groups_and_channels_out_of_the_engine(rig: Rig) -> None:
    group = rig.bot.act(-1001, lambda: rig.emu.group_message(-1001, 7, "/start"))
    channel = rig.bot.act(-1002, lambda: rig.emu.group_message(-1002, 7, "公告", "channel"))
    assert rig.engine.seen == []
    assert "请私聊我" in (group[0].text or "") and "请私聊我" in (channel[0].text or "")


def test_it_registers_the_command_menu_in_chinese_and_english() -> None:
    async def menu(emu: BotAPIEmulator) -> tuple[list[BotCommand], list[BotCommand]]:
        async with Bot(TOKEN, base_url=emu.base_url) as bot:
            await register_commands(bot)
            zh = await bot.get_my_commands()
            en = await bot.get_my_commands(language_code="en")
            return list(zh), list(en)

    with BotAPIEmulator() as emu:
        zh, en = asyncio.run(menu(emu))
    assert [c.description for c in zh] == [d for _, d in COMMANDS["zh"]]
    assert [c.description for c in en] == [d for _, d in COMMANDS["en"]]
    assert "帮助" in [c.description for c in zh] and "Help" in [c.description for c in en]
    names = [c.command for c in zh]
    assert names == [c.command for c in en]
    for command in ("bind", "topics", "mystats", "subscribe", "unsubscribe"):
        assert command in names
    # Telegram's rules for a menu entry.
    assert all(re.fullmatch(r"[a-z0-9_]{1,32}", c.command) and 1 <= len(c.description) <= 256
               for c in zh + en)


def test_it_will_not_build_without_a_token(settings: Settings,
                                           Session_: sessionmaker[Session]) -> None:  # noqa: N803
    with pytest.raises(ConfigError, match="TELEGRAM_BOT_TOKEN"):
        build_application(settings, Session_, FakeEngine())
