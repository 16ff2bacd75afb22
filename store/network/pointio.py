"""Bulk import and export of collection points as CSV or XLSX.

An office's own spreadsheet imports as it is: the header row names the columns
in Chinese or English, in any order (名称 name, 编码 code, 类型 kind, 上级 parent,
单位 unit, 地址 address, 联系人 contact); other columns are ignored and listed
in the result, and title rows above the header are skipped. Only 名称 is required.
A parent is given by code, `#id` or name, a unit by name or id. A line without a
code gets a stable generated one (`store.network.pointplan`). The whole file is checked
first; if any line is bad, every bad line is reported with its number and
nothing is imported. Someone who keeps only some units may import only into those.
"""

from __future__ import annotations

import csv
import io
import unicodedata
import zipfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

import openpyxl
import sqlalchemy as sa
from openpyxl.cell import WriteOnlyCell
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from store.models import CollectionPoint, PointKind, utcnow
from store.network.pointedit import adopt_reports
from store.network.pointlist import in_scope
from store.network.pointplan import KINDS, Existing, Plan, Planned
from store.network.points import KIND_NAMES
from store.network.units import EVERYTHING, Directory, Scope

# The columns of an export, in order; an import reads them in any order.
COLUMNS = ("code", "name", "kind", "parent", "unit", "address", "contact")
HEADERS_ZH = {"code": "编码", "name": "名称", "kind": "类型", "parent": "上级", "unit": "单位",
              "address": "地址", "contact": "联系人"}
# Header names an import knows (compared after NFKC, without spaces, in lower case).
ALIASES: dict[str, tuple[str, ...]] = {
    "code": ("code", "编码", "编号", "代码", "采集点编码", "采集点编号"),
    "name": ("name", "名称", "采集点名称", "采集点", "点位名称"),
    "kind": ("kind", "类型", "采集点类型"),
    "parent": ("parent", "parent_code", "上级", "上级编码", "上级编号", "上级名称", "上级采集点"),
    "unit": ("unit", "unit_id", "单位", "所属单位", "单位id"),
    "address": ("address", "地址", "详细地址"),
    "contact": ("contact", "联系人", "联系方式"),
}
_HEADER = {alias: column for column, names in ALIASES.items() for alias in names}
# Rows above the header an office's sheet may carry (a title, a date).
HEADER_SEARCH = 10
# Rows written per statement.
BATCH = 500


@dataclass(frozen=True)
class RowError:
    line: int  # the header's line for a problem with the columns
    reason: str

    def __str__(self) -> str:
        return f"第 {self.line} 行 / line {self.line}: {self.reason}"


@dataclass(frozen=True)
class ImportResult:
    errors: list[RowError]
    created: int = 0
    updated: int = 0
    # Lines without a code that were given one.
    generated: int = 0
    # Header cells that name no column the import knows.
    ignored: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


def decode(data: bytes) -> str:
    """Text of a CSV as offices save it: UTF-8 (with or without BOM), else GBK (GB18030)."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("gb18030")


def _csv_rows(data: bytes) -> Iterator[tuple[int, list[str]]]:
    reader = csv.reader(io.StringIO(decode(data), newline=""))
    for row in reader:
        yield reader.line_num, [_uninert(cell) for cell in row]


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # a code or phone number typed as a number
    return str(value)


def _xlsx_rows(data: bytes) -> Iterator[tuple[int, list[str]]]:
    book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    sheet = book.worksheets[0]
    for n, row in enumerate(sheet.iter_rows(values_only=True), start=1):
        yield n, [_cell(v) for v in row]
    book.close()


def rows_of(filename: str, data: bytes) -> Iterator[tuple[int, list[str]]]:
    """(line number, cells) of a CSV or XLSX file, chosen by its name."""
    if filename.lower().endswith(".xlsx"):
        return _xlsx_rows(data)
    return _csv_rows(data)


def _header_name(cell: str) -> str:
    return "".join(unicodedata.normalize("NFKC", cell).split()).lower()


@dataclass(frozen=True)
class Header:
    line: int
    index: dict[str, int]  # column -> position
    ignored: list[str]


def read_header(rows: Sequence[tuple[int, list[str]]]) -> Header | RowError:
    """The header row (the first of the first few rows that names a 名称 column) and what
    each of its cells means."""
    filled = [(line, cells) for line, cells in rows if any(c.strip() for c in cells)]
    if not filled:
        return RowError(1, "文件是空的 / the file is empty")
    found = next(((line, cells) for line, cells in filled[:HEADER_SEARCH]
                  if any(_HEADER.get(_header_name(c)) == "name" for c in cells)), None)
    if found is None:
        return RowError(filled[0][0], "缺少「名称」列 / missing column: name (名称)")
    line, cells = found
    names = [_header_name(c) for c in cells]
    index: dict[str, int] = {}
    ignored: list[str] = []
    for i, (cell, name) in enumerate(zip(cells, names, strict=True)):
        column = _HEADER.get(name)
        if column is None:
            if cell.strip():
                ignored.append(cell.strip())
        elif column in index:
            return RowError(line, f"「{cells[index[column]].strip()}」和「{cell.strip()}」是同一列 / "
                                  f"two columns for {column}")
        else:
            index[column] = i
    return Header(line, index, ignored)


def _existing(session: Session) -> list[Existing]:
    return [Existing(*row) for row in session.execute(sa.select(
        CollectionPoint.id, CollectionPoint.code, CollectionPoint.name,
        CollectionPoint.parent_id, CollectionPoint.unit_id, CollectionPoint.kind))]


def import_points(session: Session, filename: str, data: bytes,
                  scope: Scope = EVERYTHING) -> ImportResult:
    """Check the whole file, then add or update every point in it, or nothing at all.

    The caller commits when `ok`, and rolls back otherwise (a line can turn bad
    while writing, when another import added the same code meanwhile).
    """
    try:
        rows = list(rows_of(filename, data))
    except (UnicodeDecodeError, csv.Error, ValueError, KeyError, OSError,
            zipfile.BadZipFile) as exc:
        return ImportResult([RowError(1, f"无法读取文件 / unreadable file ({exc.__class__.__name__})")])
    header = read_header(rows)
    if isinstance(header, RowError):
        return ImportResult([header])
    records: list[tuple[int, dict[str, str]]] = []
    for line, cells in rows:
        if line <= header.line or not any(c.strip() for c in cells):
            continue
        records.append((line, {c: (cells[i].strip() if i < len(cells) else "")
                               for c, i in header.index.items()}))
    if not records:
        return ImportResult([RowError(header.line, "表头下面没有采集点 / no rows below the header")])
    units = Directory(session)
    plan = Plan(records, _existing(session), units, scope)
    errors = [RowError(line, reason) for line, reason in plan.errors()]
    if errors:
        return ImportResult(errors, ignored=header.ignored)
    return _apply(session, plan, scope, header.ignored)


def _insert(session: Session, rows: list[dict[str, Any]]) -> dict[str, int]:
    """INSERT … ON CONFLICT (code) DO NOTHING: the ids of the codes this call added.

    A code another import added meanwhile is left to the update that follows,
    so two imports of the same sheet never fail on the unique code.
    """
    table = cast(sa.Table, CollectionPoint.__table__)
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = (insert(table).on_conflict_do_nothing(index_elements=["code"])
            .returning(table.c.id, table.c.code))
    added: dict[str, int] = {}
    for start in range(0, len(rows), BATCH):
        # One statement, many rows: SQLAlchemy batches them into multi-row INSERTs.
        added.update({code: pid for pid, code in session.execute(stmt, rows[start:start + BATCH])})
    return added


def _values(row: Planned, unit_id: int | None, current_kind: PointKind | None) -> dict[str, Any]:
    rec = row.rec
    kind = KINDS[rec["kind"]] if rec.get("kind") else (current_kind or PointKind.COMMUNITY)
    out: dict[str, Any] = {"name": rec["name"], "kind": kind, "unit_id": unit_id}
    for column in ("address", "contact"):
        if column in rec:
            out[column] = rec[column] or None
    return out


def _apply(session: Session, plan: Plan, scope: Scope, ignored: list[str]) -> ImportResult:
    rows = plan.by_key()
    unit_of = {key: plan.unit_of(key, rows) for key in rows}
    now = utcnow()
    new = [r for r in plan.rows if r.target is None]
    added = _insert(session, [
        {**_values(r, unit_of[r.key or ""], None), "code": r.code, "token_version": 1,
         "active": True, "created_at": now} for r in new])
    ids: dict[str, int] = {f"new:{code}": pid for code, pid in added.items()}

    def id_of(key: str) -> int:
        return int(key[3:]) if key.startswith("pt:") else ids[key]

    raced = [r for r in new if r.code not in added]
    errors: list[RowError] = []
    if raced:
        # Another import added these codes after this one read the database.
        found: dict[str | None, tuple[int, int | None]] = {}
        for start in range(0, len(raced), BATCH):
            found.update({code: (pid, unit) for pid, code, unit in session.execute(
                sa.select(CollectionPoint.id, CollectionPoint.code, CollectionPoint.unit_id)
                .where(CollectionPoint.code.in_([r.code for r in raced[start:start + BATCH]])))})
        for r in raced:
            pid, unit = found[r.code]
            if not scope.covers(unit):
                errors.append(RowError(r.line, f"编码「{r.code}」刚被另一项导入用于其他单位的采集点，"
                                               "请重新导入 / another import just took this code"))
            ids[r.key or ""] = pid
    if errors:
        return ImportResult(errors, ignored=ignored)
    updates: list[dict[str, Any]] = []
    moved: dict[int, list[int]] = {}
    for r in plan.rows:
        if r.key is None or (r.target is None and r.code in added):
            continue
        pid = id_of(r.key)
        current = plan.existing.get(pid)
        values = {"id": pid, **_values(r, unit_of[r.key], current.kind if current else None)}
        if r.code is not None:
            values["code"] = r.code
        before = current.unit_id if current else None
        if values["unit_id"] is not None and values["unit_id"] != before:
            moved.setdefault(values["unit_id"], []).append(pid)
        updates.append(values)
    parents = [{"id": id_of(r.key or ""), "parent_id": id_of(r.parent) if r.parent else None}
               for r in plan.rows if "parent" in r.rec and r.key is not None]
    for batch in (updates, parents):
        for start in range(0, len(batch), BATCH):
            session.execute(sa.update(CollectionPoint), batch[start:start + BATCH])
    for unit_id, point_ids in moved.items():
        adopt_reports(session, point_ids, unit_id)
    # The bulk statements bypass the identity map; objects the caller holds reload.
    session.expire_all()
    return ImportResult([], created=len(added), updated=len(plan.rows) - len(added),
                        generated=sum(1 for r in plan.rows if r.generated), ignored=ignored)


def _table(session: Session, scope: Scope) -> Iterator[list[str]]:
    all_points = list(session.scalars(sa.select(CollectionPoint).where(in_scope(scope))
                                      .order_by(CollectionPoint.id)))
    codes = {p.id: p.code or f"#{p.id}" for p in all_points}
    units = Directory(session)
    # A unit's name where it is unambiguous, else its id: the file must import back.
    unit_refs = {uid: name if len(units.by_name.get(name, [])) == 1 else f"#{uid}"
                 for uid, (name, _, _) in units.rows.items()}
    yield [HEADERS_ZH[c] for c in COLUMNS]
    for p in all_points:
        # A parent outside the scope is named by its id only (the file still imports back).
        parent = codes.get(p.parent_id, f"#{p.parent_id}") if p.parent_id else ""
        yield [codes[p.id], p.name, KIND_NAMES.get(p.kind, p.kind.value), parent,
               unit_refs.get(p.unit_id, "") if p.unit_id else "", p.address or "", p.contact or ""]


# What a spreadsheet takes for the start of a formula (or of a DDE command).
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def inert(cell: str) -> str:
    """A CSV cell a spreadsheet will not run: a leading formula character gets a `'`
    before it, which makes Excel and LibreOffice keep the cell as text (the import
    takes the `'` off again, see `_csv_rows`)."""
    return f"'{cell}" if cell.startswith(FORMULA_START) else cell


def _uninert(cell: str) -> str:
    return cell[1:] if cell.startswith("'") and cell[1:].startswith(FORMULA_START) else cell


def export_csv(session: Session, scope: Scope = EVERYTHING) -> bytes:
    """The points of `scope` as CSV, UTF-8 with a BOM so Excel shows the Chinese."""
    buf = io.StringIO()
    csv.writer(buf).writerows([inert(cell) for cell in row] for row in _table(session, scope))
    return buf.getvalue().encode("utf-8-sig")


def _text(sheet: Any, value: str) -> Any:
    """A cell stored as a string, whatever it starts with (openpyxl would take "=..." for a
    formula): the sheet shows it and never computes it."""
    cell = WriteOnlyCell(sheet, value=value)
    cell.data_type = "s"
    return cell


def export_xlsx(session: Session, scope: Scope = EVERYTHING) -> bytes:
    """The points of `scope` as an XLSX workbook with one sheet, every cell a string."""
    book = openpyxl.Workbook(write_only=True)
    sheet = book.create_sheet("采集点")
    for row in _table(session, scope):
        sheet.append([_text(sheet, cell) for cell in row])
    buf = io.BytesIO()
    book.save(buf)
    return buf.getvalue()
