"""保密: a reporter's identity shows only through the one logged step (issue 10, point 1).

The walk below GETs every console page the Flask url_map lists, as every role,
around two reports whose contact is a known phone number: one filed in a
Telegram chat by a reporter with a known name and chat id, one typed in at a
counter (代录). The phone number, the names and the chat ids may appear in one
response only: the logged 查看反映人信息 step, for the roles allowed to take it.
"""

from __future__ import annotations

import html
import io
import json
import logging
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pypdf
import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session, sessionmaker

from store import access, forms
from store.conversation.engine import Engine
from store.conversation.summary import answer_rows, summary
from store.models import (
    AccessLog,
    AdoptionLevel,
    Channel,
    CollectionPoint,
    JournalIssue,
    OutboxMessage,
    Report,
    Reporter,
    Role,
    StaffNotice,
    User,
    WebChatMessage,
    utcnow,
)
from store.network import addresses, commissions, roster
from store.network import points as points_mod
from store.outputs import bulletin, destinations, period, scoring, upward
from store.outputs.journal import issues as journal_issues
from store.outputs.journal import publishing as journal_publishing
from store.outputs.journal import series as journal_series
from store.reports import details, editing, intake, lifecycle, notes
from store.review import followup, instructions, reference, transfers
from store.search import index
from tests.chat_driver import Chat
from tests.conftest import SECRET, Network, staff
from tests.domain_support import make_report
from tests.review_support import adopt
from tests.web_support import csrf, login

PHONE = "13912345678"
TG_CONTACT = f"张三丰 <b>{PHONE}</b>"  # HTML in a contact answer: shown escaped, never as markup
TG_NAME = "欧阳明月"  # the Telegram display name
TG_CHAT = "5550001234"  # the Telegram chat (and user) id
COUNTER_CONTACT = f"李四海 {PHONE}"
MEMBER_PHONE = "13811112222"  # a roster member's contact (委员履职)
IDENTITY_ROLES = {Role.ADMIN, Role.CLERK, Role.DIRECTOR, Role.SECRETARY_GENERAL}
ROLES: list[Role | None] = [*Role, None]  # None: not logged in


@dataclass
class NamedChat(Chat):
    """A Telegram user whose client sends a display name with every update."""

    name: str = TG_NAME

    def send(self, **kw: Any) -> Any:
        kw.setdefault("display_name", self.name)
        return super().send(**kw)


@dataclass
class World:
    telegram: Report
    counter: Report
    point: CollectionPoint
    users: dict[Role, User]
    network: Network
    secrets: tuple[str, ...]
    follow: str
    upward_id: int
    issue: JournalIssue  # a signed-off 《社情民意》 carrying the Telegram report
    series_id: int  # 考评序列 with the county placed this year (its ranking names the report)
    bulletin_id: int  # this month's 通报 (counts and rankings: units, never a reporter)
    member_id: int  # on the county's roster, with a contact; asked for a report (约稿)
    commission_id: int
    details: str  # a details link (store.reports.details) to the Telegram report, for its reporter


def _file_by_telegram(Session_: sessionmaker[Session], engine: Engine,  # noqa: N803
                      token: str) -> None:
    chat = NamedChat(Session_, engine, user_id=TG_CHAT)
    chat.command("start", token)
    # Urgent: the reviewers are alerted; not anonymous, with a contact.
    chat.fill_report(urgent=True, anonymous=False, contact=TG_CONTACT)
    assert PHONE in chat.last.text  # the reporter checks their own answers before confirming
    chat.press("确认提交")


def _file_at_the_counter(app: Flask, clerk: User, point: CollectionPoint) -> None:
    desk = app.test_client()
    login(desk, clerk.username)
    page = desk.get("/intake/new").get_data(as_text=True)
    citizen = page.split('name="citizen" value="', 1)[1].split('"', 1)[0]
    resp = desk.post("/intake/new", data={
        "csrf_token": csrf(desk, "/intake/new"), "citizen": citizen, "point_id": str(point.id),
        "a_category": "livelihood", "a_title": "东河桥头路面塌陷无人修补",
        "a_situation": "东河桥头路面塌陷约2平方米已有3周，每天有200多辆电动车经过。",
        "a_suggestion": "建议住建部门尽快修补并设置警示标志。", "a_urgent": "0",
        "a_anonymous": "0", "a_contact": COUNTER_CONTACT,
    }, content_type="multipart/form-data")
    assert resp.status_code == 302, resp.get_data(as_text=True)


@pytest.fixture
def world(app: Flask, session: Session, Session_: sessionmaker[Session],  # noqa: N803
          engine: Engine, network: Network) -> World:
    point = points_mod.create_point(session, "城关镇便民服务中心", address="城关镇人民路1号")
    point.unit_id = network.county.id
    session.commit()
    users = {role: staff(session, f"u-{role.value}", role,
                         None if role is Role.ADMIN else
                         network.roads if role is Role.DEPARTMENT else network.county)
             for role in Role}
    # Alerts reach the clerk on Telegram too.
    addresses.link(session, users[Role.CLERK], Channel.TELEGRAM, "7000001")
    session.commit()

    _file_by_telegram(Session_, engine, points_mod.token_for(point, SECRET))
    _file_at_the_counter(app, users[Role.CLERK], point)
    session.rollback()
    telegram, counter = session.scalars(sa.select(Report).order_by(Report.id)).all()
    assert telegram.contact == TG_CONTACT and counter.contact == COUNTER_CONTACT

    # A life around the Telegram report: an edit (versions and diffs), a note,
    # adoption, a transfer to the department (notices, outbox), a 批示 later.
    admin = users[Role.ADMIN]
    editing.edit(session, telegram, admin, title="城关镇人民路12盏路灯损坏3个月未修",
                 situation=telegram.situation, analysis=None, suggestion=telegram.suggestion,
                 summary="人民路路灯损坏，群众夜间出行不便。", expected_version=None)
    notes.add(session, telegram, admin, "已电话联系住建局了解情况。")
    adopt(session, telegram, admin)
    transfers.transfer(session, telegram, admin, department=network.roads, due_days=10,
                       escalate_days=5)
    # 报送 to a unit of the network: its record page shows the version sent, never the reporter.
    sent = upward.send(session, telegram, destinations.create(
        session, "东山县政协", AdoptionLevel.COUNTY, network.other_county.id), user=admin)
    session.commit()
    # The journal carries it too: its pages and documents name a unit, never the reporter.
    issue = journal_issues.compose(session, journal_series.find(session, "社情民意"), [telegram], admin)
    journal_publishing.sign_off(session, issue, admin)
    # A 批示 the department carries out; the counter report, declined, goes to the other
    # department for reference (so the department walked here still may not see it).
    instruction = instructions.record(
        session, telegram, admin, leader_name="王明", leader_title="县长", level="county",
        text="请住建局一周内修复。", instructed_on=followup.today())
    followup.assign(session, instruction, admin, department_id=network.roads.id,
                    due=followup.today())
    lifecycle.apply(session, counter, lifecycle.Action.DECLINE, user=admin, note="暂不采用。")
    reference.send(session, counter, admin, department_id=network.water.id)
    # The page a foreign carrier's message links to: the report, never who filed it.
    details_token = details.MARKER_RE.findall(details.issue(session, telegram, telegram.reporter))[0]
    session.commit()

    member = roster.add(session, roster.entry(name="王委员", role="member", sector="经济界",
                                              unit_id=network.county.id, contact=MEMBER_PHONE))
    asked, _ = commissions.commission(session, users[Role.CLERK], title="农村养老", description="写一篇",
                                      deadline=utcnow() + timedelta(days=5), member_ids=[member.id])
    session.commit()

    counter_chat = session.get(Reporter, counter.reporter_id)
    assert counter_chat is not None
    series = scoring.create_series(session, "区县政协")
    for year in {followup.today().year, period.last_month(followup.today()).year}:
        scoring.place(session, series, year, [network.county.id])
    built = bulletin.publish(session, period.month_of(followup.today()), send=False).bulletin
    assert built is not None
    session.commit()
    return World(
        telegram=telegram, counter=counter, point=point, users=users, network=network,
        secrets=(PHONE, "张三丰", "李四海", TG_NAME, TG_CHAT, counter_chat.chat_id, MEMBER_PHONE),
        follow=intake.follow_token(SECRET, counter_chat), upward_id=sent.id, issue=issue,
        series_id=series.id, bulletin_id=built.id,
        member_id=member.id, commission_id=asked.id,
        details=details_token,
    )


# -- the walk ---------------------------------------------------------------------------

# Endpoints that serve no page of ours.
NOT_PAGES = frozenset({"static", "favicon"})
# Endpoints visited first: the slip's follow link makes this browser the counter citizen's chat.
FIRST = ("chat.follow",)


def _values(w: World) -> dict[str, list[dict[str, Any]]]:
    """Each GET endpoint with arguments, and the arguments to walk it with."""
    reports = [{"report_id": w.telegram.id}, {"report_id": w.counter.id}]
    return {
        "reports.detail": reports,
        "decisions.edit": reports,
        "decisions.versions": reports,
        "intake.slip": reports,
        "reports.attachment": [{"attachment_id": a.id} for a in w.telegram.attachments],
        "chat.page": [{"token": points_mod.token_for(w.point, SECRET)}],
        "chat.follow": [{"token": w.follow}],
        "chat.details_page": [{"token": w.details}],
        "short.follow": [{"code": points_mod.short_code_for(w.point, SECRET)}, {"code": ""}],
        "points.qr_image": [{"point_id": w.point.id, "kind": k, "fmt": f}
                            for k in ("web", "telegram") for f in ("png", "svg")],
        "points.export_file": [{"fmt": "csv"}, {"fmt": "xlsx"}],
        "exports.download": [{"fmt": "csv"}, {"fmt": "xlsx"}],
        "api.report_detail": reports,
        "api.unknown": [{"rest": "reports/x"}],
        "api.journal_issue_detail": [{"issue_id": w.issue.id}],
        "points.edit": [{"point_id": w.point.id}],
        "admin.unit_edit": [{"unit_id": w.network.county.id}],
        "admin.user_password": [{"user_id": w.users[Role.CLERK].id}],
        "upward.record": [{"record_id": w.upward_id}],
        "journal.issue": [{"issue_id": w.issue.id}],
        "journal.item": [{"issue_id": w.issue.id, "item_id": w.issue.items[0].id}],
        "journal.export": [{"issue_id": w.issue.id, "fmt": f} for f in ("docx", "pdf")],
        "scores.breakdown": [{"series_id": w.series_id, "unit_id": w.network.county.id}],
        "scores.download": [{"series_id": w.series_id, "fmt": f} for f in ("csv", "xlsx")],
        "bulletins.download": [{"bulletin_id": w.bulletin_id, "fmt": f} for f in ("xlsx", "docx")],
        "roster.member": [{"member_id": w.member_id}],
        "roster.edit": [{"member_id": w.member_id}],
        "commissions.detail": [{"topic_id": w.commission_id}],
    }


# Searches echo what was typed; a search for a secret must find nothing.
SECRET_SEARCHES = (PHONE, "张三丰", "李四海", TG_NAME, TG_CHAT)


def _extra(w: World) -> list[str]:
    """Pages behind query strings: inbox tabs, searches, the report with words marked."""
    return [
        "/reports?tab=mine", "/reports?status=transferred", "/reports?status=submitted",
        "/search?q=路灯", "/search?q=路面塌陷", "/search?q=路灯&sort=relevance",
        *(f"/search?q={s}" for s in SECRET_SEARCHES),
        f"/reports/{w.telegram.id}?q=路灯", f"/points/posters.pdf?point={w.point.id}",
        "/c/api/poll?after=0", "/instructions?all=1", "/references?all=1",
        f"/instructions?unit={w.network.roads.id}", "/instructions?leader=县长 王明",
        f"/reports/{w.counter.id}?action=refer",
    ]


def console_urls(app: Flask, w: World) -> list[str]:
    """Every GET page of the url_map (with its arguments), then the extra query strings.

    A new page with arguments fails here until the walk knows how to fill them in.
    """
    values = _values(w)
    adapter = app.url_map.bind("minyi.test")
    rules = sorted((r for r in app.url_map.iter_rules()
                    if "GET" in (r.methods or ()) and r.endpoint not in NOT_PAGES),
                   key=lambda r: (r.endpoint not in FIRST, r.rule))
    urls, unknown = [], []
    for rule in rules:
        needed = set(rule.arguments) - set(rule.defaults or {})
        if not needed:
            urls.append(adapter.build(rule.endpoint, dict(rule.defaults or {})))
        elif rule.endpoint in values:
            urls += [adapter.build(rule.endpoint, v) for v in values[rule.endpoint]]
        else:
            unknown.append(rule.rule)
    assert not unknown, f"pages the privacy walk cannot fill in: {unknown}"
    return list(dict.fromkeys(urls)) + _extra(w)


def text_of(data: bytes) -> str:
    """What a response says: HTML, JSON, CSV, the sheets of an XLSX, a PDF's text."""
    if data[:1] in (b"{", b"["):
        try:
            return json.dumps(json.loads(data), ensure_ascii=False)
        except ValueError:
            pass
    if data[:2] == b"PK":
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            # XML of XLSX and DOCX; openpyxl writes characters as &#NNNNN; when lxml is installed.
            return html.unescape("".join(z.read(n).decode("utf-8", "replace") for n in z.namelist()))
    if data[:5] == b"%PDF-":
        reader = pypdf.PdfReader(io.BytesIO(data))
        return "".join(page.extract_text() or "" for page in reader.pages)
    for encoding in ("utf-8", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    return data.decode("latin-1")


def _walker(app: Flask, role: Role | None, w: World) -> FlaskClient:
    client = app.test_client()
    if role is not None:
        login(client, w.users[role].username)
    return client


def _access_rows(session: Session) -> list[tuple[int, int, str]]:
    session.rollback()
    return [(r.user_id, r.report_id, r.what) for r in session.scalars(
        sa.select(AccessLog).order_by(AccessLog.id))]


@pytest.fixture
def everything_logged(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    """Every logger at DEBUG, as an operator chasing a problem might set them."""
    caplog.set_level(logging.DEBUG)
    yield caplog


@pytest.mark.parametrize("role", ROLES, ids=lambda r: r.value if r else "anonymous")
def test_it_shows_the_reporter_only_through_the_logged_step(
    app: Flask, session: Session, world: World, role: Role | None,
    everything_logged: pytest.LogCaptureFixture,
) -> None:
    w = world
    client = _walker(app, role, w)
    visited: list[tuple[str, int]] = []
    bodies: dict[str, str] = {}
    leaks: list[tuple[str, str]] = []
    for url in console_urls(app, w):
        resp = client.get(url)
        body = text_of(resp.data)
        visited.append((url, resp.status_code))
        bodies[url] = body
        assert resp.status_code < 500, (url, body[:500])
        if "?q=" in url:
            typed = url.split("?q=", 1)[1].split("&", 1)[0]
            if typed in SECRET_SEARCHES:
                # Nothing found: identity is not in the index, the snippets or the highlighting.
                assert w.telegram.tracking_no not in body and w.counter.tracking_no not in body, url
            body = body.replace(typed, "")
        leaks += [(url, secret) for secret in w.secrets if secret in body]
    assert leaks == [], "\n".join(map(str, leaks))

    pages = dict(visited)
    # The walk read what it meant to: the transcript behind the slip, the exports, the posters.
    assert w.counter.tracking_no in bodies["/c/api/poll"] and "【联系方式】已登记" in bodies["/c/api/poll"]
    # A department sees the points of its own unit only, and the point is the county's.
    if role is not None and role is not Role.DEPARTMENT:
        assert all(w.point.name in bodies[u] for u in
                   ("/points/export.csv", "/points/export.xlsx", "/points/posters.pdf"))
    if role in IDENTITY_ROLES:  # the office's roles: the journal's pages and documents
        assert all("人民路12盏路灯" in bodies[f"/journal/issues/{w.issue.id}{tail}"]
                   for tail in ("", "/export.docx", "/export.pdf"))
    if role is not None:
        assert pages[f"/reports/{w.telegram.id}"] == 200  # a transferred report, even for departments
        assert pages[f"/reports/{w.telegram.id}/versions"] == 200
    if role is Role.DEPARTMENT:
        assert pages[f"/reports/{w.counter.id}"] == 404  # not transferred to them
    # Before the reveal only the slip was logged: it hands out a way into the citizen's chat.
    before = _access_rows(session)
    printed = [(w.users[role].id, w.counter.id, "slip")] if role in IDENTITY_ROLES else []
    assert before == printed

    # The one logged step.
    for report, shown in ((w.telegram, "张三丰 &lt;b&gt;13912345678&lt;/b&gt;"),
                          (w.counter, COUNTER_CONTACT)):
        resp = client.post(f"/reports/{report.id}/identity",
                           data={"csrf_token": csrf(client, "/reports") if role else ""})
        body = resp.get_data(as_text=True)
        logged = [row for row in _access_rows(session) if row[1:] == (report.id, "identity")]
        if role in IDENTITY_ROLES:
            assert resp.status_code == 200 and shown in body
            assert "no-store" in resp.headers["Cache-Control"]
            assert f"<b>{PHONE}" not in body  # the contact's markup is inert
            assert logged == [(w.users[role].id, report.id, "identity")]
            if report is w.telegram:
                assert TG_NAME in body and TG_CHAT in body
            # ... and the answers table under it still leaves the contact out.
            assert body.count(PHONE) == 1
        else:
            if role is None:  # no session and no CSRF token: refused before anything else
                expected = 400
            elif role is Role.DEPARTMENT and report is w.counter:  # not transferred: not theirs
                expected = 404
            else:  # they see the report, but not who filed it
                expected = 403
            assert resp.status_code == expected, role
            assert PHONE not in body and TG_NAME not in body
            assert logged == []
    if role not in IDENTITY_ROLES:
        assert _access_rows(session) == []

    # Nothing staff or reporters were told carries an identity.
    session.rollback()
    told = [*session.scalars(sa.select(StaffNotice.text)),
            *session.scalars(sa.select(OutboxMessage.text)),
            *session.scalars(sa.select(WebChatMessage.text))]
    assert told and all(s not in text for text in told for s in w.secrets)
    # Nor did any log line, at any level.
    logged_text = "\n".join(r.getMessage() + (str(r.exc_info[1]) if r.exc_info else "")
                            for r in everything_logged.records)
    assert all(s not in logged_text for s in w.secrets)


def test_the_walk_knows_every_console_page(app: Flask, world: World) -> None:
    urls = console_urls(app, world)
    for must in ("/reports", f"/reports/{world.telegram.id}", f"/reports/{world.counter.id}/versions",
                 f"/intake/{world.counter.id}/slip", "/notices", "/stats", "/points/export.xlsx",
                 f"/search?q={PHONE}", f"/c/f/{world.follow}", "/transfers"):
        assert must in urls


# -- the pieces -------------------------------------------------------------------------


def test_it_marks_identity_in_the_form_file_not_in_code() -> None:
    form = forms.load("report")
    assert form.identity_keys == frozenset({"contact"})
    assert form.identity_fields == frozenset({"contact"})
    assert not form.step("title").identity


@pytest.mark.parametrize(("extra", "message"), [
    ({"identity": "yes"}, "identity must be true or false"),
    ({"identity": True, "field": "title"}, "shown with the report"),
])
def test_it_refuses_a_form_with_a_bad_identity_mark(extra: dict[str, Any], message: str) -> None:
    step = {"key": "who", "kind": "text", "label": {"zh": "联系人"}, "prompt": {"zh": "您是？"}}
    required = [{"key": k, "kind": "text", "field": k, "label": {"zh": k}, "prompt": {"zh": k}}
                for k in ("category", "title", "situation", "suggestion")]
    if extra.get("field") == "title":
        required = [r for r in required if r["key"] != "title"]
    data = {"form": {"title": {"zh": "表"}, "intro": {"zh": "填"}},
            "steps": [*required, {**step, **extra}]}
    with pytest.raises(forms.FormError, match=message):
        forms.parse_form(data, "bad.toml")


def test_the_answers_table_and_the_counter_receipt_leave_identity_out() -> None:
    form = forms.load("report")
    answers = {"category": "livelihood", "title": "路灯不亮", "anonymous": False,
               "contact": COUNTER_CONTACT, "retired_question": f"电话 {PHONE}"}
    rows = answer_rows(form, answers, "zh")
    assert ("类别", "民生保障") in rows and ("是否匿名", "否") in rows
    assert all(PHONE not in value and label != "联系方式" for label, value in rows)
    # The reporter's own read-back shows it; a receipt anyone holding the slip may read does not.
    assert PHONE in summary(form, answers, "zh")
    hidden = summary(form, answers, "zh", identity=False)
    assert PHONE not in hidden and "【联系方式】" in hidden


def test_the_search_index_holds_no_identity_field() -> None:
    for path in sorted(forms.FORMS_DIR.glob("*.toml")):
        form = forms.load(path.stem)
        assert not form.identity_fields & set(index.TEXT_COLUMNS), path.name


def test_it_drops_a_contact_left_behind_by_choosing_anonymity(
    chat: Chat, session: Session,
    point: CollectionPoint, point_token: str, client: FlaskClient, clerk: User,
) -> None:
    chat.command("start", point_token)
    chat.fill_report(photo=False)  # answers the contact question: 张先生 13800000000
    chat.press("修改")
    chat.press("是否匿名")
    chat.press("是")
    chat.press("确认提交")
    session.rollback()
    (report,) = session.scalars(sa.select(Report)).all()
    assert report.anonymous and report.contact is None
    assert "contact" not in report.answers  # an anonymous reporter's number is not kept
    login(client, "carol")
    page = client.get(f"/reports/{report.id}").get_data(as_text=True)
    assert "13800000000" not in page and "匿名反映" in page


def test_a_department_guessing_report_ids_gets_404_and_is_logged(
    client: FlaskClient, session: Session, network: Network, caplog: pytest.LogCaptureFixture,
) -> None:
    reporter_point = points_mod.create_point(session, "城关镇便民服务中心", unit_id=network.county.id)
    report = make_report(session, reporter_point, contact=COUNTER_CONTACT)
    assert report.unit_id == network.county.id
    guesser = staff(session, "roadie", Role.DEPARTMENT, network.roads)
    login(client, "roadie")

    caplog.set_level(logging.INFO)
    pages = {rid: client.get(f"/reports/{rid}") for rid in (report.id, report.id + 1000)}
    versions = client.get(f"/reports/{report.id}/versions")
    reveal = client.post(f"/reports/{report.id}/identity", data={"csrf_token": csrf(client, "/reports")})

    for resp in (*pages.values(), versions, reveal):
        assert resp.status_code == 404
        body = resp.get_data(as_text=True)
        assert report.title not in body and PHONE not in body and "页面不存在" in body
    # The same page whether the report exists or not: existence does not leak.
    assert pages[report.id].data == pages[report.id + 1000].data
    refused = [r.getMessage() for r in caplog.records if r.name == "store.access"]
    assert any(f"user {guesser.id}" in m and f"report {report.id}" in m for m in refused)
    assert any(f"report {report.id + 1000}" in m for m in refused)
    assert all(PHONE not in m and report.title not in m for m in refused)
    assert _access_rows(session) == []


def test_it_refuses_the_reveal_to_a_viewer_and_logs_the_attempt(
    session: Session, network: Network, caplog: pytest.LogCaptureFixture,
) -> None:
    report = make_report(session, contact=COUNTER_CONTACT,
                         answers={"category": "livelihood", "contact": COUNTER_CONTACT})
    viewer = staff(session, "vera", Role.VIEWER)
    clerk = staff(session, "cleo", Role.CLERK)
    caplog.set_level(logging.INFO)

    assert access.reveal_identity(session, viewer, report, "identity") is None
    seen = access.reveal_identity(session, clerk, report, "identity")
    session.commit()

    assert seen is not None and seen.answers == (("联系方式", COUNTER_CONTACT),)
    assert seen.chat_id == report.reporter.chat_id
    assert _access_rows(session) == [(clerk.id, report.id, "identity")]
    assert any(f"user {viewer.id}" in r.getMessage() for r in caplog.records
               if r.name == "store.access")


def test_it_reveals_nothing_of_an_anonymous_report(session: Session) -> None:
    report = make_report(session, anonymous=True, contact=None,
                         answers={"category": "livelihood", "anonymous": True,
                                  "contact": COUNTER_CONTACT})
    clerk = staff(session, "cleo", Role.CLERK)
    assert access.reveal_identity(session, clerk, report, "identity") is None
    session.commit()
    assert _access_rows(session) == []


def test_it_keeps_sql_parameters_out_of_error_messages(session: Session) -> None:
    """A failed statement's message (and so a crash's log line) does not carry its values."""
    session.add(Report(tracking_no="2026-999999", category="livelihood", title="路灯不亮",
                       situation="人民路12盏路灯坏了3个月。", suggestion="建议尽快维修。",
                       contact=COUNTER_CONTACT, answers={"contact": COUNTER_CONTACT},
                       reporter_id=424242))  # no such reporter
    with pytest.raises(sa.exc.IntegrityError) as failed:
        session.flush()
    assert "424242" in str(failed.value) or "FOREIGN KEY" in str(failed.value)
    assert PHONE not in str(failed.value) and "李四海" not in str(failed.value)
