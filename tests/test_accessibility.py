"""Every console page and the web chat are readable and usable, on a desk and on a phone.

A real Chromium opens every GET page the app has (found in its url_map, so a
new page cannot be forgotten), as a visitor, an administrator, a clerk and a
department, at desktop width and at a phone's 390×844. On each it runs axe-core
(vendored in tests/vendor/axe-core, never fetched) and fails on any violation of
impact "serious" or "critical": contrast below WCAG AA, a control without a
label, a missing language or name. On each it also checks that the page fits the
screen and that no text is squeezed into a column one or two characters wide.

With MINYI_A11Y_SHOTS=<folder> a full-page screenshot of every page checked is
saved there, to look at.
"""

from __future__ import annotations

import io
import os
import re
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import pytest
from flask import Flask
from sqlalchemy.orm import Session

from minyi.settings import Settings
from store.delivery import webchat
from store.models import (
    AdoptionLevel,
    Attachment,
    CollectionPoint,
    JournalIssue,
    Report,
    Role,
    User,
    utcnow,
)
from store.network import commissions, members, roster, topics
from store.network import points as points_mod
from store.outputs import destinations, period, scoring, upward
from store.outputs.journal import issues as journal_issues
from store.outputs.journal import series as journal_series
from store.reports import details, files, intake, lifecycle, marks, notes
from store.reports.lifecycle import Action
from store.review import followup, instructions, reference, templates, transfers
from store.search import Filters, views
from tests.a11y_support import CONTRAST, axe_problems, label_problems, layout_problems
from tests.browser_support import DESKTOP, PHONE, login, needs_chromium
from tests.conftest import SECRET, Network, staff
from tests.domain_support import make_report
from tests.review_support import adopt

pytestmark = needs_chromium

# GET endpoints that answer with a file, not a page, so there is nothing for axe to read.
NOT_PAGES = {
    "static": "stylesheets, scripts and the icon",
    "favicon": "a redirect to the icon",
    "reports.attachment": "an uploaded photo or document",
    "points.qr_image": "a QR code as PNG or SVG",
    "points.export_file": "the points as XLSX or CSV",
    "exports.download": "reports as XLSX or CSV",
    "admin.audit_csv": "the audit trail as CSV",
    "api.report_list": "the read API's JSON",
    "api.report_detail": "the read API's JSON",
    "api.unit_list": "the read API's JSON",
    "api.point_list": "the read API's JSON",
    "api.overview": "the read API's JSON",
    "api.unknown": "the read API's JSON",
    "api.journal_issue_list": "the read API's JSON",
    "api.journal_issue_detail": "the read API's JSON",
    "points.posters_pdf": "posters as PDF",
    "chat.poll": "the web chat's JSON",
    "journal.export": "an issue as .docx or PDF",
    "scores.download": "a ranking as XLSX or CSV",
    "bulletins.download": "a 通报 as XLSX or DOCX",
    "health.healthz": "the health check's JSON",
    "health.metrics": "Prometheus metrics as text",
}

# Pages in states the url_map alone does not reach: a queue, a search with a saved
# view, the 404 page, all transfers.
EXTRA_PATHS = ("/reports?tab=mine", "/reports?status=returned", "/search?urgency=urgent",
               "/search?q=%E8%B7%AF%E7%81%AF", "/transfers?all=1", "/reports/999999",
               "/instructions?all=1", "/references?all=1", "/stats?by=point&period=year",
               "/stats?period=range&from=2026-03-10&to=2026-03-01",
               "/search?channel=web&instructed=city&rated=satisfied&member=1")

@dataclass
class Seeded:
    """A small office with something on every page."""

    review: Report  # urgent, waiting for 初审, with a photo, a note and a similar report
    handled: Report  # adopted, transferred (overdue) to a department, with a leader's 批示
    counter: Report  # filed at the counter by the clerk: it has a slip
    point: CollectionPoint
    clerk: User  # a colleague whose password the admin may reset
    upward_id: int  # the handled report sent to a unit of the network (报送)
    issue: JournalIssue  # a draft of 《社情民意》 carrying the adopted report, with its editing forms
    series_id: int  # 考评序列 with the county placed this year: a ranking with a breakdown
    member_id: int  # on the roster, asked for a report (约稿) that they answered
    commission_id: int
    details: str  # a link to the (内部) review report's details, for its reporter


def _photo() -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (240, 160), (90, 110, 130)).save(buf, "PNG")
    return buf.getvalue()


def _seed(session: Session, settings: Settings, admin: User, clerk: User, net: Network) -> Seeded:
    templates.ensure_defaults(session)
    point = points_mod.create_point(session, "城关镇便民服务中心", address="城关镇人民路1号")
    point.unit_id = net.county.id
    child = points_mod.create_point(session, "人民路社区民生议事堂", address="人民路88号")
    child.parent_id, child.unit_id = point.id, net.township.id
    session.commit()

    make_report(session, child, title="人民路路灯坏了晚上很黑", external_id="tg-31",
                situation="人民路百货大楼附近有10多盏路灯不亮，已经3个月了，晚上出行很不安全。")
    review = make_report(
        session, point, title="城关镇人民路路灯长期不亮，夜间出行存在安全隐患", urgent=True,
        external_id="tg-32", place="城关镇人民路（百货大楼至人民医院段）", contact="张先生 138****0000",
        situation="人民路共有路灯40盏，其中12盏已损坏超过3个月，夜间出行的老人和学生多次摔倒。",
        analysis="路灯线路老化，维修责任在城管和供电部门之间不明确。",
        answers={"category": "livelihood", "urgent": True, "anonymous": False})
    data = _photo()
    rel, digest = files.save(settings.upload_dir, data, "image/png")
    session.add(Attachment(report_id=review.id, kind="photo", filename="人民路夜间.png",
                           content_type="image/png", size=len(data), sha256=digest, storage_path=rel))
    notes.add(session, review, clerk, "已电话联系城管局核实，情况属实。")
    # 内部: the report page carries the mark and the viewer's watermark.
    marks.change(session, review, marks.Mark.INTERNAL, admin, "涉及未公开的维修计划")

    handled = make_report(session, point, title="东河3号排污口雨后出现黑臭水体", category="ecology",
                          external_id="tg-33",
                          situation="东河3号排污口每逢下雨就排出黑水，下游500米河段发臭，已持续两个月。")
    adopt(session, handled, admin)
    row = transfers.transfer(session, handled, admin, department=net.roads, due_days=15,
                             escalate_days=7, note="请核查排污口上游企业。")
    row.due_at = utcnow() - timedelta(days=2)  # overdue: its badge is on the pages too
    instruction = instructions.record(
        session, handled, admin, leader_name="王明", leader_title="县长", level=AdoptionLevel.COUNTY,
        text="请环保局牵头，一周内报送整改方案。", instructed_on=date.today())
    # 批示落实 (overdue) and a second 批示 not yet handed over: both forms on /instructions.
    work = followup.assign(session, instruction, admin, department_id=net.roads.id,
                           due=followup.today() + timedelta(days=3), note="请一周内报送。")
    work.due_at = utcnow() - timedelta(days=1)
    instructions.record(session, handled, admin, leader_name="李华", leader_title="副县长",
                        level=AdoptionLevel.COUNTY, text="请住建局配合。", instructed_on=date.today())

    returned = make_report(session, child, title="菜市场周边早高峰停车难", category="economy",
                           external_id="tg-34", situation="早高峰菜市场周边有300多辆车乱停。")
    lifecycle.apply(session, returned, Action.RETURN, user=clerk, note="请补充具体路段和时间。")
    declined = make_report(session, point, title="建议在县城修建机场", category="economy",
                           external_id="tg-35", situation="县城到省城开车要3个小时。")
    lifecycle.apply(session, declined, Action.DECLINE, user=clerk, note="不属于本级职责范围。")
    reference.send(session, declined, clerk, department_id=net.roads.id, note="供规划时参考。")

    counter = make_report(session, point, title="老旧小区加装电梯审批流程长", external_id="w-counter-1",
                          situation="东街社区12个老旧小区申请加装电梯，两年只装成2部。")
    counter.entered_by_id = clerk.id
    webchat.record_out(session, "w-counter-1", [(
        f"您反映的信息已由工作人员代为录入，编号 {counter.tracking_no}。审核和办理结果会在这里通知您。", None)])

    topics.publish(session, title="优化营商环境", description="围绕企业开办、审批提速反映问题和建议。",
                   deadline=utcnow() + timedelta(days=20), created_by_id=admin.id)
    members.issue_code(session, name="李委员", role="member", unit_id=net.county.id,
                       created_by_id=admin.id)
    views.save(session, admin, "紧急", Filters.from_args({"urgency": "urgent"})[0])
    upward_to = destinations.create(session, "东山县政协", AdoptionLevel.COUNTY, net.other_county.id)
    sent = upward.send(session, handled, upward_to, user=admin)
    issue = journal_issues.compose(session, journal_series.find(session, "社情民意"), [handled], admin)
    journal_issues.edit_issue(session, issue, admin, note="本期编者按。",
                              distribution={"bao": "省政协办公厅", "song": "", "fa": ""})
    series = scoring.create_series(session, "区县政协")
    # Placed in the year of last month too: the ranking opens on last month.
    for year in {date.today().year, period.last_month(date.today()).year}:
        scoring.place(session, series, year, [net.county.id])
    member = roster.add(session, roster.entry(name="王委员", role="member", sector="经济界",
                                              unit_id=net.county.id))
    asked, _ = commissions.commission(session, admin, title="农村养老", description="写一篇",
                                      deadline=utcnow() + timedelta(days=5), member_ids=[member.id])
    session.commit()
    # A details link for the counter's citizen, whose chat the slip's follow link (walked
    # before it) makes each browser: the page opens for them.
    details_token = details.MARKER_RE.findall(details.issue(session, counter, counter.reporter))[0]
    session.commit()
    return Seeded(review, handled, counter, point, clerk, sent.id, issue, series.id, member.id, asked.id,
                  details_token)


def _values(seeded: Seeded) -> dict[str, list[str]]:
    """What to put in each route parameter; `endpoint/name` before `name`."""
    return {
        "report_id": [str(r.id) for r in (seeded.review, seeded.handled, seeded.counter)],
        "chat.page/token": [points_mod.token_for(seeded.point, SECRET)],
        "chat.follow/token": [intake.follow_token(SECRET, seeded.counter.reporter)],
        "short.follow/code": [points_mod.short_code_for(seeded.point, SECRET)],
        "chat.details_page/token": [seeded.details],
        "point_id": [str(seeded.point.id)],
        "unit_id": [str(seeded.point.unit_id)],
        "user_id": [str(seeded.clerk.id)],
        "record_id": [str(seeded.upward_id)],
        "issue_id": [str(seeded.issue.id)],
        "item_id": [str(seeded.issue.items[0].id)],
        "series_id": [str(seeded.series_id)],
        "member_id": [str(seeded.member_id)],
        "topic_id": [str(seeded.commission_id)],
    }


def _page_paths(app: Flask, values: dict[str, list[str]]) -> list[tuple[str, str]]:
    """(endpoint, path) of every GET route that is a page, its parameters filled in."""
    paths: list[tuple[str, str]] = []
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        if "GET" not in (rule.methods or ()) or rule.endpoint in NOT_PAGES:
            continue
        filled: list[dict[str, str]] = [{}]
        for name in re.findall(r"<(?:[^:<>]+:)?([^<>]+)>", rule.rule):
            choices = values.get(f"{rule.endpoint}/{name}") or values.get(name)
            if not choices:
                pytest.fail(f"{rule.rule} ({rule.endpoint}): the accessibility test has no value "
                            f"for <{name}>; add one to _values so the page is checked")
            filled = [{**f, name: c} for f in filled for c in choices]
        for args in filled:
            path = re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", lambda m, a=args: quote(a[m[1]], safe=""),
                          rule.rule)
            paths.append((rule.endpoint, path))
    return paths


@pytest.fixture(autouse=True)
def _one_database(db_backend: str) -> None:
    if db_backend != "sqlite":
        pytest.skip("the pages are the same on PostgreSQL: checked once, on SQLite")


def _shot(page: Any, name: str) -> None:
    folder = os.environ.get("MINYI_A11Y_SHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        slug = re.sub(r"[^A-Za-z0-9]+", "-", name).strip("-")
        page.screenshot(path=str(Path(folder) / f"{slug}.png"), full_page=True)


@pytest.mark.parametrize("persona", ["visitor", "admin", "clerk", "department"])
def test_it_keeps_every_page_accessible_on_a_desk_and_on_a_phone(
    persona: str, app: Flask, base_url: str, axe_context: Any, session: Session, settings: Settings,
    admin: User, clerk: User, network: Network,
) -> None:
    seeded = _seed(session, settings, admin, clerk, network)
    staff(session, "dora", Role.DEPARTMENT, network.roads)
    assert set(NOT_PAGES) <= {r.endpoint for r in app.url_map.iter_rules()}, "NOT_PAGES names a route gone"
    paths = _page_paths(app, _values(seeded)) + [("", p) for p in EXTRA_PATHS]
    username = {"admin": "alice", "clerk": "carol", "department": "dora"}.get(persona)

    problems: list[str] = []
    answered: dict[str, set[int]] = {}
    for label, viewport in (("desktop", DESKTOP), ("phone", PHONE)):
        ctx = axe_context(viewport, is_mobile=viewport is PHONE, has_touch=viewport is PHONE)
        page = ctx.new_page()
        if username:
            login(page, base_url, username)
        seen: set[str] = set()
        for endpoint, path in paths:
            try:
                response = page.goto(base_url + path)
            except Exception as exc:  # a download is not a page
                problems.append(f"{path}: not a page ({str(exc).splitlines()[0]}); "
                                f"if {endpoint} answers with a file, list it in NOT_PAGES")
                continue
            assert response is not None
            answered.setdefault(endpoint, set()).add(response.status)
            # A redirect to a page already checked (the login form, whatever its ?next=),
            # or the same error page again, is not checked twice.
            final = urlsplit(page.url)
            key = (f"error {response.status}" if response.status >= 400
                   else final.path + "?" + re.sub(r"(^|&)next=[^&]*", "", final.query))
            if key in seen:
                continue
            seen.add(key)
            if "text/html" not in response.headers.get("content-type", ""):
                problems.append(f"{path}: answers {response.headers.get('content-type')}; "
                                f"if {endpoint} is not a page, list it in NOT_PAGES")
                continue
            if page.locator("#app[data-poll]").count():  # the web chat draws itself
                page.locator("#log .bubble").first.wait_for()
            where = f"{persona} {label} {path}"
            problems += (axe_problems(page, where) + label_problems(page, where)
                         + layout_problems(page, where))
            _shot(page, f"{persona}-{label}-{path}")
        ctx.close()

    if persona == "admin":  # the parameters were real: every page opened at least once
        assert not [e for e, codes in answered.items() if e and 200 not in codes], answered
    assert not problems, f"{len(problems)} problems:\n" + "\n".join(problems)


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_it_shows_the_logout_button_in_the_header_and_it_logs_out(
    viewport: dict[str, int], base_url: str, axe_context: Any, admin: User,
) -> None:
    page = axe_context(viewport).new_page()
    login(page, base_url, "alice")
    logout = page.locator("header #logout")
    assert logout.is_visible() and logout.inner_text() == "退出"
    box = logout.bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= viewport["width"]
    assert logout.evaluate(CONTRAST) >= 4.5
    logout.click()
    page.wait_for_selector("h1:has-text('工作人员登录')")
    page.goto(f"{base_url}/reports")
    assert "/login" in page.url  # the session is gone, not just the page


def test_it_turns_the_inbox_into_cards_on_a_phone_and_keeps_a_table_on_a_desk(
    base_url: str, axe_context: Any, session: Session, settings: Settings, admin: User, clerk: User,
    network: Network,
) -> None:
    seeded = _seed(session, settings, admin, clerk, network)
    card_of = """tr => {
      const row = tr.getBoundingClientRect();
      return {width: row.width, head: getComputedStyle(tr.closest('table').querySelector('thead')).display,
        cells: [...tr.cells].map(td => {
          const box = td.getBoundingClientRect(), style = getComputedStyle(td);
          const before = getComputedStyle(td, '::before');
          const text = document.createRange();
          text.selectNodeContents(td);
          const first = [...text.getClientRects()].find(r => r.width > 1);
          return {label: td.dataset.label || null, display: style.display,
                  shown: before.content.replace(/^"|"$/g, ''), width: box.width,
                  indent: first ? first.left - box.left : 0, em: parseFloat(style.fontSize)};
        })};
    }"""

    phone = axe_context(PHONE, is_mobile=True, has_touch=True).new_page()
    login(phone, base_url, "alice")
    urgent = phone.locator("table.grid tbody tr", has_text=seeded.review.tracking_no)
    card = urgent.evaluate(card_of)
    assert card["head"] == "none"  # no column headings squeezed above the cards
    assert card["width"] <= PHONE["width"]
    assert all(c["display"] == "block" for c in card["cells"])  # one line per field
    title = card["cells"][1]
    assert title["width"] >= 0.8 * card["width"]  # the title runs the width of the card
    labelled = [c for c in card["cells"] if c["label"]]
    assert [c["label"] for c in labelled] == ["类别", "采集点", "状态", "审核级别", "提交时间"]
    for cell in labelled:  # each field says what it is, with room for its name before the value
        assert cell["shown"] == cell["label"] and cell["indent"] >= 4 * cell["em"], cell
    assert "民生保障" in urgent.inner_text() and seeded.point.name in urgent.inner_text()

    desk = axe_context(DESKTOP).new_page()
    login(desk, base_url, "alice")
    row = desk.locator("table.grid tbody tr", has_text=seeded.review.tracking_no).evaluate(card_of)
    assert row["head"] == "table-header-group"
    assert all(c["display"] == "table-cell" and c["shown"] in ("none", "normal") for c in row["cells"])


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_it_finds_no_serious_violations_in_the_web_chat_mid_form(
    viewport: dict[str, int], base_url: str, axe_context: Any, point: CollectionPoint, point_token: str,
) -> None:
    page = axe_context(viewport, is_mobile=viewport is PHONE, has_touch=viewport is PHONE).new_page()
    page.goto(f"{base_url}/c/{point_token}")
    page.locator(".bubble", has_text="请选择信息类别").last.wait_for()
    problems = axe_problems(page, "choosing a category") + label_problems(page, "choosing a category")

    page.locator("button.choice", has_text="民生保障").last.click()
    page.locator(".bubble", has_text="请用一句话概括").last.wait_for()
    page.fill("#text", "路灯")  # too short for a title: the chat asks again, mid-form
    page.click("#send")
    page.locator(".bubble", has_text="内容太短了").last.wait_for()
    where = "a title too short"
    problems += axe_problems(page, where) + label_problems(page, where) + layout_problems(page, where)
    assert page.locator(".msg.me .bubble").last.inner_text() == "路灯"
    assert not problems, "\n".join(problems)


def test_it_lets_a_keyboard_skip_to_the_content_and_shows_where_the_focus_is(
    base_url: str, axe_context: Any, admin: User,
) -> None:
    page = axe_context(DESKTOP).new_page()
    login(page, base_url, "alice")
    skip = page.locator("a.skip")
    top = "el => el.getBoundingClientRect().top"
    assert skip.evaluate(top) < 0  # out of sight until wanted
    page.keyboard.press("Tab")
    assert skip.evaluate("el => el === document.activeElement") and skip.evaluate(top) >= 0
    assert skip.inner_text() == "跳到正文"
    page.keyboard.press("Tab")  # the brand link in the red header: a white ring around it
    ring = page.evaluate("""() => { const s = getComputedStyle(document.activeElement);
      return [document.activeElement.className, s.outlineStyle, s.outlineColor, parseFloat(s.outlineWidth)]; }""")
    assert ring == ["brand", "solid", "rgb(255, 255, 255)", 2.0]
    page.keyboard.press("Shift+Tab")
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"
    page.keyboard.press("Tab")  # the next stop is in the content, past the menu
    assert page.evaluate("!!document.activeElement.closest('main')")
