"""Topic calls (选题): publishing in the console, `/topics` and the menu button, answering, deadlines, opt-in."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient
from sqlalchemy.orm import Session, sessionmaker

from store.conversation.engine import Engine
from store.models import Channel, OutboxMessage, Report, Reporter, Topic, utcnow
from store.network import topics
from tests.chat_driver import Chat
from tests.web_support import csrf, login


@pytest.fixture
def chat(Session_: sessionmaker[Session], engine: Engine) -> Chat:  # noqa: N803
    return Chat(Session_, engine, user_id="3001")


def make_topic(session: Session, title: str = "老旧小区改造中的急难愁盼", days: float = 10) -> Topic:
    topic = Topic(title=title, description="请反映老旧小区改造中遇到的具体问题和建议。",
                  deadline=utcnow() + timedelta(days=days))
    session.add(topic)
    session.commit()
    return topic


def test_it_lists_open_topics_and_files_an_answer_with_its_topic(chat, session, client, clerk):
    topic = make_topic(session)
    make_topic(session, "已截止的选题", days=-1)
    chat.command("topics")
    assert "老旧小区改造中的急难愁盼" in chat.last.text and "已截止的选题" not in chat.last.text
    chat.press("老旧小区改造")
    assert "📣 选题：老旧小区改造中的急难愁盼" in chat.log[-2].text
    assert "请选择信息类别" in chat.last.text
    chat.fill_report(photo=False)
    chat.press("确认提交")
    session.rollback()
    [report] = session.scalars(sa.select(Report))
    assert report.topic_id == topic.id

    login(client, "carol")
    page = client.get(f"/reports/{report.id}").get_data(as_text=True)
    assert '<span id="topic">选题：老旧小区改造中的急难愁盼</span>' in page


def test_it_shows_a_topics_button_in_the_menu_only_while_a_call_is_open(chat, session):
    chat.command("help")
    assert "📣 选题征集" not in [b.label for row in chat.last.buttons for b in row]
    make_topic(session)
    chat.command("help")
    chat.press("选题征集")
    assert "正在征集的选题（1 个）" in chat.last.text


def test_it_refuses_an_answer_after_the_deadline(chat, session):
    topic = make_topic(session)
    chat.command("topics")
    data = chat.button("老旧小区改造")
    topic.deadline = utcnow() - timedelta(minutes=1)
    session.commit()
    chat.send(callback=data)
    assert "已于" in chat.last.text and "截止，不再接收反映" in chat.last.text
    session.rollback()
    conv_mode = session.scalar(sa.text("select mode from conversations"))
    assert conv_mode == "idle"


def test_it_files_an_ordinary_report_when_the_topic_closes_before_confirm(chat, session):
    topic = make_topic(session)
    chat.command("topics")
    chat.press("老旧小区改造")
    chat.fill_report(photo=False)
    assert "请核对" in chat.last.text
    topic.deadline = utcnow() - timedelta(minutes=5)
    session.commit()
    closed_at = topics.deadline_text(topic)

    chat.press("确认提交")

    receipt = chat.last.text
    assert "提交成功" in receipt
    assert f"选题“老旧小区改造中的急难愁盼”已于 {closed_at} 截止" in receipt
    assert "已作为普通信息提交" in receipt
    session.rollback()
    [report] = session.scalars(sa.select(Report))
    assert report.topic_id is None
    assert report.tracking_no in receipt
    assert (report.title, report.place) == ("城关镇人民路路灯长期不亮", "城关镇人民路")
    assert report.situation and report.suggestion and report.contact == "张先生 13800000000"
    conv_context = session.scalar(sa.text("select context from conversations"))
    assert "topic_id" not in str(conv_context)


def test_it_says_nothing_of_the_topic_when_it_is_still_open_at_confirm(chat, session):
    topic = make_topic(session)
    chat.command("topics")
    chat.press("老旧小区改造")
    chat.fill_report(photo=False)
    chat.press("确认提交")
    assert "截止" not in chat.last.text and "提交成功" in chat.last.text
    session.rollback()
    assert session.scalar(sa.select(Report.topic_id)) == topic.id


def test_it_keeps_a_draft_when_a_topic_is_chosen_midway(chat, session):
    make_topic(session)
    chat.command("topics")
    data = chat.button("老旧小区改造")
    chat.command("new")
    chat.fill_report(until="title")
    chat.send(callback=data)
    assert "请先完成它" in chat.log[-2].text and "标题" in chat.last.text


def test_it_says_when_no_topic_is_open(chat):
    chat.command("topics")
    assert "目前没有正在征集的选题" in chat.last.text


def test_it_subscribes_and_unsubscribes(chat, session):
    chat.command("subscribe")
    assert "已订阅选题通知" in chat.last.text
    session.rollback()
    assert session.scalar(sa.select(Reporter.topics_opt_in)) is True
    chat.command("unsubscribe")
    assert "已退订" in chat.last.text
    session.rollback()
    assert session.scalar(sa.select(Reporter.topics_opt_in)) is False


def test_it_messages_each_subscriber_once_when_a_topic_is_published(
        Session_, engine, session, client, clerk):
    for uid, channel in (("4001", Channel.TELEGRAM), ("4002", Channel.WEB), ("4003", Channel.TELEGRAM)):
        Chat(Session_, engine, user_id=uid, channel=channel).command("subscribe")
    Chat(Session_, engine, user_id="4009").command("help")  # not subscribed
    login(client, "carol")
    resp = client.post("/topics", data={
        "csrf_token": csrf(client, "/topics"), "title": "农村养老服务",
        "description": "请反映农村养老服务中的具体困难。", "deadline": "2099-12-31T18:00"},
        follow_redirects=True)
    page = resp.get_data(as_text=True)
    assert "已发布选题「农村养老服务」，已向 3 位订阅者发送通知" in page
    assert "2099-12-31 18:00" in page and "征集中" in page
    session.rollback()
    rows = list(session.scalars(sa.select(OutboxMessage)))
    assert sorted(m.chat_id for m in rows) == ["4001", "4002", "4003"]
    assert all("新选题：农村养老服务" in m.text and "2099-12-31 18:00" in m.text for m in rows)
    topic = session.scalar(sa.select(Topic))
    assert topic.deadline.isoformat().startswith("2099-12-31T10:00")  # Beijing 18:00 in UTC
    assert rows[0].buttons[0][0]["data"] == f"~topic:{topic.id}"


@pytest.mark.parametrize(("form", "message"), [
    ({"title": "", "description": "说明", "deadline": "2099-01-01T10:00"}, "请填写选题标题"),
    ({"title": "选题", "description": " ", "deadline": "2099-01-01T10:00"}, "请填写选题说明"),
    ({"title": "选题", "description": "说明", "deadline": "2000-01-01T10:00"}, "晚于现在的截止时间"),
    ({"title": "选题", "description": "说明", "deadline": "明天"}, "晚于现在的截止时间"),
])
def test_it_refuses_a_bad_topic(client: FlaskClient, clerk, session, form, message):
    login(client, "carol")
    resp = client.post("/topics", data={"csrf_token": csrf(client, "/topics"), **form},
                       follow_redirects=True)
    assert message in resp.get_data(as_text=True)
    session.rollback()
    assert session.scalar(sa.select(sa.func.count()).select_from(Topic)) == 0


def test_it_keeps_viewers_out_of_topic_publishing(client, viewer):
    login(client, "victor")
    assert client.get("/topics").status_code == 403


def test_it_leaves_blocked_subscribers_out(session, Session_, engine):
    Chat(Session_, engine, user_id="5001").command("subscribe")
    session.rollback()
    reporter = session.scalar(sa.select(Reporter))
    reporter.blocked_at = utcnow()
    session.commit()
    _, queued = topics.publish(session, title="t", description="d",
                               deadline=utcnow() + timedelta(days=1), created_by_id=None)
    assert queued == 0
