"""/wechat: checked, kept and acknowledged at once; the inbox worker answers through the API."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from bot.channels.wechat import inbox
from minyi.settings import Settings
from store.conversation.types import Button, Inbound, Reply
from store.models import ChannelState, ProcessedUpdate, Reporter, WeChatInbox, WeChatInboxStatus
from tests.wechat_emulator import WeChatEmulator
from tests.wechat_support import TEMPLATE, Recorder, Running, wechat_settings

ALICE = "oAlice000000000000000000000"
BOB = "oBob00000000000000000000000"
SEND = "/cgi-bin/message/custom/send"


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
def wx(settings: Settings, Session_: sessionmaker[Session], emu: WeChatEmulator,  # noqa: N803
       recorder: Recorder) -> Iterator[Running]:
    """The channel as `tests.wechat_support.wx`, with `recorder` standing in for the engine."""
    running = Running(wechat_settings(settings, emu), Session_, emu, recorder)
    yield running
    running.close()


def _count(session: Session, model: type) -> int:
    session.rollback()  # a fresh snapshot: the worker wrote in transactions of its own
    return session.scalar(sa.select(sa.func.count()).select_from(model)) or 0


def _rows(session: Session) -> list[WeChatInbox]:
    session.rollback()  # a fresh snapshot: the worker wrote in transactions of its own
    return list(session.scalars(sa.select(WeChatInbox).order_by(WeChatInbox.id)))


# -- the URL check ---------------------------------------------------------------------------

def test_it_answers_wechats_url_check(wx: Running, emu: WeChatEmulator) -> None:
    response = wx.client.get("/wechat", query_string=emu.verification("echo-20261122"))

    assert response.status_code == 200
    assert response.get_data(as_text=True) == "echo-20261122"


def test_it_refuses_a_url_check_with_a_wrong_signature(wx: Running, emu: WeChatEmulator,
                                                       caplog: pytest.LogCaptureFixture) -> None:
    query = {**emu.verification(), "signature": "0" * 40}

    with caplog.at_level(logging.WARNING):
        response = wx.client.get("/wechat", query_string=query)

    assert response.status_code == 403 and response.get_data(as_text=True) == ""
    assert "wrong signature" in caplog.text


# -- a message in ------------------------------------------------------------------------------

def test_it_acknowledges_at_once_and_answers_through_the_api(wx: Running, emu: WeChatEmulator,
                                                             recorder: Recorder, session: Session) -> None:
    response = wx.post(emu.text(ALICE, "人民路路灯不亮"))

    # Acknowledged and kept, before any handling: nothing sent yet.
    assert response.status_code == 200 and response.get_data(as_text=True) == "success"
    [row] = _rows(session)
    assert (row.openid, row.status) == (ALICE, WeChatInboxStatus.PENDING)
    assert "人民路路灯不亮" in row.payload
    assert emu.texts(ALICE) == [] and recorder.seen == []

    wx.drain()

    assert emu.texts(ALICE) == ["收到：人民路路灯不亮"]
    [ib] = recorder.seen
    assert (ib.user_id, ib.text, ib.update_id) == (ALICE, "人民路路灯不亮", row.msg_key)
    [row] = _rows(session)
    assert (row.status, row.replies, row.sent_parts) == (WeChatInboxStatus.DONE,
                                                         ["收到：人民路路灯不亮"], 1)


def test_an_encrypted_message_round_trips(wx: Running, emu: WeChatEmulator, recorder: Recorder) -> None:
    texts = wx.say(emu.text(ALICE, "安全模式：小区电梯停运", encrypt=True))

    assert texts == ["收到：安全模式：小区电梯停运"]
    assert recorder.seen[0].text == "安全模式：小区电梯停运"


def test_the_worker_thread_answers_without_being_asked(wx: Running, emu: WeChatEmulator) -> None:
    wx.channel.worker.start()
    try:
        assert wx.post(emu.text(ALICE, "你好")).status_code == 200
        deadline = time.monotonic() + 10
        while not emu.texts(ALICE) and time.monotonic() < deadline:
            time.sleep(0.02)
    finally:
        wx.channel.worker.stop()

    assert emu.texts(ALICE) == ["收到：你好"]


def test_the_endpoint_needs_no_csrf_token_but_the_console_still_does(wx: Running, emu: WeChatEmulator) -> None:
    assert wx.post(emu.text(ALICE, "你好")).status_code == 200
    assert wx.client.post("/login", data={"username": "x", "password": "y"}).status_code == 400


# -- refused, logged, nothing stored ---------------------------------------------------------------

def _nothing_stored(session: Session, recorder: Recorder, emu: WeChatEmulator) -> None:
    assert _count(session, WeChatInbox) == 0
    assert _count(session, ChannelState) == 0
    assert _count(session, ProcessedUpdate) == 0 and _count(session, Reporter) == 0
    assert recorder.seen == [] and emu.delivered == []


def test_a_wrong_signature_is_refused_logged_and_nothing_stored(
        wx: Running, emu: WeChatEmulator, recorder: Recorder, session: Session,
        caplog: pytest.LogCaptureFixture) -> None:
    cb = emu.text(ALICE, "伪造的消息")
    cb.query["signature"] = "0" * 40

    with caplog.at_level(logging.WARNING):
        response = wx.post(cb)
    wx.drain()

    assert response.status_code == 403 and response.get_data(as_text=True) == ""
    assert "wechat callback refused (403)" in caplog.text and "wrong signature" in caplog.text
    _nothing_stored(session, recorder, emu)


def test_an_old_timestamp_is_refused_logged_and_nothing_stored(
        wx: Running, emu: WeChatEmulator, recorder: Recorder, session: Session,
        caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        response = wx.post(emu.text(ALICE, "旧消息", timestamp=int(time.time()) - 3600))
    wx.drain()

    assert response.status_code == 403
    assert "more than 300 s" in caplog.text
    _nothing_stored(session, recorder, emu)


def test_a_replayed_request_is_refused_and_stored_once(
        wx: Running, emu: WeChatEmulator, recorder: Recorder, session: Session,
        caplog: pytest.LogCaptureFixture) -> None:
    cb = emu.text(ALICE, "一次")
    assert wx.post(cb).status_code == 200
    # The same signed request again, also with another body: the nonce is spent.
    forged = type(cb)(cb.query, emu.text(ALICE, "篡改").body, "")

    with caplog.at_level(logging.WARNING):
        again = wx.post(cb)
        other_body = wx.post(forged)
    wx.drain()

    assert again.status_code == 403 and other_body.status_code == 403
    assert caplog.text.count("replayed timestamp") == 2
    assert len(_rows(session)) == 1
    assert [ib.text for ib in recorder.seen] == ["一次"]
    assert emu.texts(ALICE) == ["收到：一次"]


def test_a_replay_in_safe_mode_is_refused_too(wx: Running, emu: WeChatEmulator, session: Session) -> None:
    cb = emu.text(ALICE, "加密一次", encrypt=True)

    assert wx.post(cb).status_code == 200
    assert wx.post(cb).status_code == 403
    assert len(_rows(session)) == 1


@pytest.mark.parametrize("body", [b"<xml><ToUserName>gh_0123</ToUser", b"{\"json\": true}",
                                  b"<xml><Content>no type</Content></xml>"])
def test_a_malformed_body_is_refused_with_a_clear_log(
        wx: Running, emu: WeChatEmulator, recorder: Recorder, session: Session,
        caplog: pytest.LogCaptureFixture, body: bytes) -> None:
    cb = emu.text(ALICE, "x")

    with caplog.at_level(logging.WARNING):
        response = wx.client.post(cb.url, data=body, content_type="text/xml")
    wx.drain()

    assert response.status_code == 400
    assert "wechat callback refused (400)" in caplog.text
    assert "malformed XML" in caplog.text or "not a WeChat message" in caplog.text
    _nothing_stored(session, recorder, emu)


# -- WeChat's own retries ------------------------------------------------------------------------

def test_wechat_retrying_a_message_gets_it_handled_once(wx: Running, emu: WeChatEmulator,
                                                        recorder: Recorder, session: Session) -> None:
    cb = emu.text(ALICE, "重试的消息")
    retry = emu.sign(cb.xml, openid=ALICE)  # WeChat signs each retry afresh

    assert wx.post(cb).status_code == 200
    assert wx.post(retry).status_code == 200
    wx.drain()

    assert len(_rows(session)) == 1
    assert [ib.text for ib in recorder.seen] == ["重试的消息"]
    assert emu.texts(ALICE) == ["收到：重试的消息"]


# -- numbered options ----------------------------------------------------------------------------

def test_a_number_answers_the_options_last_offered(wx: Running, emu: WeChatEmulator,
                                                   recorder: Recorder) -> None:
    recorder.answer = lambda ib: [Reply("请选择信息类别：", [[Button("经济发展", "t1:ch:economy"),
                                                          Button("民生保障", "t1:ch:livelihood")]])]

    [offered] = wx.say(emu.text(ALICE, "我要反映"))
    wx.say(emu.text(ALICE, "２"))
    wx.say(emu.text(ALICE, "经济发展"))
    wx.say(emu.text(ALICE, "3"))

    assert offered.endswith("回复数字选择：\n1. 经济发展\n2. 民生保障")
    assert [(ib.text, ib.callback) for ib in recorder.seen] == [
        ("我要反映", None), (None, "t1:ch:livelihood"), (None, "t1:ch:economy"), ("3", None)]


def test_options_are_forgotten_once_an_answer_offers_none(wx: Running, emu: WeChatEmulator,
                                                          recorder: Recorder) -> None:
    answers = iter([[Reply("选：", [[Button("是", "t1:yn:yes")]])], [Reply("请写标题：")],
                    [Reply("好")]])
    recorder.answer = lambda ib: next(answers)

    wx.say(emu.text(ALICE, "开始"))
    wx.say(emu.text(ALICE, "1"))
    wx.say(emu.text(ALICE, "1"))

    assert [ib.callback or ib.text for ib in recorder.seen] == ["开始", "t1:yn:yes", "1"]


def test_each_users_options_are_their_own(wx: Running, emu: WeChatEmulator, recorder: Recorder) -> None:
    recorder.answer = lambda ib: ([Reply("选：", [[Button("甲", f"{ib.user_id}:a")]])]
                                  if ib.text == "开始" else [Reply("好")])

    wx.say(emu.text(ALICE, "开始"))
    wx.say(emu.text(BOB, "1"))
    wx.say(emu.text(ALICE, "1"))

    assert [(ib.user_id, ib.callback or ib.text) for ib in recorder.seen] == [
        (ALICE, "开始"), (BOB, "1"), (ALICE, f"{ALICE}:a")]


# -- pictures ------------------------------------------------------------------------------------

def test_a_picture_is_fetched_through_the_media_api(wx: Running, emu: WeChatEmulator,
                                                    recorder: Recorder) -> None:
    recorder.answer = lambda ib: [Reply(f"已收到 {ib.file.size if ib.file else 0} 字节")]

    texts = wx.say(emu.image(ALICE, b"\xff\xd8\xff\xe0" + b"photo" * 100))

    assert texts == ["已收到 504 字节"]
    [ib] = recorder.seen
    assert ib.file is not None and ib.file.data is not None and ib.file.data.startswith(b"\xff\xd8")
    assert emu.calls["/cgi-bin/media/get"] == 1


def test_a_picture_that_cannot_be_fetched_is_asked_for_again(wx: Running, emu: WeChatEmulator,
                                                             recorder: Recorder) -> None:
    cb = emu.image(ALICE, b"\xff\xd8jpeg")
    emu.fail_next("/cgi-bin/media/get", 40007, errmsg="invalid media_id")

    texts = wx.say(cb)

    assert texts == ["这张图片没能收到，请重新发送一次。"]
    assert recorder.seen == []


def test_a_picture_the_api_is_busy_with_is_fetched_later(wx: Running, emu: WeChatEmulator,
                                                         recorder: Recorder, session: Session) -> None:
    recorder.answer = lambda ib: [Reply("已收到照片")]
    cb = emu.image(ALICE, b"\xff\xd8jpeg")
    emu.fail_next("/cgi-bin/media/get", -1)

    assert wx.say(cb) == []
    assert _rows(session)[0].status == WeChatInboxStatus.PENDING
    wx.later(seconds=10)
    wx.drain()

    assert emu.texts(ALICE) == ["已收到照片"]
    assert recorder.seen[0].file is not None


# -- what the API answers to the replies ----------------------------------------------------------

def test_an_expired_token_mid_delivery_is_refreshed_once_and_the_reply_delivered_once(
        wx: Running, emu: WeChatEmulator, recorder: Recorder) -> None:
    wx.say(emu.text(ALICE, "第一条"))
    emu.invalidate_tokens()

    texts = wx.say(emu.text(ALICE, "第二条"))

    assert texts == ["收到：第二条"]
    assert emu.texts(ALICE) == ["收到：第一条", "收到：第二条"]
    assert emu.calls["/cgi-bin/token"] == 2
    assert emu.calls[SEND] == 3
    assert len(recorder.seen) == 2


def test_a_reply_outside_the_window_goes_as_a_template(wx: Running, emu: WeChatEmulator,
                                                       session: Session) -> None:
    cb = emu.text(ALICE, "很久以前的消息")
    assert wx.post(cb).status_code == 200
    emu.advance(49 * 3600)  # the worker was down for two days

    wx.drain()

    assert emu.texts(ALICE) == []
    [template] = emu.delivered_to(ALICE)
    assert template.template_id == TEMPLATE and "收到：很久以前的消息" in template.data["keyword1"]
    assert _rows(session)[0].status == WeChatInboxStatus.DONE


def test_replies_to_a_user_who_unfollowed_are_given_up_not_retried(
        wx: Running, emu: WeChatEmulator, recorder: Recorder, session: Session) -> None:
    assert wx.post(emu.text(ALICE, "再见")).status_code == 200
    emu.unsubscribe(ALICE)

    wx.drain()
    wx.later(days=1)
    wx.drain()

    [row] = _rows(session)
    assert row.status == WeChatInboxStatus.DEAD and "43004" in (row.last_error or "")
    assert row.attempts == 1 and len(recorder.seen) == 1
    assert emu.delivered_to(ALICE) == []


def test_a_used_up_quota_sends_later_without_answering_twice(
        wx: Running, emu: WeChatEmulator, recorder: Recorder, session: Session) -> None:
    emu.quota[SEND] = 0

    assert wx.say(emu.text(ALICE, "配额用完时")) == []
    [row] = _rows(session)
    assert row.status == WeChatInboxStatus.ANSWERED and "45009" in (row.last_error or "")
    assert row.next_attempt_at > wx.now()

    wx.drain()  # not due yet
    emu.quota[SEND] = 100
    wx.later(hours=1, seconds=1)
    wx.drain()

    assert emu.texts(ALICE) == ["收到：配额用完时"]
    assert len(recorder.seen) == 1
    assert _rows(session)[0].status == WeChatInboxStatus.DONE


def test_a_long_answer_resumes_after_the_part_that_went_out(
        wx: Running, emu: WeChatEmulator, recorder: Recorder, session: Session) -> None:
    recorder.answer = lambda ib: [Reply("甲" * 600), Reply("乙" * 600)]
    emu.quota[SEND] = 1

    wx.say(emu.text(ALICE, "长回答"))
    assert _rows(session)[0].sent_parts == 1
    emu.quota[SEND] = 100
    wx.later(hours=1, seconds=1)
    wx.drain()

    assert emu.texts(ALICE) == ["甲" * 600, "乙" * 600]


# -- nothing lost ---------------------------------------------------------------------------------

def test_a_handler_that_fails_is_tried_again_and_nothing_is_lost(
        wx: Running, emu: WeChatEmulator, recorder: Recorder, session: Session,
        caplog: pytest.LogCaptureFixture) -> None:
    recorder.fail = 1

    with caplog.at_level(logging.ERROR):
        assert wx.say(emu.text(ALICE, "引擎出错时")) == []
    assert "row 1 failed" in caplog.text
    [row] = _rows(session)
    assert row.status == WeChatInboxStatus.PENDING and "the engine fell over" in (row.last_error or "")

    wx.later(seconds=10)
    wx.drain()

    assert emu.texts(ALICE) == ["收到：引擎出错时"]


def test_a_row_that_keeps_failing_is_given_up_with_its_message_kept(
        wx: Running, emu: WeChatEmulator, recorder: Recorder, session: Session) -> None:
    recorder.fail = 100
    assert wx.post(emu.text(ALICE, "一直出错")).status_code == 200

    for _ in range(inbox.MAX_ATTEMPTS + 2):
        wx.drain()
        wx.later(hours=2)

    [row] = _rows(session)
    assert row.status == WeChatInboxStatus.DEAD and row.attempts == inbox.MAX_ATTEMPTS
    assert "一直出错" in row.payload


def test_one_users_messages_are_answered_in_order(wx: Running, emu: WeChatEmulator,
                                                  recorder: Recorder) -> None:
    recorder.fail = 1  # the first message fails once; the second must wait for it
    for text in ("第一", "第二"):
        assert wx.post(emu.text(ALICE, text)).status_code == 200
    assert wx.post(emu.text(BOB, "别人的")).status_code == 200

    wx.drain()
    assert [ib.text for ib in recorder.seen] == ["别人的"]
    wx.later(seconds=10)
    wx.drain()

    assert emu.texts(ALICE) == ["收到：第一", "收到：第二"]


def test_a_claim_taken_over_after_its_lease_is_not_answered_twice(
        wx: Running, emu: WeChatEmulator, recorder: Recorder, session: Session,
        Session_: sessionmaker[Session]) -> None:  # noqa: N803
    assert wx.post(emu.text(ALICE, "租约")).status_code == 200
    with Session_() as s, s.begin():
        [stale] = inbox.claim(s, now=wx.now())
    # The first worker stalls past its lease; a second takes the row and answers it.
    wx.later(minutes=3)
    wx.drain()

    wx.channel.worker._work(stale)  # the first worker wakes up

    assert emu.texts(ALICE) == ["收到：租约"]
    assert len(recorder.seen) == 1
    assert _rows(session)[0].status == WeChatInboxStatus.DONE


def test_finished_rows_are_pruned_after_a_week(wx: Running, emu: WeChatEmulator, session: Session) -> None:
    wx.say(emu.text(ALICE, "旧"))
    wx.later(days=8)
    wx.channel.worker._pruned_at = None

    wx.drain()

    assert _rows(session) == []


def test_events_that_ask_nothing_are_kept_and_closed_silently(wx: Running, emu: WeChatEmulator,
                                                              recorder: Recorder, session: Session) -> None:
    assert wx.say(emu.unsubscribe(ALICE)) == []

    assert recorder.seen == []
    assert [r.status for r in _rows(session)] == [WeChatInboxStatus.DONE]


def test_a_handler_answering_nothing_closes_the_row(wx: Running, emu: WeChatEmulator,
                                                    recorder: Recorder, session: Session) -> None:
    recorder.answer = lambda ib: []

    assert wx.say(emu.text(ALICE, "重复")) == []

    assert [r.status for r in _rows(session)] == [WeChatInboxStatus.DONE]
    assert isinstance(recorder.seen[0], Inbound)
