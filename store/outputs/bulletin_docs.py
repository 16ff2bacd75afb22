"""A 通报 as files: an .xlsx (a sheet of counts per unit, a sheet per series' ranking) and a .docx.

The Word file sets its fonts for East Asian text too (`w:eastAsia`), so Word and
WPS show 宋体 / 黑体 rather than a Western font's fallback. Cells that look like
formulas stay text (`store.outputs.sheets`).
"""

from __future__ import annotations

import io
from collections.abc import Sequence

from docx import Document
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml.ns import qn
from docx.shared import Pt

from store.outputs import scoring, sheets
from store.outputs.figures import Content
from store.outputs.scorerules import LEVEL_NAMES

SONG, HEI = "宋体", "黑体"
COUNT_HEADER = ("单位", "收到信息", "采用", *(f"{n}采用" for n in LEVEL_NAMES.values()),
                "领导批示")


def count_rows(content: Content) -> list[list[sheets.Cell]]:
    """The counts per unit as rows under `COUNT_HEADER`, the total last."""
    return [[c.name, c.received, c.adopted, *(c.by_level[lv] for lv in LEVEL_NAMES), c.instructed]
            for c in [*content.units, content.total]]


def xlsx(content: Content) -> bytes:
    out = io.BytesIO()
    parts: list[tuple[str, Sequence[str], list[list[sheets.Cell]]]] = [
        ("各单位情况", COUNT_HEADER, count_rows(content))]
    for r in content.scores.rankings:
        rows: list[list[sheets.Cell]] = [list(row) for row in scoring.sheet_rows(r)]
        parts.append((f"排名-{r.series.name}", scoring.HEADER, rows))
    sheets.write_book(out, parts)
    return out.getvalue()


def _east_asian(run_or_style: object, name: str, size: float | None = None,
                bold: bool | None = None) -> None:
    font = run_or_style.font  # type: ignore[attr-defined]
    font.name = name
    if size is not None:
        font.size = Pt(size)
    if bold is not None:
        font.bold = bold
    element = run_or_style.element  # type: ignore[attr-defined]
    element.get_or_add_rPr().get_or_add_rFonts().set(qn("w:eastAsia"), name)


def docx(content: Content) -> bytes:
    doc = Document()
    _east_asian(doc.styles["Normal"], SONG, 12)
    title = doc.add_paragraph()
    title.alignment = WD_ALIGN_PARAGRAPH.CENTER
    _east_asian(title.add_run(f"{content.period.label}社情民意信息工作情况通报"), HEI, 18, True)
    t = content.total
    doc.add_paragraph(
        f"{content.period.label}（{content.period.start} 至 {content.period.end}），"
        f"共收到社情民意信息 {t.received} 条，采用 {t.adopted} 条，获领导批示 {t.instructed} 件。"
        "各单位情况如下。")
    _heading(doc, "一、各单位报送采用情况")
    _table(doc, COUNT_HEADER, count_rows(content))
    for i, r in enumerate(content.scores.rankings, start=2):
        _heading(doc, f"{_number(i)}、{r.series.name}积分排名")
        rows: list[list[sheets.Cell]] = [[s.rank, s.name, str(s.score)] for s in r.standings]
        if rows:
            _table(doc, ("名次", "单位", "得分"), rows)
        else:
            doc.add_paragraph("本序列暂无单位。")
    out = io.BytesIO()
    doc.save(out)
    return out.getvalue()


def _number(i: int) -> str:
    return "一二三四五六七八九十"[i - 1] if i <= 10 else str(i)


def _heading(doc: object, text: str) -> None:
    p = doc.add_paragraph()  # type: ignore[attr-defined]
    _east_asian(p.add_run(text), HEI, 14, True)


def _table(doc: object, header: Sequence[str], rows: Sequence[Sequence[sheets.Cell]]) -> None:
    table = doc.add_table(rows=1, cols=len(header))  # type: ignore[attr-defined]
    table.style = "Table Grid"
    for cell, text in zip(table.rows[0].cells, header, strict=True):
        cell.text = ""
        _east_asian(cell.paragraphs[0].add_run(str(text)), HEI, 10.5, True)
    for row in rows:
        cells = table.add_row().cells
        for cell, value in zip(cells, row, strict=True):
            cell.text = ""
            _east_asian(cell.paragraphs[0].add_run("" if value is None else str(value)), SONG, 10.5)
