"""The conversation engine, channel-free: every step kind and every bad input."""

from __future__ import annotations

import dataclasses
import re
from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from store.conversation.engine import Engine
from store.conversation.types import BUTTONS_ONLY, IncomingFile
from store.models import (
    Attachment,
    Channel,
    CollectionPoint,
    Conversation,
    OutboxMessage,
    ProcessedUpdate,
    Report,
    ReportEvent,
    ReportStatus,
    StaffNotice,
    Urgency,
    User,
)
from store.reports import lifecycle, returns
from tests.chat_driver import Chat
from tests.conftest import SECRET
from tests.form_walk import JPEG, SITUATION, SUGGESTION, walk
from tests.review_support import adopt
from tests.web_support import login

TRACKING = re.compile(r"\d{4}-\d{6}")


def reports_in(session: Session) -> list[Report]:
    session.rollback()  # end the read snapshot, see the latest rows
    return list(session.scalars(sa.select(Report)))


def test_it_files_a_whole_report_and_gives_a_receipt(chat, session, point, point_token, engine):
    chat.command("start", point_token)
    assert "城关镇便民服务中心" in chat.log[0].text
    chat.fill_report(photo=True, urgent=True)
    assert "请核对" in chat.last.text and SITUATION[:20] in chat.last.text
    receipt = chat.press("确认提交")[0]
    no = TRACKING.search(receipt.text).group(0)

    [report] = reports_in(session)
    assert report.tracking_no == no
    assert report.point_id == point.id
    assert report.category == "livelihood"
    assert report.situation == SITUATION  # Chinese punctuation kept as typed
    assert report.suggestion == SUGGESTION
    assert report.analysis is None
    assert report.place == "城关镇人民路"
    assert report.urgency is Urgency.URGENT
    assert report.contact == "张先生 13800000000"
    assert report.status is ReportStatus.SUBMITTED
    [att] = report.attachments
    assert att.content_type == "image/jpeg"
    assert (engine.config.upload_dir / att.storage_path).read_bytes() == JPEG
    [event] = report.events
    assert (event.action, event.from_status, event.to_status) == ("submit", None, "submitted")


def test_it_keeps_every_answer_across_a_restart(Session_, engine_config, point_token, session):
    first = Chat(Session_, Engine(engine_config))
    first.command("start", point_token)
    first.fill_report(category="ecology", until="situation")
    # A new process: a new engine, nothing in memory.
    second = Chat(Session_, Engine(engine_config))
    second.text(SITUATION)
    assert "原因" in second.last.text
    conv = session.scalar(sa.select(Conversation))
    assert conv.answers["category"] == "ecology"
    assert conv.answers["situation"] == SITUATION


def test_it_accepts_a_typed_choice_and_refuses_an_unknown_one(chat, point_token):
    chat.command("start", point_token)
    chat.text("不知道")
    assert "请点击下方按钮选择" in chat.log[-2].text
    chat.text("经济发展")
    assert "标题" in chat.last.text


@pytest.mark.parametrize(
    ("step", "bad", "expected"),
    [
        ("title", "路灯", "至少写 5 个字"),
        ("title", "标" * 61, "太长了（61 字）"),
        ("situation", "路灯坏了很久了，晚上很黑，大家出行很不方便，希望解决", "具体事实"),
        ("situation", "。。。。。。。。。。。。。。。。。。。。。", "没有看到实际内容"),
        ("situation", "路" * 1501, "1500 字以内"),
    ],
)
def test_it_asks_again_with_the_reason_for_bad_text(chat, point_token, step, bad, expected):
    chat.command("start", point_token)
    chat.fill_report(until=step)
    before = chat.last.text
    replies = chat.text(bad)
    assert expected in replies[0].text
    assert replies[1].text == before  # the same question, asked again


@pytest.mark.parametrize("empty", ["无", "希望解决", "请重视！！", "没有建议"])
def test_it_refuses_an_empty_suggestion(chat, point_token, empty):
    chat.command("start", point_token)
    chat.fill_report(until="suggestion")
    replies = chat.text(empty)
    assert "具体的意见建议" in replies[0].text


def test_it_counts_chinese_quantities_as_facts(chat, point_token, session):
    chat.command("start", point_token)
    chat.fill_report(until="situation")
    chat.text("人民路的路灯已经坏了三个月，附近几十户居民晚上出门都要打手电筒")
    assert "原因" in chat.last.text


def test_it_skips_optional_steps_by_button_or_word(chat, point_token):
    chat.command("start", point_token)
    chat.fill_report(until="analysis")
    chat.text("跳过")
    assert "意见建议" in chat.last.text


def test_it_takes_a_location_for_the_place(chat, point_token, session):
    chat.command("start", point_token)
    chat.fill_report(photo=False)
    chat.press("修改")
    chat.press("地点")
    chat.send(location=(30.27415, 120.15515))
    assert "请核对" in chat.last.text
    chat.press("确认提交")
    [report] = reports_in(session)
    assert (report.latitude, report.longitude) == (30.27415, 120.15515)
    assert "30.27415" in report.place


def test_it_refuses_bad_files_with_the_reason_and_keeps_good_ones(chat, point_token, session):
    chat.command("start", point_token)
    chat.fill_report(photo=False)
    chat.press("修改")
    chat.press("照片")
    big = IncomingFile("document", "scan.pdf", "application/pdf", 25 * 1024 * 1024, None)
    assert "单个文件不能超过 20 MB" in chat.send(file=big)[0].text
    exe = IncomingFile("document", "a.exe", "application/x-msdownload", 3, b"MZ\x00")
    assert "暂不支持这种文件" in chat.send(file=exe)[0].text
    chat.photo()
    assert "已经收到过了" in chat.photo()[0].text
    for i in range(8):
        chat.photo(JPEG + bytes([i]), f"p{i}.jpg")
    assert "最多上传 9 个文件" in chat.photo(JPEG + b"x", "ten.jpg")[0].text
    chat.text("完成")
    chat.press("确认提交")
    [report] = reports_in(session)
    assert len(report.attachments) == 9


def test_it_asks_for_a_file_when_given_text_at_the_photo_step(chat, point_token):
    chat.command("start", point_token)
    chat.fill_report(until="photos")
    assert "请发送照片或文件" in chat.text("照片稍后发")[0].text


def test_it_understands_typed_yes_and_no(chat, point_token, session):
    chat.command("start", point_token)
    chat.fill_report(photo=False, until="urgent")
    assert "请点“是”或“否”" in chat.text("也许")[0].text
    chat.text("否")
    chat.text("是")  # anonymous: the contact question is not asked
    assert "请核对" in chat.last.text
    chat.press("确认提交")
    [report] = reports_in(session)
    assert report.anonymous and report.contact is None


def test_it_goes_back_and_cancels(chat, point_token, session):
    chat.command("start", point_token)
    chat.fill_report(until="situation")
    chat.command("back")
    assert "标题" in chat.last.text
    chat.command("back")
    assert "类别" in chat.last.text
    assert "已经是第一项了" in chat.command("back")[0].text
    chat.photo()  # a file at a choice step is not taken
    chat.command("cancel")
    assert "已取消" in chat.last.text
    assert session.scalar(sa.select(sa.func.count()).select_from(Attachment)) == 0
    assert "没有正在填写" in chat.command("cancel")[0].text


def test_it_edits_an_answer_from_the_summary(chat, point_token, session):
    chat.command("start", point_token)
    chat.fill_report(photo=False)
    chat.press("修改")
    chat.press("标题")
    chat.text("人民路十二盏路灯损坏三个月无人修")
    assert "请核对" in chat.last.text and "十二盏" in chat.last.text
    chat.press("确认提交")
    assert reports_in(session)[0].title == "人民路十二盏路灯损坏三个月无人修"


def test_it_asks_a_question_that_an_edit_opens(chat, point_token, session):
    chat.command("start", point_token)
    chat.fill_report(photo=False, anonymous=True)
    chat.press("修改")
    chat.press("是否匿名")
    chat.press("否")
    assert "联系方式" in chat.last.text
    chat.text("李女士 13900000000")
    chat.press("确认提交")
    assert reports_in(session)[0].contact == "李女士 13900000000"


def test_a_double_clicked_confirm_creates_one_report(chat, point_token, session):
    chat.command("start", point_token)
    chat.fill_report()
    confirm = chat.button("确认提交")
    chat.send(callback=confirm)
    again = chat.send(callback=confirm)
    assert "已经提交过了" in again[0].text
    assert len(reports_in(session)) == 1


def test_a_stale_button_is_refused_and_the_question_repeated(chat, point_token):
    chat.command("start", point_token)
    old = chat.button(walk()[0].label)
    chat.send(callback=old)
    replies = chat.send(callback=old)
    assert "按钮已失效" in replies[0].text
    assert "标题" in replies[1].text


def test_a_second_start_keeps_the_draft(chat, point_token, session, point):
    chat.command("start", point_token)
    chat.fill_report(until="situation")
    other = CollectionPoint(name="东街社区")
    session.add(other)
    session.commit()
    from store.network.points import token_for

    chat.command("start", token_for(other, SECRET))
    assert "尚未提交" in chat.last.text and "已填 2 项" in chat.last.text
    chat.press("继续填写")
    assert "具体情况" in chat.last.text
    chat.command("start", token_for(other, SECRET))
    chat.press("放弃并重新开始")
    assert "类别" in chat.last.text
    session.rollback()  # end the read snapshot, see the latest rows
    assert session.scalar(sa.select(Conversation)).point_id == other.id


@pytest.mark.parametrize("mangle", ["forged", "unknown", "retired", "garbage"])
def test_a_bad_token_binds_no_point(chat, session, point, point_token, mangle):
    from store.network import tokens

    token = {
        "forged": point_token[:-4] + "AAAA",
        "unknown": tokens.make(SECRET, 999, 1),
        "retired": point_token,
        "garbage": "'; DROP TABLE reports; --",
    }[mangle]
    if mangle == "retired":
        point.token_version = 2
        session.commit()
    replies = chat.command("start", token)
    assert "二维码" in replies[0].text
    session.rollback()  # end the read snapshot, see the latest rows
    conv = session.scalar(sa.select(Conversation))
    assert conv.point_id is None and conv.mode == "idle"


def test_it_answers_floods_once_and_keeps_the_draft(Session_, engine_config, point_token, session):
    chat = Chat(Session_, Engine(dataclasses.replace(engine_config, flood_burst=5, flood_window=60)))
    chat.command("start", point_token)
    chat.fill_report(until="title")
    replies = [chat.text(f"刷屏{i}") for i in range(10)]
    assert sum(1 for r in replies for x in r if "太快了" in x.text) == 1
    assert replies[-1] == []
    assert session.scalar(sa.select(Conversation)).answers["category"] == "livelihood"


def test_a_repeated_update_is_handled_once(chat, point_token, session):
    chat.send(command="start", args=point_token, update_id="77")
    again = chat.send(command="start", args=point_token, update_id="77")

    assert [r.text for r in again] == [chat.log[1].text]  # the question again, no second welcome
    assert session.scalar(sa.select(sa.func.count()).select_from(Conversation)) == 1


def test_it_asks_again_but_applies_once_an_update_delivered_after_a_crash(chat, point_token,
                                                                            session):
    """The bot died after committing an answer and before sending the next question; Telegram
    hands the update over again: the answer is not applied twice, and the question comes."""
    chat.command("start", point_token)
    chat.fill_report(until="situation")
    first = chat.send(text=SITUATION, update_id="901")
    again = chat.send(text=SITUATION, update_id="901")

    assert "原因" in first[-1].text
    assert [r.text for r in again] == [r.text for r in first[-1:]]
    conv = session.scalar(sa.select(Conversation))
    assert conv.step == "analysis"  # not shifted on to the step after
    assert conv.answers["situation"] == SITUATION
    assert "analysis" not in conv.answers


def test_it_gives_the_receipt_again_when_the_filing_press_is_delivered_after_a_crash(
        chat, point_token, session):
    """The bot died after committing the report and before sending the receipt; Telegram hands
    the 确认提交 press over again: nothing is filed twice, and the person gets the tracking
    number, not only the menu (the crash drill found receipts lost so, on PostgreSQL)."""
    chat.command("start", point_token)
    chat.fill_report()
    confirm = chat.button("确认提交")
    first = chat.send(callback=confirm, update_id="902")
    again = chat.send(callback=confirm, update_id="902")

    [report] = reports_in(session)
    assert report.tracking_no in first[0].text
    assert report.tracking_no in again[0].text and "已经提交过了" in again[0].text
    assert any("反映新问题" in b.label for row in again[-1].buttons for b in row)


def test_an_input_that_fails_before_its_commit_leaves_nothing_and_is_applied_when_sent_again(
        chat, point_token, session, monkeypatch):
    """The engine's own statements (the update id, the conversation) run on the driver, in
    the unit of work's transaction: a failure after the update id was recorded and before the
    conversation was saved leaves neither, so Telegram's redelivery is answered as new."""
    from store.conversation import engine as engine_module

    chat.command("start", point_token)
    chat.fill_report(until="situation")
    save_all = engine_module.save_all

    def crash(conn: sa.Connection, rows: object) -> None:
        raise RuntimeError("killed between statements")

    monkeypatch.setattr(engine_module, "save_all", crash)
    with pytest.raises(RuntimeError):
        chat.send(text=SITUATION, update_id="903")
    session.rollback()
    assert session.scalar(sa.select(sa.func.count()).select_from(ProcessedUpdate)
                          .where(ProcessedUpdate.update_id == "903")) == 0
    assert session.scalar(sa.select(Conversation)).step == "situation"

    monkeypatch.setattr(engine_module, "save_all", save_all)
    replies = chat.send(text=SITUATION, update_id="903")
    assert "原因" in replies[-1].text  # applied this time: the next question
    session.rollback()
    conv = session.scalar(sa.select(Conversation))
    assert conv.step == "analysis" and conv.answers["situation"] == SITUATION


def test_a_draft_saved_by_the_driver_is_sealed_at_rest(chat, point_token, session):
    chat.command("start", point_token)
    chat.fill_report(until="situation")
    session.rollback()
    stored = session.execute(sa.text("SELECT answers FROM conversations")).scalar_one()
    assert stored.startswith("enc1:") and "路灯" not in stored
    assert "title" in session.scalar(sa.select(Conversation)).answers


def test_the_buttons_of_a_question_asked_again_after_a_crash_work(chat, point_token, session):
    """The question asked again for a redelivered update is a new turn: its buttons are the
    live ones, so the person can answer with them."""
    chat.send(command="start", args=point_token, update_id="902")
    again = chat.send(command="start", args=point_token, update_id="902")
    replies = chat.send(callback=chat.button("民生保障", again[-1]))

    assert "标题" in replies[-1].text
    assert session.scalar(sa.select(Conversation)).answers["category"] == "livelihood"


def test_edits_stickers_and_voice_get_a_clear_reply(chat, point_token):
    chat.command("start", point_token)
    assert "修改后不会生效" in chat.send(text="改一下", edited=True)[0].text
    assert "暂不支持贴纸" in chat.send(unsupported="sticker")[0].text
    assert "暂不支持语音消息" in chat.send(unsupported="voice")[0].text
    assert "类别" in chat.last.text


def test_it_speaks_english_to_english_users(Session_, engine, point_token):
    chat = Chat(Session_, engine, language="en-GB")
    chat.command("start", point_token)
    assert "Choose a category" in chat.last.text
    assert any(b.label == "Livelihood" for row in chat.last.buttons for b in row)


def test_my_reports_lists_status(chat, point_token, session):
    assert "还没有反映过" in chat.command("my")[0].text
    chat.command("start", point_token)
    chat.fill_report()
    chat.press("确认提交")
    listing = chat.command("my")[0].text
    assert TRACKING.search(listing) and "已提交，待审核" in listing


def test_a_return_for_more_round_trip(chat, point_token, session, clerk: User):
    chat.command("start", point_token)
    chat.fill_report(photo=False)
    chat.press("确认提交")
    report = reports_in(session)[0]
    lifecycle.apply(session, report, lifecycle.Action.RETURN, user=clerk, note="请补充路灯位置照片")
    session.commit()
    [owed] = session.scalars(sa.select(OutboxMessage))
    supp = owed.buttons[0][0]["data"]

    replies = chat.send(callback=supp)
    assert "请补充路灯位置照片" in replies[0].text
    assert "还没有收到补充内容" in chat.press("提交补充")[0].text
    chat.text("路灯位于人民路12号至30号之间")
    chat.photo()
    done = chat.press("提交补充")
    # That report's news and the menu, not a new form.
    assert len(done) == 1 and "补充内容已提交" in done[0].text
    assert f"{report.tracking_no}《{report.title}》现在的状态：已补充，待审核" in done[0].text
    assert {b.label for row in done[0].buttons for b in row} >= {"📝 反映新问题", "📋 我的反映"}
    session.rollback()  # end the read snapshot, see the latest rows
    report = session.get(Report, report.id)
    assert report.status is ReportStatus.RESUBMITTED
    assert [a.supplement for a in report.attachments] == [True]
    last = session.scalars(sa.select(ReportEvent).order_by(ReportEvent.id.desc())).first()
    assert last.action == "resubmit" and "12号" in last.note
    # The old button now finds nothing to add to.
    assert "不需要补充" in chat.send(callback=supp)[0].text


def test_it_names_the_lower_upload_ceiling_of_the_office(Session_, engine_config, point_token):
    chat = Chat(Session_, Engine(dataclasses.replace(engine_config, max_file_mb=5)))
    chat.command("start", point_token)
    chat.fill_report(photo=False)
    chat.press("修改")
    chat.press("照片")
    data = b"%PDF" + b"0" * (6 * 1024 * 1024)
    replies = chat.send(file=IncomingFile("document", "a.pdf", "application/pdf", len(data), data))
    assert "不能超过 5 MB" in replies[0].text


# -- after the office is done: satisfaction, reopening, late supplements ---------


def _closed_report(chat: Chat, session: Session, admin: User, point_token: str) -> tuple[Report, dict[str, str]]:
    """File a report through `chat`, adopt and close it; returns it and its rating buttons."""
    chat.command("start", point_token)
    chat.fill_report(photo=False)
    chat.press("确认提交")
    report = reports_in(session)[-1]
    adopt(session, report, admin)
    lifecycle.apply(session, report, lifecycle.Action.CLOSE, user=admin)
    session.commit()
    owed = session.scalars(sa.select(OutboxMessage).where(OutboxMessage.report_id == report.id)
                           .order_by(OutboxMessage.id.desc())).first()
    assert owed is not None and owed.buttons
    return report, {b["label"]: b["data"] for b in owed.buttons[0]}


def test_a_satisfied_reporter_rates_once_with_one_tap(chat, session, point_token, admin):
    report, rate = _closed_report(chat, session, admin, point_token)
    assert set(rate) == {"满意", "基本满意", "不满意"}

    thanks = chat.send(callback=rate["基本满意"])
    assert "感谢您的评价（基本满意）" in thanks[0].text
    again = chat.send(callback=rate["满意"])
    assert "已经评价过了" in again[0].text

    session.rollback()  # end the read snapshot
    session.refresh(report)
    assert report.satisfaction == "basically" and report.status is ReportStatus.CLOSED
    assert [e.action for e in report.events][-1] == "rate"
    assert report.events[-1].reporter_id == report.reporter_id


def test_an_unsatisfied_reporter_reopens_the_report_with_a_comment(chat, session, point_token, admin):
    report, rate = _closed_report(chat, session, admin, point_token)

    ask = chat.send(callback=rate["不满意"])
    assert "哪些问题还没有解决" in ask[0].text
    assert "请用文字" in chat.photo()[0].text  # a comment must be words
    done = chat.text("路灯修好了两盏，还有10盏不亮")
    assert "已重新进入审核办理" in done[0].text
    assert "已经评价过了" in chat.send(callback=rate["满意"])[0].text

    session.rollback()  # end the read snapshot
    session.refresh(report)
    assert report.status is ReportStatus.REOPENED and report.review_level == 0
    assert report.satisfaction is None
    assert report.events[-1].action == "reopen" and "10盏不亮" in report.events[-1].note
    conv = session.scalars(sa.select(Conversation)).one()
    assert conv.mode == "idle"


def test_an_unsatisfied_comment_can_be_called_off_and_a_draft_comes_back(
    chat, session, point_token, admin
):
    report, rate = _closed_report(chat, session, admin, point_token)
    chat.press("反映新问题")
    chat.fill_report(until="title")
    chat.send(callback=rate["不满意"])
    back = chat.press("不用了")
    assert "不再重新办理" in back[0].text and "继续填写" in back[1].text
    assert "标题" in back[2].text or "题目" in back[2].text
    session.rollback()  # end the read snapshot
    session.refresh(report)
    assert report.status is ReportStatus.CLOSED


def test_only_the_reporter_may_rate(chat, session, point_token, admin, Session_, engine):
    report, rate = _closed_report(chat, session, admin, point_token)
    stranger = Chat(Session_, engine, user_id="2002")
    assert "只有该信息的反映人" in stranger.send(callback=rate["满意"])[0].text
    session.rollback()  # end the read snapshot
    session.refresh(report)
    assert report.satisfaction is None


def test_a_report_not_closed_cannot_be_rated(chat, session, point_token):
    chat.command("start", point_token)
    chat.fill_report(photo=False)
    chat.press("确认提交")
    report = reports_in(session)[0]
    assert "暂时不能评价" in chat.send(callback=f"~rate:{report.id}:satisfied")[0].text


def test_a_supplement_after_the_return_expired_is_refused_clearly(chat, point_token, session, clerk):
    chat.command("start", point_token)
    chat.fill_report(photo=False)
    chat.press("确认提交")
    report = reports_in(session)[0]
    lifecycle.apply(session, report, lifecycle.Action.RETURN, user=clerk, note="请补充照片")
    session.commit()
    chat.send(callback=f"~supp:{report.id}")
    chat.photo()
    chat.text("照片已补充")

    assert report.due_at is not None  # the reporter's time to add more, set by the return
    returns.chase(session, report.due_at + timedelta(minutes=1))
    session.commit()
    late = chat.press("提交补充")
    assert "超过期限未补充，已经办结" in late[0].text

    session.rollback()  # end the read snapshot
    session.refresh(report)
    assert report.status is ReportStatus.CLOSED
    assert session.scalar(sa.select(sa.func.count()).select_from(Attachment)) == 0
    assert "超过期限" in chat.send(callback=f"~supp:{report.id}")[0].text


def test_a_resubmission_alerts_the_level_that_returned_it(chat, point_token, session, clerk, director):
    chat.command("start", point_token)
    chat.fill_report(photo=False)
    chat.press("确认提交")
    report = reports_in(session)[0]
    lifecycle.apply(session, report, lifecycle.Action.SIGN_OFF, user=clerk)
    lifecycle.apply(session, report, lifecycle.Action.RETURN, user=director, note="请补充位置")
    session.commit()
    chat.send(callback=f"~supp:{report.id}")
    chat.text("人民路12号至30号")
    chat.press("提交补充")

    session.rollback()  # end the read snapshot
    session.refresh(report)
    assert report.status is ReportStatus.RESUBMITTED and report.review_level == 1
    kinds = {(n.user_id, n.kind) for n in session.scalars(sa.select(StaffNotice))}
    assert (director.id, "resubmitted") in kinds and (clerk.id, "resubmitted") not in kinds


def test_link_is_refused_in_the_web_chat_and_needs_a_code(Session_, engine):
    web = Chat(Session_, engine, user_id="w-1", channel=Channel.WEB, capabilities=BUTTONS_ONLY)
    assert "网页聊天供群众反映使用，不能绑定工作人员账号" in web.command("link", "ABCD1234")[0].text
    tg = Chat(Session_, engine, user_id="3003")
    assert "/link" in tg.command("link")[0].text


# -- per-category questions (issue 4) -----------------------------------------


def test_it_asks_a_law_report_which_agency_and_keeps_the_answer(chat, session, point_token,
                                                                client, clerk):
    chat.command("start", point_token)
    chat.fill_report(category="law", until="agency")
    assert "部门名称" in chat.last.text
    chat.text("城关镇综合执法队")
    assert "标题" in chat.last.text
    chat.fill_report(category="law", since="title", until="place")
    assert "哪类环境问题" not in chat.last.text  # another category's question stays away
    chat.fill_report(category="law", since="place", photo=False)
    assert "涉及部门" in chat.last.text and "城关镇综合执法队" in chat.last.text  # read-back
    chat.press("确认提交")

    [report] = reports_in(session)
    assert report.category == "law"
    assert report.answers["agency"] == "城关镇综合执法队"
    assert "pollution" not in report.answers and "hospital" not in report.answers
    login(client, "carol")
    page = client.get(f"/reports/{report.id}").get_data(as_text=True)
    assert "涉及部门" in page and "城关镇综合执法队" in page


def test_it_asks_an_ecology_report_the_kind_of_pollution_as_buttons(chat, session, point_token,
                                                                    client, clerk):
    chat.command("start", point_token)
    chat.fill_report(category="ecology", until="title")
    assert "标题" in chat.last.text  # no question of another category before it
    chat.fill_report(category="ecology", since="title", until="pollution")
    assert "哪类环境问题" in chat.last.text
    assert {b.label for row in chat.last.buttons for b in row} >= {"水", "大气", "噪声", "跳过"}
    chat.press("水")
    assert "什么地方" in chat.last.text
    chat.fill_report(category="ecology", since="place", photo=False)
    assert "污染类型" in chat.last.text
    chat.press("确认提交")

    [report] = reports_in(session)
    assert report.answers["pollution"] == "water"
    login(client, "carol")
    page = client.get(f"/reports/{report.id}").get_data(as_text=True)
    assert "污染类型" in page and "<td class=\"prose\">水</td>" in page


def test_it_lets_the_pollution_question_be_skipped(chat, session, point_token):
    chat.command("start", point_token)
    chat.fill_report(category="ecology", until="pollution")
    chat.press("跳过")
    assert "什么地方" in chat.last.text
    chat.fill_report(category="ecology", since="place", photo=False)
    chat.press("确认提交")
    [report] = reports_in(session)
    assert report.answers.get("pollution") is None


# -- the step counter (issue 10) ---------------------------------------------------

PROGRESS = re.compile(r"第 (\d+)/(\d+) 项")


def _counters(chat: Chat) -> list[tuple[int, int]]:
    """Every "第 i/n 项" the chat has shown, in order."""
    return [(int(m[1]), int(m[2])) for r in chat.log for m in [PROGRESS.search(r.text)] if m]


@pytest.mark.parametrize(("category", "anonymous", "asked"), [
    ("livelihood", False, 10),  # no question of its own; the contact question is asked
    ("education", False, 11),  # a hospital or school, then the rest
    ("law", True, 10),   # an agency; anonymous, so no contact question
    ("economy", True, 9),
])
def test_the_step_counter_counts_what_the_form_will_ask_and_never_grows(
    chat, point_token, category, anonymous, asked,
):
    chat.command("start", point_token)
    chat.fill_report(category=category, anonymous=anonymous,
                     skip=("hospital", "agency", "analysis", "photos", "contact"))
    assert "请核对" in chat.last.text
    shown = _counters(chat)
    numbers = [i for i, _ in shown]
    totals = [n for _, n in shown]
    assert numbers == list(range(1, len(shown) + 1))  # one number per question, in order
    assert totals[0] == 11  # before the category: the most the form can ask
    assert all(a >= b for a, b in zip(totals, totals[1:], strict=False))  # it never grows
    # After the category it changes at most once more: right after the anonymity answer,
    # when nothing is left to ask. Without anonymity, the last question is numbered n of n.
    assert len(set(totals[1:])) == 1
    if not anonymous:
        assert shown[-1] == (asked, asked)
    assert len(shown) == asked


# -- the news a returning reporter sees (issue 10) ---------------------------------


def test_a_returning_reporter_gets_each_reports_news_and_never_a_staff_note(
    chat, session, point, point_token, admin,
):
    from datetime import date

    from store.models import AdoptionLevel
    from store.reports import merging
    from store.review import instructions
    from tests.domain_support import make_report

    chat.command("start", point_token)  # the first visit: the form
    assert "请选择信息类别" in chat.last.text
    chat.command("cancel")
    adopted = make_report(session, point, title="城区学校周边交通拥堵", external_id="1001")
    closed = make_report(session, point, title="老旧小区加装电梯难", external_id="1001")
    merged = make_report(session, point, title="学校门口接送车辆乱停", external_id="1001")
    adopt(session, adopted, admin, AdoptionLevel.CITY)
    instructions.record(session, adopted, admin, leader_name="王某某", leader_title="市委书记",
                        level=AdoptionLevel.CITY, text="请交通局牵头研究（内部批示原文）",
                        instructed_on=date(2026, 5, 3))
    adopt(session, closed, admin)
    lifecycle.apply(session, closed, lifecycle.Action.CLOSE, user=admin)
    lifecycle.apply(session, closed, lifecycle.Action.RATE, reporter=closed.reporter,
                    values={"satisfaction": "basically"})
    merging.merge(session, merged, adopted, admin, None)
    session.commit()

    [news] = chat.command("start", point_token)
    text = news.text
    assert "欢迎回来" in text and "采集点：城关镇便民服务中心" in text
    assert f"{adopted.tracking_no}《城区学校周边交通拥堵》\n已被市政协采用；获市委书记批示" in text
    assert "已办结，您的评价：基本满意" in text
    assert "与其他群众反映的相同问题合并办理，已被市政协采用" in text
    assert "王某某" not in text and "内部批示原文" not in text
    assert "请选择信息类别" not in text
    assert [b.label for row in news.buttons for b in row] == ["📝 反映新问题", "📋 我的反映"]
    session.rollback()
    assert session.scalar(sa.select(Conversation)).mode == "idle"
    # Telegram keeps its commands: the form's intro names /back and /cancel there.
    assert "随时发送 /back 返回上一步，/cancel 取消" in chat.press("反映新问题")[0].text
