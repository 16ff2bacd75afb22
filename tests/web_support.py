"""Helpers for console and web chat tests: CSRF tokens, logging in, making reports."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from store.models import CollectionPoint, Report, Reporter, ReportVersion, Urgency
from store.reports import lifecycle
from store.reports.queries import next_tracking_no
from tests.conftest import PASSWORD

_META = re.compile(r'<meta name="csrf-token" content="([^"]+)"')


def csrf(client: FlaskClient, path: str = "/login") -> str:
    """The CSRF token of the client's session, read from a page as a browser would."""
    html = client.get(path).get_data(as_text=True)
    m = _META.search(html)
    assert m, f"no CSRF meta tag on {path}"
    return m.group(1)


def login(client: FlaskClient, username: str, password: str = PASSWORD) -> Any:
    return client.post("/login", data={"username": username, "password": password,
                                       "csrf_token": csrf(client)})


def make_report(session: Session, point: CollectionPoint | None = None, *, title: str = "人民路路灯长期不亮",
                urgent: bool = False, external_id: str = "tg-1001", now: datetime | None = None,
                **fields: Any) -> Report:
    """A submitted report as the engine would leave it, committed."""
    reporter = session.query(Reporter).filter_by(external_id=external_id).one_or_none()
    if reporter is None:
        from store.models import Channel

        channel = Channel.WEB if external_id.startswith("w") else Channel.TELEGRAM
        reporter = Reporter(channel=channel, external_id=external_id, chat_id=external_id)
        session.add(reporter)
        session.flush()
    report = Report(
        tracking_no=next_tracking_no(session), category=fields.pop("category", "livelihood"),
        title=title,
        situation=fields.pop("situation", "人民路共有路灯40盏，其中12盏已损坏超过3个月。"),
        suggestion=fields.pop("suggestion", "建议尽快维修并建立巡查机制。"),
        urgency=Urgency.URGENT if urgent else Urgency.NORMAL, point=point, reporter=reporter,
        answers=fields.pop("answers", {"category": "livelihood", "title": title}), **fields,
    )
    session.add(report)
    session.flush()
    # Version 1 is the reporter's own words, as store.reports.queries keeps it.
    session.add(ReportVersion(report_id=report.id, number=1, title=report.title,
                              situation=report.situation, analysis=report.analysis,
                              suggestion=report.suggestion))
    lifecycle.apply(session, report, lifecycle.Action.SUBMIT, reporter=reporter, now=now)
    session.commit()
    return report
