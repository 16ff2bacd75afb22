"""Importing the roster from the office's spreadsheet (XLSX or CSV in UTF-8 or GBK).

The header row names the columns, in Chinese or English, in any order:
姓名 (required), 身份, 界别, 单位 (a name or `#id`, required), 联系方式, 年度目标.
The whole file is checked first, and nothing is written while any line is
wrong: each wrong line is listed with its number and why (a unit outside
the importer's scope, a person already on the roster of some unit, the same
person twice in the file ...). Then every line is added with
`roster.add`, one INSERT … ON CONFLICT each.
"""

from __future__ import annotations

import unicodedata
import zipfile
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from store import access, blindindex
from store.models import Member, User
from store.network import roster, units
from store.network.pointio import RowError, rows_of
from store.network.roster import RosterError

HEADER = {
    "姓名": "name", "name": "name",
    "身份": "role", "role": "role", "类别": "role",
    "界别": "sector", "sector": "sector",
    "单位": "unit", "所在单位": "unit", "unit": "unit",
    "联系方式": "contact", "电话": "contact", "手机": "contact", "contact": "contact",
    "年度目标": "target", "目标": "target", "target": "target", "yearly_target": "target",
}
REQUIRED = ("name", "unit")
LINE_CAP = 5000


@dataclass(frozen=True)
class Imported:
    errors: list[RowError]
    added: int = 0
    ignored: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.errors


def _key(cell: str) -> str:
    return "".join(unicodedata.normalize("NFKC", cell).split()).lower()


def import_roster(session: Session, user: User, filename: str, data: bytes) -> Imported:
    """Add every line of the file to the roster, or nothing (with every wrong line named)."""
    try:
        rows = [(n, cells) for n, cells in rows_of(filename, data) if any(c.strip() for c in cells)]
    except (ValueError, KeyError, OSError, zipfile.BadZipFile):
        return Imported([RowError(1, "文件无法读取，请上传 XLSX 或 CSV 文件 / not an XLSX or CSV file")])
    if not rows:
        return Imported([RowError(1, "文件是空的 / the file is empty")])
    header_line, header = rows[0]
    index: dict[str, int] = {}
    ignored: list[str] = []
    for i, cell in enumerate(header):
        column = HEADER.get(_key(cell))
        if column is None:
            if cell.strip():
                ignored.append(cell.strip())
        elif column not in index:
            index[column] = i
    missing = [c for c in REQUIRED if c not in index]
    if missing:
        names = {"name": "姓名", "unit": "单位"}
        return Imported([RowError(header_line, "缺少列：" + "、".join(names[c] for c in missing)
                                  + " / missing columns: " + ", ".join(missing))])
    if len(rows) - 1 > LINE_CAP:
        return Imported([RowError(header_line, f"一次最多导入 {LINE_CAP} 行 / at most {LINE_CAP} lines")])

    directory = units.Directory(session)
    visible = access.visible_units(session, user)
    entries: list[tuple[int, roster.Entry]] = []
    errors: list[RowError] = []
    seen: dict[tuple[str, str | None], int] = {}
    for line, cells in rows[1:]:
        def value(column: str, cells: list[str] = cells) -> str:
            i = index.get(column)
            return cells[i].strip() if i is not None and i < len(cells) else ""
        try:
            unit_ref = value("unit")
            if not unit_ref:
                raise RosterError("unit_id", "请填写单位")
            try:
                unit_id = directory.find(unit_ref)
            except units.UnitError as exc:
                raise RosterError("unit_id", str(exc)) from None
            if directory.retired(unit_id) or (visible is not None and unit_id not in visible):
                raise RosterError("unit_id", f"单位「{unit_ref}」不在您负责的范围内或已撤销")
            entry = roster.entry(name=value("name"), role=value("role") or "member",
                                 sector=value("sector"), unit_id=unit_id, contact=value("contact"),
                                 yearly_target=value("target") or "2")
        except RosterError as exc:
            errors.append(RowError(line, str(exc)))
            continue
        key = (entry.name, blindindex.normalise(entry.contact or ""))
        if entry.contact is not None and key in seen:
            errors.append(RowError(line, f"与第 {seen[key]} 行是同一人（姓名和联系方式相同）"))
            continue
        seen[key] = line
        entries.append((line, entry))
    errors += _already_on_roster(session, directory, entries)
    if errors:
        return Imported(sorted(errors, key=lambda e: e.line), ignored=tuple(ignored))
    for _, entry in entries:
        roster.add(session, entry)
    return Imported([], added=len(entries), ignored=tuple(ignored))


def _already_on_roster(session: Session, directory: units.Directory,
                       entries: list[tuple[int, roster.Entry]]) -> list[RowError]:
    """Lines naming someone already on the roster (of this unit or another: one unit each)."""
    wanted = {(e.name, blindindex.digest(session, e.contact)) for _, e in entries
              if e.contact is not None}
    if not wanted:
        return []
    names = {name for name, _ in wanted}
    held = {(name, digest): unit_id for name, digest, unit_id in session.execute(
        sa.select(Member.name, Member.contact_digest, Member.unit_id)
        .where(Member.name.in_(names), Member.contact_digest.is_not(None)))}
    out = []
    for line, e in entries:
        key = (e.name, blindindex.digest(session, e.contact))
        if e.contact is not None and key in held:
            unit_id = held[key]
            where = f"「{directory.path(unit_id)}」" if unit_id is not None else ""
            out.append(RowError(line, f"「{e.name}」（同一联系方式）已在{where}名册中，"
                                      "每人只记在一个单位名下"))
    return out
