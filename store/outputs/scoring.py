"""考评序列 and rankings: units placed in series by year, scored from the facts, ranked.

A score is derived, never stored: `facts.gather` reads what happened in the
period and `scorerules.RuleBook.at(fact.on)` prices each fact with the rules
in force on its day. There is no cache, so a new rule set is the new
answer at once ("changing a rule recomputes"), and a past period keeps its
old prices because its facts' days point at the old set.

A unit is in at most one series a year (the unique key of `series_members`,
written with one INSERT … ON CONFLICT, so placing it again moves it). A
series member's score also counts the reports of the units below it that are
not themselves placed that year: a county CPPCC scores for its townships'
collection points.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Session

from store import upsert
from store.errors import DomainError
from store.models import AssessmentSeries, Report, SeriesMember, Unit
from store.outputs import facts as facts_mod
from store.outputs import scorerules
from store.outputs.facts import Fact
from store.outputs.period import Period

MAX_NAME = 60


class SeriesError(DomainError):
    pass


# -- series -------------------------------------------------------------------------------

def all_series(session: Session) -> list[AssessmentSeries]:
    return list(session.scalars(sa.select(AssessmentSeries)
                                .order_by(AssessmentSeries.position, AssessmentSeries.id)))


def create_series(session: Session, name: str) -> AssessmentSeries:
    """A new series; refuses an empty, over-long or taken name (one atomic insert)."""
    name = _name(name)
    new_id = session.execute(
        upsert.insert(session, AssessmentSeries)
        .values(name=name, position=len(all_series(session)))
        .on_conflict_do_nothing(index_elements=[AssessmentSeries.name])
        .returning(AssessmentSeries.id)).scalar()
    if new_id is None:
        raise SeriesError(f"已有名为“{name}”的考评序列。 / A series of that name exists.")
    found = session.get(AssessmentSeries, new_id)
    assert found is not None
    return found


def rename_series(session: Session, series: AssessmentSeries, name: str) -> None:
    name = _name(name)
    taken = session.scalar(sa.select(AssessmentSeries.id).where(
        AssessmentSeries.name == name, AssessmentSeries.id != series.id))
    if taken is not None:
        raise SeriesError(f"已有名为“{name}”的考评序列。 / A series of that name exists.")
    series.name = name


def _name(name: str) -> str:
    name = " ".join((name or "").split())
    if not name:
        raise SeriesError("请填写序列名称。 / Name the series.")
    if len(name) > MAX_NAME:
        raise SeriesError(f"序列名称最多 {MAX_NAME} 个字。 / The name is too long.")
    return name


def members(session: Session, year: int) -> dict[int, int]:
    """unit id -> series id, for `year`."""
    return dict(session.execute(sa.select(SeriesMember.unit_id, SeriesMember.series_id)
                                .where(SeriesMember.year == year)).all())


def place(session: Session, series: AssessmentSeries, year: int, unit_ids: Iterable[int]) -> None:
    """Make `unit_ids` exactly the series' units in `year`.

    A unit another series held that year moves here (its unique (unit, year) row is
    updated in the same statement); units no longer listed leave this series.
    Refuses unknown units and departments (they take transfers; they do not report).
    """
    wanted = set(unit_ids)
    if not 2000 <= year <= 2100:
        raise SeriesError("请填写正确的年度。 / Not a year.")
    known = dict(session.execute(sa.select(Unit.id, Unit.kind).where(Unit.id.in_(wanted))).all())
    if set(known) != wanted:
        raise SeriesError("所选单位不存在。 / No such unit.")
    if any(kind == "department" for kind in known.values()):
        raise SeriesError("有关部门不参加考评。 / Departments are not ranked.")
    session.execute(sa.delete(SeriesMember).where(
        SeriesMember.series_id == series.id, SeriesMember.year == year,
        SeriesMember.unit_id.not_in(wanted)))
    for unit_id in sorted(wanted):
        session.execute(
            upsert.insert(session, SeriesMember)
            .values(series_id=series.id, unit_id=unit_id, year=year)
            .on_conflict_do_update(index_elements=[SeriesMember.unit_id, SeriesMember.year],
                                   set_={"series_id": series.id}))


# -- scores --------------------------------------------------------------------------------

@dataclass
class Line:
    """One fact in a unit's breakdown: which report earned what, under which rule set."""

    fact: Fact
    points: Decimal
    rules_from: str  # the rule set's effective date, or 默认


@dataclass
class Standing:
    unit_id: int
    name: str
    score: Decimal = Decimal(0)
    rank: int = 0
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(scorerules.NAMES, 0))
    lines: list[Line] = field(default_factory=list)


@dataclass
class Ranking:
    series: AssessmentSeries
    period: Period
    standings: list[Standing]
    rules: list[scorerules.Rules]  # the sets in force during the period


@dataclass
class Scores:
    """Every series' ranking for a period, and who owns each fact."""

    period: Period
    rankings: list[Ranking]
    facts: list[Fact]
    owners: dict[int | None, int | None]  # a report's unit -> the placed unit it scores for
    rules: list[scorerules.Rules]  # the sets in force during the period, earliest first

    def ranking(self, series_id: int) -> Ranking | None:
        return next((r for r in self.rankings if r.series.id == series_id), None)

    def standing(self, unit_id: int) -> tuple[Ranking, Standing] | None:
        for r in self.rankings:
            for s in r.standings:
                if s.unit_id == unit_id:
                    return r, s
        return None


def owner_map(session: Session, placed: Iterable[int]) -> dict[int | None, int | None]:
    """Each unit -> the nearest unit at or above it that is placed (None: none is)."""
    placed = set(placed)
    parents = dict(session.execute(sa.select(Unit.id, Unit.parent_id)).all())
    out: dict[int | None, int | None] = {None: None}
    for unit in parents:
        path: list[int] = []
        at: int | None = unit
        found: int | None = None
        while at is not None and len(path) <= len(parents):
            if at in out:
                found = out[at]
                break
            if at in placed:
                found = at
                break
            path.append(at)
            at = parents.get(at)
        for u in path:
            out[u] = found
        if unit in placed:
            out[unit] = unit
    return out


def compute(session: Session, period: Period, *, facts: Sequence[Fact] | None = None) -> Scores:
    """Rankings of every series for `period`, each standing with its lines (the breakdown)."""
    book = scorerules.book(session)
    found = list(facts) if facts is not None else facts_mod.gather(session, period)
    placed = members(session, period.year)
    owners = owner_map(session, placed)
    names = dict(session.execute(sa.select(Unit.id, Unit.name)
                                 .where(Unit.id.in_(list(placed)))).all())
    standings = {u: Standing(u, names.get(u, "")) for u in placed}
    for fact in found:
        owner = owners.get(fact.unit_id)
        if owner is None:
            continue
        rules = book.at(fact.on)
        points = rules.value(fact.rule)
        s = standings[owner]
        s.score += points
        s.counts[fact.rule] += 1
        s.lines.append(Line(fact, points, str(rules.effective_from or "默认")))
    by_series: dict[int, list[Standing]] = defaultdict(list)
    for unit, series_id in placed.items():
        standing = standings[unit]
        standing.score = standing.score.quantize(scorerules.CENT)
        by_series[series_id].append(standing)
    used = book.used(period.start, period.end)
    rankings = []
    for series in all_series(session):
        rows = sorted(by_series.get(series.id, []), key=lambda s: (-s.score, s.name, s.unit_id))
        for i, s in enumerate(rows):
            # Ties share a place (1, 1, 3).
            s.rank = rows[i - 1].rank if i and rows[i - 1].score == s.score else i + 1
        rankings.append(Ranking(series, period, rows, used))
    return Scores(period, rankings, found, owners, used)


@dataclass(frozen=True)
class ReportLine:
    """A breakdown line as the console shows it."""

    tracking_no: str
    title: str
    kind: str
    level: str
    on: str
    points: Decimal
    rules_from: str


def breakdown(session: Session, standing: Standing) -> list[ReportLine]:
    """What each of a standing's reports earned, by date."""
    ids = {line.fact.report_id for line in standing.lines}
    reports = {rid: (no, title) for rid, no, title in session.execute(
        sa.select(Report.id, Report.tracking_no, Report.title).where(Report.id.in_(ids)))} if ids else {}
    out = []
    for line in sorted(standing.lines, key=lambda x: (x.fact.on, x.fact.report_id, x.fact.kind)):
        no, title = reports[line.fact.report_id]
        level = scorerules.LEVEL_NAMES[line.fact.level] if line.fact.level else ""
        out.append(ReportLine(no, title, facts_mod.KIND_NAMES[line.fact.kind], level,
                              line.fact.on.isoformat(), line.points.quantize(scorerules.CENT),
                              line.rules_from))
    return out


HEADER = ("名次", "单位", "总分", *(name for _, name in scorerules.RULES))


def sheet_rows(ranking: Ranking) -> list[list[str | int | None]]:
    """A ranking as rows under `HEADER` (the console's download and the bulletin's sheet)."""
    return [[s.rank, s.name, str(s.score), *(s.counts[key] for key, _ in scorerules.RULES)]
            for s in ranking.standings]
