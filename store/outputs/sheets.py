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
from itertools import islice, repeat
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
CSV_TRIGGER_STARTS = tuple(CSV_TRIGGERS)
CSV_TRIGGER_TOP = max(CSV_TRIGGERS)  # "@"
# Excel's limits: rows per sheet (the header included) and characters per cell.
XLSX_MAX_ROWS = 1_048_576
XLSX_MAX_CHARS = 32_767
# XML 1.0 forbids these control characters; openpyxl refuses a string holding one.
_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
CHUNK_ROWS = 1000

Cell = str | int | None
Column = Sequence[Cell]
_STR: frozenset[type] = frozenset({str})
_STR_OR_NONE: frozenset[type] = frozenset({str, type(None)})


def csv_chunks(header: Sequence[str], rows: Iterable[Sequence[Cell]],
               text_columns: Sequence[int] | None = None) -> Iterator[bytes]:
    """The CSV file in pieces of CHUNK_ROWS rows: UTF-8 with a BOM (so Excel reads Chinese), CRLF.

    Only `text_columns` (by index; None: every column) can hold what people typed,
    so only they are checked for a formula's start. Rows given by column come
    cheaper: see `csv_pieces`.
    """
    return csv_pieces(header, _by_column(rows), text_columns)


def csv_pieces(header: Sequence[str], batches: Iterable[Sequence[Column]],
               text_columns: Sequence[int] | None = None) -> Iterator[bytes]:
    """The CSV file, one piece per batch of rows given column by column (`batch[i]` is
    column i's cells): the same bytes `csv.writer` writes, with formulas made text.

    A column's cells are checked together, in C, for anything that needs quoting;
    only a column that has some is quoted cell by cell. A million rows cost what the
    database takes to read them, plus little.
    """
    buf = io.StringIO()
    csv.writer(buf).writerow(header)
    yield ("\ufeff" + buf.getvalue()).encode("utf-8")
    guarded = frozenset(range(len(header)) if text_columns is None else text_columns)
    for batch in batches:
        if batch and len(batch[0]):
            yield _csv_text(batch, guarded).encode("utf-8")


def _by_column(rows: Iterable[Sequence[Cell]]) -> Iterator[list[tuple[Cell, ...]]]:
    """Rows, CHUNK_ROWS at a time, turned into columns."""
    it = iter(rows)
    while chunk := list(islice(it, CHUNK_ROWS)):
        yield list(zip(*chunk, strict=True))


def _csv_text(batch: Sequence[Column], guarded: frozenset[int]) -> str:
    columns = [_texts(column, i in guarded) for i, column in enumerate(batch)]
    if len(columns) == 1:
        # csv quotes a row's lone empty cell (""), which the joins below would not.
        buf = io.StringIO()
        csv.writer(buf).writerows([v] for v in columns[0])
        return buf.getvalue()
    return "\r\n".join(map(",".join, zip(*map(_quoted, columns), strict=True))) + "\r\n"


def _texts(column: Column, guard: bool) -> Sequence[str]:
    """The cells as csv.writer writes them (None empty, numbers in digits); with `guard`,
    text that starts like a formula gets a leading apostrophe: shown as typed, never run."""
    kinds = set(map(type, column))
    texts: Sequence[str]
    if kinds <= _STR:
        texts = column  # type: ignore[assignment]
    elif kinds <= _STR_OR_NONE:
        texts = ["" if v is None else v for v in column]  # type: ignore[misc]
    else:  # numbers too, which never need the apostrophe (-1 is a number, not a formula)
        return [_formula_safe_cell(v) if guard and isinstance(v, str) else "" if v is None else str(v)
                for v in column]
    if guard and not _safe_starts(texts):
        return list(map(_formula_safe_cell, texts))
    return texts


def _safe_starts(texts: Sequence[str]) -> bool:
    """Whether no cell can start like a formula, told cheaply for the common column.

    Every trigger sorts at or below "@" (tab, CR, + - = @), so when the smallest
    non-empty cell starts above it (Chinese, letters), every cell does. Otherwise (a
    digit, a space) each cell is checked.
    """
    smallest = min(filter(None, texts), default="A")
    if smallest[0] > CSV_TRIGGER_TOP:
        return True
    return not any(map(str.startswith, texts, repeat(CSV_TRIGGER_STARTS)))


def _formula_safe_cell(value: str) -> str:
    return "'" + value if value.startswith(CSV_TRIGGER_STARTS) else value


def _quoted(texts: Sequence[str]) -> Sequence[str]:
    """Quoted where csv.writer quotes (QUOTE_MINIMAL): a comma, a quote or a line end inside."""
    blob = "".join(texts)
    if not ('"' in blob or "," in blob or "\n" in blob or "\r" in blob):
        return texts
    return ['"' + v.replace('"', '""') + '"' if '"' in v or "," in v or "\n" in v or "\r" in v
            else v for v in texts]


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
