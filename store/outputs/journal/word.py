"""An issue as a .docx, from a template the office can replace with its own red masthead.

A template is an ordinary Word file with placeholders in its text:
`{{journal}}` `{{number}}` `{{date}}` and `{{items}}` are required;
`{{total}}` `{{publisher}}` `{{note}}` `{{bao}}` `{{song}}` `{{fa}}` may be
used. `{{items}}` stands alone in its paragraph, which the items replace;
each item's paragraphs take the template's styles "Journal Item Title",
"Journal Item Note", "Journal Item Body" and "Journal Item Source" when it
has them (Word's Heading 2 and Normal otherwise). A paragraph whose
placeholders are all empty (no 编者按, nobody under 送) is left out. A
placeholder may sit in the body, a table or a header or footer; a paragraph
holding one takes the formatting of its first run.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from docx import Document
from docx.document import Document as DocxDocument
from docx.opc.exceptions import PackageNotFoundError
from docx.shared import Pt, RGBColor
from docx.table import Table
from docx.text.paragraph import Paragraph

from store.errors import DomainError
from store.outputs.journal.document import Issue

DEFAULT_TEMPLATE = Path(__file__).resolve().parent / "templates" / "default.docx"
REQUIRED = ("journal", "number", "date", "items")
OPTIONAL = ("total", "publisher", "note", "bao", "song", "fa")
PLACEHOLDER = re.compile(r"\{\{\s*([^{}]*?)\s*\}\}")
STYLES = {"title": ("Journal Item Title", "Heading 2"), "note": ("Journal Item Note", None),
          "body": ("Journal Item Body", None), "source": ("Journal Item Source", None)}


class TemplateError(DomainError):
    """The template cannot make an issue; the message names what is wrong."""


def render(issue: Issue, template: Path | None = None) -> bytes:
    """The .docx of `issue` made from `template` (the shipped default when None)."""
    doc = load(template or DEFAULT_TEMPLATE)
    values = {
        "journal": issue.journal, "number": issue.number, "total": issue.total, "date": issue.date,
        "publisher": issue.publisher, "note": issue.note or "",
        **{key: issue.distribution.get(key, "") for key in ("bao", "song", "fa")},
    }
    if issue.draft:
        values["number"] = f"{issue.number}（草稿）"
    marker = _items_paragraph(doc)
    _insert_items(doc, marker, issue)
    marker._p.getparent().remove(marker._p)
    for paragraph in list(_paragraphs(doc)):
        _fill(paragraph, values)
    if issue.watermark:
        _watermark(doc, issue.watermark)
    out = io.BytesIO()
    doc.save(out)
    return out.getvalue()


def _watermark(doc: DocxDocument, text: str) -> None:
    """`text` in grey at the top of every page: each section's headers, the first page's too."""
    for n, section in enumerate(doc.sections):
        headers = [section.header, section.first_page_header, section.even_page_header]
        for header in headers:
            if n and header.is_linked_to_previous:  # shows the previous section's: already marked
                continue
            run = header.add_paragraph().add_run(text)
            run.font.size = Pt(9)
            run.font.color.rgb = RGBColor(0x80, 0x80, 0x80)


def load(path: Path) -> DocxDocument:
    """Open and check a template: a .docx with every required placeholder and no unknown one."""
    try:
        doc = Document(str(path))
    except (PackageNotFoundError, KeyError, ValueError, OSError) as exc:
        raise TemplateError(f"模板文件无法打开（须为 Word .docx 文件） / the template is not a "
                            f"readable .docx file: {path.name}") from exc
    check(doc)
    return doc


def check(doc: DocxDocument) -> None:
    found: set[str] = set()
    for paragraph in _paragraphs(doc):
        found.update(PLACEHOLDER.findall(paragraph.text))
    missing = [name for name in REQUIRED if name not in found]
    unknown = sorted(found - set(REQUIRED) - set(OPTIONAL))
    problems = []
    if missing:
        problems.append("模板缺少占位符 / the template lacks the placeholders: "
                        + "、".join(f"{{{{{n}}}}}" for n in missing))
    if unknown:
        problems.append("模板中有无法识别的占位符 / the template has unknown placeholders: "
                        + "、".join(f"{{{{{n}}}}}" for n in unknown))
    if not problems:
        items = [p for p in _paragraphs(doc) if "items" in PLACEHOLDER.findall(p.text)]
        if len(items) != 1 or PLACEHOLDER.sub("", items[0].text).strip() or not _in_body(doc, items[0]):
            problems.append("{{items}} 须在正文中单独成段，且只出现一次 / {{items}} must stand alone "
                            "in one paragraph of the body, once")
    if problems:
        raise TemplateError("\n".join(problems))


def check_file(data: bytes) -> None:
    """Check an uploaded template before it is kept."""
    try:
        doc = Document(io.BytesIO(data))
    except Exception as exc:  # python-docx raises several kinds for a file that is no .docx
        raise TemplateError("上传的文件不是 Word .docx 文件 / the file is not a .docx document") from exc
    check(doc)


def _paragraphs(doc: DocxDocument) -> Iterator[Paragraph]:
    yield from _container(doc)
    for section in doc.sections:
        for part in (section.header, section.footer, section.first_page_header,
                     section.first_page_footer, section.even_page_header, section.even_page_footer):
            if not part.is_linked_to_previous:
                yield from _container(part)


def _container(container: Any) -> Iterator[Paragraph]:
    """The paragraphs of a body, header or footer, tables included."""
    yield from container.paragraphs
    for table in container.tables:
        yield from _table(table)


def _table(table: Table) -> Iterator[Paragraph]:
    for row in table.rows:
        for cell in row.cells:
            yield from cell.paragraphs
            for inner in cell.tables:
                yield from _table(inner)


def _in_body(doc: DocxDocument, paragraph: Paragraph) -> bool:
    return paragraph._p.getparent() is doc.element.body


def _items_paragraph(doc: DocxDocument) -> Paragraph:
    for paragraph in doc.paragraphs:
        if "items" in PLACEHOLDER.findall(paragraph.text):
            return paragraph
    raise TemplateError("模板缺少占位符 / the template lacks the placeholders: {{items}}")


def _style(doc: DocxDocument, kind: str) -> str | None:
    """The style id of the template's style for `kind` of paragraph, if it has one."""
    by_name = {s.name: s.style_id for s in doc.styles}
    return next((by_name[n] for n in STYLES[kind] if n and n in by_name), None)


def _insert_items(doc: DocxDocument, marker: Paragraph, issue: Issue) -> None:
    # Style ids looked up once: python-docx's lookup by name walks every style each time.
    styles = {kind: _style(doc, kind) for kind in STYLES}

    def add(text: str, kind: str) -> Paragraph:
        paragraph = marker.insert_paragraph_before(_clean(text))
        if styles[kind]:
            paragraph._p.style = styles[kind]
        return paragraph

    for item in issue.items:
        add(item.title, "title").paragraph_format.keep_with_next = True
        if item.note:
            add(f"按：{item.note}", "note")
        for text in item.paragraphs:
            add(text, "body")
        if item.source:
            add(f"（{item.source}）", "source")


def _fill(paragraph: Paragraph, values: dict[str, str]) -> None:
    text = paragraph.text
    names = PLACEHOLDER.findall(text)
    if not names:
        return
    if all(not values.get(name, "") for name in names):
        # Nothing to say (no 编者按, nobody under 送): the line goes, label and all.
        paragraph._p.getparent().remove(paragraph._p)
        return
    filled = PLACEHOLDER.sub(lambda m: _clean(values.get(m.group(1), "")), text)
    runs = paragraph.runs
    if not runs:
        paragraph.add_run(filled)
        return
    # The first run keeps its formatting and takes the whole text; python-docx
    # writes "\n" as a line break.
    runs[0].text = filled
    for run in runs[1:]:
        run._r.getparent().remove(run._r)


def _clean(text: str) -> str:
    """Without the characters XML cannot hold (control characters, lone surrogates)."""
    return "".join(c for c in text if c in "\n\t" or not (
        ord(c) < 32 or 0xD800 <= ord(c) <= 0xDFFF or ord(c) in (0xFFFE, 0xFFFF)))


__all__ = ["render", "load", "check_file", "TemplateError", "DEFAULT_TEMPLATE"]
