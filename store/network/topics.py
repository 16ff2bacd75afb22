"""Topic calls (选题): what the office wants to hear about, open until a deadline.

Staff publish a topic (`publish`); every reporter who opted in (`/subscribe`)
is owed one outbox message about it, written in the same transaction, and the
notifier delivers them within the channel's rate limits. Reporters answer a
topic from `/topics`; the engine starts the form with `context.topic_id`, and
the draft filed at confirm (`store.reports.drafts`) stores it on the report.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.orm import Session

from store.delivery import outbox
from store.i18n import register, t
from store.models import CommissionMember, Report, Reporter, Topic, utcnow
from store.prepared import Prepared

TITLE_LIMIT = 200
DESCRIPTION_LIMIT = 2000
# Offices read local time; China has one zone.
LOCAL = ZoneInfo("Asia/Shanghai")

register({
    "topic.broadcast": {
        "zh": "📣 新选题：{title}\n{description}\n截止时间：{deadline}\n欢迎围绕这个选题反映情况和建议。",
        "en": ("📣 New topic call: {title}\n{description}\nOpen until: {deadline}\n"
               "Tell us what you see and suggest."),
    },
    "topic.answer": {"zh": "围绕此选题反映", "en": "Answer this topic"},
})


def publish(session: Session, *, title: str, description: str, deadline: datetime,
            created_by_id: int | None, now: datetime | None = None) -> tuple[Topic, int]:
    """Publish a topic and owe each opted-in reporter a message; (topic, messages queued).

    Raises ValueError naming the bad field: title, description or deadline.
    """
    topic = new_topic(session, title=title, description=description, deadline=deadline,
                      created_by_id=created_by_id, now=now)
    queued = 0
    subscribers = session.scalars(sa.select(Reporter).where(
        Reporter.topics_opt_in.is_(True), Reporter.blocked_at.is_(None)).order_by(Reporter.id))
    for reporter in subscribers:
        text = t("topic.broadcast", reporter.language, title=topic.title,
                 description=topic.description, deadline=deadline_text(topic))
        button = [[{"label": t("topic.answer", reporter.language), "data": f"~topic:{topic.id}"}]]
        if outbox.enqueue(session, reporter, text, buttons=button) is not None:
            queued += 1
    session.flush()
    return topic, queued


def new_topic(session: Session, *, title: str, description: str, deadline: datetime,
              created_by_id: int | None, now: datetime | None = None,
              commissioned: bool = False, unit_id: int | None = None) -> Topic:
    """A topic row, checked (ValueError naming the bad field); published or commissioned."""
    title, description = " ".join(title.split()), description.strip()
    if not title or len(title) > TITLE_LIMIT:
        raise ValueError("title")
    if not description or len(description) > DESCRIPTION_LIMIT:
        raise ValueError("description")
    if deadline <= (now or utcnow()):
        raise ValueError("deadline")
    topic = Topic(title=title, description=description, deadline=deadline,
                  created_by_id=created_by_id, commissioned=commissioned, unit_id=unit_id)
    session.add(topic)
    session.flush()
    return topic


def deadline_text(topic: Topic) -> str:
    return topic.deadline.astimezone(LOCAL).strftime("%Y-%m-%d %H:%M")


def is_open(topic: Topic, now: datetime | None = None) -> bool:
    """A call is open until its deadline; a commission (约稿) stays answerable after it,
    since an overdue one is reminded to answer."""
    return topic.commissioned or topic.deadline > (now or utcnow())


def current(session: Session, now: datetime | None = None,
            reporter: Reporter | None = None) -> list[Topic]:
    """Topic calls still open, nearest deadline first; with `reporter`, also the
    commissions addressed to their roster entry that they have not answered yet."""
    if reporter is None or reporter.member_id is None:
        return list(session.scalars(_OPEN, {"now": now or utcnow()}))
    shown = sa.and_(Topic.commissioned.is_(False), Topic.deadline > (now or utcnow()))
    mine = sa.select(CommissionMember.topic_id).where(
        CommissionMember.member_id == reporter.member_id)
    answered = sa.select(Report.topic_id).where(Report.member_id == reporter.member_id,
                                                Report.topic_id.is_not(None))
    shown = sa.or_(shown, sa.and_(Topic.commissioned.is_(True), Topic.id.in_(mine),
                                  Topic.id.not_in(answered)))
    return list(session.scalars(sa.select(Topic).where(shown).order_by(Topic.deadline, Topic.id)))


def any_open(session: Session, reporter: Reporter) -> bool:
    """Whether `current` would list anything for `reporter` (the menu's 选题 button)."""
    if reporter.member_id is not None:
        return bool(current(session, reporter=reporter))
    return _ANY_OPEN.first(session.connection(), {"now": utcnow()}) is not None


# `current` for anyone not on the roster (most chats, at every menu): built once.
_OPEN = (sa.select(Topic).where(Topic.commissioned.is_(False), Topic.deadline > sa.bindparam("now"))
         .order_by(Topic.deadline, Topic.id))


def may_answer(session: Session, topic: Topic, reporter: Reporter) -> bool:
    """Anyone may answer a topic call; a commission only the people it names."""
    if not topic.commissioned:
        return True
    return reporter.member_id is not None and session.get(
        CommissionMember, (topic.id, reporter.member_id)) is not None


def recent(session: Session, limit: int = 50) -> list[Topic]:
    """Published topic calls, newest first (commissions have their own page)."""
    return list(session.scalars(sa.select(Topic).where(Topic.commissioned.is_(False))
                                .order_by(Topic.id.desc()).limit(limit)))


def set_opt_in(session: Session, reporter: Reporter, on: bool) -> None:
    reporter.topics_opt_in = on
    session.flush()
# `any_open` for them: one id or none, read without making a Topic (Core, built once).
_TOPICS: sa.Table = Topic.__table__  # type: ignore[assignment]
_ANY_OPEN = Prepared(sa.select(_TOPICS.c.id)
                     .where(_TOPICS.c.commissioned.is_(False),
                            _TOPICS.c.deadline > sa.bindparam("now", type_=_TOPICS.c.deadline.type))
                     .limit(1))
