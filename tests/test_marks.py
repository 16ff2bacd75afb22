"""密级 (issue 14, point 1): marks set by category and changed with a reason, a marked report's
words kept off Telegram and WeChat (a details page for the reporter alone instead), watermarked
and logged copies, exports for cleared office roles only."""

from __future__ import annotations

import asyncio
import csv
import io
import re
from collections.abc import Iterator
from pathlib import Path

import docx
import pypdf
import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient
from itsdangerous import URLSafeSerializer
from PIL import Image
from sqlalchemy.orm import Session, sessionmaker
from telegram import Bot

from bot.channels import registry
from bot.channels.telegram.sender import CAPABILITIES as TELEGRAM
from minyi.notifier import Notifier
from minyi.settings import Settings
from store.conversation.engine import Engine
from store.conversation.types import BUTTONS_ONLY
from store.delivery import notices
from store.models import (
    AccessLog,
    Attachment,
    Channel,
    DetailsRead,
    ExportLog,
    OutboxMessage,
    Report,
    Reporter,
    ReportEvent,
    StaffAddress,
    StaffNotice,
    User,
)
from store.outputs import journal
from store.outputs.journal import issues, publishing, series
from store.reports import details, files, lifecycle, marks
from store.reports.lifecycle import Action
from tests.botapi_emulator import TOKEN, BotAPIEmulator
from tests.chat_driver import Chat
from tests.conftest import SECRET
from tests.domain_support import make_report, reporter
from tests.review_support import adopt, sign_off_to_final
from tests.web_support import csrf, login
from tests.wechat_emulator import WeChatEmulator
from tests.wechat_support import Running

TITLE = "某单位拟调整人民路规划的情况"
SITUATION = "据了解，人民路东段将整体拆迁，涉及居民三百余户。"
PLACE = "城关镇人民路东段"
REASON = "涉及尚未公开的规划调整"
OPENID = "oMarkedCitizen00000000000000"


def _internal(session: Session, **kw: object) -> Report:
    """A report filed under a category the office marks 内部."""
    marks.save(session, by_category={"livelihood": marks.Mark.INTERNAL}, strict_label="秘密",
               no_content_external=False)
    return make_report(session, title=TITLE, situation=SITUATION, place=PLACE,  # type: ignore[arg-type]
                       category="livelihood", **kw)


def _decline(session: Session, report: Report, admin: User) -> None:
    sign_off_to_final(session, report, admin)
    lifecycle.apply(session, report, Action.DECLINE, user=admin, note=REASON)
    session.commit()


def _rows(session: Session, who: Reporter) -> list[str]:
    session.rollback()
    return list(session.scalars(sa.select(OutboxMessage.text).where(OutboxMessage.reporter_id == who.id)
                                .order_by(OutboxMessage.id)))


def _assert_nothing_of(text: str) -> None:
    for words in (TITLE, SITUATION, PLACE, REASON, "人民路"):
        assert words not in text, (words, text)


def _telegram_round(settings: Settings, Session_: sessionmaker[Session], emu: BotAPIEmulator) -> int:  # noqa: N803
    async def run() -> int:
        async with Bot(TOKEN, base_url=emu.base_url) as bot:
            channels = registry(settings, Session_, telegram_bot=bot)
            try:
                return await Notifier(settings, Session_, channels).tick()
            finally:
                channels.close()

    return asyncio.run(run())


@pytest.fixture
def tg() -> Iterator[BotAPIEmulator]:
    with BotAPIEmulator() as e:
        yield e


def _token(text: str) -> str:
    found = re.search(r"/c/r/([A-Za-z0-9_-]+)", text)
    assert found, text
    return found.group(1)


# -- set at intake, changed with a reason ------------------------------------------------------


def test_it_marks_a_report_at_intake_by_its_category(session: Session) -> None:
    marked = _internal(session)
    other = make_report(session, category="economy")

    assert (marked.mark, other.mark) == (marks.Mark.INTERNAL, marks.Mark.PUBLIC)


def test_it_refuses_a_mark_change_without_a_reason_and_records_one_with_it(
        session: Session, director: User) -> None:
    report = make_report(session)

    with pytest.raises(marks.MarkError, match="请填写更改密级的原因"):
        marks.change(session, report, marks.Mark.INTERNAL, director, "  ")
    session.rollback()
    marks.change(session, report, marks.Mark.STRICT, director, REASON)
    session.commit()

    session.refresh(report)
    assert report.mark == marks.Mark.STRICT
    [event] = [e for e in report.events if e.action == "mark"]
    assert event.user_id == director.id and event.note == f"公开 → 秘密：{REASON}"
    assert event.from_status == event.to_status == report.status.value


def test_it_lets_a_clerk_raise_to_internal_but_not_lower_or_go_strict(
        session: Session, clerk: User) -> None:
    report = make_report(session)

    marks.change(session, report, marks.Mark.INTERNAL, clerk, REASON)
    for to in (marks.Mark.PUBLIC, marks.Mark.STRICT):
        with pytest.raises(marks.MarkForbidden):
            marks.change(session, report, to, clerk, REASON)
    # The whole table: every move has roles, and the clerk is cleared only for raising to 内部.
    assert set(marks.TABLE) == {(a, b) for a in marks.Mark for b in marks.Mark if a is not b}
    assert [move for move, roles in marks.TABLE.items() if clerk.role in roles] == [
        (marks.Mark.PUBLIC, marks.Mark.INTERNAL)]


def test_it_changes_the_mark_from_the_report_page_with_a_reason(
        client: FlaskClient, session: Session, director: User, clerk: User) -> None:
    report = make_report(session)
    login(client, "david")
    path = f"/reports/{report.id}/mark"

    page = client.post(path, data={"csrf_token": csrf(client, "/reports"), "mark": "1", "reason": ""},
                       follow_redirects=True).get_data(as_text=True)
    assert "请填写更改密级的原因" in page
    page = client.post(path, data={"csrf_token": csrf(client, "/reports"), "mark": "1",
                                   "reason": REASON}, follow_redirects=True).get_data(as_text=True)
    assert "已更改密级：公开 → 内部" in page and 'id="mark"' in page and 'id="watermark"' in page
    assert "David" in page.split('id="watermark"')[1].split("></div>")[0]
    session.rollback()
    assert session.scalar(sa.select(Report.mark).where(Report.id == report.id)) == 1
    assert session.scalar(sa.select(ReportEvent.note).where(ReportEvent.action == "mark")) == \
        f"公开 → 内部：{REASON}"

    client.get("/logout")
    login(client, "carol")
    resp = client.post(path, data={"csrf_token": csrf(client, "/reports"), "mark": "0",
                                   "reason": "已公开"})
    assert resp.status_code == 403
    session.rollback()
    assert session.scalar(sa.select(Report.mark).where(Report.id == report.id)) == 1


def test_it_saves_the_offices_mark_settings(client: FlaskClient, session: Session, admin: User) -> None:
    login(client, "alice")
    page = client.get("/admin/marks").get_data(as_text=True)
    assert "最高一级的名称" in page

    resp = client.post("/admin/marks", data={"csrf_token": csrf(client, "/admin/marks"),
                                              "strict_label": "公开", "cat_livelihood": "1"})
    assert resp.status_code == 422 and "不能叫「公开」" in resp.get_data(as_text=True)
    client.post("/admin/marks", data={"csrf_token": csrf(client, "/admin/marks"),
                                      "strict_label": "机密", "cat_livelihood": "2",
                                      "no_content_external": "1"})
    session.rollback()
    rules = marks.rules(session)
    assert rules.by_category == {"livelihood": marks.Mark.STRICT}
    assert rules.label(2) == "机密" and rules.no_content_external


# -- foreign carriers -------------------------------------------------------------------------


def test_it_sends_telegram_only_the_number_status_and_a_link_for_an_internal_report(
        settings: Settings, Session_: sessionmaker[Session], session: Session,  # noqa: N803
        tg: BotAPIEmulator, admin: User) -> None:
    tg.user_sends_text(4242, "你好")
    who = reporter(session, external_id="4242")
    report = _internal(session, who=who)
    _decline(session, report, admin)

    [row] = _rows(session, who)
    _assert_nothing_of(row)
    assert report.tracking_no in row and "当前状态：不采用" in row and "[[details:" in row

    assert _telegram_round(settings, Session_, tg) == 1
    [sent] = tg.texts(4242)
    _assert_nothing_of(sent)
    assert report.tracking_no in sent and "http://minyi.test/c/r/" in sent


def test_it_sends_wechat_no_title_text_or_place_either(
        wx: Running, emu: WeChatEmulator, Session_: sessionmaker[Session],  # noqa: N803
        session: Session, admin: User) -> None:
    wx.say(emu.subscribe(OPENID))
    who = reporter(session, external_id=OPENID, channel=Channel.WECHAT)
    report = _internal(session, who=who)
    adopt(session, report, admin)
    session.commit()

    assert asyncio.run(Notifier(wx.settings, Session_, wx.registry).tick()) == 1
    sent = emu.last_text(OPENID)
    _assert_nothing_of(sent)
    assert report.tracking_no in sent and "当前状态：已采用" in sent and "/c/r/" in sent
    [row] = _rows(session, who)
    _assert_nothing_of(row)


def test_it_tells_a_telegram_reporter_of_a_journal_carrying_their_report_without_its_title(
        session: Session, admin: User) -> None:
    who = reporter(session, external_id="4747")
    issue = _marked_issue(session, admin, who=who)
    publishing.publish(session, issue, admin)  # type: ignore[arg-type]
    session.commit()

    row = _rows(session, who)[-1]
    _assert_nothing_of(row)
    assert "[[details:" in row


def test_the_decision_preview_says_when_the_reporter_gets_only_a_link(
        session: Session, admin: User) -> None:
    on_telegram = _internal(session, external_id="4848")
    on_web = make_report(session, external_id="wVisitorOurs0002", category="livelihood")
    for report in (on_telegram, on_web):
        sign_off_to_final(session, report, admin)

    shown = lifecycle.preview(session, on_telegram, Action.DECLINE, note=REASON)
    assert shown.withheld and REASON in (shown.message or "")
    assert not lifecycle.preview(session, on_web, Action.DECLINE, note=REASON).withheld


def test_it_tells_the_web_chat_everything_as_it_is_ours(session: Session, admin: User) -> None:
    who = reporter(session, external_id="wVisitorOurs0001")
    report = _internal(session, who=who)
    _decline(session, report, admin)

    [row] = _rows(session, who)
    assert TITLE in row and REASON in row


def test_it_keeps_public_reports_off_foreign_carriers_when_the_office_says_so(
        session: Session, admin: User) -> None:
    who = reporter(session, external_id="4343")
    marks.save(session, by_category={}, strict_label="秘密", no_content_external=True)
    report = make_report(session, who=who, title=TITLE)
    _decline(session, report, admin)

    [row] = _rows(session, who)
    assert report.mark == 0 and TITLE not in row and REASON not in row


def test_it_words_my_reports_and_the_news_without_the_title_on_telegram(
        Session_: sessionmaker[Session], engine: Engine, session: Session, admin: User) -> None:  # noqa: N803
    who = reporter(session, external_id="4545")
    report = _internal(session, who=who)
    _decline(session, report, admin)
    chat = Chat(Session_, engine, user_id="4545", capabilities=TELEGRAM)

    said = "\n".join(r.text for r in chat.command("my") + chat.command("start"))

    _assert_nothing_of(said)
    assert report.tracking_no in said and "http://minyi.test/c/r/" in said
    web = Chat(Session_, engine, user_id="4545", capabilities=BUTTONS_ONLY)
    assert TITLE in "\n".join(r.text for r in web.command("my"))


def test_it_alerts_staff_on_telegram_with_the_number_only(session: Session, clerk: User) -> None:
    report = _internal(session)
    session.add(StaffAddress(user_id=clerk.id, channel=Channel.TELEGRAM, chat_id="9001"))
    session.flush()

    notices.notify(session, clerk, "urgent", f"【紧急】{report.tracking_no}《{TITLE}》待初审", report)
    session.commit()

    row = session.scalar(sa.select(OutboxMessage).where(OutboxMessage.user_id == clerk.id))
    assert row is not None and TITLE not in row.text and report.tracking_no in row.text
    console = session.scalar(sa.select(StaffNotice.text).where(StaffNotice.user_id == clerk.id))
    assert console is not None and TITLE in console


def test_every_channel_says_whether_it_is_external_as_the_store_does(
        settings: Settings, Session_: sessionmaker[Session], emu: WeChatEmulator) -> None:  # noqa: N803
    from tests.wechat_support import wechat_settings

    channels = registry(wechat_settings(settings, emu), Session_)
    try:
        kinds = {kind: channels.get(kind) for kind in Channel}
        assert all(kinds.values()), kinds
        for kind, channel in kinds.items():
            assert channel is not None
            assert channel.capabilities.external is marks.external(kind), kind
    finally:
        channels.close()


# -- the details page -------------------------------------------------------------------------


def test_the_details_page_opens_for_its_reporter_and_refuses_anyone_else(
        app: object, client: FlaskClient, session: Session, admin: User) -> None:
    who = reporter(session, external_id="4646")
    report = _internal(session, who=who)
    _decline(session, report, admin)
    token = _token(details.resolve(_rows(session, who)[0], "http://minyi.test"))

    page = client.get(f"/c/r/{token}")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert TITLE in text and SITUATION in text and PLACE in text and REASON in text
    assert client.get(f"/c/r/{token}").status_code == 200  # the same browser again

    # A web-chat reporter's browser asking for someone else's link.
    session.rollback()  # a fresh snapshot to write from
    other = reporter(session, external_id="wSomeoneElse0001")
    session.commit()
    intruder = app.test_client()  # type: ignore[attr-defined]
    intruder.set_cookie("minyi_chat", URLSafeSerializer(SECRET, salt="minyi-webchat").dumps(other.external_id))
    refused = intruder.get(f"/c/r/{token}")
    assert refused.status_code == 403 and TITLE not in refused.get_data(as_text=True)
    # A forwarded link in a browser that did not open it first.
    forwarded = app.test_client().get(f"/c/r/{token}")  # type: ignore[attr-defined]
    assert forwarded.status_code == 403 and "另一台设备" in forwarded.get_data(as_text=True)
    assert client.get("/c/r/notatokenatallxxxxxx").status_code == 404

    session.rollback()
    reads = session.execute(sa.select(DetailsRead.outcome, DetailsRead.allowed, DetailsRead.asked_by_id)
                            .order_by(DetailsRead.id)).all()
    assert reads == [("shown", True, None), ("shown", True, None),
                     ("other_reporter", False, other.id), ("other_browser", False, None)]


# -- watermarks and exports --------------------------------------------------------------------


def _marked_issue(session: Session, admin: User, **kw: object) -> object:
    report = _internal(session, **kw)
    adopt(session, report, admin)
    issue = issues.compose(session, series.find(session, "社情民意"), [report], admin)
    publishing.sign_off(session, issue, admin)
    session.commit()
    return issue


def test_the_journal_pdf_and_docx_carry_the_viewers_name_and_time(
        client: FlaskClient, session: Session, admin: User, director: User, clerk: User,
        tmp_path: Path) -> None:
    issue = _marked_issue(session, admin)
    issue_id = issue.id  # type: ignore[attr-defined]
    with pytest.raises(ValueError, match="watermark"):
        journal.export(session, issue, "pdf", tmp_path)  # type: ignore[arg-type]
    login(client, "carol")
    assert client.get(f"/journal/issues/{issue_id}/export.pdf").status_code == 403
    client.get("/logout")
    login(client, "david")

    pdf = client.get(f"/journal/issues/{issue_id}/export.pdf")
    word = client.get(f"/journal/issues/{issue_id}/export.docx")

    assert pdf.status_code == word.status_code == 200
    pages = pypdf.PdfReader(io.BytesIO(pdf.data)).pages
    assert all("David" in "".join((p.extract_text() or "").split()) for p in pages)
    assert "注意保密" in "".join((pages[0].extract_text() or "").split())
    document = docx.Document(io.BytesIO(word.data))
    headers = "\n".join(p.text for s in document.sections for p in s.header.paragraphs)
    assert "David" in headers and "注意保密" in headers
    session.rollback()
    logged = session.execute(sa.select(ExportLog.user_id, ExportLog.via, ExportLog.format,
                                       ExportLog.marked)).all()
    assert logged == [(director.id, "journal", "pdf", True), (director.id, "journal", "docx", True)]


def test_a_clerk_cannot_export_marked_reports_and_a_director_gets_them_watermarked(
        client: FlaskClient, session: Session, clerk: User, director: User) -> None:
    report = _internal(session)
    make_report(session, title="公开的信息", category="economy")
    login(client, "carol")
    assert client.get("/reports/export.csv").status_code == 403
    assert client.get("/reports/export.csv?category=economy").status_code == 200  # none marked
    client.get("/logout")
    login(client, "david")

    resp = client.get("/reports/export.csv")

    assert resp.status_code == 200
    rows = list(csv.reader(io.StringIO(resp.get_data().decode("utf-8-sig"), newline="")))
    by_no = {row[0]: dict(zip(rows[0], row, strict=True)) for row in rows[1:]}
    assert by_no[report.tracking_no]["密级"] == "内部"
    assert "David" in by_no[report.tracking_no]["水印"]
    assert [r["水印"] for no, r in by_no.items() if no != report.tracking_no] == [""]
    session.rollback()
    logged = session.execute(sa.select(ExportLog.user_id, ExportLog.marked).order_by(ExportLog.id)).all()
    assert logged == [(clerk.id, False), (director.id, True)]


def test_a_marked_reports_photo_is_watermarked_and_its_download_logged(
        client: FlaskClient, session: Session, settings: Settings, clerk: User) -> None:
    report = _internal(session)
    buf = io.BytesIO()
    Image.new("RGB", (400, 300), (255, 255, 255)).save(buf, "PNG")
    name, digest = files.save(settings.upload_dir, buf.getvalue(), "image/png")
    session.add(Attachment(report_id=report.id, kind="photo", filename="a.png", content_type="image/png",
                           size=len(buf.getvalue()), sha256=digest, storage_path=name))
    session.commit()
    att = session.scalar(sa.select(Attachment))
    assert att is not None
    login(client, "carol")

    resp = client.get(f"/files/{att.id}")

    assert resp.status_code == 200 and resp.data != buf.getvalue()
    with Image.open(io.BytesIO(resp.data)) as got:
        assert got.size == (400, 300) and got.convert("L").getextrema()[0] < 250  # grey text on white
    session.rollback()
    assert session.scalar(sa.select(AccessLog.what).where(AccessLog.user_id == clerk.id)) == f"file:{att.id}"
