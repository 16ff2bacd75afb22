"""The web chat's message ids (issue 15): a message sent again is applied once and answered alike.

The page gives every message a `mid` and sends it again, with the same `mid`,
after a timeout, a server error or a reload. Each test checks what the visitor
gets back and what was stored: the conversation's step and answers, the
transcript, the reports.
"""

from __future__ import annotations

import dataclasses
import io
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session, sessionmaker

from minyi import scheduler
from minyi.settings import Settings
from store.models import Attachment, Conversation, Report, WebChatMessage, WebChatSend, utcnow
from tests.form_walk import JPEG, SITUATION, TITLE
from tests.test_races import THREADS, together
from tests.test_webchat import Visitor


def _send(v: Visitor, after: int, **body: Any) -> Any:
    """One POST as the page makes it, with the transcript position `after`."""
    return v.client.post(f"/c/api/send?after={after}", json=body, headers={"X-CSRFToken": v.csrf})


def _conversation(session: Session) -> Conversation:
    session.rollback()  # see what the requests committed
    return session.scalars(sa.select(Conversation)).one()


def _lines(session: Session) -> int:
    return session.scalar(sa.select(sa.func.count()).select_from(WebChatMessage)) or 0


def _at_title(client: FlaskClient, point_token: str) -> Visitor:
    v = Visitor(client, point_token)
    v.open()
    v.press("民生")
    return v


def test_it_applies_a_message_sent_twice_once_and_answers_it_alike(
        client: FlaskClient, point_token: str, session: Session) -> None:
    v = _at_title(client, point_token)
    after = v.after

    first = _send(v, after, text=TITLE, mid="title-0001")
    assert first.status_code == 200 and not first.get_json().get("replayed")
    stored = _lines(session)
    conv = _conversation(session)
    assert (conv.step, conv.answers["title"]) == ("situation", TITLE)

    again = _send(v, after, text=TITLE, mid="title-0001")
    assert again.status_code == 200 and again.get_json()["replayed"] is True
    assert again.get_json()["messages"] == first.get_json()["messages"]
    # Nothing applied or written the second time.
    conv = _conversation(session)
    assert (conv.step, conv.answers["title"]) == ("situation", TITLE)
    assert _lines(session) == stored


def test_a_resend_after_the_step_moved_on_does_not_answer_the_next_question(
        client: FlaskClient, point_token: str, session: Session) -> None:
    v = _at_title(client, point_token)
    title_at = v.after
    title_reply = _send(v, title_at, text=TITLE, mid="title-0001").get_json()["messages"]
    v.seen += title_reply
    v.send(text=SITUATION, mid="situation-0002")
    conv = _conversation(session)
    moved_to, turn, stored = conv.step, conv.turn, _lines(session)
    assert moved_to != "situation"

    # The first message's answer was lost on the way; the page sends it again, late.
    late = _send(v, title_at, text=TITLE, mid="title-0001")
    assert late.status_code == 200 and late.get_json()["replayed"] is True
    # Its own answer is in the reply (and whatever came after it, as a poll would show).
    ids = [m["id"] for m in late.get_json()["messages"]]
    assert [m["id"] for m in title_reply] == ids[:len(title_reply)]
    conv = _conversation(session)
    assert (conv.step, conv.turn) == (moved_to, turn)
    assert conv.answers["title"] == TITLE and conv.answers["situation"] == SITUATION
    assert _lines(session) == stored


def test_a_button_pressed_twice_with_one_mid_files_one_report_with_one_receipt(
        client: FlaskClient, point_token: str, session: Session) -> None:
    v = Visitor(client, point_token)
    v.open()
    v.fill_report()
    confirm = next(b["data"] for row in v.seen[-1]["buttons"] for b in row if "确认提交" in b["label"])

    after = v.after
    first = _send(v, after, callback=confirm, mid="confirm-00000001").get_json()
    again = _send(v, after, callback=confirm, mid="confirm-00000001").get_json()
    assert "提交成功" in " ".join(m["text"] for m in first["messages"])
    assert again["messages"] == first["messages"]
    session.rollback()
    assert session.scalar(sa.select(sa.func.count()).select_from(Report)) == 1


def test_an_upload_sent_twice_with_one_mid_is_kept_once(
        client: FlaskClient, point_token: str, session: Session) -> None:
    v = Visitor(client, point_token)
    v.open()
    v.fill_report(until="photos")

    def upload() -> Any:
        return v.post("/c/api/upload", content_type="multipart/form-data",
                      data={"file": (io.BytesIO(JPEG), "路灯.jpg", "image/jpeg"), "mid": "photo-0001"})

    first, again = upload(), upload()
    assert first.status_code == again.status_code == 200
    assert again.get_json()["replayed"] is True
    session.rollback()
    assert session.scalar(sa.select(sa.func.count()).select_from(Attachment)) == 1


def test_it_refuses_a_malformed_mid_in_chinese_and_english(
        client: FlaskClient, point_token: str, session: Session) -> None:
    v = _at_title(client, point_token)
    stored = _lines(session)
    for bad in ("short", "x" * 65, "has space1", "中文中文中文中文", 12345678, ""):
        resp = _send(v, v.after, text=TITLE, mid=bad)
        assert resp.status_code == 400, bad
        error = resp.get_json()["error"]
        assert "消息编号" in error and "message id" in error
    english = v.client.post("/c/api/send", json={"text": TITLE, "mid": "bad"},
                            headers={"X-CSRFToken": v.csrf, "Accept-Language": "en"})
    assert english.status_code == 400
    assert english.get_json()["error"].startswith("Malformed message id")
    assert _lines(session) == stored and _conversation(session).step == "title"


def test_a_message_without_a_mid_works_as_before(client: FlaskClient, point_token: str,
                                                 session: Session) -> None:
    v = _at_title(client, point_token)
    v.text(TITLE)
    assert _conversation(session).step == "situation"
    v.text(TITLE)  # an old page's double send is two messages, as it always was
    session.rollback()
    said = session.scalars(sa.select(WebChatMessage.text).where(WebChatMessage.direction == "in"))
    assert list(said).count(TITLE) == 2
    assert session.scalar(sa.select(sa.func.count()).select_from(WebChatSend)) == 0


def test_housekeeping_forgets_message_ids_after_a_day(
        client: FlaskClient, point_token: str, session: Session,
        Session_: sessionmaker[Session]) -> None:
    v = _at_title(client, point_token)
    v.send(text=TITLE, mid="title-0001")
    scheduler.housekeeping(Session_, utcnow() + timedelta(hours=23))
    assert session.scalar(sa.select(sa.func.count()).select_from(WebChatSend)) == 1
    scheduler.housekeeping(Session_, utcnow() + timedelta(days=1, minutes=1))
    session.rollback()
    assert session.scalar(sa.select(sa.func.count()).select_from(WebChatSend)) == 0


def test_simultaneous_sends_of_one_message_apply_it_once_without_an_error(
        settings: Settings, Session_: sessionmaker[Session], session: Session,
        point_token: str) -> None:
    """On PostgreSQL the requests really overlap: the later ones wait on the first's key."""
    from web import create_app

    app: Flask = create_app(dataclasses.replace(settings, trusted_proxies=1), session_factory=Session_)
    app.config.update(CHAT_FLOOD_BURST=1000, CHAT_FLOOD_ADDRESS_BURST=1000)
    v = _at_title(app.test_client(), point_token)
    cookies = {name: v.client.get_cookie(name) for name in ("minyi_chat", "session")}
    after, stored = v.after, _lines(session)

    def send(i: int) -> Any:
        client = app.test_client()
        for name, cookie in cookies.items():
            if cookie is not None:
                client.set_cookie(name, cookie.value)
        resp = client.post(
            f"/c/api/send?after={after}", json={"text": TITLE, "mid": "title-0001"},
            headers={"X-CSRFToken": v.csrf, "X-Forwarded-For": f"10.0.1.{i + 1}"})
        return resp.status_code, resp.get_json()

    results = together(send)
    assert [status for status, _ in results] == [200] * THREADS
    assert sum(1 for _, body in results if not body.get("replayed")) == 1
    assert len({str(body["messages"]) for _, body in results}) == 1
    conv = _conversation(session)
    assert (conv.step, conv.answers["title"]) == ("situation", TITLE)
    # The visitor's line once, and the one reply to it.
    assert _lines(session) - stored == len(results[0][1]["messages"])
