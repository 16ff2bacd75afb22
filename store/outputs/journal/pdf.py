"""An issue as a PDF (A4), every character in an embedded font (qr.fonts).

Text is set run by run in the face that has its glyphs (Minyi Sans SC, its
extra face for rare ideographs, Minyi Symbols for emoji), so 𠀾, 國 and 😀
print and can be searched and copied; long titles wrap, nothing is cut.

A paragraph set in more than one face is broken into its lines here, one
flowable a line (`_block`): reportlab's CJK wrapping splits such a paragraph
across a page badly (a gap that walks along the lines of the next page, and a
stray .notdef box after a character beyond U+FFFF), while single lines never
need splitting. A paragraph in one face is left to reportlab whole.
"""

from __future__ import annotations

import io
from typing import Any

from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER, TA_RIGHT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import (
    CondPageBreak,
    HRFlowable,
    KeepTogether,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
)

from qr import fonts
from store.outputs.journal.document import Issue

RED = colors.HexColor("#C00000")


def _styles() -> dict[str, ParagraphStyle]:
    base = ParagraphStyle("base", fontName=fonts.SANS, fontSize=14, leading=24, wordWrap="CJK")
    return {
        "masthead": ParagraphStyle("masthead", base, fontSize=40, leading=52, alignment=TA_CENTER,
                                   textColor=RED),
        "number": ParagraphStyle("number", base, fontSize=14, alignment=TA_CENTER),
        "line": ParagraphStyle("line", base, fontSize=12, leading=18),
        "note": ParagraphStyle("note", base, textColor=colors.HexColor("#333333"), firstLineIndent=28),
        "title": ParagraphStyle("title", base, fontSize=18, leading=28, alignment=TA_CENTER,
                                spaceBefore=14, spaceAfter=8),
        "body": ParagraphStyle("body", base, firstLineIndent=28),
        "source": ParagraphStyle("source", base, fontSize=12, alignment=TA_RIGHT, spaceAfter=6),
        "list": ParagraphStyle("list", base, fontSize=12, leading=20),
    }


def _p(text: str, style: ParagraphStyle) -> Paragraph:
    return Paragraph(fonts.markup(text), style)


# The frame's text width: A4 less the margins and the frame's own padding (6 pt a side).
WIDTH = A4[0] - 52 * mm - 12


def _block(text: str, style: ParagraphStyle) -> list[Any]:
    """`text` as flowables: one Paragraph, or one a line when it mixes faces (see above)."""
    whole = _p(text, style)
    if len(fonts.runs(text)) < 2:
        return [whole]
    whole.wrap(WIDTH, 1e6)
    lines = ["".join(word.text for word in line.words) for line in whole.blPara.lines]
    if len(lines) < 2:
        return [whole]
    last = len(lines) - 1
    return [_p(line, ParagraphStyle(f"{style.name}-{n}", style,
                                    firstLineIndent=style.firstLineIndent if n == 0 else 0,
                                    spaceBefore=style.spaceBefore if n == 0 else 0,
                                    spaceAfter=style.spaceAfter if n == last else 0))
            for n, line in enumerate(lines)]


def render(issue: Issue) -> bytes:
    """The PDF of `issue`."""
    fonts.register()
    st = _styles()
    out = io.BytesIO()
    doc = SimpleDocTemplate(out, pagesize=A4, leftMargin=26 * mm, rightMargin=26 * mm,
                            topMargin=25 * mm, bottomMargin=25 * mm,
                            title=f"《{issue.journal}》{issue.number}", author=issue.publisher,
                            subject=issue.journal)
    number = issue.number + ("（草稿）" if issue.draft else "")
    story: list[Any] = [_p(issue.journal, st["masthead"]), Spacer(1, 4), _p(number, st["number"])]
    if issue.total:
        story.append(_p(issue.total, st["number"]))
    publisher_line = f"{issue.publisher}　　{issue.date}" if issue.publisher else issue.date
    story += [Spacer(1, 6), _p(publisher_line, st["number"]),
              HRFlowable(width="100%", thickness=2, color=RED, spaceBefore=4, spaceAfter=10)]
    if issue.note:
        story += _block(f"编者按：{issue.note}", st["note"])
    for item in issue.items:
        head: list[Any] = _block(item.title, st["title"])
        if item.note:
            head += _block(f"按：{item.note}", st["note"])
        # A title starts a page rather than end one with a line or two under it.
        story += [CondPageBreak(45 * mm), KeepTogether(head)]
        for text in item.paragraphs:
            story += _block(text, st["body"])
        if item.source:
            story += _block(f"（{item.source}）", st["source"])
    if issue.distribution:
        story.append(HRFlowable(width="100%", thickness=1, color=colors.black, spaceBefore=16,
                                spaceAfter=4))
        story += [_p(line, st["list"]) for line in issue.distribution.values()]
    def on_page(canvas: Any, doc: Any) -> None:
        _page_number(canvas, doc)
        if issue.watermark:
            _watermark(canvas, issue.watermark)

    doc.build(story, onFirstPage=on_page, onLaterPages=on_page)
    return out.getvalue()


def _page_number(canvas: Any, doc: Any) -> None:
    canvas.saveState()
    fonts.draw(canvas, A4[0] / 2, 14 * mm, f"— {doc.page} —", 10, centred=True)
    canvas.restoreState()


def _watermark(canvas: Any, text: str) -> None:
    """`text` diagonally across the page, three times, light grey: on screen and on paper."""
    canvas.saveState()
    canvas.setFillColor(colors.Color(0.5, 0.5, 0.5, alpha=0.22))
    canvas.translate(A4[0] / 2, A4[1] / 2)
    canvas.rotate(35)
    for dy in (-110 * mm, 0, 110 * mm):
        fonts.draw(canvas, 0, dy, text, 20, centred=True)
    canvas.restoreState()
