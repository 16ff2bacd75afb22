"""Staff alerts: linking Telegram with /link CODE, and alerts reaching the linked chat."""

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
from minyi.notifier import Notifier
from minyi.settings import Settings
from store.conversation.engine import Engine
from store.conversation.types import EngineConfig
from store.models import OutboxMessage, OutboxStatus, StaffNotice, User, utcnow
from store.network import staff as staff_mod
from tests.botapi_emulator import TOKEN, BotAPIEmulator
from tests.chat_driver import Chat
from tests.conftest import SECRET


@pytest.fixture
def engine(tmp_path: Path) -> Engine:
    return Engine(EngineConfig(SECRET, tmp_path / "uploads", flood_burst=1000))


def _code(session: Session, user: User) -> str:
    code = staff_mod.issue_link_code(session, user)
    session.commit()
    return code


def _linked_chat(session: Session, user: User) -> str | None:
    session.rollback()  # end the read snapshot
    session.refresh(user)
    return user.telegram_chat_id


def test_a_staff_member_links_telegram_with_a_one_time_code(
    Session_: sessionmaker[Session], engine: Engine, session: Session, clerk: User  # noqa: N803
) -> None:
    code = _code(session, clerk)
    chat = Chat(Session_, engine, user_id="8001")

    said = chat.command("link", code.lower())[0].text
    assert "已绑定工作人员账号 Carol" in said
    assert _linked_chat(session, clerk) == "8001"
    # The code works once.
    other = Chat(Session_, engine, user_id="8002")
    assert "绑定码无效或已过期" in other.command("link", code)[0].text
    assert _linked_chat(session, clerk) == "8001"


def test_a_wrong_or_stale_code_links_nobody(
    Session_: sessionmaker[Session], engine: Engine, session: Session, clerk: User  # noqa: N803
) -> None:
    code = _code(session, clerk)
    clerk.link_code_expires_at = utcnow() - timedelta(minutes=1)
    session.commit()
    chat = Chat(Session_, engine, user_id="8001")
    assert "绑定码无效或已过期" in chat.command("link", code)[0].text
    assert "绑定码无效或已过期" in chat.command("link", "WRONG123")[0].text
    assert _linked_chat(session, clerk) is None


@pytest.fixture
def emu() -> Iterator[BotAPIEmulator]:
    with BotAPIEmulator() as e:
        yield e


def _deliver(settings: Settings, Session_: sessionmaker[Session], emu: BotAPIEmulator) -> int:  # noqa: N803
    async def run() -> int:
        async with Bot(TOKEN, base_url=emu.base_url) as bot:
            return await Notifier(settings, Session_, registry(settings, Session_, telegram_bot=bot)).tick()

    return asyncio.run(run())


def test_an_urgent_report_reaches_the_linked_reviewer_on_telegram(
    Session_: sessionmaker[Session], engine: Engine, session: Session, settings: Settings,  # noqa: N803
    clerk: User, admin: User, point_token: str, emu: BotAPIEmulator,
) -> None:
    emu.user_sends_text(8001, "你好")  # the staff member's chat with the bot
    Chat(Session_, engine, user_id="8001").command("link", _code(session, clerk))
    citizen = Chat(Session_, engine, user_id="1001")
    citizen.command("start", point_token)
    citizen.fill_report(photo=False, urgent=True)
    citizen.press("确认提交")

    assert _deliver(settings, Session_, emu) == 1
    [alert] = emu.texts(8001)
    assert alert.startswith("【紧急】") and "待初审" in alert
    session.rollback()
    rows = session.scalars(sa.select(OutboxMessage)).all()
    assert [(r.user_id, r.reporter_id, r.status) for r in rows] == [
        (clerk.id, None, OutboxStatus.SENT)]
    # The admin did not link Telegram: the console badge only.
    kinds = {(n.user_id, n.kind) for n in session.scalars(sa.select(StaffNotice))}
    assert kinds == {(clerk.id, "urgent"), (admin.id, "urgent")}
