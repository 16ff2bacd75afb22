"""Staff edits of a report's text: every edit a new version, the original kept.

Version 1 is the reporter's own words (written when the report is filed);
each edit adds the next version with the whole text as it now reads. The
report's columns hold the current text and change only through lifecycle's
EDIT move, so an edit is an event in the report's history.
"""

from __future__ import annotations

import difflib

import sqlalchemy as sa
from sqlalchemy.orm import Session

from store.i18n import register
from store.models import Report, ReportVersion, User
from store.reports import lifecycle
from store.reports.lifecycle import Action, TransitionError
from store.reports.transitions import EDITABLE

TITLE_LIMIT = 200
TEXT_LIMIT = 10_000
FIELDS = EDITABLE
REQUIRED = frozenset({"title", "situation", "suggestion"})
NAMES = {
    "title": {"zh": "标题", "en": "title"},
    "situation": {"zh": "具体情况", "en": "situation"},
    "analysis": {"zh": "原因分析", "en": "analysis"},
    "suggestion": {"zh": "意见建议", "en": "suggestion"},
    "summary": {"zh": "信息摘要", "en": "summary"},
}

register({
    "error.edit_empty": {
        "zh": "「{field}」不能为空。",
        "en": "The {field} cannot be empty.",
    },
    "error.edit_too_long": {
        "zh": "「{field}」太长了：{length} 字，最多 {limit} 字。内容未保存。",
        "en": "The {field} is too long: {length} characters, at most {limit}. Nothing was saved.",
    },
})


def limit_of(field: str) -> int:
    return TITLE_LIMIT if field == "title" else TEXT_LIMIT


def _clean(value: str | None) -> str | None:
    # Browsers post CRLF; without this every save of an untouched field is a "change".
    text = (value or "").replace("\r\n", "\n").replace("\r", "\n").strip()
    return text or None


def edit(
    session: Session,
    report: Report,
    user: User,
    *,
    title: str,
    situation: str,
    analysis: str | None,
    suggestion: str,
    summary: str | None,
    expected_version: int | None,
) -> ReportVersion | None:
    """Save `user`'s edit of `report` as a new version; None if nothing changed.

    Refuses (TransitionError) empty required fields, over-long fields
    (`error.edit_too_long` with the field, its length and the limit), and
    whatever lifecycle refuses (not allowed now, not this user, a stale version).
    Text is stored as typed; pages escape it when they show it.
    """
    given = {"title": title, "situation": situation, "analysis": analysis,
             "suggestion": suggestion, "summary": summary}
    new: dict[str, str | None] = {}
    for field in FIELDS:
        value = _clean(given[field])
        if value is None and field in REQUIRED:
            raise TransitionError("error.edit_empty", field=NAMES[field]["zh"])
        if value is not None and len(value) > limit_of(field):
            raise TransitionError("error.edit_too_long", field=NAMES[field]["zh"],
                                  length=len(value), limit=limit_of(field))
        new[field] = value
    changed = {f: v for f, v in new.items() if v != (getattr(report, f) or None)}
    if not changed:
        return None
    history = versions(session, report)
    if not history:
        # A report filed before versions were kept: its text so far is the original.
        history = [_snapshot(session, report, 1, None)]
    names = "、".join(NAMES[f]["zh"] for f in FIELDS if f in changed)
    lifecycle.apply(session, report, Action.EDIT, user=user, note=f"修改了{names}",
                    expected_version=expected_version, values=changed)
    return _snapshot(session, report, history[-1].number + 1, user)


def _snapshot(session: Session, report: Report, number: int, user: User | None) -> ReportVersion:
    version = ReportVersion(report_id=report.id, number=number, title=report.title,
                            situation=report.situation, analysis=report.analysis,
                            suggestion=report.suggestion, summary=report.summary,
                            user_id=user.id if user else None)
    session.add(version)
    session.flush()
    return version


def versions(session: Session, report: Report) -> list[ReportVersion]:
    """Every version of `report`, oldest first; number 1 is the reporter's original."""
    return list(session.scalars(sa.select(ReportVersion).where(ReportVersion.report_id == report.id)
                                .order_by(ReportVersion.number)))


def diff(old: str, new: str) -> list[tuple[str, str]]:
    """Character-level differences from `old` to `new`: (op, text) with op equal|insert|delete.

    Characters, not words: Chinese has no spaces to split on. Neighbouring
    pieces with the same op are joined, so a page shows few, whole marks.
    """
    old, new = old or "", new or ""
    matcher = difflib.SequenceMatcher(None, old, new, autojunk=False)
    out: list[tuple[str, str]] = []

    def put(op: str, text: str) -> None:
        if not text:
            return
        if out and out[-1][0] == op:
            out[-1] = (op, out[-1][1] + text)
        else:
            out.append((op, text))

    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            put("equal", old[i1:i2])
        else:
            put("delete", old[i1:i2])
            put("insert", new[j1:j2])
    return out
