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

from bot.channels.webchat.channel import transcribe
from minyi.settings import Settings
from store import forms
from store.conversation.messages import BUTTONS, TYPED_ONLY
from store.delivery import outbox
from store.i18n import MESSAGES
from store.models import (
    Attachment,
    Channel,
    CollectionPoint,
    Conversation,
    Report,
    Reporter,
    ReportStatus,
    StaffAddress,
    User,
    WebChatMessage,
)
from store.network import staff
from store.reports import intake, lifecycle
from store.review import transfers
from tests.conftest import SECRET
from tests.domain_support import make_report
from tests.form_walk import JPEG, TITLE, Answer, walk
from tests.review_support import adopt

NO = re.compile(r"\b(\d{4}-\d{6})\b")


class Visitor:
    """A phone that opened a point's link: one cookie, one transcript."""

    def __init__(self, client: FlaskClient, token: str) -> None:
        """`token`: a point's token, or "f/<token>" for a counter slip's follow link."""
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

    def open(self) -> list[dict[str, Any]]:
        """What the page's script does when the page is opened (not on a same-tab reload)."""
        token = "" if self.token.startswith("f/") else self.token
        return self._take(self.post("/c/api/open", json={"token": token}))

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

    def answer(self, a: Answer) -> list[dict[str, Any]]:
        """Give one step its answer as the page does: a button, typed text, an uploaded photo."""
        if a.skip or a.kind in ("choice", "yesno"):
            return self.press(a.label)
        if a.kind == "file":
            got = self._take(self.upload(a.value, "路灯.jpg", "image/jpeg"))
            assert "已收到第 1 个文件" in self.texts(got)
            return self.press("完成")
        return self.text(a.value)

    def fill_report(self, **kw: Any) -> None:
        """Answer the shipped form (`tests.form_walk.walk(**kw)`; the analysis skipped by default)."""
        kw.setdefault("skip", {"analysis"})
        for a in walk(**kw):
            self.answer(a)


def _to_photos(v: Visitor) -> None:
    out = v.open()
    assert "城关镇便民服务中心" in v.texts(out)
    v.fill_report(until="photos")
    assert "照片" in v.texts(v.seen[-1:])


def _report_through(v: Visitor) -> str:
    _to_photos(v)
    v.fill_report(since="photos")
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
    assert report.title == TITLE
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
        transcribe(session, msg.id, msg.chat_id, msg.text, msg.buttons)
        outbox.mark_sent(session, msg)
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
    out = v.texts(v.open())
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
    v.open()
    v.fill_report(until="title")
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


def test_it_shows_a_pressed_button_by_its_label_and_no_bubble_the_visitor_did_not_type(
    client: FlaskClient, point_token: str, session: Session,
) -> None:
    v = Visitor(client, point_token)
    v.open()
    v.fill_report(until="title")
    v.send(callback="~my:")  # the page's standing menu
    mine = [m["text"] for m in v.seen if m["dir"] == "in"]
    assert mine == [f"［{walk()[0].label}］", "［📋 我的反映］"]
    kept = session.scalars(sa.select(WebChatMessage.text).where(WebChatMessage.direction == "in"))
    assert not any(text.startswith("/") for text in kept)


def test_it_tells_a_new_visitor_they_have_no_reports(client: FlaskClient,
                                                     point_token: str) -> None:
    v = Visitor(client, point_token)
    assert "还没有反映过" in v.texts(v.send(command="my"))


# -- a returning citizen (issue 10) ---------------------------------------------

SLASH = re.compile(r"/[a-z]{2,}")
PROGRESS = re.compile(r"第 (\d+)/(\d+) 项")


def _chat_id(session: Session) -> str:
    session.rollback()  # end the read snapshot, see the latest rows
    return session.scalars(sa.select(Reporter.external_id)
                           .where(Reporter.channel == Channel.WEB)).one()


def _conversation(session: Session, chat_id: str) -> Conversation:
    session.rollback()
    return session.scalars(sa.select(Conversation).where(Conversation.external_id == chat_id)).one()


def _labels(message: dict[str, Any]) -> list[str]:
    return [b["label"] for row in message["buttons"] for b in row]


def test_a_first_visit_opens_the_form_without_a_start_bubble_or_slash_commands(
    client: FlaskClient, point_token: str, session: Session,
) -> None:
    v = Visitor(client, point_token)
    out = v.open()
    text = v.texts(out)
    assert "城关镇便民服务中心" in text and "请选择信息类别" in text
    assert "每个问题下面都有“返回上一步”和“取消”" in text
    assert not SLASH.search(text)
    assert "第 1/11 项" in text
    assert [m for m in v.seen if m["dir"] == "in"] == []
    # One 取消 under the question, drawn smaller than the answers.
    question = out[-1]
    cancels = [b for row in question["buttons"] for b in row if b["label"] == "取消"]
    assert len(cancels) == 1 and cancels[0]["style"] == "minor"
    assert all("style" not in b for b in question["buttons"][0])
    # The page's standing menu has no second 取消 and sends no commands.
    page = client.get(f"/c/{point_token}").get_data(as_text=True)
    menu = page[page.index('<nav id="menu"'):page.index("</nav>")]
    assert "取消" not in menu and "上一步" not in menu and "data-command" not in menu
    assert "反映新问题" in menu and "我的反映" in menu


def test_a_returning_citizen_sees_the_news_of_their_reports_first_and_no_new_form(
    client: FlaskClient, point: CollectionPoint, point_token: str, session: Session, admin: User,
    clerk: User, network: Any,
) -> None:
    v = Visitor(client, point_token)
    first = _report_through(v)
    chat_id = _chat_id(session)
    declined = make_report(session, point, title="建议夜市延长营业时间", external_id=chat_id)
    handled = make_report(session, point, title="城关河沿岸垃圾清理不及时", external_id=chat_id)
    pending = make_report(session, point, title="菜市场周边停车难", external_id=chat_id)
    returned = session.scalars(sa.select(Report).where(Report.tracking_no == first)).one()
    lifecycle.apply(session, returned, lifecycle.Action.RETURN, user=clerk,
                    note="请补充路灯的具体位置和照片")
    lifecycle.apply(session, declined, lifecycle.Action.DECLINE, user=admin,
                    note="该问题已列入今年城管工作计划")
    adopt(session, handled, admin)
    row = transfers.transfer(session, handled, admin, department=network.water, due_days=10,
                             escalate_days=5, note="内部：请水利局牵头")
    transfers.reply(session, row, admin, "已安排保洁船每周清理两次")
    session.commit()

    # The phone comes back (the QR code again, or its history): a new page, the same cookie.
    again = Visitor(client, point_token)
    history = again.poll()
    out = again.open()
    [news] = out
    text = news["text"]
    assert "欢迎回来" in text and "您反映的信息最新进展" in text
    # The question asked of them comes first, then the latest to move.
    assert text.index(first) < text.index(handled.tracking_no) < text.index(declined.tracking_no)
    assert "需要您补充：请补充路灯的具体位置和照片" in text
    assert "暂不采用。原因：该问题已列入今年城管工作计划" in text
    assert "办理回复：已安排保洁船每周清理两次" in text
    assert f"{pending.tracking_no}《菜市场周边停车难》\n已提交，待审核" in text
    assert "内部" not in text  # a staff note is never news
    assert not SLASH.search(text)
    assert _labels(news) == [f"补充信息 {first}", "📝 反映新问题", "📋 我的反映"]
    assert news["buttons"][0][0]["style"] == "main"
    assert "请选择信息类别" not in again.texts(out)
    assert _conversation(session, chat_id).mode == "idle"
    assert len(history) > 0 and [m for m in again.seen if m["dir"] == "in"] == [
        m for m in history if m["dir"] == "in"]

    # The supplement, then that report's news: not a new form.
    again.press(f"补充信息 {first}")
    again.text("路灯在人民路12号至30号之间，共12盏")
    done = again.press("提交补充")
    assert len(done) == 2  # the visitor's ［提交补充］ and the answer
    answer = done[-1]
    assert "补充内容已提交" in answer["text"]
    assert f"{first}《{TITLE}》现在的状态：已补充，待审核" in answer["text"]
    assert _labels(answer) == ["📝 反映新问题", "📋 我的反映"]
    assert "请选择信息类别" not in again.texts(done)
    assert _conversation(session, chat_id).mode == "idle"
    assert session.get(Report, returned.id).status is ReportStatus.RESUBMITTED  # type: ignore[union-attr]

    # Only when asked does a form start.
    asked = again.texts(again.press("反映新问题"))
    assert "请选择信息类别" in asked and "第 1/11 项" in asked


def test_a_reload_with_nothing_filled_in_simply_goes_on(
    client: FlaskClient, point_token: str, session: Session,
) -> None:
    v = Visitor(client, point_token)
    v.open()
    chat_id = _chat_id(session)
    again = Visitor(client, point_token)
    again.poll()  # the transcript, as the page shows it first
    out = again.open()
    assert len(out) == 1 and "请选择信息类别" in out[0]["text"]
    assert "尚未提交" not in again.texts(out) and "欢迎" not in again.texts(out)
    conv = _conversation(session, chat_id)
    assert conv.mode == "filling" and conv.step == "category" and conv.answers == {}
    # Its buttons work: the form goes on from there.
    assert "请用一句话概括" in again.texts(again.press(walk()[0].label))

    # With something filled in, it says so and asks where it stood.
    third = Visitor(client, point_token)
    third.poll()
    out = third.open()
    assert "您上次填写的信息还在（已填 1 项）" in out[0]["text"]
    assert "请用一句话概括" in out[-1]["text"] and "第 2/10 项" in out[-1]["text"]


def test_a_counter_slip_opens_on_the_news_of_its_report(
    client: FlaskClient, point: CollectionPoint, session: Session,
) -> None:
    report = make_report(session, point, title="社区卫生服务站看病排队时间长",
                         external_id="w-counter-walkin")
    v = Visitor(client, "f/" + intake.follow_token(SECRET, report.reporter))
    [news] = v.open()
    assert report.tracking_no in news["text"] and "已提交，待审核" in news["text"]
    assert "请选择信息类别" not in news["text"]
    assert _conversation(session, "w-counter-walkin").mode == "idle"


def test_the_web_chat_never_tells_a_citizen_to_type_a_command(
    client: FlaskClient, point_token: str, session: Session, clerk: User,
) -> None:
    v = Visitor(client, point_token)
    no = _report_through(v)
    v.send(callback="~my:")
    v.text("/whatever")  # typed by the visitor: answered in buttons and words
    report = session.scalars(sa.select(Report).where(Report.tracking_no == no)).one()
    lifecycle.apply(session, report, lifecycle.Action.RETURN, user=clerk, note="请补充照片")
    session.commit()
    v.send(callback=f"~supp:{report.id}")
    v.text("补充说明：共12盏")
    v.press("提交补充")
    v.send(callback=f"~supp:{report.id}")  # no longer returned
    v.send(callback=f"~rate:{report.id}:satisfied")  # not concluded
    said = [m["text"] for m in v.seen if m["dir"] == "out"]
    assert any("点按钮操作" in text for text in said)
    assert [text for text in said if SLASH.search(text)] == []


def test_a_staff_code_typed_in_the_web_chat_links_nothing_and_keeps_the_code(
    client: FlaskClient, point_token: str, session: Session, clerk: User,
) -> None:
    code = staff.issue_link_code(session, clerk)
    session.commit()
    v = Visitor(client, point_token)
    v.open()

    said = v.texts(v.text(f"/link {code}"))

    assert "网页聊天供群众反映使用，不能绑定工作人员账号" in said
    session.rollback()
    assert session.scalar(sa.select(sa.func.count(StaffAddress.id))) == 0
    assert session.get_one(User, clerk.id).link_code == code  # still good where it can be used


def test_every_message_naming_a_command_has_a_wording_for_buttons() -> None:
    import store.conversation.engine  # noqa: F401  (registers the engine's texts)
    import store.reports.intake  # noqa: F401

    for key, texts in MESSAGES.items():
        # bot.*: the Telegram adapter's own words, never said in the web chat.
        if key.endswith(BUTTONS) or key in TYPED_ONLY or key.startswith("bot."):
            continue
        if any(SLASH.search(text) for text in texts.values()):
            variant = MESSAGES.get(key + BUTTONS)
            assert variant is not None, f"{key} tells people to type a command"
            assert not any(SLASH.search(text) for text in variant.values()), key
            assert set(variant) == set(texts), key
    # How to go back or stop is the channel's to say, not the form's.
    for path in forms.FORMS_DIR.glob("*.toml"):
        form = forms.load(path.stem)
        assert not any(SLASH.search(text) for text in form.intro.values()), path


def test_it_opens_again_without_repeating_news_that_did_not_change(
    client: FlaskClient, point: CollectionPoint, point_token: str, session: Session, clerk: User,
) -> None:
    v = Visitor(client, point_token)
    first = _report_through(v)
    again = Visitor(client, point_token)
    again.poll()
    [news] = again.open()
    assert first in news["text"]
    before = session.scalar(sa.select(sa.func.count()).select_from(WebChatMessage))
    session.rollback()  # the app writes next

    # Opened again and again with nothing new: the bubble already there is the news.
    for _ in range(3):
        third = Visitor(client, point_token)
        third.poll()
        assert third.open() == []
    assert session.scalar(sa.select(sa.func.count()).select_from(WebChatMessage)) == before
    session.rollback()
    assert "欢迎回来" in third.texts()  # still on the page, from the transcript
    third.press("我的反映")  # and its buttons still work
    assert first in third.texts(third.seen[-1:])

    # Something moved: the next opening tells it.
    report = session.scalars(sa.select(Report).where(Report.tracking_no == first)).one()
    lifecycle.apply(session, report, lifecycle.Action.RETURN, user=clerk, note="请补充路灯的具体位置")
    session.commit()
    fourth = Visitor(client, point_token)
    fourth.poll()
    assert any("请补充路灯的具体位置" in m["text"] for m in fourth.open())
