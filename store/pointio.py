"""Bulk import and export of collection points as CSV or XLSX.

Columns: code, name, kind, parent_code, unit, address, contact (Chinese headers
编号, 名称, 类型, 上级编号, 单位, 地址, 联系人 work too). `code` is the key: a row
whose code exists updates that point, any other row adds one. The whole file is
checked first; if any row is bad, every bad row is reported with its line
number and nothing is imported.
"""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import openpyxl
import sqlalchemy as sa
from sqlalchemy.orm import Session

from store.models import CollectionPoint, PointKind, Unit
from store.points import KIND_NAMES

COLUMNS = ("code", "name", "kind", "parent_code", "unit", "address", "contact")
REQUIRED = ("code", "name")
HEADERS_ZH = dict(zip(("编号", "名称", "类型", "上级编号", "单位", "地址", "联系人"), COLUMNS,
                      strict=True))
LIMITS = {"code": 64, "name": 200, "address": 300, "contact": 200}
_KINDS = {k.value: k for k in PointKind} | {v: PointKind(k) for k, v in KIND_NAMES.items()}


@dataclass(frozen=True)
class RowError:
    line: int  # 1 is the header
    reason: str

    def __str__(self) -> str:
        return f"第 {self.line} 行 / line {self.line}: {self.reason}"


@dataclass(frozen=True)
class ImportResult:
    errors: list[RowError]
    created: int = 0
    updated: int = 0

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
        yield reader.line_num, row


def _xlsx_rows(data: bytes) -> Iterator[tuple[int, list[str]]]:
    book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    sheet = book.worksheets[0]
    for n, row in enumerate(sheet.iter_rows(values_only=True), start=1):
        yield n, ["" if v is None else str(v) for v in row]
    book.close()


def rows_of(filename: str, data: bytes) -> Iterator[tuple[int, list[str]]]:
    """(line number, cells) of a CSV or XLSX file, chosen by its name."""
    if filename.lower().endswith(".xlsx"):
        return _xlsx_rows(data)
    return _csv_rows(data)


def import_points(session: Session, filename: str, data: bytes) -> ImportResult:
    """Check the whole file, then add or update every point in it, or nothing at all.

    The caller commits when `ok`, and shows `errors` otherwise.
    """
    try:
        rows = list(rows_of(filename, data))
    except (UnicodeDecodeError, csv.Error, ValueError, KeyError, OSError,
            zipfile.BadZipFile) as exc:
        return ImportResult([RowError(1, f"无法读取文件 / unreadable file ({exc.__class__.__name__})")])
    if not rows:
        return ImportResult([RowError(1, "文件是空的 / the file is empty")])
    header_line, header = rows[0]
    names = [HEADERS_ZH.get(h.strip(), h.strip().lower()) for h in header]
    missing = [c for c in REQUIRED if c not in names]
    if missing:
        return ImportResult([RowError(header_line, "缺少列 / missing columns: " + ", ".join(missing))])
    index = {name: i for i, name in enumerate(names) if name in COLUMNS}
    units = _units(session)
    # Points without a code are exported as "#<id>" and so come back by id.
    existing: dict[str | None, CollectionPoint] = {
        p.code or f"#{p.id}": p for p in session.scalars(sa.select(CollectionPoint))}
    errors: list[RowError] = []
    records: dict[str, tuple[int, dict[str, str]]] = {}
    for line, cells in rows[1:]:
        if not any(c.strip() for c in cells):
            continue
        rec = {c: (cells[i].strip() if i < len(cells) else "") for c, i in index.items()}
        errors.extend(RowError(line, r) for r in _check(rec, units, records))
        if rec.get("code") and rec["code"] not in records:
            records[rec["code"]] = (line, rec)
    by_id = {p.id: c for c, p in existing.items()}
    for code, (line, rec) in records.items():
        parent = rec.get("parent_code", "")
        if code.startswith("#") and code not in existing:
            errors.append(RowError(line, f"没有 {code} 号采集点 / no such point"))
        if parent and parent not in records and parent not in existing:
            errors.append(RowError(line, f"上级编号「{parent}」不存在 / unknown parent_code"))
        elif parent and _cycles(code, records, existing, by_id):
            errors.append(RowError(line, f"上级关系成环 / parent_code makes a cycle ({parent})"))
    if errors:
        return ImportResult(sorted(errors, key=lambda e: e.line))
    return _apply(session, records, existing, units)


def _units(session: Session) -> dict[str, int]:
    out: dict[str, int] = {}
    for unit in session.scalars(sa.select(Unit)):
        out[str(unit.id)] = unit.id
        out.setdefault(unit.name, unit.id)
    return out


def _check(rec: dict[str, str], units: dict[str, int],
           seen: dict[str, tuple[int, dict[str, str]]]) -> Iterable[str]:
    for column in REQUIRED:
        if not rec.get(column):
            yield f"{column} 不能为空 / {column} is empty"
    for column, limit in LIMITS.items():
        if len(rec.get(column, "")) > limit:
            yield f"{column} 超过 {limit} 字 / {column} longer than {limit}"
    code = rec.get("code", "")
    if code and code in seen:
        yield f"编号「{code}」重复（第 {seen[code][0]} 行已有）/ duplicate code"
    if rec.get("kind") and rec["kind"] not in _KINDS:
        yield f"类型「{rec['kind']}」无效 / unknown kind"
    if rec.get("unit") and rec["unit"] not in units:
        yield f"单位「{rec['unit']}」不存在 / unknown unit"
    if code and rec.get("parent_code") == code:
        yield "上级编号不能是自己 / a point cannot be its own parent"


def _cycles(code: str, records: dict[str, tuple[int, dict[str, str]]],
            existing: dict[str | None, CollectionPoint], by_id: dict[int, str | None]) -> bool:
    seen = {code}
    current: str | None = code
    while current is not None:
        if current in records:
            current = records[current][1].get("parent_code") or None
        elif current in existing:
            parent_id = existing[current].parent_id
            current = by_id.get(parent_id) if parent_id else None
        else:
            return False
        if current in seen:
            return True
        if current is not None:
            seen.add(current)
    return False


def _apply(session: Session, records: dict[str, tuple[int, dict[str, str]]],
           existing: dict[str | None, CollectionPoint], units: dict[str, int]) -> ImportResult:
    created = updated = 0
    points: dict[str, CollectionPoint] = {c: p for c, p in existing.items() if c}
    for code, (_line, rec) in records.items():
        point = points.get(code)
        if point is None:
            point = CollectionPoint(code=code, name=rec["name"], token_version=1, active=True)
            session.add(point)
            points[code] = point
            created += 1
        else:
            point.name = rec["name"]
            updated += 1
        if "kind" in rec:
            point.kind = _KINDS[rec["kind"]] if rec["kind"] else PointKind.COMMUNITY
        if "unit" in rec:
            point.unit_id = units[rec["unit"]] if rec["unit"] else None
        for column in ("address", "contact"):
            if column in rec:
                setattr(point, column, rec[column] or None)
    session.flush()  # ids for the parents
    for code, (_line, rec) in records.items():
        if "parent_code" in rec:
            parent = rec["parent_code"]
            points[code].parent_id = points[parent].id if parent else None
    session.flush()
    return ImportResult([], created=created, updated=updated)


def _table(session: Session) -> Iterator[list[str]]:
    all_points = list(session.scalars(sa.select(CollectionPoint).order_by(CollectionPoint.id)))
    codes = {p.id: p.code or f"#{p.id}" for p in all_points}
    unit_names = {uid: name for uid, name in session.execute(sa.select(Unit.id, Unit.name))}
    yield list(COLUMNS)
    for p in all_points:
        yield [codes[p.id], p.name, p.kind.value,
               codes.get(p.parent_id, "") if p.parent_id else "",
               unit_names.get(p.unit_id, "") if p.unit_id else "",
               p.address or "", p.contact or ""]


def export_csv(session: Session) -> bytes:
    """Every point as CSV, UTF-8 with a BOM so Excel shows the Chinese."""
    buf = io.StringIO()
    csv.writer(buf).writerows(_table(session))
    return buf.getvalue().encode("utf-8-sig")


def export_xlsx(session: Session) -> bytes:
    """Every point as an XLSX workbook with one sheet."""
    book = openpyxl.Workbook(write_only=True)
    sheet = book.create_sheet("采集点")
    for row in _table(session):
        sheet.append(row)
    buf = io.BytesIO()
    book.save(buf)
    return buf.getvalue()
