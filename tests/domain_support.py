"""The one report factory of the tests: a filed report, made the way the store files reports.

`make_report` files through `store.reports.drafts` (a tracking number, version 1 of
the reporter's words, the SUBMIT event) and moves the report on through
`store.reports.lifecycle` when a later status is asked for; it never writes a status,
a level or a unit by hand.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from store import forms
from store.models import (
    Channel,
    CollectionPoint,
    Report,
    Reporter,
    ReportStatus,
    Unit,
    User,
)
from store.reports import drafts, lifecycle

_n = itertools.count(1)

TITLE = "人民路路灯长期不亮"
SITUATION = "人民路共有路灯40盏，其中12盏已损坏超过3个月。"
SUGGESTION = "建议尽快维修并建立巡查机制。"


def reporter(session: Session, *, external_id: str | None = None, language: str = "zh",
             channel: Channel | None = None) -> Reporter:
    """The reporter with `external_id` (made on first use; a new one each time without it).

    The channel follows the id as the tests spell them: "w…" is a web chat visitor, any
    other a Telegram user.
    """
    if external_id is not None:
        found = session.query(Reporter).filter_by(external_id=external_id).one_or_none()
        if found is not None:
            return found
    else:
        external_id = f"ext{next(_n)}"
    if channel is None:
        channel = Channel.WEB if external_id.startswith("w") else Channel.TELEGRAM
    someone = Reporter(channel=channel, external_id=external_id, chat_id=external_id,
                       language=language)
    session.add(someone)
    session.flush()
    return someone


def make_report(session: Session, point: CollectionPoint | None = None, *,
                who: Reporter | None = None, external_id: str | None = None,
                unit: Unit | None = None, status: ReportStatus = ReportStatus.SUBMITTED,
                by: User | None = None, title: str = TITLE, situation: str = SITUATION,
                suggestion: str = SUGGESTION, analysis: str | None = None,
                place: str | None = None, category: str = "livelihood", urgent: bool = False,
                anonymous: bool = False, contact: str | None = None,
                answers: Mapping[str, Any] | None = None,
                created_at: datetime | None = None, now: datetime | None = None,
                commit: bool = True) -> Report:
    """A filed report, committed (only flushed with `commit=False`, inside a transaction the
    caller holds).

    `who` or `external_id` names the reporter (else a new one); `point` where it
    was taken, `unit` whose it is (a point's unit, or without a point the
    reporter's, as a member's report); `answers` adds to or overrides the answers
    made from the texts. Texts are not checked against the form: some tests want
    a short one. A `status` past SUBMITTED is reached by `by` (an administrator)
    through the lifecycle: REVIEWING, RETURNED, ADOPTED, NOT_ADOPTED or CLOSED. `now` files it
    at that moment (its deadlines counted from then); `created_at` only restamps the row.
    """
    who = who or reporter(session, external_id=external_id)
    if unit is not None:
        if point is not None and point.unit_id != unit.id:
            raise ValueError("a report taken at a point belongs to the point's unit")
        if point is None:
            who.unit_id = unit.id
    given: dict[str, Any] = {
        "category": category, "title": title, "situation": situation, "analysis": analysis,
        "suggestion": suggestion, "place": place, "urgent": urgent, "anonymous": anonymous,
        "contact": contact, **(answers or {}),
    }
    draft = drafts.Draft(form=forms.load("report"), answers={}, reporter=who,
                         point_id=point.id if point else None)
    report = drafts.file_as_is(session, draft, given, now=now)
    if created_at is not None:
        report.created_at = created_at
    _move_to(session, report, status, by)
    if commit:
        session.commit()
    else:
        session.flush()
    return report


def _move_to(session: Session, report: Report, status: ReportStatus, by: User | None) -> None:
    from tests.review_support import adopt, sign_off_to_final

    S, A = ReportStatus, lifecycle.Action  # noqa: N806
    if status is S.SUBMITTED:
        return
    if by is None:
        raise ValueError(f"a report {status.value} needs `by`, the user who moves it there")
    if status is S.REVIEWING:
        lifecycle.apply(session, report, A.SIGN_OFF, user=by)
    elif status is S.RETURNED:
        lifecycle.apply(session, report, A.RETURN, user=by, note="请补充具体位置和照片")
    elif status is S.NOT_ADOPTED:
        sign_off_to_final(session, report, by)
        lifecycle.apply(session, report, A.DECLINE, user=by, note="该问题已列入今年工作计划")
    elif status in (S.ADOPTED, S.CLOSED):
        adopt(session, report, by)
        if status is S.CLOSED:
            lifecycle.apply(session, report, A.CLOSE, user=by)
    else:
        raise ValueError(f"the factory does not make {status.value} reports")
    assert report.status is status
