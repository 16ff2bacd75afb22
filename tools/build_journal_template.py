"""Build the plain default journal template (store/outputs/journal/templates/default.docx).

The file is committed; this script is here so it can be made again. An
office replaces it with its own (red masthead, seal line ...) in the console
(期刊 → the series → 模板); store/outputs/journal/word.py says which
placeholders and styles a template uses.

    python tools/build_journal_template.py
"""

from __future__ import annotations

from pathlib import Path

from docx import Document
from docx.enum.style import WD_STYLE_TYPE
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm, Pt, RGBColor
from docx.styles.style import ParagraphStyle
from docx.text.paragraph import Paragraph

OUT = Path(__file__).resolve().parent.parent / "store" / "outputs" / "journal" / "templates" / "default.docx"
RED = RGBColor(0xC0, 0x00, 0x00)
# Fonts Chinese offices have in Word and WPS; a machine without them substitutes.
SONG, HEI, FANGSONG, KAI = "宋体", "黑体", "仿宋", "楷体"


def east_asian(style: ParagraphStyle, name: str, size: float, *, bold: bool = False) -> None:
    style.font.name = name
    style.font.size = Pt(size)
    style.font.bold = bold
    fonts = style.element.get_or_add_rPr().get_or_add_rFonts()
    fonts.set(qn("w:eastAsia"), name)


def paragraph_style(doc: Document, name: str, font: str, size: float, *, bold: bool = False,
                    align: WD_ALIGN_PARAGRAPH | None = None, indent: bool = False) -> None:
    style = doc.styles.add_style(name, WD_STYLE_TYPE.PARAGRAPH)
    style.base_style = doc.styles["Normal"]
    east_asian(style, font, size, bold=bold)
    fmt = style.paragraph_format
    fmt.line_spacing = Pt(28)
    if align is not None:
        fmt.alignment = align
    if indent:
        fmt.first_line_indent = Pt(size * 2)  # 首行缩进两字
    if name == "Journal Item Title":
        fmt.space_before = Pt(18)
        fmt.space_after = Pt(6)


def rule(paragraph: Paragraph, edge: str, colour: str = "C00000") -> None:
    """A line along `edge` (top / bottom) of the paragraph: the masthead's red rule."""
    borders = OxmlElement("w:pBdr")
    line = OxmlElement(f"w:{edge}")
    for key, value in (("val", "single"), ("sz", "18"), ("space", "4"), ("color", colour)):
        line.set(qn(f"w:{key}"), value)
    borders.append(line)
    paragraph._p.get_or_add_pPr().append(borders)


def page_number(paragraph: Paragraph) -> None:
    """— PAGE — in the footer, as a field Word and WPS fill in."""
    paragraph.add_run("— ")
    run = paragraph.add_run()
    for kind, text in (("begin", None), (None, "PAGE"), ("end", None)):
        if kind:
            field = OxmlElement("w:fldChar")
            field.set(qn("w:fldCharType"), kind)
            run._r.append(field)
        else:
            instr = OxmlElement("w:instrText")
            instr.set(qn("xml:space"), "preserve")
            instr.text = text
            run._r.append(instr)
    paragraph.add_run(" —")


def build() -> Document:
    doc = Document()
    section = doc.sections[0]
    section.page_width, section.page_height = Cm(21), Cm(29.7)
    section.top_margin, section.bottom_margin = Cm(3.7), Cm(3.5)
    section.left_margin, section.right_margin = Cm(2.8), Cm(2.6)
    east_asian(doc.styles["Normal"], FANGSONG, 16)
    paragraph_style(doc, "Journal Masthead", SONG, 36, bold=True, align=WD_ALIGN_PARAGRAPH.CENTER)
    doc.styles["Journal Masthead"].font.color.rgb = RED
    paragraph_style(doc, "Journal Number", FANGSONG, 16, align=WD_ALIGN_PARAGRAPH.CENTER)
    paragraph_style(doc, "Journal Item Title", HEI, 18, align=WD_ALIGN_PARAGRAPH.CENTER)
    paragraph_style(doc, "Journal Item Note", KAI, 16, indent=True)
    paragraph_style(doc, "Journal Item Body", FANGSONG, 16, indent=True)
    paragraph_style(doc, "Journal Item Source", KAI, 14, align=WD_ALIGN_PARAGRAPH.RIGHT)
    paragraph_style(doc, "Journal Distribution", FANGSONG, 14)

    doc.add_paragraph("{{journal}}", style="Journal Masthead")
    doc.add_paragraph("{{number}}", style="Journal Number")
    doc.add_paragraph("{{total}}", style="Journal Number")
    line = doc.add_paragraph("{{publisher}}\t{{date}}", style="Journal Number")
    line.paragraph_format.alignment = WD_ALIGN_PARAGRAPH.DISTRIBUTE
    rule(line, "bottom")
    doc.add_paragraph("编者按：{{note}}", style="Journal Item Note")
    doc.add_paragraph("{{items}}")
    first = doc.add_paragraph("{{bao}}", style="Journal Distribution")
    rule(first, "top", "000000")
    doc.add_paragraph("{{song}}", style="Journal Distribution")
    doc.add_paragraph("{{fa}}", style="Journal Distribution")
    footer = section.footer.paragraphs[0]
    footer.alignment = WD_ALIGN_PARAGRAPH.CENTER
    page_number(footer)
    return doc


def main() -> None:
    OUT.parent.mkdir(parents=True, exist_ok=True)
    build().save(str(OUT))
    print(f"{OUT}: {OUT.stat().st_size:,} bytes")


if __name__ == "__main__":
    main()
