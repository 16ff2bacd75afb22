"""What the read API answers, as plain JSON-ready values (issue 13; described in web/api/openapi.json).

Every function reads for an `apitokens.Caller` and keeps to what its token's
unit may see: reports through `store.search` (the inbox's rules and filters),
units and points by the token's subtree, statistics through
`store.outputs.stats`, published journal issues by the reports they carry (an
issue is listed when it carries one of the token's reports, and shows only
those items). No reporter's identity is ever part of an answer.

Marked reports (`Report.mark` above 公开, `store.reports.marks`) answer with
their id, tracking number, status and mark only (`withheld`), in lists, alone
and as journal items, unless the token was issued with the `marked`
permission (an administrator's choice, `apitokens.issue(marked=True)`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session, selectinload

from store import access
from store.errors import DomainError
from store.models import (
    AdoptionLevel,
    CollectionPoint,
    IssueStatus,
    JournalIssue,
    JournalItem,
    Report,
    ReportStatus,
    Unit,
)
from store.outputs import adoption, stats
from store.outputs.apitokens import Caller
from store.reports import lifecycle
from store.search.query import BEIJING, FIRST_DAY, LAST_DAY, Filters, is_number, read_day, search

MAX_PER_PAGE = 100
MAX_PAGE = 100_000
MAX_ID = 2**31 - 1  # ids are 32-bit: a larger one names nothing
BACKWARDS = "the period ends before it starts: to is earlier than from"


class Refused(DomainError):
    """The token may not read this (403)."""


class BadRequest(DomainError):
    """The request's parameters cannot be read (400)."""


class NotFound(DomainError):
    """No such thing (404)."""


@dataclass(frozen=True)
class Paging:
    page: int = 1
    per_page: int = 50

    @classmethod
    def from_args(cls, args: Mapping[str, Any], default: int = 50) -> Paging:
        page, per_page = _int(args, "page", 1, MAX_PAGE, 1), _int(args, "per_page", 1, MAX_PER_PAGE, default)
        return cls(page, per_page)

    def envelope(self, items: list[dict[str, Any]], total: int) -> dict[str, Any]:
        return {"items": items, "page": self.page, "per_page": self.per_page, "total": total,
                "pages": max(1, -(-total // self.per_page))}


def _int(args: Mapping[str, Any], key: str, low: int, high: int, default: int) -> int:
    raw = str(args.get(key) or "").strip()
    if not raw:
        return default
    if not is_number(raw) or not low <= int(raw) <= high:
        raise BadRequest(f"{key} must be a whole number from {low} to {high}")
    return int(raw)


def _time(at: datetime | None) -> str | None:
    return at.astimezone(UTC).isoformat().replace("+00:00", "Z") if at else None


def reports(session: Session, caller: Caller, args: Mapping[str, Any],
            categories: Mapping[str, str]) -> dict[str, Any]:
    """A page of the reports the token may see, filtered as the inbox and 检索 filter them."""
    filters, problems = Filters.from_args(args)
    if problems:
        raise BadRequest("these filters could not be read: " + ", ".join(problems))
    if filters.mine:
        raise BadRequest("mine (待我审核) is a staff member's queue, not a token's")
    if filters.date_from and filters.date_to and filters.date_to < filters.date_from:
        raise BadRequest(BACKWARDS)
    _check_unit(session, caller, filters.unit_id)
    if filters.point_id is not None:
        point = session.get(CollectionPoint, filters.point_id)
        if point is not None:
            _check_unit(session, caller, point.unit_id, what="point")
    found = search(session, caller.reader, filters)
    levels = adoption.highest_levels(session, [h.report.id for h in found.hits])
    items = [withheld(h.report) if _withheld(caller, h.report)
             else report_item(h.report, categories, levels.get(h.report.id)) for h in found.hits]
    return Paging(filters.page, filters.per_page).envelope(items, found.total)


def report(session: Session, caller: Caller, report_id: int,
           categories: Mapping[str, str]) -> dict[str, Any]:
    """One report in full (its text, never who filed it)."""
    found = session.get(Report, report_id) if 0 < report_id <= MAX_ID else None
    if found is None:
        raise NotFound(f"no report {report_id}")
    if not access.can_see(session, caller.reader, found):
        raise Refused(f"report {report_id} is outside this token's units")
    if _withheld(caller, found):
        return withheld(found)
    item = report_item(found, categories, adoption.highest(session, found))
    item.update(situation=found.situation, analysis=found.analysis, suggestion=found.suggestion,
                place=found.place, satisfaction=found.satisfaction,
                updated_at=_time(found.updated_at))
    return item


def _withheld(caller: Caller, r: Report) -> bool:
    return r.mark > 0 and not caller.marked


def withheld(r: Report) -> dict[str, Any]:
    """A marked report for a token without the `marked` permission: that it exists, no content."""
    return {"id": r.id, "tracking_no": r.tracking_no, "status": r.status.value, "mark": r.mark,
            "withheld": True}


def report_item(r: Report, categories: Mapping[str, str],
                level: AdoptionLevel | None) -> dict[str, Any]:
    """A report as the API lists it; `level` is the highest that adopted it (store.outputs.adoption)."""
    pending = r.status in lifecycle.PENDING
    return {
        "id": r.id, "tracking_no": r.tracking_no, "title": r.title,
        "category": r.category, "category_label": categories.get(r.category, r.category),
        "status": r.status.value, "urgency": r.urgency.value,
        "review_level": r.review_level if pending else None,
        "adoption_level": level.value if level else None,
        "unit_id": r.unit_id, "point_id": r.point_id,
        "point_name": r.point.name if r.point is not None else None,
        "topic_id": r.topic_id, "summary": r.summary,
        "created_at": _time(r.created_at), "decided_at": _time(r.decided_at), "mark": r.mark,
    }


def units(session: Session, caller: Caller, args: Mapping[str, Any]) -> dict[str, Any]:
    """The units of the token's subtree, by id."""
    paging = Paging.from_args(args)
    query = sa.select(Unit)
    if caller.unit_id is not None:
        query = query.where(Unit.id.in_(access.unit_subtree(session, caller.unit_id)))
    total, rows = _page(session, query, Unit.id, paging)
    return paging.envelope([{"id": u.id, "name": u.name, "kind": u.kind.value,
                             "parent_id": u.parent_id, "retired": u.retired_at is not None}
                            for u in rows], total)


def points(session: Session, caller: Caller, args: Mapping[str, Any]) -> dict[str, Any]:
    """The collection points of the token's subtree (or of `unit` and below, if it is the token's)."""
    paging = Paging.from_args(args)
    unit_id = _int(args, "unit", 1, 2**31 - 1, 0) or None
    _check_unit(session, caller, unit_id)
    query = sa.select(CollectionPoint).where(access.point_scope(session, caller.reader))
    if unit_id is not None:
        query = query.where(CollectionPoint.unit_id.in_(access.unit_subtree(session, unit_id)))
    total, rows = _page(session, query, CollectionPoint.id, paging)
    return paging.envelope([{"id": p.id, "name": p.name, "code": p.code, "kind": p.kind.value,
                             "unit_id": p.unit_id, "parent_id": p.parent_id, "address": p.address,
                             "active": p.active} for p in rows], total)


def overview(session: Session, caller: Caller, args: Mapping[str, Any]) -> dict[str, Any]:
    """`store.outputs.stats.overview` of the token's reports submitted in [from, to] (Beijing dates)."""
    since, until = _day(args, "from"), _day(args, "to")
    if since and until and until < since:
        raise BadRequest(BACKWARDS)
    o = stats.overview(session, caller.reader,
                       _midnight(since) if since else None,
                       _midnight(until + timedelta(days=1)) if until else None)

    def rows(items: list[stats.Row]) -> list[dict[str, Any]]:
        return [{"id": r.id, "name": r.name, "submitted": r.submitted, "adopted": r.adopted,
                 "instructed": r.instructed} for r in items]

    return {
        "from": since.isoformat() if since else None, "to": until.isoformat() if until else None,
        "total": o.total,
        "by_status": {s.value: o.by_status.get(s, 0) for s in ReportStatus},
        "adopted": o.adopted, "adopted_by_level": _at_least(o.adopted_by_level),
        "instructions": o.instructions,
        "instructions_by_level": {k.value: v for k, v in o.instructions_by_level.items()},
        "median_hours_to_decision": o.median_hours_to_decision, "decided": o.decided,
        "per_unit": rows(o.per_unit), "per_point": rows(o.per_point),
    }


def _at_least(highest: Mapping[AdoptionLevel, int]) -> dict[str, int]:
    """Reports adopted at each level or above, as the dashboard counts them, from each one's highest."""
    out: dict[str, int] = {}
    above = 0
    for level in reversed(adoption.LEVELS):
        above += highest.get(level, 0)
        out[level.value] = above
    return {level.value: out[level.value] for level in adoption.LEVELS}


def _day(args: Mapping[str, Any], key: str) -> date | None:
    raw = str(args.get(key) or "").strip()
    if not raw:
        return None
    try:
        return read_day(raw)
    except ValueError:
        raise BadRequest(f"{key} must be a date, YYYY-MM-DD, from {FIRST_DAY} to {LAST_DAY}") from None


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time(), BEIJING).astimezone(UTC)


def _check_unit(session: Session, caller: Caller, unit_id: int | None, what: str = "unit") -> None:
    if unit_id is not None and not caller.covers(session, unit_id):
        raise Refused(f"this {what} is outside the token's units")


def _page(session: Session, query: sa.Select[Any], order: Any, paging: Paging) -> tuple[int, list[Any]]:
    total = session.scalar(sa.select(sa.func.count()).select_from(query.subquery())) or 0
    rows = list(session.scalars(query.order_by(order).limit(paging.per_page)
                                .offset((paging.page - 1) * paging.per_page)))
    return total, rows


def _published_in_scope(session: Session, caller: Caller) -> sa.ColumnElement[bool]:
    """WHERE clause on `JournalIssue`: published, carrying a report the token may see."""
    seen = (sa.select(JournalItem.issue_id).join(Report, Report.id == JournalItem.report_id)
            .where(access.report_scope(session, caller.reader)))
    return sa.and_(JournalIssue.status == IssueStatus.PUBLISHED, JournalIssue.id.in_(seen))


def journal_issues(session: Session, caller: Caller, args: Mapping[str, Any]) -> dict[str, Any]:
    """A page of the published issues (《社情民意》 ...) carrying reports of the token's units,
    newest first; `series` (an id) and `year` narrow it. Drafts and issues signed off but not yet
    published are not the API's: they may still change."""
    paging = Paging.from_args(args, default=20)
    series_id = _int(args, "series", 1, 2**31 - 1, 0) or None
    year = _int(args, "year", 2000, 2999, 0) or None
    query = sa.select(JournalIssue).where(_published_in_scope(session, caller))
    if series_id is not None:
        query = query.where(JournalIssue.series_id == series_id)
    if year is not None:
        query = query.where(JournalIssue.year == year)
    total = session.scalar(sa.select(sa.func.count()).select_from(query.subquery())) or 0
    rows = list(session.scalars(
        query.options(selectinload(JournalIssue.series), selectinload(JournalIssue.items))
        .order_by(JournalIssue.published_at.desc(), JournalIssue.id.desc())
        .limit(paging.per_page).offset((paging.page - 1) * paging.per_page)))
    shown = _visible_items(session, caller, rows)
    return paging.envelope([_issue_item(i, len(shown[i.id])) for i in rows], total)


def journal_issue(session: Session, caller: Caller, issue_id: int) -> dict[str, Any]:
    """One published issue with the items the token may see, in the issue's order."""
    found = session.get(JournalIssue, issue_id)
    if found is None or found.status is not IssueStatus.PUBLISHED:
        raise NotFound(f"no published issue {issue_id}")
    shown = _visible_items(session, caller, [found])[found.id]
    if not shown:
        raise Refused(f"issue {issue_id} carries nothing of this token's units")
    out = _issue_item(found, len(shown))
    out.update(note=found.note, items=[_journal_item(caller, n, item)
                                       for n, item in enumerate(shown, start=1)])
    return out


def _journal_item(caller: Caller, n: int, item: JournalItem) -> dict[str, Any]:
    hide = _withheld(caller, item.report)
    return {"position": n, "report_id": item.report_id, "tracking_no": item.report.tracking_no,
            "title": None if hide else item.title, "body": None if hide else item.body,
            "note": None if hide else item.note, "source": None if hide else item.source,
            "withheld": hide}


def _visible_items(session: Session, caller: Caller,
                   issues: list[JournalIssue]) -> dict[int, list[JournalItem]]:
    ids = {item.report_id for issue in issues for item in issue.items}
    seen = set(session.scalars(sa.select(Report.id).where(
        Report.id.in_(ids), access.report_scope(session, caller.reader)))) if ids else set()
    return {issue.id: [item for item in issue.items if item.report_id in seen] for issue in issues}


def _issue_item(issue: JournalIssue, visible: int) -> dict[str, Any]:
    return {
        "id": issue.id, "series_id": issue.series_id, "series": issue.series.name,
        "year": issue.year, "number": issue.number, "total_number": issue.total_number,
        "label": f"{issue.year}年第{issue.number}期", "status": issue.status.value,
        "signed_off_at": _time(issue.signed_off_at), "published_at": _time(issue.published_at),
        "items_total": len(issue.items), "items_visible": visible,
    }
