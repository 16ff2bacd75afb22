"""Internal notes on a report: for the office's staff, never sent to the reporter."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from store import access
from store.models import Report, ReportNote, User
from store.reports.lifecycle import NOTE_LIMIT, TransitionError


def add(session: Session, report: Report, user: User, text: str) -> ReportNote:
    """Add `user`'s note to `report`; office staff of the units it was filed under only."""
    if not user.active or user.role not in access.OFFICE_ROLES \
            or not access.can_handle(session, user, report):
        raise TransitionError("error.forbidden")
    text = (text or "").strip()
    if not text:
        raise TransitionError("error.note_required")
    if len(text) > NOTE_LIMIT:
        raise TransitionError("error.note_too_long", limit=NOTE_LIMIT)
    note = ReportNote(report_id=report.id, user_id=user.id, text=text)
    session.add(note)
    session.flush()
    return note


def for_report(session: Session, report: Report) -> list[ReportNote]:
    """The report's notes, oldest first (the caller checks the reader is office staff)."""
    return list(session.scalars(sa.select(ReportNote).where(ReportNote.report_id == report.id)
                                .order_by(ReportNote.created_at, ReportNote.id)))
