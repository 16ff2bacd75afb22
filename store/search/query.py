"""Finding reports: free text and filters together, under the same access rules as the inbox.

`Filters` is what a search page's URL says; `search` runs it against the
index (`store.search.index`), `like_search` runs the same thing with a plain
`LIKE` scan (the benchmark's baseline, and a check in the tests).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields, replace
from datetime import UTC, date, datetime, time, timedelta, timezone
from typing import Any

import sqlalchemy as sa
from markupsafe import Markup, escape
from sqlalchemy.orm import Session, joinedload

from store import access
from store.models import (
    AdoptionLevel,
    Channel,
    CollectionPoint,
    Report,
    Reporter,
    ReporterKind,
    ReportNote,
    ReportSource,
    ReportStatus,
    Urgency,
    User,
    utcnow,
)
from store.outputs import adoption, criteria
from store.outputs.journal import rules as journal_rules
from store.reports import lifecycle
from store.reports import queries as reports
from store.review import overdue
from store.search import index, matching, text

BEIJING = timezone(timedelta(hours=8))
SORTS = ("new", "relevance")
MAX_PER_PAGE = 100
MAX_PAGE = 10_000
# SQLite: above this many matches, a filtered count walks the filtered reports instead.
DRIVE_FROM_FILTERS = 2_000
# The days a period may name: beyond them, a Beijing midnight has no UTC time to compare with.
FIRST_DAY, LAST_DAY = date(1900, 1, 1), date(2999, 12, 31)


def is_number(raw: str) -> bool:
    """Whether `raw` is a whole number in ASCII digits ("²" and "١" are digits, not numbers)."""
    return raw.isascii() and raw.isdigit()


def read_day(raw: str) -> date:
    """A YYYY-MM-DD date from FIRST_DAY to LAST_DAY; ValueError otherwise."""
    day = date.fromisoformat(raw)
    if not FIRST_DAY <= day <= LAST_DAY:
        raise ValueError(f"{raw}: not between {FIRST_DAY} and {LAST_DAY}")
    return day


@dataclass(frozen=True)
class Filters:
    """A search: free text plus filters, all of which must hold."""

    q: str = ""
    status: tuple[str, ...] = ()
    level: int | None = None
    category: str | None = None
    point_id: int | None = None
    unit_id: int | None = None
    reporter_kind: str | None = None
    urgency: str | None = None
    topic_id: int | None = None
    date_from: date | None = None
    date_to: date | None = None
    overdue: bool = False
    days: int | None = None  # submitted within the last N days (a view that stays current)
    mine: bool = False  # 待我审核: pending at a level the user signs off
    upward: bool = False  # reported upward (报送) at least once
    adopted: str | None = None  # adopted at this level or above (an AdoptionLevel value)
    carried: bool = False  # carried in a published journal issue (issue 12)
    channel: str | None = None  # the reporter's channel (a Channel value)
    member_id: int | None = None  # counted for this roster member (Report.member_id)
    source: str | None = None  # where it came from (a ReportSource value)
    instructed: str | None = None  # a 批示 at this level (an AdoptionLevel value)
    rated: str | None = None  # the reporter's rating (store.outputs.criteria.RATINGS)
    sort: str = "new"
    page: int = 1
    per_page: int = 20

    @classmethod
    def from_args(cls, args: Mapping[str, Any]) -> tuple[Filters, list[str]]:
        """Filters from a URL's query; what could not be read is left out and named."""
        problems: list[str] = []
        values: dict[str, Any] = {}

        def get(key: str) -> str:
            raw = args.get(key)
            return str(raw).strip() if raw is not None else ""

        def integer(key: str, low: int = 0, high: int = 2**31 - 1) -> int | None:
            raw = get(key)
            if not raw:
                return None
            if is_number(raw) and low <= int(raw) <= high:
                return int(raw)
            problems.append(key)
            return None

        def day(key: str) -> date | None:
            raw = get(key)
            if not raw:
                return None
            try:
                return read_day(raw)
            except ValueError:
                problems.append(key)
                return None

        def choice(key: str, allowed: Iterable[str]) -> str | None:
            raw = get(key)
            if raw and raw not in allowed:
                problems.append(key)
                return None
            return raw or None

        values["q"] = get("q")
        getlist = getattr(args, "getlist", None)
        raw_status = getlist("status") if getlist else [get("status")]
        statuses = []
        for raw in raw_status:
            for part in str(raw).split(","):
                if part.strip():
                    if part.strip() in ReportStatus.__members__.values():
                        statuses.append(part.strip())
                    else:
                        problems.append("status")
        values["status"] = tuple(dict.fromkeys(statuses))
        values["level"] = integer("level", 0, 10)
        values["category"] = get("category")[:40] or None
        values["point_id"] = integer("point")
        values["unit_id"] = integer("unit")
        kind = get("reporter")
        if kind and kind not in ReporterKind.__members__.values():
            problems.append("reporter")
            kind = ""
        values["reporter_kind"] = kind or None
        urgency = get("urgency")
        if urgency and urgency not in Urgency.__members__.values():
            problems.append("urgency")
            urgency = ""
        values["urgency"] = urgency or None
        values["topic_id"] = integer("topic")
        values["date_from"], values["date_to"] = day("from"), day("to")
        values["overdue"] = get("overdue") in ("1", "on", "true")
        values["days"] = integer("days", 1, 3660)
        values["mine"] = get("mine") in ("1", "on", "true")
        values["upward"] = get("upward") in ("1", "on", "true")
        adopted = get("adopted")
        if adopted and adopted not in AdoptionLevel.__members__.values():
            problems.append("adopted")
            adopted = ""
        values["adopted"] = adopted or None
        values["carried"] = get("carried") in ("1", "on", "true")
        values["channel"] = choice("channel", Channel.__members__.values())
        values["member_id"] = integer("member")
        values["source"] = choice("source", ReportSource.__members__.values())
        values["instructed"] = choice("instructed", AdoptionLevel.__members__.values())
        values["rated"] = choice("rated", criteria.RATINGS)
        sort = get("sort") or "new"
        if sort not in SORTS:
            problems.append("sort")
            sort = "new"
        values["sort"] = sort
        values["page"] = integer("page", 1, MAX_PAGE) or 1
        values["per_page"] = integer("per_page", 1, MAX_PER_PAGE) or 20
        return cls(**values), problems

    def to_args(self, **changes: Any) -> dict[str, str]:
        """The URL query for these filters (defaults left out), with `changes` applied."""
        me = replace(self, **changes) if changes else self
        out: dict[str, str] = {}
        names = {"point_id": "point", "unit_id": "unit", "reporter_kind": "reporter",
                 "topic_id": "topic", "date_from": "from", "date_to": "to",
                 "member_id": "member"}
        default = Filters()
        for f in fields(self):
            value = getattr(me, f.name)
            if value == getattr(default, f.name):
                continue
            key = names.get(f.name, f.name)
            if f.name == "status":
                out[key] = ",".join(value)
            elif isinstance(value, bool):
                out[key] = "1"
            else:
                out[key] = str(value)
        return out

    @property
    def filtered(self) -> bool:
        """Any filter besides text, sort and paging is set."""
        return bool(replace(self, q="", sort="new", page=1, per_page=20).to_args())


@dataclass
class Hit:
    report: Report
    title: Markup
    snippet: Markup | None = None


@dataclass
class Results:
    hits: list[Hit]
    total: int
    filters: Filters
    query: text.Query = field(default_factory=lambda: text.Query((), False))
    notice: str | None = None

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.filters.per_page))


def search(session: Session, user: User, filters: Filters) -> Results:
    """Reports `user` may see that match `filters`, a page of them and how many in all."""
    fold = index.fold_traditional(session)
    query = text.parse(filters.q, fold)
    notes_too = user.role in access.OFFICE_ROLES
    reach = access.reach(session, user)
    within = matching.received_read(session, reach.report_units())
    ranked = filters.sort == "relevance" and not query.empty
    if not query.empty and not ranked and within is not None and not filters.filtered:
        # The index keeps to exactly what the user sees (their units, what was sent up
        # to them) and nothing else is asked: one pass over their matches gives both the
        # page and the count, without the scope's WHERE clause.
        ids, total = matching.units_page(session, query, notes_too, within, filters.page,
                                         filters.per_page)
        return Results(_hits(session, ids, query, fold, notes_too), total, filters, query,
                       _notice(filters, query))
    where = _where(session, user, filters, reach.scope())
    total = _count(session, where, query, notes_too, within, reach.scopes())
    base = sa.select(Report.id)
    newest: Any = Report.id
    rank: sa.ColumnElement[Any] | None = None
    if not query.empty:
        # A few matches are best collected first; many are best met walking newest-first.
        few = ranked or matching.sparse(session, total, filters.page, filters.per_page, query,
                                       notes_too)
        base, newest, rank, _ = matching.match_words(session, base, query, notes_too, ranked,
                                                     few, within)
    # Newest first is the index's own order (ids grow with time), so a page of a
    # common word costs no sort of every match; without words, created_at's index
    # serves both the order and any date range.
    order: list[Any] = [newest.desc()] if not query.empty else \
        [Report.created_at.desc(), Report.id.desc()]
    if rank is not None and ranked:
        order.insert(0, rank)
    ids = list(session.scalars(base.where(*where).order_by(*order).limit(filters.per_page)
                               .offset((filters.page - 1) * filters.per_page)))
    return Results(_hits(session, ids, query, fold, notes_too), total, filters, query,
                   _notice(filters, query))


def count(session: Session, user: User, filters: Filters) -> int:
    """How many reports `user` may see match `filters` (a saved view's tab), without a page."""
    query = text.parse(filters.q, index.fold_traditional(session))
    reach = access.reach(session, user)
    return _count(session, _where(session, user, filters, reach.scope()), query,
                  user.role in access.OFFICE_ROLES,
                  matching.received_read(session, reach.report_units()), reach.scopes())


def _count(session: Session, where: list[sa.ColumnElement[bool]], query: text.Query,
           notes_too: bool, within: matching.Within = None,
           scopes: list[sa.ColumnElement[bool]] | None = None) -> int:
    """How many reports meet `where`, whose first clause is the user's scope, the OR of
    `scopes` when given: then counted under each of them apart (`access.disjoint`) and
    summed, so each is read on its own index (a county clerk's filtered page at a million
    reports on PostgreSQL: 0.26 s under the OR)."""
    counted = sa.select(Report.id)
    if not query.empty:
        joined, _, _, only_text = matching.match_words(session, counted, query, notes_too,
                                                       False, False, within)
        # Counting in the index alone is cheap (its lists, no reports).
        matches = session.scalar(sa.select(sa.func.count()).select_from(only_text.subquery()))
        if len(where) == 1 and (isinstance(where[0], sa.sql.elements.True_) or within is not None):
            # Nothing else to check: the user sees every report, or the index kept to
            # exactly the user's units and what was sent up to them (`where` is the scope).
            return matches or 0
        if session.get_bind().dialect.name == "sqlite" and (matches or 0) > DRIVE_FROM_FILTERS:
            # Many matches: walk the reports the filters allow (a unit's index) and
            # check each against the list of matches, rather than visit every match.
            # (`id + 0` keeps SQLite from turning the list into rowid lookups.)
            counted = counted.where((Report.id + 0).in_(only_text))
        elif session.get_bind().dialect.name == "sqlite":
            counted = joined  # few matches: visit each
        else:
            counted = counted.where(Report.id.in_(only_text))
    scoped = access.disjoint(scopes) if scopes else where[:1]
    return sum(session.scalar(sa.select(sa.func.count())
                              .select_from(counted.where(clause, *where[1:]).subquery())) or 0
               for clause in scoped)


def selection(session: Session, user: User, filters: Filters,
              base: sa.Select[Any]) -> sa.Select[Any]:
    """`base` (a select from `Report`) kept to every report `search` finds, newest first,
    without a page: what an export writes."""
    query = text.parse(filters.q, index.fold_traditional(session))
    reach = access.reach(session, user)
    where = _where(session, user, filters, reach.scope())
    if query.empty:
        return base.where(*where).order_by(Report.created_at.desc(), Report.id.desc())
    # Every match is read anyway: collect them first (PostgreSQL), then walk newest first.
    base, newest, _, _ = matching.match_words(session, base, query,
                                              user.role in access.OFFICE_ROLES, False, True,
                                              matching.received_read(session,
                                                                     reach.report_units()))
    return base.where(*where).order_by(newest.desc())


def like_search(session: Session, user: User, filters: Filters) -> Results:
    """The same search with `LIKE '%word%'` over the text columns: no index, for comparison."""
    query = text.parse(filters.q)
    notes_too = user.role in access.OFFICE_ROLES
    base = sa.select(Report.id).where(*_where(session, user, filters))
    for term in query.terms:
        pattern = f"%{term.text}%"
        cond = [getattr(Report, c).ilike(pattern) for c in index.TEXT_COLUMNS]
        if notes_too:
            cond.append(sa.exists().where(ReportNote.report_id == Report.id,
                                          ReportNote.text.ilike(pattern)))
        base = base.where(sa.or_(*cond))
    total = session.scalar(sa.select(sa.func.count()).select_from(base.subquery())) or 0
    ids = list(session.scalars(base.order_by(Report.id.desc()).limit(filters.per_page)
                               .offset((filters.page - 1) * filters.per_page)))
    return Results(_hits(session, ids, query, False, notes_too), total, filters, query,
                   _notice(filters, query))


def _where(session: Session, user: User, filters: Filters,
           scope: sa.ColumnElement[bool] | None = None) -> list[sa.ColumnElement[bool]]:
    """The WHERE clauses of `filters` for `user`; `scope` is `access.report_scope`'s answer
    when the caller has it already."""
    if scope is None:
        scope = access.report_scope(session, user)
    where: list[sa.ColumnElement[bool]] = [scope]
    if filters.status:
        # 已采用 is a fact, not only a state: a report adopted and then transferred,
        # handled or closed is still adopted.
        others = [s for s in filters.status if s != ReportStatus.ADOPTED.value]
        states: list[sa.ColumnElement[bool]] = [Report.status.in_(others)] if others else []
        if len(others) < len(filters.status):
            states.append(adoption.adopted())
        where.append(states[0] if len(states) == 1 else sa.or_(*states))
    if filters.level is not None:
        where.append(sa.and_(Report.status.in_(lifecycle.PENDING),
                             Report.review_level == filters.level))
    if filters.category:
        where.append(Report.category == filters.category)
    if filters.point_id is not None:
        tree = sa.select(CollectionPoint.id).where(CollectionPoint.id == filters.point_id) \
            .cte("point_tree", recursive=True)
        tree = tree.union_all(sa.select(CollectionPoint.id)
                              .where(CollectionPoint.parent_id == tree.c.id))
        where.append(Report.point_id.in_(sa.select(tree.c.id)))
    if filters.unit_id is not None:
        where.append(Report.unit_id.in_(access.unit_subtree(session, filters.unit_id)))
    if filters.reporter_kind:
        where.append(sa.exists().where(Reporter.id == Report.reporter_id,
                                       Reporter.kind == filters.reporter_kind))
    if filters.urgency:
        where.append(Report.urgency == filters.urgency)
    if filters.topic_id is not None:
        where.append(Report.topic_id == filters.topic_id)
    if filters.date_from:
        where.append(Report.created_at >= _utc(filters.date_from))
    if filters.date_to:
        where.append(Report.created_at < _utc(filters.date_to + timedelta(days=1)))
    if filters.days:
        where.append(Report.created_at >= utcnow() - timedelta(days=filters.days))
    if filters.mine:
        where.append(reports.queue_scope(session, user))
    if filters.upward:
        where.append(adoption.reported_upward())
    if filters.adopted:
        where.append(adoption.adopted_at_least(AdoptionLevel(filters.adopted)))
    if filters.overdue:
        where.append(overdue.clause())
    if filters.carried:
        where.append(journal_rules.carried())
    if filters.channel:
        where.append(sa.exists().where(Reporter.id == Report.reporter_id,
                                       Reporter.channel == filters.channel))
    if filters.member_id is not None:
        where.append(Report.member_id == filters.member_id)
    if filters.source:
        where.append(Report.source == filters.source)
    if filters.instructed:
        where.append(criteria.instructed(filters.instructed))
    if filters.rated:
        where.append(criteria.rated(filters.rated))
    return where


def _utc(day: date) -> datetime:
    """Midnight of a Beijing date, as the stored UTC time."""
    return datetime.combine(day, time(), BEIJING).astimezone(UTC)


SNIPPET_FIELDS = ("situation", "analysis", "suggestion", "summary", "place")


def _hits(session: Session, ids: list[int], query: text.Query, fold: bool,
          notes_too: bool) -> list[Hit]:
    if not ids:
        return []
    rows = {r.id: r for r in session.scalars(
        sa.select(Report).where(Report.id.in_(ids))
        .options(joinedload(Report.point), joinedload(Report.topic)))}
    hits = [Hit(rows[rid], text.highlight(rows[rid].title, query, fold)) for rid in ids]
    if query.empty:
        return hits
    bare = []
    for hit in hits:
        hit.snippet = _field_snippet(hit.report, query, fold)
        if hit.snippet is None:
            bare.append(hit)
    # The reports whose own text does not hold the words (a title or a note matched):
    # their notes read in one query for the page, not one per report.
    noted = _note_snippets(session, [h.report.id for h in bare], query, fold) \
        if bare and notes_too else {}
    for hit in bare:
        hit.snippet = noted.get(hit.report.id) or escape((hit.report.situation or "")[:80])
    return hits


def _field_snippet(report: Report, query: text.Query, fold: bool) -> Markup | None:
    for name in SNIPPET_FIELDS:
        found = text.snippet(getattr(report, name) or "", query, fold)
        if found is not None:
            return found
    return None


def _note_snippets(session: Session, ids: list[int], query: text.Query,
                   fold: bool) -> dict[int, Markup]:
    """Report id -> a snippet of its first note (oldest first) that holds the words."""
    out: dict[int, Markup] = {}
    for rid, note in session.execute(sa.select(ReportNote.report_id, ReportNote.text)
                                     .where(ReportNote.report_id.in_(ids))
                                     .order_by(ReportNote.report_id, ReportNote.id)):
        if rid not in out:
            found = text.snippet(note, query, fold)
            if found is not None:
                out[rid] = Markup("内部备注：") + found
    return out


def _notice(filters: Filters, query: text.Query) -> str | None:
    if filters.q.strip() and query.empty:
        return "搜索词里没有可以搜索的文字或数字，已按其他条件列出。"
    if query.cut:
        return f"搜索词太长，只用了前 {text.MAX_QUERY_CHARS} 个字（最多 {text.MAX_TERMS} 个词）。"
    return None


def highlighted(session: Session, report: Report, q: str) -> dict[str, Markup]:
    """The report's text fields escaped, with `q`'s words marked (for the report page)."""
    fold = index.fold_traditional(session)
    query = text.parse(q, fold)
    return {name: text.highlight(getattr(report, name) or "", query, fold)
            for name in ("title", *SNIPPET_FIELDS)}
