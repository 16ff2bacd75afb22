"""Exporting reports: the inbox's or a search's reports as rows an office keeps in Excel.

`rows` reads what `store.search.query.selection` finds for the user (the
inbox's access rules, the search's filters) from a server-side cursor, a
batch at a time, and turns each report into the office's columns; nothing
holds the whole result. A reporter's name and contact are not among the
columns: they are read only through `store.access.reveal_identity`, which an
export never calls. `begin` and `finish` keep the export log (who, when,
which filters, how many rows) that the audit page reads.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from store import audit
from store.errors import DomainError
from store.i18n import t
from store.models import (
    AdoptionLevel,
    CollectionPoint,
    ExportLog,
    Report,
    Reporter,
    ReporterKind,
    ReportStatus,
    Topic,
    Unit,
    Urgency,
    User,
    utcnow,
)
from store.outputs import adoption
from store.outputs.sheets import FORMATS, Cell
from store.reports import lifecycle, marks
from store.review import chain as review
from store.search.query import Filters, selection

# (key, Chinese header): the columns, in order.
COLUMNS: tuple[tuple[str, str], ...] = (
    ("tracking_no", "编号"),
    ("created_at", "提交时间"),
    ("decided_at", "决定时间"),
    ("category", "类别"),
    ("title", "标题"),
    ("status", "状态"),
    ("review_level", "所在审核环节"),
    ("unit", "单位"),
    ("point", "采集点"),
    ("urgency", "紧急程度"),
    ("adoption_level", "采用级别"),
    ("source", "来源"),
    ("topic", "选题"),
    ("place", "地点"),
    ("satisfaction", "反映人评价"),
    ("summary", "信息摘要"),
    ("situation", "情况"),
    ("suggestion", "意见建议"),
    # 密级 (store.reports.marks), and on a marked report's row who exported it and when.
    ("mark", "密级"),
    ("watermark", "水印"),
)
HEADER = tuple(zh for _, zh in COLUMNS)
# The columns that can hold what people typed (or named): only these can start like a formula.
TEXT_COLUMNS = tuple(i for i, (key, _) in enumerate(COLUMNS) if key in (
    "category", "title", "unit", "point", "topic", "place", "summary", "situation", "suggestion"))
SHEET_NAME = "社情民意信息"
SOURCE_NAMES = {ReporterKind.CITIZEN.value: "群众", ReporterKind.MEMBER.value: "委员"}
# Rows fetched per round trip; a server-side cursor on PostgreSQL.
BATCH = 2000
VIA = ("console", "cli")


class ExportError(DomainError):
    """An export that cannot be made (an unknown format)."""


class ExportForbidden(ExportError):
    """Reports marked above 公开 among the rows, for a role not cleared for them."""


@dataclass
class Counter:
    """How many rows went out, read once the stream is done."""

    rows: int = 0


def begin(session: Session, user: User, fmt: str, filters: Filters, via: str) -> ExportLog:
    """Log that `user` is exporting (rows unknown until `finish`); refuses an unknown format,
    and marked reports among the rows for a role `marks.CLEARED` does not hold (`ExportForbidden`).
    """
    if fmt not in FORMATS:
        raise ExportError(f"只能导出为 CSV 或 XLSX，不能导出为「{fmt[:10]}」。"
                          f" / Exports are CSV or XLSX, not {fmt[:10]!r}.")
    if via not in VIA:
        raise ValueError(f"unknown export channel {via!r}")
    marked = has_marked(session, user, filters)
    if marked and user.role not in marks.CLEARED:
        raise ExportForbidden("所选信息中有内部或更高密级的信息，只有管理员、办公室主任或秘书长可以导出。"
                              "请缩小范围，或请他们导出。 / Marked reports are among these; only an "
                              "administrator, director or secretary-general may export them.")
    entry = ExportLog(user_id=user.id, via=via, format=fmt, marked=marked,
                      filters=filters.to_args(page=1, per_page=20, sort="new"))
    session.add(entry)
    session.flush()
    return entry


def log_refusal(session: Session, user: User, fmt: str, filters: Filters, via: str) -> int:
    """Record in the audit trail that `begin` refused `user` an export of marked reports.

    The caller rolls back the refused attempt first and commits this on its own:
    a refusal is a fact worth keeping even though nothing was exported. The id.
    """
    return audit.record(session, "export.refused", actor=audit.Actor(user_id=user.id),
                        detail={"via": via, "format": fmt, "reason": "marked",
                                "filters": filters.to_args(page=1, per_page=20, sort="new")})


def log_document(session: Session, user: User, fmt: str, what: dict[str, Any], rows: int,
                 *, marked: bool) -> ExportLog:
    """Log a document made for `user` in one go (a journal issue as .docx or PDF)."""
    entry = ExportLog(user_id=user.id, via="journal", format=fmt, filters=what, rows=rows,
                      finished_at=utcnow(), marked=marked)
    session.add(entry)
    session.flush()
    return entry


def has_marked(session: Session, user: User, filters: Filters) -> bool:
    """Whether any report the export would write is marked above 公开."""
    query = selection(session, user, filters, sa.select(Report.id).where(Report.mark > 0))
    return session.scalar(query.limit(1)) is not None


def finish(session: Session, export_id: int, rows: int) -> None:
    """Record that export `export_id` wrote its last row, and how many."""
    session.execute(sa.update(ExportLog).where(ExportLog.id == export_id)
                    .values(rows=rows, finished_at=utcnow()))


def rows(session: Session, user: User, filters: Filters, categories: Mapping[str, str],
         counter: Counter | None = None) -> Iterator[list[Cell]]:
    """Every report `user` may see that matches `filters`, newest first, as COLUMNS.

    `session` should be a `store.db.reading` one; `categories` maps a stored
    category to its label (the office's form). Rows stream from the database
    BATCH at a time; `counter` counts them as they go.
    """
    names = _Names(session)
    # Core, not the ORM: these are plain tuples, and a million of them go through.
    result = session.connection().execute(statement(session, user, filters),
                                          execution_options={"yield_per": BATCH})
    pending = frozenset(s.value for s in lifecycle.PENDING)
    statuses = {s.value: t(f"status.{s.value}") for s in ReportStatus}
    urgencies = {u.value: t(f"urgency.{u.value}") for u in Urgency}
    adoptions = {a.value: t(f"adoption.{a.value}") for a in AdoptionLevel}
    satisfaction = {k: t(f"satisfaction.{k}") for k in ("satisfied", "basically", "unsatisfied")}
    levels = [lv.label() for lv in review.chain(session)]
    office_marks = marks.rules(session)
    mark_names = {level: office_marks.label(level) for level, _ in office_marks.choices()}
    stamp = marks.watermark(user, utcnow())
    top = len(levels) - 1
    unit, point, topic = names.units, names.points, names.topics
    for (no, created, decided, category, title, status, level, unit_id, point_id, urgency,
         adopted, kind, topic_id, place, rated, summary, situation, suggestion, mark) in result:
        if counter is not None:
            counter.rows += 1
        yield [no, created, decided, categories.get(category, category), title,
               statuses.get(status, status), levels[min(level, top)] if status in pending else None,
               unit.get(unit_id), point.get(point_id), urgencies.get(urgency, urgency),
               _level_name(adoptions, adopted), SOURCE_NAMES.get(kind, kind),
               topic.get(topic_id), place, satisfaction.get(rated, rated) if rated else None,
               summary, situation, suggestion, mark_names.get(mark, mark), stamp if mark else None]


def _level_name(names: Mapping[str, str], rank: int | None) -> str | None:
    """The name of the highest adopting level from its rank (`adoption.highest_level()`)."""
    level = adoption.level_of(rank)
    return names.get(level.value) if level is not None else None


def statement(session: Session, user: User, filters: Filters) -> sa.Select[Any]:
    """The SELECT `rows` runs: COLUMNS' raw values, newest first, as `user` may see them."""
    columns: Any = sa.select(
        Report.tracking_no, _local(session, Report.created_at), _local(session, Report.decided_at),
        Report.category, Report.title, _plain(Report.status), Report.review_level, Report.unit_id,
        Report.point_id, _plain(Report.urgency), adoption.highest_level(), _plain(Reporter.kind),
        Report.topic_id, Report.place, Report.satisfaction, Report.summary, Report.situation,
        Report.suggestion, Report.mark,
    ).join(Reporter, Reporter.id == Report.reporter_id)
    return selection(session, user, filters, columns)


class _Names:
    """Unit, point and topic names, read once (an office has thousands, not millions)."""

    def __init__(self, session: Session) -> None:
        self.units = _names(session, Unit.id, Unit.name)
        self.points = _names(session, CollectionPoint.id, CollectionPoint.name)
        self.topics = _names(session, Topic.id, Topic.title)


def _names(session: Session, key: Any, name: Any) -> dict[int | None, str]:
    return {k: v for k, v in session.execute(sa.select(key, name))}


def _plain(column: Any) -> sa.ColumnElement[str]:
    """An enum column as its stored string: the labels are looked up by it, and a million
    rows need not become enum members first."""
    return sa.type_coerce(column, sa.String())


def _local(session: Session, column: Any) -> sa.ColumnElement[str]:
    """A stored UTC time as Beijing's `YYYY-MM-DD HH:MM`, formatted by the database.

    Parsing a million timestamps in Python would cost more than the rest of a row.
    """
    if session.get_bind().dialect.name == "postgresql":
        return sa.func.to_char(sa.func.timezone("Asia/Shanghai", column), "YYYY-MM-DD HH24:MI")
    return sa.func.strftime("%Y-%m-%d %H:%M", column, "+8 hours")
