"""Staff alerts: linking a chat with /link CODE on Telegram and on WeChat, and alerts reaching
every linked chat, through the registry, until a channel says the chat is gone."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker
from telegram import Bot

from bot.channels import registry
from bot.channels.telegram.sender import CAPABILITIES as TELEGRAM
from minyi.notifier import Notifier
from minyi.settings import Settings
from store.conversation.engine import Engine
from store.conversation.types import EngineConfig
from store.delivery import notices
from store.models import (
    Channel,
    OutboxMessage,
    OutboxStatus,
    StaffAddress,
    StaffNotice,
    User,
    utcnow,
)
from store.network import staff as staff_mod
from tests.botapi_emulator import TOKEN, BotAPIEmulator
from tests.chat_driver import Chat
from tests.conftest import SECRET
from tests.wechat_emulator import WeChatEmulator
from tests.wechat_support import TEMPLATE, Running, wechat_settings

STAFF_OPENID = "oStaffCarol000000000000000"


@pytest.fixture
def engine(tmp_path: Path) -> Engine:
    return Engine(EngineConfig(SECRET, tmp_path / "uploads", flood_burst=1000))


@pytest.fixture
def emu() -> Iterator[BotAPIEmulator]:
    with BotAPIEmulator() as e:
        yield e


@pytest.fixture
def wxemu() -> Iterator[WeChatEmulator]:
    with WeChatEmulator() as e:
        e.add_template(TEMPLATE)
        yield e


@pytest.fixture
def wx(settings: Settings, Session_: sessionmaker[Session],  # noqa: N803
       wxemu: WeChatEmulator) -> Iterator[Running]:
    running = Running(wechat_settings(settings, wxemu), Session_, wxemu)
    yield running
    running.close()


def _code(session: Session, user: User) -> str:
    code = staff_mod.issue_link_code(session, user)
    session.commit()
    return code


def _chats(session: Session, user: User) -> dict[Channel, tuple[str, bool]]:
    """The user's addresses as committed: channel → (chat, live)."""
    session.rollback()  # end the read snapshot
    return {a.channel: (a.chat_id, a.gone_at is None) for a in session.scalars(
        sa.select(StaffAddress).where(StaffAddress.user_id == user.id))}


def _telegram(Session_: sessionmaker[Session], engine: Engine, chat: str) -> Chat:  # noqa: N803
    """A staff member's Telegram chat with the bot, as its adapter hands it to the engine."""
    return Chat(Session_, engine, user_id=chat, capabilities=TELEGRAM)


def _deliver(settings: Settings, Session_: sessionmaker[Session], emu: BotAPIEmulator) -> int:  # noqa: N803
    """Notifier rounds over every channel switched on in `settings`, Telegram through `emu`,
    until nothing is due (a chat's rows go one a round); returns how many rows were handled."""
    async def run() -> int:
        async with Bot(TOKEN, base_url=emu.base_url) as bot:
            channels = registry(settings, Session_, telegram_bot=bot)
            notifier = Notifier(settings, Session_, channels)
            total = 0
            try:
                while handled := await notifier.tick():
                    total += handled
                return total
            finally:
                channels.close()

    return asyncio.run(run())


def test_a_staff_member_links_telegram_with_a_one_time_code(
    Session_: sessionmaker[Session], engine: Engine, session: Session, clerk: User  # noqa: N803
) -> None:
    code = _code(session, clerk)

    said = _telegram(Session_, engine, "8001").command("link", code.lower())[0].text
    assert "已绑定工作人员账号 Carol" in said
    assert _chats(session, clerk) == {Channel.TELEGRAM: ("8001", True)}
    # The code works once.
    said = _telegram(Session_, engine, "8002").command("link", code)[0].text
    assert "没有这个绑定码，或它已经用过" in said
    assert _chats(session, clerk) == {Channel.TELEGRAM: ("8001", True)}


def test_a_forged_or_expired_code_is_refused_with_a_reason(
    Session_: sessionmaker[Session], engine: Engine, session: Session, clerk: User  # noqa: N803
) -> None:
    code = _code(session, clerk)
    clerk.link_code_expires_at = utcnow() - timedelta(minutes=1)
    session.commit()
    chat = _telegram(Session_, engine, "8001")

    assert "这个绑定码已过期（24 小时内有效）" in chat.command("link", code)[0].text
    assert "没有这个绑定码" in chat.command("link", "WRONG123")[0].text
    english = Chat(Session_, engine, user_id="8003", language="en")
    assert "That link code has expired" in english.command("link", code)[0].text
    assert _chats(session, clerk) == {}


def test_a_staff_member_links_wechat_by_typing_the_code_to_the_account(
    wx: Running, wxemu: WeChatEmulator, session: Session, clerk: User
) -> None:
    code = _code(session, clerk)

    [said] = wx.say(wxemu.text(STAFF_OPENID, f"/link {code}"))

    assert "已绑定工作人员账号 Carol" in said
    assert _chats(session, clerk) == {Channel.WECHAT: (STAFF_OPENID, True)}


def test_alerts_reach_every_linked_chat_until_one_is_gone(
    Session_: sessionmaker[Session], engine: Engine, session: Session,  # noqa: N803
    wx: Running, wxemu: WeChatEmulator, emu: BotAPIEmulator, clerk: User, admin: User,
    point_token: str,
) -> None:
    emu.user_sends_text(8001, "你好")  # the staff member's chat with the Telegram bot
    _telegram(Session_, engine, "8001").command("link", _code(session, clerk))
    wx.say(wxemu.subscribe(STAFF_OPENID))
    wx.say(wxemu.text(STAFF_OPENID, f"/link {_code(session, clerk)}"))
    assert _chats(session, clerk) == {Channel.TELEGRAM: ("8001", True),
                                      Channel.WECHAT: (STAFF_OPENID, True)}
    citizen = Chat(Session_, engine, user_id="1001")
    citizen.command("start", point_token)
    citizen.fill_report(photo=False, urgent=True)
    citizen.press("确认提交")

    assert _deliver(wx.settings, Session_, emu) == 2
    [on_telegram] = emu.texts(8001)
    assert on_telegram.startswith("【紧急】") and "待初审" in on_telegram
    assert wxemu.texts(STAFF_OPENID)[-1] == on_telegram
    session.rollback()
    rows = session.scalars(sa.select(OutboxMessage).order_by(OutboxMessage.id)).all()
    assert [(r.user_id, r.channel, r.chat_id, r.status) for r in rows] == [
        (clerk.id, Channel.TELEGRAM, "8001", OutboxStatus.SENT),
        (clerk.id, Channel.WECHAT, STAFF_OPENID, OutboxStatus.SENT)]
    # The admin linked nothing: the console badge only.
    kinds = {(n.user_id, n.kind) for n in session.scalars(sa.select(StaffNotice))}
    assert kinds == {(clerk.id, "urgent"), (admin.id, "urgent")}

    # The staff member unfollows the account: WeChat says so (43004) on the next alert.
    wx.say(wxemu.unsubscribe(STAFF_OPENID))
    session.rollback()  # a fresh snapshot to write from
    notices.notify(session, clerk, "test", "第二条提醒")
    session.commit()
    assert _deliver(wx.settings, Session_, emu) == 2
    assert emu.texts(8001)[-1] == "第二条提醒" and "第二条提醒" not in wxemu.texts(STAFF_OPENID)
    assert _chats(session, clerk) == {Channel.TELEGRAM: ("8001", True),
                                      Channel.WECHAT: (STAFF_OPENID, False)}
    dead = session.scalar(sa.select(OutboxMessage).where(OutboxMessage.channel == Channel.WECHAT,
                                                         OutboxMessage.text == "第二条提醒"))
    assert dead is not None and dead.status == OutboxStatus.DEAD and "43004" in (dead.last_error or "")

    # Later alerts skip the gone chat ...
    session.rollback()  # a fresh snapshot to write from
    notices.notify(session, clerk, "test", "第三条提醒")
    session.commit()
    assert [r.channel for r in session.scalars(
        sa.select(OutboxMessage).where(OutboxMessage.text == "第三条提醒"))] == [Channel.TELEGRAM]

    # ... until they follow again and write to the account.
    wx.say(wxemu.subscribe(STAFF_OPENID))
    assert _chats(session, clerk)[Channel.WECHAT] == (STAFF_OPENID, True)
    session.rollback()  # a fresh snapshot to write from
    notices.notify(session, clerk, "test", "第四条提醒")
    session.commit()
    assert _deliver(wx.settings, Session_, emu) == 3
    assert wxemu.texts(STAFF_OPENID)[-1] == "第四条提醒" and emu.texts(8001)[-1] == "第四条提醒"
