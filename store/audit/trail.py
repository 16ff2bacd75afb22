"""Reading the trail: the console's 审计日志 page and its CSV export.

Who may read it: administrators and the secretary-general (秘书长), the
office's top signatory, who answers for its 保密 and its decisions; staff
bound to a unit see the entries about reports of their units and the
entries about no report at all (logins, settings, exports ...).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, timezone
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session, aliased

from store import access
from store.audit.chain import record
from store.models import AuditEntry, Report, Role, User
from store.outputs import sheets

AUDIT_ROLES = frozenset({Role.ADMIN, Role.SECRETARY_GENERAL})
# The office's day: a period's dates are Beijing dates.
OFFICE_TZ = timezone(timedelta(hours=8))
HEADER = ("序号", "时间（北京时间）", "操作人", "动作", "信息编号", "对象", "详情", "哈希")
# Columns that hold what people typed (names, notes, filters): checked for formulas.
TEXT_COLUMNS = (2, 3, 4, 5, 6)


@dataclass(frozen=True)
class Filters:
    """What the page narrows the trail to; every field optional."""

    person: str = ""  # a staff member's username
    tracking_no: str = ""
    action: str = ""  # an action, or a family of them ("report" is every report.*)
    since: date | None = None
    until: date | None = None  # inclusive

    @classmethod
    def from_args(cls, args: Mapping[str, str]) -> tuple[Filters, list[str]]:
        """The filters of a query string, and the names of any that could not be read."""
        problems: list[str] = []

        def day(key: str, label: str) -> date | None:
            raw = (args.get(key) or "").strip()
            if not raw:
                return None
            try:
                return date.fromisoformat(raw)
            except ValueError:
                problems.append(label)
                return None

        since, until = day("since", "开始日期"), day("until", "结束日期")
        if since and until and since > until:
            problems.append("日期范围")
        return cls(person=(args.get("person") or "").strip()[:64],
                   tracking_no=(args.get("report") or "").strip()[:40],
                   action=(args.get("action") or "").strip()[:40],
                   since=since, until=until), problems

    def to_args(self) -> dict[str, str]:
        out = {"person": self.person, "report": self.tracking_no, "action": self.action,
               "since": self.since.isoformat() if self.since else "",
               "until": self.until.isoformat() if self.until else ""}
        return {k: v for k, v in out.items() if v}


def may_read(user: User) -> bool:
    return user.active and user.role in AUDIT_ROLES


def _where(session: Session, viewer: User, f: Filters) -> list[sa.ColumnElement[bool]]:
    clauses: list[sa.ColumnElement[bool]] = []
    if access.visible_units(session, viewer) is not None:
        seen = sa.select(Report.id).where(access.report_scope(session, viewer))
        clauses.append(sa.or_(AuditEntry.report_id.is_(None), AuditEntry.report_id.in_(seen)))
    if f.person:
        clauses.append(AuditEntry.user_id.in_(
            sa.select(User.id).where(sa.func.lower(User.username) == f.person.lower())))
    if f.tracking_no:
        clauses.append(AuditEntry.report_id.in_(
            sa.select(Report.id).where(Report.tracking_no == f.tracking_no)))
    if f.action:
        clauses.append(sa.or_(AuditEntry.action == f.action,
                              AuditEntry.action.startswith(f.action + ".", autoescape=True)))
    if f.since:
        clauses.append(AuditEntry.at >= _start(f.since))
    if f.until:
        clauses.append(AuditEntry.at < _start(f.until + timedelta(days=1)))
    return clauses


def _start(day: date) -> datetime:
    return datetime.combine(day, time(), OFFICE_TZ).astimezone(UTC)


@dataclass(frozen=True)
class Line:
    """One entry as the page and the file show it."""

    id: int
    at: datetime
    actor: str  # a staff member's name, 反映人 #id, or 系统
    action: str
    tracking_no: str | None
    object: str
    detail: dict[str, Any]
    hash: str
    kind: str = "user"  # who acted: user, reporter or system

    @property
    def reporter_no(self) -> str:
        """The reporter's "#id" for a page that names 反映人 in its own language."""
        return self.actor.split(" ", 1)[1] if self.kind == "reporter" else ""


def _select(session: Session, viewer: User, f: Filters) -> Any:
    person = aliased(User)
    return (sa.select(AuditEntry, person.username, person.display_name, Report.tracking_no)
            .outerjoin(person, person.id == AuditEntry.user_id)
            .outerjoin(Report, Report.id == AuditEntry.report_id)
            .where(*_where(session, viewer, f)))


def _line(entry: AuditEntry, username: str | None, display: str | None,
          tracking_no: str | None) -> Line:
    if entry.actor == "user":
        actor = f"{display or username} ({username})" if username else f"#{entry.user_id}"
    elif entry.actor == "reporter":
        actor = f"反映人 #{entry.reporter_id}"
    else:
        actor = "系统"
    return Line(entry.id, entry.at, actor, entry.action, tracking_no, entry.object,
                entry.detail or {}, entry.hash, entry.actor)


def page(session: Session, viewer: User, f: Filters, page_no: int = 1,
         per_page: int = 50) -> tuple[list[Line], int]:
    """One page of the entries `viewer` may read that match `f`, newest first; and how many."""
    total = session.scalar(sa.select(sa.func.count()).select_from(AuditEntry)
                           .where(*_where(session, viewer, f))) or 0
    rows = session.execute(_select(session, viewer, f).order_by(AuditEntry.id.desc())
                           .limit(per_page).offset((max(page_no, 1) - 1) * per_page)).all()
    return [_line(*row) for row in rows], total


def actions(session: Session) -> list[str]:
    """Every action the trail holds, for the page's menu."""
    return list(session.scalars(sa.select(AuditEntry.action).distinct().order_by(AuditEntry.action)))


def log_export(session: Session, viewer: User, f: Filters) -> None:
    """The export of the trail is itself an entry: who took which part of it out."""
    record(session, "audit.exported", detail={"filters": f.to_args(), "via": "console",
                                              "by": viewer.username})


def csv_file(session: Session, viewer: User, f: Filters, batch: int = 1000) -> Iterator[bytes]:
    """The matching entries, oldest first, as CSV (UTF-8 with a BOM, formulas defused)."""

    def rows() -> Iterator[list[sheets.Cell]]:
        stmt = _select(session, viewer, f).order_by(AuditEntry.id)
        for row in session.execute(stmt.execution_options(yield_per=batch)):
            line = _line(*row)
            yield [line.id, line.at.astimezone(OFFICE_TZ).strftime("%Y-%m-%d %H:%M:%S"),
                   line.actor, line.action, line.tracking_no or "", line.object,
                   detail_text(line.detail), line.hash]

    return sheets.csv_chunks(HEADER, rows(), TEXT_COLUMNS)


def detail_text(detail: Mapping[str, Any]) -> str:
    """`key: value; ...`, as the page and the file show an entry's detail."""
    return "; ".join(f"{k}: {v}" for k, v in detail.items() if v not in (None, "", {}, []))

