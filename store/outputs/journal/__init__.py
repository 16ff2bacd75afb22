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


def export(session: Session, issue: JournalIssue, fmt: str, instance_dir: Path) -> bytes:
    """`issue` as a `fmt` ("docx" or "pdf") file; the .docx from the series' own template if any."""
    # Imported here: store.search reads `rules` from this package, and needs neither
    # python-docx nor reportlab.
    from store.outputs.journal import document, pdf, series, word

    doc = document.of(session, issue)
    if fmt == "docx":
        return word.render(doc, series.template_path(issue.series, instance_dir))
    if fmt == "pdf":
        return pdf.render(doc)
    raise ValueError(f"unknown format {fmt!r}; choose one of {FORMATS}")
