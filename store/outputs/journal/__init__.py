"""The office's journals (issue 12): 《社情民意》, 《信息专报》 and any others it configures.

- `rules`: which reports an issue may carry (`may_carry`, the one rule) and which it has carried
- `series`: the journals and their settings (publisher, template)
- `issues`: the moves table, composing and editing a draft
- `publishing`: 签发 (numbering), 退回修改, 刊发 (telling the reporters), the one-step 专报
- `numbering`: 2026年第12期 and 总第N期, one atomic statement each
- `source`: the source line under each item, per the office's setting
- `listing`: reading issues back
- `document`, `word`, `pdf`: an issue as a .docx (from a replaceable template) and as a PDF
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.orm import Session

from store.models import JournalIssue

FORMATS = ("docx", "pdf")


def export(session: Session, issue: JournalIssue, fmt: str, instance_dir: Path, *,
           watermark: str | None = None) -> bytes:
    """`issue` as a `fmt` ("docx" or "pdf") file; the .docx from the series' own template if any.

    `watermark` (who takes it, and when: `store.reports.marks.watermark`) is printed across
    every page; an issue that carries a marked report must have one (`marked`).
    """
    # Imported here: store.search reads `rules` from this package, and needs neither
    # python-docx nor reportlab.
    from dataclasses import replace

    from store.outputs.journal import document, pdf, series, word

    if watermark is None and marked(issue):
        raise ValueError("an issue carrying a marked report is exported with a watermark")
    doc = replace(document.of(session, issue), watermark=watermark)
    if fmt == "docx":
        return word.render(doc, series.template_path(issue.series, instance_dir))
    if fmt == "pdf":
        return pdf.render(doc)
    raise ValueError(f"unknown format {fmt!r}; choose one of {FORMATS}")


def marked(issue: JournalIssue) -> bool:
    """Whether the issue carries a report marked above 公开 (store.reports.marks)."""
    return any(item.report.mark > 0 for item in issue.items)
