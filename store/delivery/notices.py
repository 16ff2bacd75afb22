"""Telling staff: the console badge, and each chat they linked (store.network.addresses)."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from store import access
from store.i18n import register, t
from store.models import (
    OutboxMessage,
    Report,
    Role,
    StaffNotice,
    User,
    utcnow,
)
from store.network import addresses
from store.reports import marks
from store.review import chain as review

register({
    # An alert about a marked report for a chat on a foreign carrier: the number, never the words.
    "notice.withheld": {
        "zh": "{no}（{mark}）有新的待办提醒，内容请登录系统查看。",
        "en": "{no} ({mark}) has a new alert; log in to read it.",
    },
})


def notify(session: Session, user: User, kind: str, text: str, report: Report | None = None) -> None:
    """A console notice for `user`, and the same words in each chat they linked that is not gone.

    Like a reporter's messages, an alert for a channel that is switched off
    waits in the outbox until it is back on. A chat on a foreign carrier gets
    only the number of a marked report (`marks.withheld`); the console, the words.
    """
    report_id = report.id if report else None
    session.add(StaffNotice(user_id=user.id, report_id=report_id, kind=kind, text=text))
    for address in addresses.live(session, user):
        words = text
        if report is not None and marks.withheld(session, report, marks.external(address.channel)):
            words = t("notice.withheld", "zh", no=report.tracking_no,
                      mark=marks.rules(session).label(report.mark))
        session.add(OutboxMessage(user_id=user.id, report_id=report_id, channel=address.channel,
                                  chat_id=address.chat_id, text=words))


def staff_who_see(session: Session, report: Report, roles: frozenset[Role]) -> list[User]:
    """Active staff with one of `roles` whose unit answers for `report` (`access.can_handle`)."""
    users = session.scalars(sa.select(User).where(User.active.is_(True), User.role.in_(roles)))
    return [u for u in users if access.can_handle(session, u, report)]


def alert_reviewers(session: Session, report: Report, kind: str) -> None:
    """Alert whoever acts at the report's current review level (and admins)."""
    level = review.level_at(review.chain(session), report.review_level)
    text = t(f"notice.{kind}", "zh", no=report.tracking_no, title=report.title,
             level=level.label())
    for user in staff_who_see(session, report, level.roles | {Role.ADMIN}):
        notify(session, user, kind, text, report)


def unread(session: Session, user: User, limit: int = 20) -> list[StaffNotice]:
    return list(session.scalars(
        sa.select(StaffNotice).where(StaffNotice.user_id == user.id, StaffNotice.read_at.is_(None))
        .order_by(StaffNotice.id.desc()).limit(limit)))


def unread_count(session: Session, user: User) -> int:
    return session.scalar(
        sa.select(sa.func.count()).select_from(StaffNotice)
        .where(StaffNotice.user_id == user.id, StaffNotice.read_at.is_(None))) or 0


def mark_read(session: Session, user: User, notice_id: int | None = None) -> None:
    """Mark one notice (or all of `user`'s) as read."""
    query = sa.update(StaffNotice).where(StaffNotice.user_id == user.id,
                                         StaffNotice.read_at.is_(None))
    if notice_id is not None:
        query = query.where(StaffNotice.id == notice_id)
    session.execute(query.values(read_at=utcnow()))
