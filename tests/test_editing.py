"""Editing a report's text: every edit a version, the reporter's original untouched."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from store.i18n import t
from store.models import Report, ReportEvent, ReportVersion, User
from store.reports import editing
from store.reports.lifecycle import Conflict, TransitionError
from tests.domain_support import SITUATION, SUGGESTION, TITLE, make_report


def _text(report: Report, **changes: Any) -> dict[str, Any]:
    text = {f: getattr(report, f) for f in editing.FIELDS}
    text.update(changes)
    return text


def test_it_keeps_every_version_and_the_original(session: Session, clerk: User,
                                                 director: User) -> None:
    report = make_report(session)
    session.commit()

    first = editing.edit(session, report, clerk, **_text(report, title="城关镇加装电梯进展缓慢"),
                         expected_version=report.version)
    second = editing.edit(session, report, director,
                          **_text(report, summary="12 个小区仅 2 个加装电梯。"),
                          expected_version=report.version)
    session.commit()

    session.rollback()
    history = editing.versions(session, report)
    assert [v.number for v in history] == [1, 2, 3]
    assert (history[0].title, history[0].situation, history[0].user_id) == (TITLE, SITUATION, None)
    assert first is not None and second is not None
    assert (history[1].title, history[1].user_id) == ("城关镇加装电梯进展缓慢", clerk.id)
    assert (history[2].summary, history[2].user_id) == ("12 个小区仅 2 个加装电梯。", director.id)
    stored = session.get_one(Report, report.id)
    assert (stored.title, stored.summary, stored.suggestion) == (
        "城关镇加装电梯进展缓慢", "12 个小区仅 2 个加装电梯。", SUGGESTION)
    edits = session.scalars(sa.select(ReportEvent).where(ReportEvent.report_id == report.id,
                                                         ReportEvent.action == "edit")).all()
    assert [e.note for e in edits] == ["修改了标题", "修改了信息摘要"]


def test_an_unchanged_text_saves_nothing(session: Session, clerk: User) -> None:
    report = make_report(session)
    session.commit()
    # Browsers send CRLF and trailing spaces; that is not an edit.
    text = _text(report, situation=report.situation.replace("\n", "\r\n") + "  ", analysis="")

    assert editing.edit(session, report, clerk, **text, expected_version=report.version) is None
    assert len(editing.versions(session, report)) == 1
    assert report.version == 1


@pytest.mark.parametrize(("field", "limit"), [("title", 200), ("situation", 10_000),
                                              ("summary", 10_000)])
def test_it_refuses_a_huge_edit_with_a_clear_reason(session: Session, clerk: User, field: str,
                                                    limit: int) -> None:
    report = make_report(session)
    session.commit()

    with pytest.raises(TransitionError) as exc:
        editing.edit(session, report, clerk, **_text(report, **{field: "字" * (limit + 1)}),
                     expected_version=report.version)

    assert exc.value.code == "error.edit_too_long"
    assert exc.value.params["limit"] == limit and exc.value.params["length"] == limit + 1
    assert "太长" in t(exc.value.code, **exc.value.params)
    session.rollback()
    assert session.get_one(Report, report.id).version == 1
    assert len(editing.versions(session, report)) == 1


def test_it_refuses_to_empty_a_required_field(session: Session, clerk: User) -> None:
    report = make_report(session)
    session.commit()

    with pytest.raises(TransitionError) as exc:
        editing.edit(session, report, clerk, **_text(report, suggestion="  "),
                     expected_version=report.version)

    assert exc.value.code == "error.edit_empty"
    assert t(exc.value.code, **exc.value.params) == "「意见建议」不能为空。"


def test_html_is_kept_as_text(session: Session, clerk: User) -> None:
    report = make_report(session)
    session.commit()
    evil = "<script>alert(1)</script> 城关镇 <b>12</b> 个小区"

    editing.edit(session, report, clerk, **_text(report, situation=evil),
                 expected_version=report.version)
    session.commit()

    session.rollback()
    assert session.get_one(Report, report.id).situation == evil
    assert editing.versions(session, report)[-1].situation == evil


def test_an_edit_on_a_stale_version_is_refused(session: Session, clerk: User,
                                              viewer: User) -> None:
    report = make_report(session)
    session.commit()

    with pytest.raises(Conflict):
        editing.edit(session, report, clerk, **_text(report, title="新标题"), expected_version=0)
    with pytest.raises(TransitionError) as exc:
        editing.edit(session, report, viewer, **_text(report, title="新标题"),
                     expected_version=report.version)
    assert exc.value.code == "error.forbidden"
    assert session.scalar(sa.select(sa.func.count()).select_from(ReportVersion)) == 1


def test_diff_marks_chinese_characters() -> None:
    ops = editing.diff("城关镇十二个小区", "城关镇 12 个老旧小区")

    assert "".join(text for op, text in ops if op != "insert") == "城关镇十二个小区"
    assert "".join(text for op, text in ops if op != "delete") == "城关镇 12 个老旧小区"
    assert ("insert", "老旧") in ops and ops[0] == ("equal", "城关镇")
    assert {op for op, _ in ops} <= {"equal", "insert", "delete"}
    assert editing.diff("", "新") == [("insert", "新")]
    assert editing.diff("同", "同") == [("equal", "同")]
