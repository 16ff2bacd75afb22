"""End to end over HTTP: the real PTB application and notifier against the Bot API emulator.

A citizen scans a collection point's code, files a report with a photo,
staff adopt it in the console (level by level), and the notifier brings the
news back to the citizen's chat; a report returned for more comes back with
the citizen's answer and photo. The rest checks what the bot says to everything else a
Telegram user can throw at it.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker
from telegram import Bot

from bot.channels import registry
from bot.channels.telegram.app import build_application
from minyi.notifier import Notifier
from minyi.settings import Settings
from store.conversation.engine import Engine
from store.models import (
    Attachment,
    Channel,
    Conversation,
    OutboxMessage,
    OutboxStatus,
    Report,
    ReportStatus,
    StaffAddress,
    StaffNotice,
    User,
)
from store.network import staff
from store.reports import files
from tests.botapi_emulator import TOKEN, BotAPIEmulator, RunningBot, Sent
from tests.form_walk import SITUATION, TITLE, Answer, walk
from tests.web_support import csrf, login

pytestmark = pytest.mark.e2e

PHOTO = b"\xff\xd8\xff\xe0" + b"a street lamp, broken" * 20
TRACKING = re.compile(r"\d{4}-\d{6}")


@dataclass
class World:
    emu: BotAPIEmulator
    bot: RunningBot
    settings: Settings
    Session: sessionmaker[Session]

    def act(self, user_id: int, action: Any) -> list[Sent]:
        return self.bot.act(user_id, action)

    def said(self, sent: list[Sent]) -> str:
        return "\n".join(s.text or "" for s in sent)


@pytest.fixture
def world(settings: Settings, Session_: sessionmaker[Session],  # noqa: N803
          engine: Engine) -> Iterator[World]:
    with BotAPIEmulator() as emu:
        tg_settings = replace(settings, telegram_bot_token=TOKEN, telegram_base_url=emu.base_url,
                              telegram_base_file_url=emu.base_file_url, telegram_poll_timeout=1)
        running = RunningBot(build_application(tg_settings, Session_, engine), emu).start()
        try:
            yield World(emu, running, tg_settings, Session_)
        finally:
            running.stop()


def _answer(w: World, user: int, a: Answer) -> list[Sent]:
    """Give one step of the form its answer as a Telegram user does: a tap, text, a pin, a photo."""
    emu = w.emu
    if a.skip or a.kind in ("choice", "yesno"):
        return w.act(user, lambda: emu.press(user, a.label))
    if a.kind == "location" and isinstance(a.value, tuple):
        return w.act(user, lambda: emu.user_sends_location(user, *a.value))
    if a.kind == "file":
        w.act(user, lambda: emu.user_sends_photo(user, a.value))
        return w.act(user, lambda: emu.press(user, "完成"))
    return w.act(user, lambda: emu.user_sends_text(user, a.value))


def _walk(w: World, user: int, point_token: str, **kw: Any) -> list[Sent]:
    """Scan, then answer the form's questions (`tests.form_walk.walk(**kw)`); the last answer's replies."""
    said = w.said(w.act(user, lambda: w.emu.user_sends_command(user, "start", point_token)))
    assert "城关镇便民服务中心" in said
    sent: list[Sent] = []
    for a in walk(**kw):
        sent = _answer(w, user, a)
    return sent


def _file_report(w: World, user: int, point_token: str) -> list[Sent]:
    """Scan, answer every question (a pin for the place, a photo), stop at the read-back summary."""
    summary = _walk(w, user, point_token, skip={"analysis"},
                    choose={"place": (25.04, 102.71), "photos": PHOTO})
    assert any(s.button("确认") for s in summary), w.said(summary)
    return summary


def _decide_in_console(w: World, report_id: int, user: User, action: str, **form: str) -> None:
    """`user` takes `action` on the report's page, naming the version it shows."""
    from web import create_app

    app = create_app(w.settings, session_factory=w.Session)
    app.config.update(TESTING=True)
    client = app.test_client()
    login(client, user.username)
    token = csrf(client, f"/reports/{report_id}")
    with w.Session() as s:
        version = s.get(Report, report_id).version  # type: ignore[union-attr]
    response = client.post(f"/reports/{report_id}/act", data={
        "action": action, "version": str(version), "csrf_token": token, **form})
    assert response.status_code in (200, 302, 303), response.get_data(as_text=True)
    with w.Session() as s:
        assert s.get(Report, report_id).version == version + 1, f"{action} was refused"  # type: ignore[union-attr]


def _adopt_in_console(w: World, report: Report, clerk: User, director: User, secretary: User) -> None:
    """初审 → 审核 → 审定: each level signs off in the console, the last one adopts."""
    _decide_in_console(w, report.id, clerk, "sign_off")
    _decide_in_console(w, report.id, director, "sign_off")
    _decide_in_console(w, report.id, secretary, "adopt", adoption_level="county")


def _deliver(w: World) -> int:
    async def once() -> int:
        bot = Bot(TOKEN, base_url=w.emu.base_url, base_file_url=w.emu.base_file_url)
        async with bot:
            return await Notifier(w.settings, w.Session, registry(w.settings, w.Session, telegram_bot=bot)).tick()

    return asyncio.run(once())


def test_it_carries_a_report_from_scan_to_adoption_feedback(
    world: World, point_token: str, clerk: User, director: User, secretary: User, session: Session
) -> None:
    user = 5001
    _file_report(world, user, point_token)
    receipt = world.said(world.act(user, lambda: world.emu.press(user, "确认")))
    number = TRACKING.search(receipt)
    assert number, receipt

    report = session.scalars(sa.select(Report)).one()
    assert report.tracking_no == number.group(0)
    assert report.title == TITLE
    assert (report.latitude, report.longitude) == (25.04, 102.71)
    assert report.point is not None and report.point.name == "城关镇便民服务中心"
    [photo] = session.scalars(sa.select(Attachment).where(Attachment.report_id == report.id))
    assert photo.kind == "photo"
    assert files.open_path(world.settings.upload_dir, photo.storage_path).read_bytes() == PHOTO

    _adopt_in_console(world, report, clerk, director, secretary)
    before = len(world.emu.sent_to(user))
    assert _deliver(world) == 1
    feedback = world.emu.sent_to(user)[before:]
    assert len(feedback) == 1
    assert "已被采用" in (feedback[0].text or "") and number.group(0) in (feedback[0].text or "")
    session.commit()  # end the read snapshot taken before the adoption
    assert session.scalars(sa.select(OutboxMessage.status)).all() == [OutboxStatus.SENT]
    assert _deliver(world) == 0  # delivered once, never again
    assert len(world.emu.sent_to(user)) == before + 1


def test_it_creates_one_report_when_confirm_is_double_clicked(
    world: World, point_token: str, session: Session
) -> None:
    user = 5002
    summary = _file_report(world, user, point_token)
    confirm = next(s for s in summary if s.button("确认"))
    data = confirm.button("确认")
    assert data
    emu = world.emu
    first = emu.user_presses(user, data, confirm.message_id)
    second = emu.user_presses(user, data, confirm.message_id)
    world.bot.wait_handled(first)
    world.bot.wait_handled(second)

    assert session.scalar(sa.select(sa.func.count()).select_from(Report)) == 1
    receipts = [s for s in emu.sent_to(user) if TRACKING.search(s.text or "")]
    numbers = {TRACKING.search(s.text or "").group(0) for s in receipts}  # type: ignore[union-attr]
    assert len(numbers) == 1
    assert emu.shown_buttons(user, confirm.message_id) == []
    assert len(emu.answered_callbacks) >= 2  # every tap's spinner is stopped


def test_it_keeps_the_draft_when_start_comes_again_mid_report(
    world: World, point_token: str, session: Session
) -> None:
    user, emu = 5003, world.emu
    _walk(world, user, point_token, until="situation")
    # The same point's code again: the draft is taken up where it stood.
    said = world.said(world.act(user, lambda: emu.user_sends_command(user, "start", point_token)))
    assert "您上次填写的信息还在（已填 2 项）" in said and "具体情况" in said
    conv = session.scalars(sa.select(Conversation)).one()
    assert conv.answers.get("title") == TITLE
    said = world.said(world.act(user, lambda: emu.user_sends_text(user, SITUATION)))
    assert "原因" in said


def test_it_tells_a_forged_code_apart_and_binds_no_point(world: World, session: Session) -> None:
    user, emu = 5004, world.emu
    said = world.said(world.act(user, lambda: emu.user_sends_command(user, "start", "p1-forged0000")))
    assert "无法识别" in said
    conv = session.scalars(sa.select(Conversation)).one()
    assert conv.point_id is None


def test_it_refuses_group_chats_once_and_politely(world: World, session: Session) -> None:
    emu, group = world.emu, -100777
    first = world.act(group, lambda: emu.group_message(group, 5005, "/start", "supergroup"))
    again = world.act(group, lambda: emu.group_message(group, 5005, "路灯坏了", "supergroup"))
    assert len(first) == 1 and "请私聊我" in (first[0].text or "")
    assert "private chat" in (first[0].text or "")
    assert again == []
    assert session.scalar(sa.select(sa.func.count()).select_from(Conversation)) == 0


def test_it_answers_stickers_and_voice_clearly(world: World, point_token: str) -> None:
    user, emu = 5006, world.emu
    world.act(user, lambda: emu.user_sends_command(user, "start", point_token))
    assert "不支持贴纸" in world.said(world.act(user, lambda: emu.user_sends_sticker(user)))
    assert "不支持语音" in world.said(world.act(user, lambda: emu.user_sends_voice(user)))


def test_it_refuses_a_document_over_twenty_megabytes_naming_the_limit(
    world: World, point_token: str, session: Session
) -> None:
    user, emu = 5007, world.emu
    _walk(world, user, point_token, until="photos")
    said = world.said(world.act(user, lambda: emu.user_sends_document(
        user, size=25 * 1024 * 1024, file_name="调查报告.pdf")))
    assert "20" in said and "MB" in said.upper()
    assert session.scalar(sa.select(sa.func.count()).select_from(Attachment)) == 0
    assert "getFile" not in [m for m, _ in emu.calls]  # bots may not fetch it


def test_it_answers_an_edited_message_without_applying_it(
    world: World, point_token: str, session: Session
) -> None:
    user, emu = 5008, world.emu
    _walk(world, user, point_token, until="title")
    sent = emu.user_sends_text(user, TITLE)
    world.bot.wait_handled(sent["update_id"])
    said = world.said(world.act(user, lambda: emu.user_edits_message(
        user, sent["message_id"], "完全不同的标题内容")))
    assert "修改后不会生效" in said
    conv = session.scalars(sa.select(Conversation)).one()
    assert conv.answers.get("title") == TITLE


def test_it_plays_a_return_for_more_round_trip(
    world: World, point_token: str, clerk: User, director: User, session: Session
) -> None:
    """审核 returns it with a question; the citizen answers in text and a photo; it comes back to 审核."""
    user, emu, reviewer_chat = 5009, world.emu, 6001
    # The 审核 reviewer linked Telegram with the code the console showed them.
    code = staff.issue_link_code(session, director)
    session.commit()
    linked = world.said(world.act(reviewer_chat, lambda: emu.user_sends_command(
        reviewer_chat, "link", code)))
    assert "已绑定工作人员账号" in linked
    [address] = session.scalars(sa.select(StaffAddress)).all()
    assert (address.user_id, address.channel, address.chat_id) == (
        director.id, Channel.TELEGRAM, str(reviewer_chat))
    session.rollback()  # end the read snapshot before the report is filed
    _file_report(world, user, point_token)
    world.act(user, lambda: emu.press(user, "确认"))
    report = session.scalars(sa.select(Report)).one()
    _decide_in_console(world, report.id, clerk, "sign_off")
    _decide_in_console(world, report.id, director, "return", note="请补充路灯的具体位置和现场照片")

    before = len(emu.sent_to(user))
    assert _deliver(world) == 1
    [question] = emu.sent_to(user)[before:]
    assert "需要补充" in (question.text or "") and "现场照片" in (question.text or "")
    assert question.button("补充信息")

    said = world.said(world.act(user, lambda: emu.press(user, "补充信息")))
    assert "请补充路灯的具体位置和现场照片" in said
    assert "已记下" in world.said(world.act(user, lambda: emu.user_sends_text(
        user, "路灯位于人民路12号至30号之间，共12盏")))
    extra = b"\xff\xd8\xff\xe0" + b"the lamps at night" * 20
    world.act(user, lambda: emu.user_sends_photo(user, extra))
    done = world.said(world.act(user, lambda: emu.press(user, "提交补充")))
    assert "补充内容已提交" in done and report.tracking_no in done

    session.rollback()  # end the read snapshot taken before the supplement
    report = session.get(Report, report.id)  # type: ignore[assignment]
    assert report.status is ReportStatus.RESUBMITTED and report.review_level == 1
    resubmit = report.events[-1]
    assert resubmit.action == "resubmit" and "人民路12号至30号" in (resubmit.note or "")
    supplements = [a for a in report.attachments if a.supplement]
    assert [a.kind for a in supplements] == ["photo"]
    assert files.open_path(world.settings.upload_dir, supplements[0].storage_path).read_bytes() == extra
    notices = session.scalars(sa.select(StaffNotice).where(StaffNotice.kind == "resubmitted")).all()
    assert [n.user_id for n in notices] == [director.id]
    assert report.tracking_no in notices[0].text and "审核" in notices[0].text
    # ... and on Telegram, delivered by the same notifier.
    assert _deliver(world) == 1
    assert any("反映人已补充" in t and report.tracking_no in t for t in emu.texts(reviewer_chat))
