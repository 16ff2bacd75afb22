"""Commissions (约稿): the office asks named members for a report on a topic by a date.

A commission is a topic call (`store.network.topics`) with `commissioned`
set and addressed to roster members (`CommissionMember`) instead of being
broadcast. Each of their linked chats is owed a message in the same
transaction, with the topic call's own button (`~topic:<id>`), so the chat
starts the form with the topic attached exactly as for a call, and the
report filed records it (`Report.topic_id`, source `commissioned`). Who
answered is whoever filed a report with the topic; the overdue are reminded
once (`remind_overdue`, claimed with one UPDATE … RETURNING).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from store import access
from store.delivery import outbox
from store.errors import DomainError
from store.i18n import register, t
from store.models import CommissionMember, Member, Report, Reporter, Topic, User, utcnow
from store.network import roster, topics

register({
    "commission.asked": {
        "zh": ("✍️ 约稿：{title}\n{description}\n请于 {deadline} 前提交。"
               "点下方按钮即可围绕这个题目撰写并提交信息。"),
        "en": ("✍️ A report is requested from you: {title}\n{description}\nPlease send it by "
               "{deadline}. Tap the button below to write it on this topic."),
    },
    "commission.reminder": {
        "zh": ("⏰ 约稿“{title}”已于 {deadline} 到期，我们还没有收到您的信息。"
               "点下方按钮即可撰写提交，谢谢支持！"),
        "en": ("⏰ The report requested on \"{title}\" was due on {deadline} and has not come in yet. "
               "Tap the button below to write it. Thank you!"),
    },
    "commission.answer": {"zh": "撰写约稿信息", "en": "Write this report"},
})


class CommissionError(DomainError):
    """A commission that cannot be sent; the message says what to change."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


FIELD_ERRORS = {"title": f"请填写约稿题目（不超过 {topics.TITLE_LIMIT} 字）。",
                "description": f"请填写约稿说明（不超过 {topics.DESCRIPTION_LIMIT} 字）。",
                "deadline": "请填写一个晚于现在的截止时间。"}


def commission(session: Session, user: User, *, title: str, description: str,
               deadline: datetime, member_ids: list[int],
               now: datetime | None = None) -> tuple[Topic, int]:
    """Ask the named members (those `user` sees) for a report; (the topic, messages queued).

    Belongs to `user`'s unit, so the staff of that unit and above follow it.
    """
    people = roster.chosen(session, user, member_ids)
    if not people or len(people) != len(set(member_ids)):
        raise CommissionError("members", "请从名册中选择约稿对象（至少一人）。")
    try:
        topic = topics.new_topic(session, title=title, description=description,
                                 deadline=deadline, created_by_id=user.id, now=now,
                                 commissioned=True, unit_id=user.unit_id)
    except ValueError as exc:
        raise CommissionError(str(exc), FIELD_ERRORS[str(exc)]) from None
    queued = 0
    for member in people:
        sent = _send(session, topic, member, "commission.asked")
        session.add(CommissionMember(topic_id=topic.id, member_id=member.id, sent=sent))
        queued += sent
    session.flush()
    return topic, queued


def _send(session: Session, topic: Topic, member: Member, key: str) -> int:
    """Owe each of `member`'s chats the message `key` about `topic`; how many were queued."""
    sent = 0
    for reporter in roster.chats_of(session, member):
        text = t(key, reporter.language, title=topic.title, description=topic.description,
                 deadline=topics.deadline_text(topic))
        button = [[{"label": t("commission.answer", reporter.language),
                    "data": f"~topic:{topic.id}"}]]
        if outbox.enqueue(session, reporter, text, buttons=button) is not None:
            sent += 1
    return sent


def scope(session: Session, user: User) -> sa.ColumnElement[bool]:
    """A WHERE clause on `Topic`: commissions of the units `user` sees (all: no unit)."""
    if not user.active:
        return sa.false()
    units = access.visible_units(session, user)
    mine = sa.true() if units is None else Topic.unit_id.in_(units)
    return sa.and_(Topic.commissioned.is_(True), mine)


def recent(session: Session, user: User, limit: int = 100) -> list[Topic]:
    return list(session.scalars(sa.select(Topic).where(scope(session, user))
                                .order_by(Topic.id.desc()).limit(limit)))


def visible(session: Session, user: User, topic_id: int) -> Topic | None:
    return session.scalar(sa.select(Topic).where(Topic.id == topic_id, scope(session, user)))


@dataclass(frozen=True)
class Asked:
    """One person a commission asked, and what came of it."""

    member: Member
    sent: int  # chat messages queued when it was sent (0: no chat linked then)
    reminded_at: datetime | None
    answers: list[Report]

    @property
    def answered(self) -> bool:
        return bool(self.answers)


def roll(session: Session, topic: Topic) -> list[Asked]:
    """Everyone `topic` asked: the answered first, then the rest, by name."""
    asked = list(session.scalars(sa.select(CommissionMember).where(
        CommissionMember.topic_id == topic.id)))
    answers: dict[int, list[Report]] = {}
    for report in session.scalars(sa.select(Report).where(
            Report.topic_id == topic.id, Report.member_id.is_not(None)).order_by(Report.id)):
        assert report.member_id is not None
        answers.setdefault(report.member_id, []).append(report)
    out = [Asked(a.member, a.sent, a.reminded_at, answers.get(a.member_id, [])) for a in asked]
    return sorted(out, key=lambda a: (not a.answered, a.member.name, a.member.id))


def counts(session: Session, topic_ids: list[int]) -> dict[int, tuple[int, int]]:
    """For each commission: (people asked, people who answered)."""
    answered = sa.exists().where(Report.topic_id == CommissionMember.topic_id,
                                 Report.member_id == CommissionMember.member_id)
    rows = session.execute(
        sa.select(CommissionMember.topic_id, sa.func.count(),
                  sa.func.sum(sa.case((answered, 1), else_=0)))
        .where(CommissionMember.topic_id.in_(topic_ids)).group_by(CommissionMember.topic_id))
    return {topic_id: (n, int(done or 0)) for topic_id, n, done in rows}


def remind_overdue(session: Session, now: datetime | None = None) -> int:
    """Remind, once, each person whose commission is past its deadline and unanswered.

    Each (commission, person) is claimed with one UPDATE … RETURNING
    (`reminded_at` still empty), so two schedulers never remind twice.
    Returns how many people were reminded.
    """
    now = now or utcnow()
    overdue = sa.select(Topic.id).where(Topic.commissioned.is_(True), Topic.deadline < now)
    answered = sa.exists().where(Report.topic_id == CommissionMember.topic_id,
                                 Report.member_id == CommissionMember.member_id)
    claimed = session.execute(
        sa.update(CommissionMember)
        .where(CommissionMember.reminded_at.is_(None), CommissionMember.topic_id.in_(overdue),
               ~answered)
        .values(reminded_at=now)
        .returning(CommissionMember.topic_id, CommissionMember.member_id)
        .execution_options(synchronize_session=False)).all()
    for topic_id, member_id in sorted(claimed):
        topic, member = session.get(Topic, topic_id), session.get(Member, member_id)
        assert topic is not None and member is not None
        _send(session, topic, member, "commission.reminder")
    session.flush()
    return len(claimed)


def addressed(session: Session, topic: Topic, reporter: Reporter) -> bool:
    """Whether `topic` is a commission that asked `reporter`'s roster entry."""
    return (topic.commissioned and reporter.member_id is not None
            and session.get(CommissionMember, (topic.id, reporter.member_id)) is not None)
