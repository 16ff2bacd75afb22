"""Counter intake (代录): staff file a walk-in citizen's report, print a slip, the citizen follows it."""

from __future__ import annotations

import dataclasses
import io
import re
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session, sessionmaker

from bot.channels.webchat.channel import transcribe
from minyi.settings import Settings
from store.delivery import outbox
from store.models import (
    AccessLog,
    Attachment,
    Channel,
    CollectionPoint,
    Conversation,
    Report,
    ReportEvent,
    ReportStatus,
    ReportVersion,
    Role,
    User,
    WebChatMessage,
)
from store.network import points
from store.reports import intake
from tests.chat_driver import JPEG
from tests.conftest import SECRET, Network, staff
from tests.domain_support import make_report
from tests.review_support import adopt
from tests.web_support import csrf, login

CITIZEN = re.compile(r'name="citizen" value="([^"]+)"')
KEEP = re.compile(r'name="keep_photos" value="([^"]+)"')
FOLLOW = re.compile(r'id="follow-url">([^<]+)<')


@pytest.fixture
def county_point(session: Session, network: Network) -> CollectionPoint:
    p = points.create_point(session, "城关镇便民服务中心", address="城关镇人民路1号",
                            unit_id=network.county.id)
    session.commit()
    return p


@pytest.fixture
def ken(session: Session, network: Network) -> User:
    """A clerk (信息员) of the county CPPCC."""
    return staff(session, "ken", Role.CLERK, network.county)


def _form(client: FlaskClient) -> dict[str, str]:
    """The hidden fields of a fresh intake page, as a browser would send them back."""
    page = client.get("/intake/new")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    m = CITIZEN.search(html)
    assert m, html
    return {"csrf_token": csrf(client, "/intake/new"), "citizen": m.group(1)}


def _ecology(point: CollectionPoint, **over: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "point_id": str(point.id), "a_category": "ecology",
        "a_title": "东河3号排污口雨后排出黑水",
        "a_situation": "东河3号排污口每逢下雨就排出黑水，下游500米河段发臭，已持续两个月。",
        "a_suggestion": "建议环保部门对排污口上游企业逐一排查，并在雨季加密水质监测。",
        "a_pollution": "water", "a_place": "城关镇东河3号排污口", "a_urgent": "1",
        "a_anonymous": "0", "a_contact": "李女士 13900000000",
    }
    data.update(over)
    return data


def _post(client: FlaskClient, data: dict[str, Any], files: list[tuple[bytes, str]] | None = None) -> Any:
    body = dict(data)
    if files:
        body["a_photos"] = [(io.BytesIO(b), name) for b, name in files]
    return client.post("/intake/new", data=body, content_type="multipart/form-data")


def _only_report(session: Session) -> Report:
    session.rollback()  # a fresh look: what the app committed since
    (report,) = session.scalars(sa.select(Report)).all()
    return report


def _count(session: Session) -> int:
    session.rollback()
    n = session.scalar(sa.select(sa.func.count()).select_from(Report)) or 0
    session.rollback()
    return n


def test_it_files_a_report_with_a_per_category_question(
    client: FlaskClient, session: Session, ken: User, county_point: CollectionPoint,
    network: Network,
) -> None:
    login(client, "ken")
    page = client.get("/intake/new").get_data(as_text=True)
    # Every step is on the page; the ecology question waits, hidden, for its category.
    assert 'id="step-pollution"' in page and "data-when='{\"category\": \"ecology\"}'" in page
    assert re.search(r'id="step-pollution"[^>]*hidden', page)
    assert "仅当类别为“生态环境”时填写" in page
    # A form on a page words the place and photo questions without the chat's buttons.
    assert "请写出地址或地点" in page and "上传完毕请点" not in page
    assert f'value="{county_point.id}" selected' in page  # the only point in reach

    resp = _post(client, {**_form(client), **_ecology(county_point)}, [(JPEG, "排污口.jpg")])

    report = _only_report(session)
    assert resp.status_code == 302 and resp.location.endswith(f"/intake/{report.id}/slip")
    assert report.answers["pollution"] == "water" and report.answers["category"] == "ecology"
    assert report.answers["photos"] == 1 and report.answers["urgent"] is True
    assert report.entered_by_id == ken.id
    assert report.point_id == county_point.id and report.unit_id == network.county.id
    assert report.status is ReportStatus.SUBMITTED and report.version == 1
    assert report.contact == "李女士 13900000000" and report.place == "城关镇东河3号排污口"
    assert report.urgency.value == "urgent"
    assert re.fullmatch(r"\d{4}-\d{6}", report.tracking_no)
    (version,) = session.scalars(sa.select(ReportVersion).where(ReportVersion.report_id == report.id))
    assert version.number == 1 and version.title == report.title and version.user_id is None
    (event,) = session.scalars(sa.select(ReportEvent).where(ReportEvent.report_id == report.id))
    assert event.action == "submit" and event.reporter_id == report.reporter_id
    (att,) = session.scalars(sa.select(Attachment).where(Attachment.report_id == report.id))
    assert att.content_type == "image/jpeg" and att.size == len(JPEG) and att.conversation_id is None
    # The walk-in citizen is a fresh web-chat reporter, idle in a chat bound to the point.
    assert report.reporter.channel is Channel.WEB
    assert report.reporter.external_id == report.reporter.chat_id
    conv = session.scalar(sa.select(Conversation).where(
        Conversation.external_id == report.reporter.external_id))
    assert conv is not None and conv.mode == "idle" and conv.point_id == county_point.id
    # Nothing pretends the citizen chatted: their chat never took a turn or kept an
    # answer, and its transcript holds one message, ours: the receipt.
    assert (conv.turn, conv.answers, conv.context) == (0, {}, {})
    transcript = session.scalars(sa.select(WebChatMessage).where(
        WebChatMessage.chat_id == report.reporter.external_id)).all()
    assert [m.direction for m in transcript] == ["out"]
    assert report.tracking_no in transcript[0].text
    assert session.scalar(sa.select(sa.func.count()).select_from(Attachment)
                          .where(Attachment.conversation_id.is_not(None))) == 0

    shown = client.get(f"/reports/{report.id}").get_data(as_text=True)
    assert "代录：Ken" in shown and "反映人（代录：Ken）" in shown
    assert 'id="reprint-slip"' in shown


def test_it_keeps_everything_typed_when_something_is_wrong(
    client: FlaskClient, session: Session, ken: User, county_point: CollectionPoint,
) -> None:
    login(client, "ken")
    hidden = _form(client)
    vague = "东河的水很黑很臭，附近居民意见很大，希望有人来管一管这件事情"
    resp = _post(client, {**hidden, **_ecology(county_point, a_situation=vague,
                                                 a_suggestion="希望解决", a_urgent="")},
                 [(JPEG, "排污口.jpg"), (b"MZ-not-a-photo", "tool.exe")])

    assert resp.status_code == 422
    page = resp.get_data(as_text=True)
    assert "请补充具体事实" in page  # the chat's concrete-fact check
    assert "请写出具体的意见建议" in page  # the chat's empty-suggestion check
    assert "请选择“是否紧急”" in page
    assert "「tool.exe」不支持这种文件" in page
    # What was typed is all there, the ecology question is open, and the good photo stayed.
    assert vague in page and "李女士 13900000000" in page and "城关镇东河3号排污口" in page
    assert 'value="water" checked' in page and 'value="ecology" checked' in page
    assert not re.search(r'id="step-pollution"[^>]*hidden', page)
    assert "排污口.jpg" in page
    kept = KEEP.findall(page)
    assert len(kept) == 1
    assert _count(session) == 0

    resp = _post(client, {**hidden, **_ecology(county_point), "keep_photos": kept})
    assert resp.status_code == 302
    report = _only_report(session)
    (att,) = report.attachments
    assert att.filename == "排污口.jpg" and att.size == len(JPEG)
    assert report.answers["photos"] == 1


def test_it_asks_only_the_questions_that_apply(
    client: FlaskClient, session: Session, ken: User, county_point: CollectionPoint,
) -> None:
    login(client, "ken")
    # Livelihood has no pollution question, and an anonymous citizen leaves no contact.
    resp = _post(client, {**_form(client), **_ecology(county_point, a_category="livelihood",
                                                        a_anonymous="1")})
    assert resp.status_code == 302
    report = _only_report(session)
    assert "pollution" not in report.answers and "contact" not in report.answers
    assert report.anonymous and report.contact is None


def test_a_second_press_files_nothing_twice(
    client: FlaskClient, session: Session, ken: User, county_point: CollectionPoint,
) -> None:
    login(client, "ken")
    data = {**_form(client), **_ecology(county_point)}
    first = _post(client, data)
    second = _post(client, data)
    assert second.status_code == 302 and second.location == first.location
    assert _count(session) == 1
    assert "没有重复录入" in client.get(second.location).get_data(as_text=True)


def test_it_refuses_a_point_outside_the_clerks_unit(
    client: FlaskClient, session: Session, network: Network, county_point: CollectionPoint,
) -> None:
    staff(session, "tina", Role.CLERK, network.township)
    login(client, "tina")
    page = client.get("/intake/new").get_data(as_text=True)
    assert county_point.name not in page and "还没有可用的采集点" in page

    township_point = points.create_point(session, "城关镇东街社区", unit_id=network.township.id)
    session.commit()
    page = client.get("/intake/new").get_data(as_text=True)
    assert "城关镇东街社区" in page and county_point.name not in page

    resp = _post(client, {**_form(client), **_ecology(county_point)})
    assert resp.status_code == 422
    assert "这个采集点不在您负责的范围内" in resp.get_data(as_text=True)
    assert _count(session) == 0

    # Her own point takes it, and the report belongs to her unit.
    assert _post(client, {**_form(client), **_ecology(township_point)}).status_code == 302
    assert _only_report(session).unit_id == network.township.id


@pytest.mark.parametrize("role", [Role.VIEWER, Role.DEPARTMENT, Role.UNIT_LIAISON])
def test_it_is_for_office_staff_only(
    client: FlaskClient, session: Session, network: Network, county_point: CollectionPoint,
    role: Role, ken: User,
) -> None:
    login(client, "ken")
    _post(client, {**_form(client), **_ecology(county_point)})
    report = _only_report(session)
    session.rollback()  # logout writes (it ends the account's sessions): no stale snapshot here
    client.post("/logout", data={"csrf_token": csrf(client, "/reports")})

    staff(session, "olga", role, network.roads if role is Role.DEPARTMENT else network.county)
    login(client, "olga")
    assert client.get("/intake/new").status_code == 403
    token = csrf(client, "/reports")
    resp = client.post("/intake/new", data={"csrf_token": token, **_ecology(county_point)})
    assert resp.status_code == 403
    assert client.get(f"/intake/{report.id}/slip").status_code == 403
    assert "代录" not in client.get("/reports").get_data(as_text=True).split("</nav>")[0]
    assert _count(session) == 1


def test_the_slip_shows_the_number_and_a_follow_link(
    client: FlaskClient, session: Session, ken: User, county_point: CollectionPoint,
) -> None:
    login(client, "ken")
    resp = _post(client, {**_form(client), **_ecology(county_point)})
    report = _only_report(session)
    slip = client.get(resp.location).get_data(as_text=True)
    assert report.tracking_no in slip and report.title in slip and county_point.name in slip
    assert "城关县政协" in slip and "扫码查看办理进度" in slip and "Ken（代录）" in slip
    assert 'src="data:image/svg+xml;base64,' in slip and 'id="print"' in slip
    assert "<script>" not in slip and "style=" not in slip  # the CSP allows neither
    m = FOLLOW.search(slip)
    assert m and m.group(1).startswith("http://minyi.test/c/f/")
    # Each print is recorded: the link lets its holder act in the citizen's chat.
    session.rollback()
    assert session.scalar(sa.select(AccessLog.what).where(AccessLog.report_id == report.id)) == "slip"


def test_a_report_the_citizen_filed_themselves_has_no_slip(
    client: FlaskClient, session: Session, ken: User, county_point: CollectionPoint,
) -> None:
    report = make_report(session, county_point, external_id="w-own-phone-1")
    login(client, "ken")
    assert client.get(f"/intake/{report.id}/slip").status_code == 404
    assert 'id="reprint-slip"' not in client.get(f"/reports/{report.id}").get_data(as_text=True)


def test_a_clerk_of_another_unit_cannot_print_the_slip(
    client: FlaskClient, session: Session, ken: User, county_point: CollectionPoint,
    network: Network,
) -> None:
    login(client, "ken")
    _post(client, {**_form(client), **_ecology(county_point)})
    report = _only_report(session)
    session.rollback()  # logout writes (it ends the account's sessions): no stale snapshot here
    client.post("/logout", data={"csrf_token": csrf(client, "/reports")})
    staff(session, "east", Role.CLERK, network.other_county)
    login(client, "east")
    assert client.get(f"/intake/{report.id}/slip").status_code == 404


def _follow(app: Flask, url: str) -> tuple[FlaskClient, str]:
    """A phone that scanned the slip: its own cookie jar, the chat's CSRF token."""
    phone = app.test_client()
    page = phone.get(url.removeprefix("http://minyi.test"))
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'data-token=""' in html  # the transcript only: no new form is started
    token = re.search(r'name="csrf-token" content="([^"]+)"', html)
    assert token
    return phone, token.group(1)


def _transcript(phone: FlaskClient) -> str:
    resp = phone.get("/c/api/poll?after=0")
    assert resp.status_code == 200, resp.get_data(as_text=True)
    return "\n".join(m["text"] for m in resp.get_json()["messages"])


def test_the_follow_link_shows_the_receipt_then_the_feedback(
    app: Flask, client: FlaskClient, session: Session, ken: User, admin: User,
    county_point: CollectionPoint,
) -> None:
    login(client, "ken")
    resp = _post(client, {**_form(client), **_ecology(county_point)})
    report = _only_report(session)
    m = FOLLOW.search(client.get(resp.location).get_data(as_text=True))
    assert m

    phone, _ = _follow(app, m.group(1))
    receipt = _transcript(phone)
    assert report.tracking_no in receipt and "代为录入" in receipt
    assert "【污染类型】水" in receipt  # the citizen can check what was written for them

    session.rollback()  # printing the slip wrote since this session last looked
    adopt(session, report, admin)
    session.commit()
    for msg in outbox.claim_due(session, [Channel.WEB]):
        transcribe(session, msg.id, msg.chat_id, msg.text, msg.buttons)
        outbox.mark_sent(session, msg)
    session.commit()
    feedback = _transcript(phone)
    assert "已被采用" in feedback and report.tracking_no in feedback

    # A second phone following the same slip is the same reporter, with the same history.
    other, csrf_token = _follow(app, m.group(1))
    assert "已被采用" in _transcript(other)
    mine = other.post("/c/api/send?after=0", json={"command": "my"},
                      headers={"X-CSRFToken": csrf_token}).get_json()
    assert report.tracking_no in mine["messages"][-1]["text"]
    assert "已采用" in mine["messages"][-1]["text"]


@pytest.mark.parametrize("bad", ["forged", "tampered", "long"])
def test_a_bad_follow_link_gets_a_clear_page(
    client: FlaskClient, session: Session, bad: str,
) -> None:
    real = make_report(session, None, external_id="w-counter-walkin")
    token = intake.follow_token(SECRET, real.reporter)
    url = {"forged": "/c/f/" + intake.follow_token("another-secret-0123456789", real.reporter),
           "tampered": "/c/f/" + token[:-3] + ("abc" if not token.endswith("abc") else "xyz"),
           "long": "/c/f/" + "A" * 5000}[bad]
    resp = client.get(url)
    assert resp.status_code == 404
    page = resp.get_data(as_text=True)
    assert "回执链接无效" in page and "重新扫描回执上的二维码" in page
    assert "minyi_chat" not in (resp.headers.get("Set-Cookie") or "")


def test_the_form_takes_every_file_a_step_allows_past_the_single_file_limit(
    settings: Settings, Session_: sessionmaker[Session], session: Session, ken: User,
    county_point: CollectionPoint,
) -> None:
    from web import create_app

    small = dataclasses.replace(settings, max_upload_mb=1)
    app = create_app(small, session_factory=Session_)
    client = app.test_client()
    login(client, "ken")
    photos = [(b"\xff\xd8\xff\xe0" + bytes([i]) * 800_000, f"p{i}.jpg") for i in range(2)]
    resp = _post(client, {**_form(client), **_ecology(county_point)}, photos)
    assert resp.status_code == 302, resp.get_data(as_text=True)
    assert len(_only_report(session).attachments) == 2


def test_it_checks_with_the_chats_checkers(tmp_path: Any) -> None:
    from store import forms

    form = forms.load("report")
    draft = intake.check(form, {"category": "law", "title": "短", "situation": "没有数字的描述" * 3,
                                "suggestion": "请重视", "agency": "", "urgent": "是",
                                "anonymous": "1"}, {}, {}, tmp_path, 20)
    assert set(draft.errors) == {"title", "situation", "suggestion"}
    assert draft.answers["agency"] is None  # optional, and asked: law has an agency question
    assert draft.answers["urgent"] is True and draft.answers["anonymous"] is True
    assert "contact" not in draft.answers and "hospital" not in draft.answers
