"""Filing reports in domain tests, the way the chat files them."""

from __future__ import annotations

import itertools
from datetime import datetime

from sqlalchemy.orm import Session

from store import forms
from store.models import Channel, CollectionPoint, Report, Reporter
from store.reports import drafts

_n = itertools.count(1)

TITLE = "老旧小区加装电梯进展缓慢"
SITUATION = "城关镇 12 个老旧小区中只有 2 个装了电梯，老人上下楼困难。"
SUGGESTION = "建议简化审批，设立专项补贴。"


def reporter(session: Session, *, language: str = "zh",
             channel: Channel = Channel.TELEGRAM) -> Reporter:
    n = next(_n)
    someone = Reporter(channel=channel, external_id=f"ext{n}", chat_id=f"chat{n}",
                       language=language)
    session.add(someone)
    session.flush()
    return someone


def file_report(session: Session, *, who: Reporter | None = None,
                point: CollectionPoint | None = None, title: str = TITLE,
                situation: str = SITUATION, suggestion: str = SUGGESTION,
                category: str = "livelihood", urgent: bool = False,
                created_at: datetime | None = None) -> Report:
    """A submitted report (version 1 kept, SUBMIT event written); the caller commits."""
    who = who or reporter(session)
    draft = drafts.Draft(form=forms.load("report"), answers={}, reporter=who,
                         point_id=point.id if point else None)
    # Made-up texts need not pass the form's checks (some tests want a short one).
    report = drafts.file_as_is(session, draft, {
        "category": category, "title": title, "situation": situation,
        "suggestion": suggestion, "urgent": urgent, "anonymous": False,
    })
    if created_at is not None:
        report.created_at = created_at
    session.flush()
    return report
