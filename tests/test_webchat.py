"""The web chat through the Flask test client: a whole report, feedback, bad input."""

from __future__ import annotations

import dataclasses
import io
import re
from typing import Any

import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session, sessionmaker

from minyi.settings import Settings
from store import outbox
from store.models import (
    Attachment,
    Channel,
    CollectionPoint,
    Report,
    User,
    WebChatMessage,
)
from tests.chat_driver import JPEG, SITUATION, SUGGESTION
from tests.review_support import adopt

NO = re.compile(r"\b(\d{4}-\d{6})\b")


class Visitor:
    """A phone that opened a point's link: one cookie, one transcript."""

    def __init__(self, client: FlaskClient, token: str) -> None:
        self.client, self.token = client, token
        page = client.get(f"/c/{token}")
        assert page.status_code == 200
        self.csrf = re.search(r'name="csrf-token" content="([^"]+)"', page.get_data(as_text=True))[1]  # type: ignore[index]
        self.seen: list[dict[str, Any]] = []

    @property
    def after(self) -> int:
        return self.seen[-1]["id"] if self.seen else 0

    def _take(self, resp: Any) -> list[dict[str, Any]]:
        body = resp.get_json()
        assert resp.status_code == 200, body
        new = body["messages"]
        self.seen += new
        return new

    def post(self, path: str, **kw: Any) -> Any:
        kw.setdefault("headers", {"X-CSRFToken": self.csrf})
        return self.client.post(f"{path}?after={self.after}", **kw)

    def send(self, **body: Any) -> list[dict[str, Any]]:
        return self._take(self.post("/c/api/send", json=body))

    def text(self, text: str) -> list[dict[str, Any]]:
        return self.send(text=text)

    def press(self, label_part: str) -> list[dict[str, Any]]:
        for msg in reversed(self.seen):
            if msg["dir"] == "out" and msg["buttons"]:
                for row in msg["buttons"]:
                    for b in row:
                        if label_part in b["label"]:
                            return self.send(callback=b["data"])
                raise AssertionError(f"no button {label_part!r} in {msg['buttons']}")
        raise AssertionError("no buttons yet")

    def upload(self, data: bytes, name: str, ctype: str) -> Any:
        return self.post("/c/api/upload", data={"file": (io.BytesIO(data), name, ctype)},
                         content_type="multipart/form-data")

    def poll(self) -> list[dict[str, Any]]:
        return self._take(self.client.get(f"/c/api/poll?after={self.after}"))

    def texts(self, messages: list[dict[str, Any]] | None = None) -> str:
        return "\n".join(m["text"] for m in (self.seen if messages is None else messages))


def _to_photos(v: Visitor) -> None:
    out = v.send(command="start", args=v.token)
    assert "城关镇便民服务中心" in v.texts(out)
    v.press("民生保障")
    v.text("城关镇人民路路灯长期不亮")
    v.text(SITUATION)
    v.press("跳过")
    v.text(SUGGESTION)
    v.text("城关镇人民路")
    assert "照片" in v.texts(v.seen[-1:])


def _report_through(v: Visitor) -> str:
    _to_photos(v)
    assert "已收到第 1 个文件" in v.texts(v._take(v.upload(JPEG, "路灯.jpg", "image/jpeg")))
    v.press("完成")
    v.press("否")
    v.press("否")
    v.text("张先生 13800000000")
    assert "核对" in v.texts(v.seen[-1:])
    receipt = v.texts(v.press("确认提交"))
    assert "提交成功" in receipt
    m = NO.search(receipt)
    assert m, receipt
    return m.group(1)


def test_it_takes_a_whole_report_and_shows_the_console_feedback(
    app: Flask, client: FlaskClient, point: CollectionPoint, point_token: str, admin: User,
    session: Session,
) -> None:
    v = Visitor(client, point_token)
    no = _report_through(v)

    report = session.scalar(sa.select(Report).where(Report.tracking_no == no))
    assert report is not None and report.point_id == point.id
    assert report.reporter.channel is Channel.WEB
    assert report.title == "城关镇人民路路灯长期不亮"
    (att,) = session.scalars(sa.select(Attachment).where(Attachment.report_id == report.id))
    assert att.content_type == "image/jpeg" and att.size == len(JPEG)
    # Both sides of the talk are in the transcript.
    kept = session.scalars(sa.select(WebChatMessage.direction)
                           .where(WebChatMessage.chat_id == report.reporter.chat_id)).all()
    assert "in" in kept and "out" in kept

    # Adoption walks the whole review chain (the console's side is tested elsewhere).
    adopt(session, report, admin)
    session.commit()

    for msg in outbox.claim_due(session, [Channel.WEB]):
        outbox.deliver_to_web(session, msg)
    session.commit()
    feedback = v.texts(v.poll())
    assert no in feedback and "已被采用" in feedback

    status = v.texts(v.send(command="my"))
    assert no in status and "已采用" in status

    # The same phone opening the link again sees its history, feedback included.
    again = Visitor(client, point_token)
    history = again.texts(again.poll())
    assert "提交成功" in history and "已被采用" in history


def test_it_says_a_forged_token_is_not_recognised(client: FlaskClient, point_token: str,
                                                   session: Session) -> None:
    forged = point_token[:-4] + ("AAAA" if not point_token.endswith("AAAA") else "BBBB")
    v = Visitor(client, forged)
    out = v.texts(v.send(command="start", args=forged))
    assert "无法识别" in out
    assert session.scalar(sa.select(sa.func.count()).select_from(Report)) == 0


def test_it_renders_a_clear_page_for_a_malformed_token(client: FlaskClient) -> None:
    for bad in ("hello", "p1_1_<script>", "p0_1_" + "a" * 22):
        resp = client.get(f"/c/{bad}")
        assert resp.status_code == 404
        page = resp.get_data(as_text=True)
        assert "二维码无效" in page and "<script>" not in page


def test_it_answers_malformed_json_with_a_chinese_400(client: FlaskClient,
                                                      point_token: str) -> None:
    v = Visitor(client, point_token)
    for body in (b"{not json", b"[1, 2]", b'{"text": 5}'):
        resp = client.post("/c/api/send", data=body, content_type="application/json",
                           headers={"X-CSRFToken": v.csrf})
        assert resp.status_code == 400
        assert not resp.get_json()["ok"] and re.search(r"[\u4e00-\u9fff]", resp.get_json()["error"])
    resp = client.get("/c/api/poll?after=abc")
    assert resp.status_code == 400 and resp.get_json()["error"]


def test_it_refuses_api_calls_without_csrf_or_cookie(app: Flask, client: FlaskClient,
                                                     point_token: str) -> None:
    Visitor(client, point_token)
    resp = client.post("/c/api/send", json={"text": "你好"})
    assert resp.status_code == 400 and "安全校验" in resp.get_json()["error"]
    stranger = app.test_client()
    resp = stranger.get("/c/api/poll")
    assert resp.status_code == 401 and "重新扫描" in resp.get_json()["error"]


def test_it_lets_the_engine_answer_over_long_text(client: FlaskClient, point_token: str) -> None:
    v = Visitor(client, point_token)
    v.send(command="start", args=point_token)
    v.press("民生保障")
    out = v.texts(v.text("长" * 1600))
    assert "太长" in out


def test_it_refuses_an_oversize_upload_with_a_clear_message(
    settings: Settings, Session_: sessionmaker[Session], point_token: str,  # noqa: N803
) -> None:
    from web import create_app

    app = create_app(dataclasses.replace(settings, max_upload_mb=1), session_factory=Session_)
    v = Visitor(app.test_client(), point_token)
    resp = v.upload(b"\xff\xd8\xff" + b"0" * (2 * 1024 * 1024), "big.jpg", "image/jpeg")
    assert resp.status_code == 413
    assert "不能超过 1 MB" in resp.get_json()["error"]


def test_it_lets_the_engine_refuse_a_file_over_the_limit(
    settings: Settings, Session_: sessionmaker[Session], point_token: str,  # noqa: N803
    session: Session,
) -> None:
    from web import create_app

    app = create_app(dataclasses.replace(settings, max_upload_mb=1), session_factory=Session_)
    v = Visitor(app.test_client(), point_token)
    _to_photos(v)
    # Just over 1 MB: inside the request limit, over the file limit.
    resp = v.upload(b"\xff\xd8\xff" + b"0" * (1024 * 1024 + 10), "big.jpg", "image/jpeg")
    assert "文件太大" in v.texts(v._take(resp))
    assert session.scalar(sa.select(sa.func.count()).select_from(Attachment)) == 0


def test_it_builds_its_own_database_session_factory(settings: Settings, db_engine) -> None:  # noqa: ANN001
    from web import create_app

    client = create_app(settings).test_client()
    assert "工作人员登录" in client.get("/login").get_data(as_text=True)


def test_it_slows_down_a_flood(app: Flask, client: FlaskClient, point_token: str,
                               session: Session) -> None:
    app.config.update(CHAT_FLOOD_BURST=5, CHAT_FLOOD_WINDOW=3600.0)
    v = Visitor(client, point_token)
    codes = [v.post("/c/api/send", json={"text": f"第{i}条"}).status_code for i in range(8)]
    assert codes[:5] == [200] * 5 and codes[5:] == [429] * 3
    resp = v.post("/c/api/send", json={"text": "再来"})
    assert "太快" in resp.get_json()["error"]
    # What was refused never reached the transcript.
    texts = session.scalars(sa.select(WebChatMessage.text).where(WebChatMessage.direction == "in"))
    assert sorted(texts) == sorted(f"第{i}条" for i in range(5))


def test_it_shows_a_pressed_button_by_its_label(client: FlaskClient, point_token: str) -> None:
    v = Visitor(client, point_token)
    v.send(command="start", args=point_token)
    v.press("民生保障")
    mine = [m["text"] for m in v.seen if m["dir"] == "in"]
    assert mine == ["/start", "［民生保障］"]


def test_it_tells_a_new_visitor_they_have_no_reports(client: FlaskClient,
                                                     point_token: str) -> None:
    v = Visitor(client, point_token)
    assert "还没有反映过" in v.texts(v.send(command="my"))
