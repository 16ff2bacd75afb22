"""What a returning reporter came back for: where each of their reports stands.

Read from what `store.reports.lifecycle` and its neighbours wrote (status, events,
transfers, instructions, references), and only what the reporter was already
told in feedback: the question asked of them, the reason for declining, the
department's name and reply, the department a report not adopted was passed
to for reference (函送参考) and its reply, the adopting level, the instructing
leader's title. Never a staff note, nor the words of an instruction.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from store.i18n import t
from store.models import AdoptionLevel, Instruction, Report, ReportEvent, ReportStatus, Transfer, Unit
from store.outputs import adoption
from store.reports.transitions import Action

# How many reports the news names; "我的反映" lists more.
NEWS_LIMIT = 5
PENDING = frozenset({ReportStatus.SUBMITTED, ReportStatus.REVIEWING, ReportStatus.RESUBMITTED,
                     ReportStatus.REOPENED})
# Events whose note the reporter was shown in feedback.
TOLD = (Action.RETURN.value, Action.DECLINE.value, Action.DEPT_REPLY.value, Action.EXPIRE.value)
MARKS = {ReportStatus.RETURNED: "📌", ReportStatus.ADOPTED: "✅", ReportStatus.NOT_ADOPTED: "📄",
         ReportStatus.TRANSFERRED: "🔄", ReportStatus.HANDLED: "💬", ReportStatus.CLOSED: "🏁",
         ReportStatus.MERGED: "🔗"}


@dataclass(frozen=True)
class News:
    """One report's latest: `key` names the sentence (chat.news.<key>), `params` fill it."""

    report: Report
    key: str
    at: datetime
    params: dict[str, str] = field(default_factory=dict)
    leader: str | None = None  # the title of the latest leader who instructed on it
    merged_into: News | None = None

    def text(self, lang: str) -> str:
        params = dict(self.params)
        if "status" in params:
            params["status"] = t(f"status.{params['status']}", lang)
        if "level" in params:
            params["level"] = t(f"adoption.{params['level']}", lang)
        if "rating" in params:
            params["rating"] = t(f"satisfaction.{params['rating']}", lang)
        out = t(f"chat.news.{self.key}", lang, **params)
        if self.leader:
            out += t("chat.news.instructed", lang, leader=self.leader)
        if self.merged_into is not None:
            out += ("，" if lang == "zh" else "; ") + self.merged_into.text(lang)
        return out


def recent(session: Session, reporter_id: int, limit: int = NEWS_LIMIT) -> tuple[list[News], int]:
    """The news of a reporter's reports: those waiting on them first, then the latest
    to move; and how many reports were left out."""
    rows = list(session.scalars(_LATEST, {"reporter_id": reporter_id, "limit": limit}))
    if not rows:  # nothing to tell (a first-time reporter): no count to ask for
        return [], 0
    total = session.scalar(_COUNT, {"reporter_id": reporter_id}) or 0
    return of_reports(session, rows), max(0, total - len(rows))


# `recent`'s statements, built once: a statement this size costs more to build (and to key
# for SQLAlchemy's compiled cache) than to run, and every /start asks it.
_last = (sa.select(ReportEvent.report_id, sa.func.max(ReportEvent.id).label("last_id"))
         .join(Report, Report.id == ReportEvent.report_id)
         .where(Report.reporter_id == sa.bindparam("reporter_id"))
         .group_by(ReportEvent.report_id).subquery())
_LATEST = (sa.select(Report).join(_last, _last.c.report_id == Report.id)
           .order_by((Report.status == ReportStatus.RETURNED).desc(), _last.c.last_id.desc())
           .limit(sa.bindparam("limit")))
_COUNT = (sa.select(sa.func.count()).select_from(Report)
          .where(Report.reporter_id == sa.bindparam("reporter_id")))


def of_reports(session: Session, reports: list[Report]) -> list[News]:
    """The latest of each of `reports`, in their order (four queries, however many)."""
    if not reports:
        return []
    ids = [r.id for r in reports]
    parents = {r.merged_into_id for r in reports if r.merged_into_id is not None} - set(ids)
    if parents:
        extra = list(session.scalars(sa.select(Report).where(Report.id.in_(parents))))
        ids += [r.id for r in extra]
    told: dict[tuple[int, str], ReportEvent] = {}
    latest: dict[int, datetime] = {}
    for event in session.scalars(sa.select(ReportEvent).where(ReportEvent.report_id.in_(ids))
                                 .order_by(ReportEvent.id)):
        latest[event.report_id] = event.created_at
        if event.action in TOLD:
            told[(event.report_id, event.action)] = event
    # The latest transfer's department and the latest leader, where there are several.
    departments = {rid: name for rid, name in session.execute(
        sa.select(Transfer.report_id, Unit.name).join(Unit, Unit.id == Transfer.department_id)
        .where(Transfer.report_id.in_(ids), Transfer.kind == "transfer").order_by(Transfer.id))}
    # 函送参考: the latest reference of a report not adopted, and its reply once there is one.
    references = {rid: (name, reply) for rid, name, reply in session.execute(
        sa.select(Transfer.report_id, Unit.name, Transfer.reply)
        .join(Unit, Unit.id == Transfer.department_id)
        .where(Transfer.report_id.in_(ids), Transfer.kind == "reference").order_by(Transfer.id))}
    leaders = {rid: title for rid, title in session.execute(
        sa.select(Instruction.report_id, Instruction.leader_title)
        .where(Instruction.report_id.in_(ids)).order_by(Instruction.id))}

    levels = adoption.highest_levels(session, ids)

    def one(report: Report, depth: int = 0) -> News:
        key, params = _sentence(report, told, departments, levels.get(report.id),
                                references.get(report.id))
        parent = None
        if report.status is ReportStatus.MERGED and report.merged_into_id and depth == 0:
            target = session.get(Report, report.merged_into_id)
            if target is not None and target.status is not ReportStatus.MERGED:
                parent = one(target, 1)
        return News(report, key, latest.get(report.id, report.created_at), params,
                    leaders.get(report.id), parent)

    return [one(r) for r in reports]


def _sentence(report: Report, told: dict[tuple[int, str], ReportEvent],
              departments: dict[int, str], level: AdoptionLevel | None,
              reference: tuple[str, str | None] | None = None) -> tuple[str, dict[str, str]]:
    """Which sentence says where `report` stands, and what fills it."""
    def note(action: Action) -> str:
        event = told.get((report.id, action.value))
        return (event.note or "") if event is not None else ""

    status = report.status
    if status in PENDING:
        return "pending", {"status": status.value}
    if status is ReportStatus.RETURNED:
        return "returned", {"note": note(Action.RETURN)}
    if status is ReportStatus.NOT_ADOPTED:
        if reference is not None:
            department, reply = reference
            if reply:
                return "referred_replied", {"department": department, "note": reply}
            return "referred", {"department": department}
        return "not_adopted", {"note": note(Action.DECLINE)}
    if status is ReportStatus.ADOPTED:
        if level is not None:
            return "adopted_at", {"level": level.value}
        return "adopted", {}
    if status is ReportStatus.TRANSFERRED:
        return "transferred", {"department": departments.get(report.id, "")}
    if status is ReportStatus.HANDLED:
        return "handled", {"note": note(Action.DEPT_REPLY)}
    if status is ReportStatus.MERGED:
        return "merged", {}
    if (report.id, Action.EXPIRE.value) in told:
        return "expired", {}
    if report.satisfaction:
        return "rated", {"rating": report.satisfaction}
    return "closed", {}
