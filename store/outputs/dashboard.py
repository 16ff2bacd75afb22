"""The 统计 dashboard: a period's figures, grouped by unit, point, member, category, channel or source.

Everything counts the reports submitted in the period (`store.outputs.period`)
that the user may see (`store.access`), each figure with the filters of the
inbox behind it (`Link.args`, read by `store.search.query.Filters`), so a
count and the list it clicks through to agree. Adoption is read from its facts
(`store.outputs.adoption`), never from `Report.status`; 批示 and ratings
through `store.outputs.criteria`.

Each figure is one grouped query (GROUP BY the dimension's column): the work
stays in the database, whatever the number of reports. Units and points are
trees: a row is its own reports and those of everything below it, as the
inbox's `unit=` and `point=` filters are.

A dimension is one line of `DIMENSIONS`: the column it groups by, the inbox
filter that selects a value of it, and how its values are named.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from store import access
from store.db import mapped
from store.models import (
    AdoptionLevel,
    CollectionPoint,
    Instruction,
    IssueStatus,
    JournalIssue,
    JournalItem,
    Member,
    Report,
    Reporter,
    ReportEvent,
    Unit,
    User,
)
from store.models.upward import UpwardRecord
from store.outputs import adoption, criteria
from store.outputs.period import Period
from store.review import deadlines

LEVELS = adoption.LEVELS
NAMELESS = "（未指定）"


@dataclass(frozen=True)
class Dimension:
    """What the rows are: `column` groups the reports, `arg` is the inbox's filter for one value."""

    key: str
    name: str
    column: Callable[[], Any]
    arg: str
    reporter: bool = False  # the column is on the reporter: join it
    tree: type[Unit] | type[CollectionPoint] | None = None  # roll rows up this tree
    office_only: bool = False  # names people: office staff only


DIMENSIONS: dict[str, Dimension] = {d.key: d for d in (
    Dimension("unit", "单位", lambda: Report.unit_id, "unit", tree=Unit),
    Dimension("point", "采集点", lambda: Report.point_id, "point", tree=CollectionPoint),
    Dimension("member", "委员", lambda: Report.member_id, "member", office_only=True),
    Dimension("category", "类别", lambda: Report.category, "category"),
    Dimension("channel", "渠道", lambda: Reporter.channel, "channel", reporter=True),
    Dimension("source", "来源", lambda: Report.source, "source"),
)}


def dimensions_for(user: User) -> list[Dimension]:
    return [d for d in DIMENSIONS.values() if not d.office_only or user.role in access.OFFICE_ROLES]


@dataclass
class Figures:
    """One row's figures (or the whole period's)."""

    received: int = 0
    # Reports adopted at each level or above: [county+, city+, province+, national].
    adopted_at: list[int] = field(default_factory=lambda: [0] * len(LEVELS))
    upward: int = 0
    carried: int = 0
    instructed: dict[AdoptionLevel, int] = field(default_factory=lambda: dict.fromkeys(LEVELS, 0))
    rated: dict[str, int] = field(default_factory=lambda: dict.fromkeys(criteria.RATINGS, 0))
    # Working days -> reports: to the first answer, to the decision.
    answer_days: Counter[int] = field(default_factory=Counter)
    decision_days: Counter[int] = field(default_factory=Counter)

    @property
    def adopted(self) -> int:
        return self.adopted_at[0]

    @property
    def adoption_rate(self) -> float | None:
        return self.adopted / self.received if self.received else None

    @property
    def satisfaction_rate(self) -> float | None:
        rated = sum(self.rated.values())
        return (self.rated["satisfied"] + self.rated["basically"]) / rated if rated else None

    @property
    def median_answer_days(self) -> float | None:
        return median(self.answer_days)

    @property
    def median_decision_days(self) -> float | None:
        return median(self.decision_days)

    def add(self, other: Figures) -> None:
        self.received += other.received
        self.adopted_at = [a + b for a, b in zip(self.adopted_at, other.adopted_at, strict=True)]
        self.upward += other.upward
        self.carried += other.carried
        for level, n in other.instructed.items():
            self.instructed[level] += n
        for rating, n in other.rated.items():
            self.rated[rating] += n
        self.answer_days.update(other.answer_days)
        self.decision_days.update(other.decision_days)


def median(days: Counter[int]) -> float | None:
    """The median of a histogram (value -> how many), as `statistics.median` would give it."""
    n = sum(days.values())
    if not n:
        return None
    wanted = ((n - 1) // 2, n // 2)  # the middle one, or the middle two
    found: list[int] = []
    seen = 0
    for value in sorted(days):
        seen += days[value]
        while len(found) < 2 and seen > wanted[len(found)]:
            found.append(value)
    return (found[0] + found[1]) / 2


@dataclass
class Row:
    key: Any  # the dimension's value (a unit's id, a category ...); None: reports without one
    name: str
    figures: Figures
    depth: int = 0  # in a tree: how far below the top of the user's scope


@dataclass
class Dashboard:
    period: Period
    dimension: Dimension
    total: Figures
    rows: list[Row]
    # Years of the period the office's holiday table does not cover (weekends only there).
    unknown_years: list[int] = field(default_factory=list)

    def link(self, row: Row | None, figure: str) -> dict[str, str] | None:
        """The inbox's URL query behind `figure` (see `FIGURE_ARGS`) of `row` (None: the total)."""
        args = {"from": self.period.start.isoformat(), "to": self.period.end.isoformat()}
        if row is not None:
            if row.key is None:
                return None
            args[self.dimension.arg] = str(row.key)
        args.update(FIGURE_ARGS[figure])
        return args


# The inbox's filters behind each figure (added to the period's and the row's).
FIGURE_ARGS: dict[str, dict[str, str]] = {
    "received": {},
    **{f"adopted_{lv.value}": {"adopted": lv.value} for lv in LEVELS},
    "upward": {"upward": "1"},
    "carried": {"carried": "1"},
    **{f"instructed_{lv.value}": {"instructed": lv.value} for lv in LEVELS},
    **{f"rated_{r}": {"rated": r} for r in criteria.RATINGS},
}


def build(session: Session, user: User, period: Period, by: str = "unit",
          categories: dict[str, str] | None = None) -> Dashboard:
    """The period's figures for `user`, in total and by `by` (a key of `DIMENSIONS`).

    `categories` names the form's categories (value -> label) for rows by category.
    """
    dim = DIMENSIONS[by]
    with mapped(session):
        per_key = _figures(session, user, period, dim)
    total = Figures()
    for figures in per_key.values():
        total.add(figures)
    rows = _tree_rows(session, user, dim, per_key) if dim.tree is not None else \
        _flat_rows(session, dim, per_key, categories or {})
    calendar = deadlines.rules(session).calendar
    unknown = sorted({y for y in range(period.start.year, period.end.year + 1)
                      if not calendar.knows(y)})
    return Dashboard(period, dim, total, rows, unknown)


def _figures(session: Session, user: User, period: Period, dim: Dimension) -> dict[Any, Figures]:
    # The reports' side of every query is read from `ix_reports_dashboard` alone.
    key = dim.column().label("k")
    where = [access.report_scope(session, user), Report.created_at >= period.since,
             Report.created_at < period.until]
    out: dict[Any, Figures] = {}

    def grouped(*columns: Any, joins: Iterable[tuple[Any, Any]] = (), extra: Iterable[Any] = (),
                group: Iterable[Any] = ()) -> list[Any]:
        query = sa.select(key, *columns).select_from(Report)
        for target, on in joins:
            query = query.join(target, on)
        if dim.reporter:
            query = query.join(Reporter, Reporter.id == Report.reporter_id)
        # Core rows (no ORM loading): the timings bring back a few hundred thousand.
        return list(session.connection().execute(query.where(*where, *extra)
                                                 .group_by(key, *group)))

    def row(k: Any) -> Figures:
        found = out.get(k)
        if found is None:
            found = out[k] = Figures()
        return found

    # One scan of the reports (the dashboard's index alone) gives the counts, the ratings, the
    # adoption levels and the working-day histograms: grouped by (value, days, days), summed here.
    satisfied, basically = (sa.func.sum(sa.case((Report.satisfaction.in_(criteria.RATED[r]), 1),
                                                else_=0)) for r in ("satisfied", "basically"))
    # Adopted at each level or above, as the inbox's `adopted=` filter
    # (`adoption.adopted_at_least`), from the highest rank the report keeps.
    at_least = [sa.func.sum(sa.case((adoption.adopted_rank_at_least(lv), 1), else_=0)) for lv in LEVELS]
    answer, decision = Report.answer_workdays, Report.decision_workdays
    for k, a, d, n, good, fair, *adopted in grouped(answer, decision, sa.func.count(), satisfied,
                                                     basically, *at_least, group=[answer, decision]):
        figures = row(k)
        figures.received += n
        figures.rated["satisfied"] += good or 0
        figures.rated["basically"] += fair or 0
        figures.adopted_at = [a_ + (b or 0) for a_, b in zip(figures.adopted_at, adopted, strict=True)]
        # Working days from submission to the first answer and to the decision, as histograms:
        # each report keeps both counts (`store.reports.timings`, in the office's calendar).
        if a is not None:
            figures.answer_days[a] += n
        if d is not None:
            figures.decision_days[d] += n

    # The same facts as the inbox's filters (`adoption.reported_upward`,
    # `journal.rules.carried`, `criteria.rated`), as IN lists the reports' ids answer.
    upward = sa.select(UpwardRecord.report_id)
    carried = (sa.select(JournalItem.report_id).join(JournalIssue, JournalIssue.id == JournalItem.issue_id)
               .where(JournalIssue.status == IssueStatus.PUBLISHED))
    reopened = sa.select(ReportEvent.report_id).where(ReportEvent.action == criteria.REOPEN)
    for k, n in grouped(sa.func.count(), extra=[Report.id.in_(upward)]):
        row(k).upward = n
    for k, n in grouped(sa.func.count(), extra=[Report.id.in_(carried)]):
        row(k).carried = n
    for k, n in grouped(sa.func.count(), extra=[Report.id.in_(reopened)]):
        row(k).rated["unsatisfied"] = n

    for level in LEVELS:  # each level's 批示 as an IN list: a few reports each
        instructed = sa.select(Instruction.report_id).where(Instruction.level == level.value)
        for k, n in grouped(sa.func.count(), extra=[Report.id.in_(instructed)]):
            row(k).instructed[level] = n

    return out


def _flat_rows(session: Session, dim: Dimension, per_key: dict[Any, Figures],
               categories: dict[str, str]) -> list[Row]:
    names = _names(session, dim, [k for k in per_key if k is not None], categories)
    rows = [Row(k, names.get(k, str(k)) if k is not None else NAMELESS, f) for k, f in per_key.items()]
    return sorted(rows, key=lambda r: (r.key is None, -r.figures.received, r.name))


def _names(session: Session, dim: Dimension, keys: list[Any],
           categories: dict[str, str]) -> dict[Any, str]:
    if dim.key == "member":
        out: dict[Any, str] = {}
        for i in range(0, len(keys), 500):
            for rid, name in session.execute(
                    sa.select(Member.id, Member.name).where(Member.id.in_(keys[i:i + 500]))):
                out[rid] = name or f"#{rid}"
        return out
    labels = categories if dim.key == "category" else LABELS.get(dim.key, {})
    return {k: labels.get(str(k), str(k)) for k in keys}


def _tree_rows(session: Session, user: User, dim: Dimension, per_key: dict[Any, Figures]) -> list[Row]:
    """Every unit (point) the user sees, in tree order, each with its subtree's figures."""
    model = dim.tree
    assert model is not None
    scope = access.visible_units(session, user)
    query = sa.select(model.id, model.name, model.parent_id)
    if scope is not None:
        query = query.where(Unit.id.in_(scope) if model is Unit else CollectionPoint.unit_id.in_(scope))
    nodes = {i: (name, parent) for i, name, parent in session.execute(query)}
    children: dict[Any, list[int]] = {}
    for i, (_, parent) in nodes.items():
        children.setdefault(parent if parent in nodes else None, []).append(i)

    rows: list[Row] = []

    def walk(node: int, depth: int) -> Figures:
        figures = Figures()
        if node in per_key:
            figures.add(per_key[node])
        row = Row(node, nodes[node][0], figures, depth)
        rows.append(row)
        for child in sorted(children.get(node, []), key=lambda c: nodes[c][0]):
            figures.add(walk(child, depth + 1))
        return figures

    for top in sorted(children.get(None, []), key=lambda c: nodes[c][0]):
        walk(top, 0)
    if model is CollectionPoint:  # hundreds of points: only those with reports
        rows = [r for r in rows if r.figures.received]
    if None in per_key:
        rows.append(Row(None, "（未指定单位）" if model is Unit else "（无采集点）", per_key[None]))
    return rows


LABELS: dict[str, dict[str, str]] = {
    "channel": {"telegram": "Telegram", "web": "网页", "wechat": "微信"},
    "source": {"citizen": "群众", "member": "委员", "informant": "特邀信息员", "commissioned": "约稿",
               "survey": "调研", "consultation": "协商会", "proposal": "提案",
               "plenary_speech": "大会发言"},
}
