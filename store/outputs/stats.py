"""Counts for the office's 通报 and the read API, and the dashboard's figures as a sheet.

`overview` is the read API's answer (`/api/v1/stats`); `table` and `as_json`
lay out `store.outputs.dashboard`'s figures for `minyi stats`.

Everything counts reports submitted in the period that the user's unit
answers for (`store.access.home_scope`: filed in its unit or one below), so a
unit liaison gets their unit's bulletin and the office the whole network's. A
report only received by 报送 is not counted by the receiving unit: it counts
once, for the units it was filed under (a city counts its counties' reports
as its own already).
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from store import access
from store.i18n import t
from store.models import (
    AdoptionLevel,
    CollectionPoint,
    Instruction,
    Report,
    ReportEvent,
    ReportStatus,
    Unit,
    User,
)
from store.outputs import adoption, dashboard
from store.outputs.sheets import Cell

# The office's first answer on a report: it decided, asked for more, or merged it.
DECISIONS = ("adopt", "decline", "return", "merge")


@dataclass
class Row:
    """One unit's or point's counts."""

    id: int | None
    name: str
    submitted: int = 0
    adopted: int = 0
    instructed: int = 0


@dataclass
class Overview:
    since: datetime | None
    until: datetime | None
    total: int
    by_status: dict[ReportStatus, int]
    adopted_by_level: dict[AdoptionLevel, int]
    instructions_by_level: dict[AdoptionLevel, int]
    per_unit: list[Row] = field(default_factory=list)
    per_point: list[Row] = field(default_factory=list)
    # Hours from submission to the office's first decision; None if nothing was decided.
    median_hours_to_decision: float | None = None
    decided: int = 0

    @property
    def adopted(self) -> int:
        return sum(self.adopted_by_level.values())

    @property
    def instructions(self) -> int:
        return sum(self.instructions_by_level.values())


def overview(session: Session, user: User, since: datetime | None = None,
             until: datetime | None = None) -> Overview:
    """Counts over reports submitted in [since, until) that `user`'s unit answers for."""
    where = [access.home_scope(session, user)]
    if since is not None:
        where.append(Report.created_at >= since)
    if until is not None:
        where.append(Report.created_at < until)
    rows = session.execute(sa.select(Report.id, Report.status, Report.unit_id, Report.point_id,
                                     Report.created_at).where(*where)).all()
    ids = [r.id for r in rows]
    by_status = dict.fromkeys(ReportStatus, 0)
    # Each adopted report once, at the highest level that adopted it.
    levels = adoption.highest_levels(session, ids)
    adopted = dict.fromkeys(AdoptionLevel, 0)
    for r in rows:
        by_status[ReportStatus(r.status)] += 1
    for level in levels.values():
        adopted[level] += 1

    instructed_levels = dict.fromkeys(AdoptionLevel, 0)
    instructed: set[int] = set()
    firsts: dict[int, datetime] = {}
    for chunk in _chunks(ids):
        for report_id, level in session.execute(
                sa.select(Instruction.report_id, Instruction.level)
                .where(Instruction.report_id.in_(chunk))):
            instructed_levels[AdoptionLevel(level)] += 1
            instructed.add(report_id)
        for report_id, first in session.execute(
                sa.select(ReportEvent.report_id, sa.func.min(ReportEvent.created_at))
                .where(ReportEvent.report_id.in_(chunk), ReportEvent.action.in_(DECISIONS))
                .group_by(ReportEvent.report_id)):
            firsts[report_id] = first

    created = {r.id: r.created_at for r in rows}
    hours = [max(0.0, (_aware(at) - _aware(created[rid])).total_seconds() / 3600)
             for rid, at in firsts.items()]
    units = _rows(session, Unit, rows, "unit_id", levels, instructed, "（未指定单位）")
    points = _rows(session, CollectionPoint, rows, "point_id", levels, instructed, "（无采集点）")
    return Overview(since=since, until=until, total=len(rows), by_status=by_status,
                    adopted_by_level=adopted, instructions_by_level=instructed_levels,
                    per_unit=units, per_point=points,
                    median_hours_to_decision=round(statistics.median(hours), 1) if hours else None,
                    decided=len(hours))


def _rows(session: Session, model: type[Unit] | type[CollectionPoint], rows: Sequence[Any],
          key: str, adopted: dict[int, AdoptionLevel], instructed: set[int],
          nameless: str) -> list[Row]:
    out: dict[int | None, Row] = {}
    for r in rows:
        owner = getattr(r, key)
        row = out.setdefault(owner, Row(owner, nameless))
        row.submitted += 1
        row.adopted += r.id in adopted
        row.instructed += r.id in instructed
    known = [i for i in out if i is not None]
    if known:
        for obj_id, name in session.execute(sa.select(model.id, model.name)
                                            .where(model.id.in_(known))):
            out[obj_id].name = name
    return sorted(out.values(), key=lambda x: (-x.submitted, x.id is None, x.name))


def _aware(at: datetime) -> datetime:
    # SQLite may hand an aggregate back naive; it is UTC all the same.
    return at if at.tzinfo else at.replace(tzinfo=UTC)


def _chunks(ids: list[int], size: int = 500) -> list[list[int]]:
    return [ids[i:i + size] for i in range(0, len(ids), size)]


# -- the dashboard's figures as a table (`minyi stats`) -------------------------------------

def _rate(value: float | None) -> str | None:
    return None if value is None else f"{value * 100:.1f}%"


def _days(value: float | None) -> str | None:
    return None if value is None else f"{value:g}"


def _adopted_at(i: int) -> Callable[[dashboard.Figures], int]:
    return lambda f: f.adopted_at[i]


def _instructed(level: AdoptionLevel) -> Callable[[dashboard.Figures], int]:
    return lambda f: f.instructed[level]


def figure_columns() -> list[tuple[str, str, Callable[[dashboard.Figures], Any]]]:
    """(key, Chinese heading, value) of each figure, in the page's order."""
    levels = dashboard.LEVELS
    out: list[tuple[str, str, Callable[[dashboard.Figures], Any]]] = [
        ("received", "收到", lambda f: f.received),
        ("adopted", "采用", lambda f: f.adopted),
        ("adoption_rate", "采用率", lambda f: f.adoption_rate),
    ]
    for i, lv in enumerate(levels[1:], start=1):
        out.append((f"adopted_{lv.value}_or_above", f"{t('adoption.' + lv.value)}及以上采用",
                    _adopted_at(i)))
    out += [("upward", "报送上级", lambda f: f.upward), ("carried", "编入期刊", lambda f: f.carried)]
    for lv in levels:
        out.append((f"instructed_{lv.value}", f"{t('adoption.' + lv.value)}批示",
                    _instructed(lv)))
    out += [
        ("median_working_days_to_answer", "首次答复中位工作日", lambda f: f.median_answer_days),
        ("median_working_days_to_decision", "作出决定中位工作日", lambda f: f.median_decision_days),
        ("satisfied", "满意", lambda f: f.rated["satisfied"]),
        ("basically_satisfied", "基本满意", lambda f: f.rated["basically"]),
        ("unsatisfied", "不满意", lambda f: f.rated["unsatisfied"]),
        ("satisfaction_rate", "满意率", lambda f: f.satisfaction_rate),
    ]
    return out


def table(d: dashboard.Dashboard) -> tuple[list[str], list[list[Cell]]]:
    """The header and rows of a sheet: one row per dimension value, then 合计 (rates as 50.0%)."""
    columns = figure_columns()
    header = [d.dimension.name, *(heading for _, heading, _ in columns)]
    rows: list[list[Cell]] = []
    for name, figures in [*((("　" * r.depth) + r.name, r.figures) for r in d.rows),
                          ("合计", d.total)]:
        cells: list[Cell] = [name]
        for key, _, value in columns:
            raw = value(figures)
            cells.append(_rate(raw) if key.endswith("_rate") else
                         _days(raw) if key.startswith("median") else raw)
        rows.append(cells)
    return header, rows


def as_json(d: dashboard.Dashboard) -> dict[str, Any]:
    """The same figures as numbers (rates 0-1, None when nothing to divide)."""
    columns = figure_columns()

    def figures(f: dashboard.Figures) -> dict[str, Any]:
        return {key: value(f) for key, _, value in columns}

    return {
        "from": d.period.start.isoformat(), "to": d.period.end.isoformat(), "by": d.dimension.key,
        "total": figures(d.total),
        "rows": [{"key": r.key, "name": r.name, "depth": r.depth, **figures(r.figures)}
                 for r in d.rows],
    }
