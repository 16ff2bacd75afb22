"""Writing rows as CSV or XLSX a piece at a time, so a million rows cost what a thousand do.

A cell that a spreadsheet would read as a formula (`=HYPERLINK(...)`, and in
CSV also `+`, `-`, `@`, a tab or a carriage return at the start) is written
as text: CSV gets a leading apostrophe, the way OWASP's advice on CSV
injection and Excel's own "text" prefix have it; XLSX stores it as a string
cell, which Excel never evaluates.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Iterator, Sequence
from typing import IO, Any

import openpyxl
from openpyxl.cell import WriteOnlyCell
from openpyxl.worksheet._write_only import WriteOnlyWorksheet

FORMATS = ("csv", "xlsx")
MIME = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
# What a spreadsheet takes for the start of a formula when it opens a CSV.
CSV_TRIGGERS = "=+-@\t\r"
# Excel's limits: rows per sheet (the header included) and characters per cell.
XLSX_MAX_ROWS = 1_048_576
XLSX_MAX_CHARS = 32_767
# XML 1.0 forbids these control characters; openpyxl refuses a string holding one.
_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
CHUNK_ROWS = 1000

Cell = str | int | None


def csv_chunks(header: Sequence[str], rows: Iterable[list[Cell]],
               text_columns: Sequence[int] | None = None) -> Iterator[bytes]:
    """The CSV file in pieces of CHUNK_ROWS rows: UTF-8 with a BOM (so Excel reads Chinese), CRLF.

    Only `text_columns` (by index; None: every column) can hold what people typed,
    so only they are checked for a formula's start (a million rows, a check a cell
    adds up). The rows are lists of the caller's, changed in place.
    """
    buf = io.StringIO()
    out = csv.writer(buf)
    out.writerow(header)
    yield ("\ufeff" + buf.getvalue()).encode("utf-8")
    checked = range(len(header)) if text_columns is None else text_columns
    batch: list[list[Cell]] = []
    for row in rows:
        for i in checked:
            value = row[i]
            if isinstance(value, str) and value and value[0] in CSV_TRIGGERS:
                row[i] = "'" + value  # shown as typed, never run
        batch.append(row)
        if len(batch) == CHUNK_ROWS:
            yield _csv_piece(buf, out, batch)
            batch = []
    if batch:
        yield _csv_piece(buf, out, batch)


def _csv_piece(buf: io.StringIO, out: Any, batch: list[list[Cell]]) -> bytes:
    buf.seek(0)
    buf.truncate()
    out.writerows(batch)  # None is written as an empty cell
    return buf.getvalue().encode("utf-8")


def write_xlsx(target: IO[bytes] | str, sheet_name: str, header: Sequence[str],
               rows: Iterable[Sequence[Cell]]) -> None:
    """An XLSX workbook of `rows` under `header` into `target`.

    openpyxl's write-only mode keeps each sheet's rows in a temporary file, not
    in memory. Past Excel's 1,048,576 rows a sheet, the rows go on in a second
    sheet ("<name> 2") under the same header.
    """
    book = openpyxl.Workbook(write_only=True)
    sheet = _sheet(book, sheet_name, header)
    used = 1
    for row in rows:
        if used == XLSX_MAX_ROWS:
            sheet = _sheet(book, f"{sheet_name} {len(book.worksheets) + 1}", header)
            used = 1
        sheet.append([_xlsx_cell(sheet, v) for v in row])
        used += 1
    book.save(target)


def write_book(target: IO[bytes] | str,
               sheets: Iterable[tuple[str, Sequence[str], Iterable[Sequence[Cell]]]]) -> None:
    """A workbook of several small sheets (name, header, rows), cells as `write_xlsx` writes them."""
    book = openpyxl.Workbook(write_only=True)
    for name, header, rows in sheets:
        sheet = _sheet(book, name, header)
        for row in rows:
            sheet.append([_xlsx_cell(sheet, v) for v in row])
    book.save(target)


def _sheet(book: Any, name: str, header: Sequence[str]) -> WriteOnlyWorksheet:
    sheet = book.create_sheet(name[:31])
    sheet.append([_xlsx_cell(sheet, h) for h in header])
    return sheet  # type: ignore[no-any-return]


def _xlsx_cell(sheet: WriteOnlyWorksheet, value: Cell) -> Any:
    if not isinstance(value, str):
        return value
    if _ILLEGAL.search(value):
        value = _ILLEGAL.sub("", value)
    if len(value) > XLSX_MAX_CHARS:
        value = value[:XLSX_MAX_CHARS - 1] + "…"
    if value.startswith("="):
        # openpyxl would store it as a formula; a string cell is only ever shown.
        cell = WriteOnlyCell(sheet, value)
        cell.data_type = "s"
        return cell
    return value
