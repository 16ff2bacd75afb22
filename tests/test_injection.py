"""Corpora of XSS and SQL-injection payloads through every text field of the chat form, the
counter intake and the search box (issue 15): the pages show them as text, nothing runs,
searches answer normally, nothing answers 500, and no table is touched."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from markupsafe import escape
from sqlalchemy.orm import Session

from store.models import CollectionPoint, Report, User
from tests.form_walk import TITLE, walk
from tests.test_intake import _ecology, _form, _post, county_point, ken  # noqa: F401
from tests.test_security_headers import runnable
from tests.test_webchat import NO, Visitor
from tests.web_support import login

PAYLOADS = [line for line in (Path(__file__).parent / "injection_payloads.txt")
            .read_text(encoding="utf-8").splitlines() if line and not line.startswith("# ")]
ALL = "\n".join(PAYLOADS)
SITUATION = "东河3号排污口每逢下雨就排出黑水，下游500米河段发臭，已持续两个月。"
SUGGESTION = "建议环保部门对排污口上游企业逐一排查，并在雨季加密水质监测。"


def test_the_corpus_is_the_classic_thirty() -> None:
    assert len(PAYLOADS) == 30 and all(len(p) < 50 for p in PAYLOADS)


def inert(page: str) -> list[str]:
    """What in `page` would run: inline script, an event handler, a javascript: URL."""
    return runnable(page)


def _shown_as_text(page: str, payloads: list[str]) -> list[str]:
    """Payloads not on the page in their escaped form (so shown as something else, or not)."""
    return [p for p in payloads if str(escape(p)) not in page]


def _file_by_web_chat(client: FlaskClient, token: str, title_payload: str) -> str:
    v = Visitor(client, token)
    v.open()
    for answer in walk(skip={"hospital"}, choose={
            "category": "ecology", "title": f"东河排污口{title_payload}",
            "situation": f"{SITUATION}\n{ALL}", "analysis": f"水质问题。{ALL}",
            "suggestion": f"{SUGGESTION}\n{ALL}", "place": f"东河{title_payload}"[:100],
            "anonymous": False, "contact": f"李女士 13900000000 {title_payload}"[:100]}):
        v.answer(answer)  # each answer is a 200 (`Visitor` checks)
    receipt = v.texts(v.press("确认提交"))
    assert "提交成功" in receipt, receipt
    m = NO.search(receipt)
    assert m is not None
    return m.group(1)


@pytest.mark.parametrize("title_payload", [PAYLOADS[0], PAYLOADS[2], PAYLOADS[5], PAYLOADS[13],
                                           PAYLOADS[22]], ids=range(5))
def test_the_chat_form_keeps_every_payload_as_text_in_the_console(
        app: Flask, client: FlaskClient, point: CollectionPoint, point_token: str,
        admin: User, session: Session, title_payload: str) -> None:
    tracking_no = _file_by_web_chat(client, point_token, title_payload)
    session.rollback()
    report = session.scalar(sa.select(Report).where(Report.tracking_no == tracking_no))
    assert report is not None
    assert report.title == f"东河排污口{title_payload}"  # stored as typed
    assert ALL in report.situation and ALL in (report.suggestion or "")

    desk = app.test_client()
    login(desk, "alice")
    for url in ("/reports", f"/reports/{report.id}", f"/reports/{report.id}/edit",
                f"/reports/{report.id}/versions", "/search?q=排污口"):
        resp = desk.get(url)
        assert resp.status_code == 200, url
        page = resp.get_data(as_text=True)
        assert not inert(page), (url, inert(page))
    detail = desk.get(f"/reports/{report.id}").get_data(as_text=True)
    assert not _shown_as_text(detail, PAYLOADS)


def test_the_counter_intake_keeps_every_payload_as_text(
        client: FlaskClient, session: Session, ken: User,  # noqa: F811
        county_point: CollectionPoint) -> None:  # noqa: F811
    login(client, "ken")
    resp = _post(client, {**_form(client), **_ecology(
        county_point, a_title=f"排污口{PAYLOADS[1]}", a_situation=f"{SITUATION}\n{ALL}",
        a_suggestion=f"{SUGGESTION}\n{ALL}", a_place=f"东河{PAYLOADS[6]}",
        a_contact=f"李女士 13900000000 {PAYLOADS[3]}")})
    assert resp.status_code == 302, resp.get_data(as_text=True)
    session.rollback()
    (report,) = session.scalars(sa.select(Report)).all()
    for url in (resp.location, f"/reports/{report.id}"):
        page = client.get(url).get_data(as_text=True)
        assert not inert(page), (url, inert(page))
    assert not _shown_as_text(client.get(f"/reports/{report.id}").get_data(as_text=True),
                              PAYLOADS)

    # A form sent back with a problem shows every payload typed, as text, in its fields.
    again = _post(client, {**_form(client), **_ecology(
        county_point, a_title="短", a_situation=f"{SITUATION}\n{ALL}")})
    assert again.status_code == 422
    page = again.get_data(as_text=True)
    assert not inert(page) and not _shown_as_text(page, PAYLOADS)


def test_the_search_box_answers_every_payload_normally(
        app: Flask, client: FlaskClient, point: CollectionPoint, point_token: str,
        admin: User, session: Session) -> None:
    plain = Visitor(app.test_client(), point_token)
    plain.open()
    plain.fill_report()
    assert "提交成功" in plain.texts(plain.press("确认提交"))
    login(client, "alice")
    session.rollback()
    (filed,) = session.scalars(sa.select(Report)).all()
    words = " ".join(str(v) for v in (filed.title, filed.situation, filed.suggestion,
                                      filed.place, filed.tracking_no)).lower()
    before = {t: session.execute(sa.text(f"SELECT count(*) FROM {t}")).scalar()
              for t in ("reports", "users", "report_versions")}
    for payload in PAYLOADS:
        resp = client.get("/search", query_string={"q": payload})
        assert resp.status_code == 200, payload
        page = resp.get_data(as_text=True)
        assert not inert(page), (payload, inert(page))
        assert str(escape(payload)) in page or payload.strip() == "", payload
        # No payload widens a search to everything: the report is found only by its words.
        if not any(w in words for w in re.findall(r"[a-z]+|\d+", payload.lower())):
            assert filed.tracking_no not in _results(page), payload
        api = client.get("/search", query_string={"q": payload, "sort": "relevance"})
        assert api.status_code == 200
    session.rollback()
    after = {t: session.execute(sa.text(f"SELECT count(*) FROM {t}")).scalar() for t in before}
    assert after == before
    assert filed.tracking_no in _results(client.get("/search", query_string={"q": TITLE[:4]})
                                         .get_data(as_text=True))


def _results(page: str) -> str:
    """The result list of a search page (not the box, which echoes the query)."""
    m = re.search(r"<main.*</main>", page, re.S)
    text = m.group(0) if m else page
    return re.sub(r'<input[^>]*name="q"[^>]*>', "", text)
