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

from collections.abc import Iterator, Mapping, Sequence
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
    ReportSource,
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
SOURCE_NAMES: dict[str, Cell] = {
    ReportSource.CITIZEN.value: "群众", ReportSource.MEMBER.value: "委员",
    ReportSource.INFORMANT.value: "特邀信息员", ReportSource.COMMISSIONED.value: "约稿",
    ReportSource.SURVEY.value: "调研", ReportSource.CONSULTATION.value: "协商会",
    ReportSource.PROPOSAL.value: "提案", ReportSource.PLENARY_SPEECH.value: "大会发言"}
# Rows fetched per round trip; a server-side cursor on PostgreSQL.
BATCH = 2000
VIA = ("console", "cli")
SATISFACTION = ("satisfied", "basically", "unsatisfied")


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
         counter: Counter | None = None) -> Iterator[tuple[Cell, ...]]:
    """Every report `user` may see that matches `filters`, newest first, as COLUMNS, a row at
    a time (what an XLSX is written from); `counter` counts them as they go."""
    for batch in batches(session, user, filters, categories):
        for row in zip(*batch, strict=True):
            if counter is not None:
                counter.rows += 1
            yield row


def batches(session: Session, user: User, filters: Filters, categories: Mapping[str, str],
            counter: Counter | None = None) -> Iterator[list[Sequence[Cell]]]:
    """The same reports as `rows`, BATCH at a time, each batch given by column
    (`batch[i]` is COLUMNS[i]'s cells): what `sheets.csv_pieces` writes without a loop a row.

    `session` should be a `store.db.reading` one; `categories` maps a stored
    category to its label (the office's form). Rows stream from the database
    BATCH at a time; `counter` counts them as they go.
    """
    labels = _Labels(session, categories)
    stamp = marks.watermark(user, utcnow())
    # Each batch is turned into columns and each column labelled by one map() over a dict.
    for part in _fetched(session, statement(session, user, filters)):
        (no, created, decided, category, title, status, level, unit_id, point_id, urgency,
         adopted, source, topic_id, place, rated, summary, situation, suggestion,
         mark) = zip(*part, strict=True)
        if counter is not None:
            counter.rows += len(part)
        yield [no, created, decided, _label(labels.categories, category), title,
               _label(labels.statuses, status), list(map(labels.levels.__getitem__, level)),
               list(map(labels.units.get, unit_id)), list(map(labels.points.get, point_id)),
               _label(labels.urgencies, urgency), list(map(labels.adoptions.get, adopted)),
               _label(SOURCE_NAMES, source),
               list(map(labels.topics.get, topic_id)), place,
               _label(labels.satisfaction, rated), summary, situation, suggestion,
               _label(labels.marks, mark), [stamp if m else None for m in mark]]


def _fetched(session: Session, query: sa.Select[Any]) -> Iterator[Sequence[Sequence[Any]]]:
    """`query`'s rows, BATCH at a time, as plain tuples.

    Core with `yield_per` (a server-side cursor on PostgreSQL). On SQLite, in-process,
    the driver's cursor streams by itself: its tuples are read as they are, without a
    SQLAlchemy `Row` each (a tenth of a million-row export's time, with the collector's
    runs they cause). SQLAlchemy still binds the parameters; its default fetch strategy
    there reads nothing ahead, so the cursor starts at the first row.
    """
    connection = session.connection()
    if connection.dialect.name != "sqlite":
        yield from connection.execute(query, execution_options={"yield_per": BATCH}).partitions()
        return
    result = connection.execute(query)
    try:
        while part := result.cursor.fetchmany(BATCH):
            yield part
    finally:
        result.close()


def _label(names: Mapping[Any, Cell], values: Sequence[Any]) -> list[Cell]:
    """Each stored value's label; a value the labels lack is shown as stored."""
    return list(map(names.get, values, values))


class _Levels(dict[int | None, str | None]):
    """Review level -> its name; a level beyond today's chain is its last one."""

    def __init__(self, names: Sequence[str]) -> None:
        super().__init__(enumerate(names))
        self[None] = None
        self.top = names[-1] if names else None

    def __missing__(self, key: int | None) -> str | None:
        return self.top


class _Labels:
    """Every label a row needs, read once: names of units, points and topics (an office has
    thousands, not millions), and the words for statuses, levels and the rest."""

    def __init__(self, session: Session, categories: Mapping[str, str]) -> None:
        self.categories = categories
        self.units = _names(session, Unit.id, Unit.name)
        self.points = _names(session, CollectionPoint.id, CollectionPoint.name)
        self.topics = _names(session, Topic.id, Topic.title)
        self.statuses = {s.value: t(f"status.{s.value}") for s in ReportStatus}
        self.urgencies = {u.value: t(f"urgency.{u.value}") for u in Urgency}
        self.levels = _Levels([lv.label() for lv in review.chain(session)])
        self.adoptions: dict[int | None, str | None] = {
            adoption.rank(a): t(f"adoption.{a.value}") for a in AdoptionLevel}
        office_marks = marks.rules(session)
        self.marks: dict[int, Cell] = {level: office_marks.label(level)
                                       for level, _ in office_marks.choices()}
        # Not rated yet (NULL or empty): an empty cell.
        self.satisfaction: dict[str | None, str | None] = {
            None: None, "": None, **{k: t(f"satisfaction.{k}") for k in SATISFACTION}}


def statement(session: Session, user: User, filters: Filters) -> sa.Select[Any]:
    """The SELECT `batches` runs: COLUMNS' raw values, newest first, as `user` may see them."""
    pending = [s.value for s in lifecycle.PENDING]
    columns: Any = sa.select(
        Report.tracking_no, _local(session, Report.created_at), _local(session, Report.decided_at),
        Report.category, Report.title, _plain(Report.status),
        # The level a report waits at: only a pending one waits.
        sa.case((_plain(Report.status).in_(pending), Report.review_level), else_=sa.null()),
        Report.unit_id,
        Report.point_id, _plain(Report.urgency), adoption.highest_level(), _plain(Report.source),
        Report.topic_id, Report.place, Report.satisfaction, Report.summary, Report.situation,
        Report.suggestion, Report.mark,
    )
    return selection(session, user, filters, columns)


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
