"""通报: a period's bulletin built once, kept for download, and each person's figures sent.

`publish` claims the period's row with one INSERT … ON CONFLICT DO NOTHING, so
of two workers (or a worker and a click) only one builds it; the files are
written in the same transaction, so a build that fails leaves no row and the
next tick tries again. The messages are claimed apart, by one conditional
UPDATE of `sent_at`, so they go out once even when the bulletin was built
earlier by hand without sending. `run_due` is the scheduler's: on or after the
office's day of the month (通报 page, `schedule`), last month's bulletin.

Who is told, in their chat (through the outbox, so nothing is sent inside
this transaction): each active unit liaison (role 联络员, with a unit) their
unit's figures and place in its series, at every chat they linked (and as a
console notice); each bound member (`Reporter.kind` MEMBER) their own figures.
A liaison switches it off on 我的账号, a member with /nobulletin.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from store import upsert
from store.delivery import notices, outbox
from store.errors import DomainError
from store.i18n import t
from store.models import (
    AdoptionLevel,
    Bulletin,
    OfficeSetting,
    Reporter,
    ReporterKind,
    Role,
    Unit,
    User,
    utcnow,
)
from store.outputs import adoption, bulletin_docs, figures, period
from store.outputs.figures import Content, Counts
from store.outputs.period import Period

SETTING_KEY = "bulletin"
# Every month has these days: the 29th to 31st would skip February.
LAST_DAY = 28


class BulletinError(DomainError):
    pass


def schedule(session: Session) -> int | None:
    """The day of the month last month's bulletin is built on; None: not built by itself."""
    row = session.get(OfficeSetting, SETTING_KEY)
    day = row.value.get("day") if row is not None else None
    return day if isinstance(day, int) and 1 <= day <= LAST_DAY else None


def set_schedule(session: Session, day: int | None) -> None:
    if day is not None and not 1 <= day <= LAST_DAY:
        raise BulletinError(f"请填写 1～{LAST_DAY} 日。 / A day from 1 to {LAST_DAY}.")
    upsert.put_setting(session, SETTING_KEY, {"day": day})


@dataclass(frozen=True)
class Outcome:
    bulletin: Bulletin | None
    built: bool  # this call built (or rebuilt) the files
    messages: int  # messages this call queued (0 when another already sent them)


def publish(session: Session, period: Period, *, user: User | None = None, send: bool = True,
            rebuild: bool = False, now: datetime | None = None) -> Outcome:
    """Build `period`'s bulletin unless it exists (`rebuild`: anew), and send it unless sent.

    The row is claimed first and cheaply (empty files), then filled in the same
    transaction; a claim another worker holds is waited for by the database and
    then left alone. Returns what this call did.
    """
    now = now or utcnow()
    by = user.id if user is not None else None
    built = session.execute(
        upsert.insert(session, Bulletin)
        .values(period=period.key, since=period.start, until=period.end, xlsx=b"", docx=b"",
                built_at=now, built_by_id=by, messages=0)
        .on_conflict_do_nothing(index_elements=[Bulletin.period]).returning(Bulletin.id)
    ).scalar() is not None
    if not built and rebuild:
        built = session.execute(
            sa.update(Bulletin).where(Bulletin.period == period.key)
            .values(built_at=now, built_by_id=by).returning(Bulletin.id)).scalar() is not None
    content: Content | None = None
    if built:
        content = figures.content(session, period)
        session.execute(sa.update(Bulletin).where(Bulletin.period == period.key).values(
            xlsx=bulletin_docs.xlsx(content), docx=bulletin_docs.docx(content)))
    queued = 0
    if send:
        claimed = session.execute(
            sa.update(Bulletin).where(Bulletin.period == period.key, Bulletin.sent_at.is_(None))
            .values(sent_at=now).returning(Bulletin.id)).scalar()
        if claimed is not None:
            content = content or figures.content(session, period)
            queued = _to_liaisons(session, content) + _to_members(session, content)
            session.execute(sa.update(Bulletin).where(Bulletin.id == claimed)
                            .values(messages=queued))
    row = session.scalar(sa.select(Bulletin).where(Bulletin.period == period.key)
                         .execution_options(populate_existing=True))
    return Outcome(row, built, queued)


def _levels(c: Counts, lang: str) -> str:
    return t("bulletin.levels", lang, **{lv.value: c.by_level[lv] for lv in AdoptionLevel})


def unit_text(content: Content, user: User, unit_name: str) -> str:
    assert user.unit_id is not None
    c = content.for_unit(user.unit_id, unit_name)
    rank = ""
    found = content.scores.standing(user.unit_id)
    if found is not None:
        ranking, standing = found
        rank = t("bulletin.rank", "zh", series=ranking.series.name, score=standing.score,
                 rank=standing.rank, of=len(ranking.standings))
    return t("bulletin.unit", "zh", period=content.period.label, unit=unit_name,
             received=c.received, adopted=c.adopted, levels=_levels(c, "zh"),
             instructed=c.instructed, rank=rank)


def member_text(content: Content, member: Reporter) -> str:
    lang = member.language if member.language in ("zh", "en") else "zh"
    name = member.member_name or member.display_name or ""
    c = content.for_reporter(member.id, name)
    period = content.period.label if lang == "zh" else content.period.key
    return t("bulletin.member", lang, period=period, name=name, received=c.received,
             adopted=c.adopted, instructed=c.instructed)


def _to_liaisons(session: Session, content: Content) -> int:
    sent = 0
    liaisons = session.scalars(sa.select(User).where(
        User.role == Role.UNIT_LIAISON, User.active.is_(True), User.unit_id.is_not(None),
        User.bulletin_opt_out.is_(False)).order_by(User.id))
    for user in liaisons:
        unit = session.get(Unit, user.unit_id)
        if unit is None:
            continue
        notices.notify(session, user, "bulletin", unit_text(content, user, unit.name))
        sent += 1
    return sent


def _to_members(session: Session, content: Content) -> int:
    sent = 0
    members = session.scalars(sa.select(Reporter).where(
        Reporter.kind == ReporterKind.MEMBER, Reporter.blocked_at.is_(None),
        Reporter.bulletin_opt_out.is_(False)).order_by(Reporter.id))
    for member in members:
        lang = member.language if member.language in ("zh", "en") else "zh"
        stop = [[{"label": t("button.nobulletin", lang), "data": "~nobulletin:"}]]
        if outbox.enqueue(session, member, member_text(content, member), buttons=stop) is not None:
            sent += 1
    return sent


def run_due(session: Session, now: datetime | None = None) -> Outcome | None:
    """The scheduler's tick: on or after the office's day, last month's bulletin, once."""
    day = schedule(session)
    now = now or utcnow()
    today = now.astimezone(adoption.BEIJING).date()
    if day is None or today.day < day:
        return None
    return publish(session, period.last_month(today), send=True, now=now)


def listing(session: Session, limit: int = 60) -> list[Bulletin]:
    """The latest bulletins, newest period first (the files are not loaded)."""
    return list(session.scalars(
        sa.select(Bulletin).options(sa.orm.defer(Bulletin.xlsx), sa.orm.defer(Bulletin.docx))
        .order_by(Bulletin.since.desc(), Bulletin.id.desc()).limit(limit)))


def set_opt_out(session: Session, who: User | Reporter, off: bool) -> None:
    """Stop (or resume) the bulletin's message to a staff member or a member."""
    who.bulletin_opt_out = off
