"""The whole loop over WeChat: a citizen scans a point's code, files a report by typing numbers and
words, staff decide, and the feedback comes back, all against the emulated WeChat API."""

from __future__ import annotations

import asyncio

import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from minyi.notifier import Notifier
from store.models import (
    Attachment,
    Channel,
    CollectionPoint,
    OutboxMessage,
    Report,
    Reporter,
    User,
    WeChatInbox,
    WeChatInboxStatus,
)
from store.network import scans
from tests.form_walk import JPEG, PLACE, SITUATION, SUGGESTION, TITLE, Answer, walk
from tests.review_support import adopt
from tests.wechat_emulator import WeChatEmulator
from tests.wechat_support import TEMPLATE, Running

CITIZEN = "oCitizen0000000000000000000"


def _one(texts: list[str]) -> str:
    assert len(texts) == 1, texts
    return texts[0]


def _answer(wx: Running, emu: WeChatEmulator, a: Answer) -> str:
    """Give one step its answer as a WeChat user does: an option's number or word, text, a pin, a
    picture; what the next message says."""
    if a.skip:
        sent = emu.text(CITIZEN, "跳过")
    elif a.kind == "choice":
        sent = emu.text(CITIZEN, str(a.number))
    elif a.kind == "yesno":
        sent = emu.text(CITIZEN, a.label)
    elif a.kind == "location" and isinstance(a.value, tuple):
        sent = emu.location(CITIZEN, *a.value, PLACE)
    elif a.kind == "file":
        got = _one(wx.say(emu.image(CITIZEN, a.value)))
        assert "已收到第 1 个文件。可以继续上传，上传完毕请点“完成”。\n\n回复数字选择：\n1. 完成" in got
        sent = emu.text(CITIZEN, "1")
    else:
        sent = emu.text(CITIZEN, a.value)
    return _one(wx.say(sent))


def _file_a_report(wx: Running, emu: WeChatEmulator, point_token: str) -> str:
    """Scan, answer every question (numbers, words, a location, a photo), confirm; the receipt."""
    welcome = _one(wx.say(emu.subscribe(CITIZEN, scene=point_token, encrypt=True)))
    assert "城关镇便民服务中心" in welcome
    assert "请选择信息类别：" in welcome and "2. 民生保障" in welcome

    walked = walk(skip={"analysis"}, choose={"place": (30.2741, 120.1551)})
    for a, then in zip(walked, [*walked[1:], None], strict=True):
        answer = _answer(wx, emu, a)
        if then is not None:  # the next question follows
            assert then.step.text("zh")[:8] in answer, (a.key, answer)
        if then is not None and then.key == "analysis":  # an optional step offers 跳过 by number
            assert "原因是什么？（可跳过）\n（第 4/10 项）\n\n回复数字选择：\n1. 跳过" in answer
    assert "【地点】位置（30.27410, 120.15510）" in answer
    assert "1. ✅ 确认提交\n2. ✏️ 修改" in answer
    return _one(wx.say(emu.text(CITIZEN, "确认提交")))


def test_a_citizen_files_a_report_from_a_points_code(wx: Running, emu: WeChatEmulator,
                                                     point: CollectionPoint, point_token: str,
                                                     session: Session) -> None:
    receipt = _file_a_report(wx, emu, point_token)

    report = session.scalar(sa.select(Report))
    assert report is not None
    assert report.tracking_no in receipt
    assert (report.point_id, report.category, report.title) == (
        point.id, "livelihood", TITLE)
    assert report.situation == SITUATION and report.suggestion == SUGGESTION
    # The scan of the point's WeChat code counts, beside the web chat's and Telegram's.
    assert scans.figures(session)[point.id].on(Channel.WECHAT) == 1
    reporter = session.get(Reporter, report.reporter_id)
    assert reporter is not None
    assert (reporter.channel, reporter.external_id, reporter.chat_id) == (Channel.WECHAT, CITIZEN, CITIZEN)
    [photo] = session.scalars(sa.select(Attachment).where(Attachment.report_id == report.id))
    assert (photo.kind, photo.content_type, photo.size) == ("photo", "image/jpeg", len(JPEG))
    # Every input answered and closed; one token for the whole conversation.
    assert set(session.scalars(sa.select(WeChatInbox.status))) == {WeChatInboxStatus.DONE}
    assert emu.calls["/cgi-bin/token"] == 1


def test_an_unknown_kind_of_message_gets_a_polite_answer_and_is_kept(
        wx: Running, emu: WeChatEmulator, point_token: str, session: Session) -> None:
    wx.say(emu.subscribe(CITIZEN, scene=point_token))

    answer = _one(wx.say(emu.voice(CITIZEN)))
    other = _one(wx.say(emu.message(CITIZEN, "hologram", {"Data": "三维影像"})))

    assert answer.startswith("暂不支持语音消息")
    assert "请选择信息类别：" in answer  # and the question again
    assert other.startswith("暂不支持这类消息")
    payloads = list(session.scalars(sa.select(WeChatInbox.payload).order_by(WeChatInbox.id)))
    assert "<MsgType><![CDATA[hologram]]></MsgType>" in payloads[-1] and "三维影像" in payloads[-1]


def test_a_menu_click_runs_its_command(wx: Running, emu: WeChatEmulator) -> None:
    answer = _one(wx.say(emu.click(CITIZEN, "my")))

    assert "还没有" in answer or "信息" in answer


def _notify(wx: Running, Session_: sessionmaker[Session]) -> int:  # noqa: N803
    """One round of `minyi serve`'s notifier over the app's channel registry."""
    return asyncio.run(Notifier(wx.settings, Session_, wx.registry).tick())


def test_feedback_reaches_the_reporter_through_the_registry(
        wx: Running, emu: WeChatEmulator, point_token: str, session: Session,
        Session_: sessionmaker[Session], admin: User) -> None:  # noqa: N803
    _file_a_report(wx, emu, point_token)
    report = session.scalar(sa.select(Report))
    assert report is not None
    adopt(session, report, admin)
    session.commit()

    assert _notify(wx, Session_) == 1

    feedback = emu.delivered_to(CITIZEN)[-1]
    assert feedback.kind == "custom" and report.tracking_no in feedback.text
    assert "已被采用" in feedback.text
    session.rollback()
    assert set(session.scalars(sa.select(OutboxMessage.status))) == {"sent"}


def test_feedback_falls_back_to_a_template_after_48_hours(
        wx: Running, emu: WeChatEmulator, point_token: str, session: Session,
        Session_: sessionmaker[Session], admin: User) -> None:  # noqa: N803
    _file_a_report(wx, emu, point_token)
    report = session.scalar(sa.select(Report))
    assert report is not None
    adopt(session, report, admin)
    session.commit()
    emu.advance(49 * 3600)

    assert _notify(wx, Session_) == 1

    template = emu.delivered_to(CITIZEN)[-1]
    assert template.kind == "template" and template.template_id == TEMPLATE
    assert report.tracking_no in template.data["keyword1"]
    session.rollback()
    [row] = session.scalars(sa.select(OutboxMessage))
    assert row.status == "sent"


def test_feedback_to_a_reporter_who_unfollowed_is_given_up_and_they_are_written_to_no_more(
        wx: Running, emu: WeChatEmulator, point_token: str, session: Session,
        Session_: sessionmaker[Session], admin: User) -> None:  # noqa: N803
    _file_a_report(wx, emu, point_token)
    wx.say(emu.unsubscribe(CITIZEN))
    report = session.scalar(sa.select(Report))
    assert report is not None
    adopt(session, report, admin)
    session.commit()
    before = len(emu.delivered_to(CITIZEN))

    assert _notify(wx, Session_) == 1

    assert len(emu.delivered_to(CITIZEN)) == before
    session.rollback()
    [row] = session.scalars(sa.select(OutboxMessage))
    assert row.status == "dead" and "43004" in (row.last_error or "")
    reporter = session.get(Reporter, report.reporter_id, populate_existing=True)
    assert reporter is not None and reporter.blocked_at is not None
