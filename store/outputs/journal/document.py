"""An issue as a document says it: what the .docx and the PDF both print, read once."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from store.models import IssueStatus, JournalIssue, utcnow
from store.outputs.journal import numbering
from store.outputs.journal.issues import DISTRIBUTION


@dataclass(frozen=True)
class Item:
    title: str
    paragraphs: list[str]
    note: str | None
    source: str


@dataclass(frozen=True)
class Issue:
    journal: str  # 社情民意 (without 《》: the masthead prints the bare name)
    number: str  # 2026年第12期
    total: str  # 总第345期, or ""
    date: str  # 2026年11月22日
    publisher: str
    note: str | None
    items: list[Item]
    # 报 / 送 / 发, each as printed: "报：省政协办公厅、市委办公室"; only the ones with recipients.
    distribution: dict[str, str] = field(default_factory=dict)
    draft: bool = False
    # Who took this copy and when, across every page (a marked report among the items).
    watermark: str | None = None

    @property
    def filename(self) -> str:
        """A file name for downloads: 社情民意-2026年第12期."""
        return f"{self.journal}-{self.number}"


def of(session: Session, issue: JournalIssue) -> Issue:
    """What `issue` prints, now."""
    when = (issue.signed_off_at or utcnow()).astimezone(numbering.LOCAL)
    lists = issue.distribution or {}
    distribution = {key: f"{word}：{'、'.join(lists[key])}"
                    for key, word in DISTRIBUTION.items() if lists.get(key)}
    return Issue(
        journal=issue.series.name,
        number=numbering.label(issue),
        total=numbering.total_label(issue),
        date=f"{when.year}年{when.month}月{when.day}日",
        publisher=issue.series.publisher,
        note=issue.note,
        items=[Item(title=i.title, paragraphs=paragraphs(i.body), note=i.note, source=i.source)
               for i in issue.items],
        distribution=distribution,
        draft=issue.status is IssueStatus.DRAFT,
    )


def paragraphs(body: str) -> list[str]:
    """The body's paragraphs: one a line, blank lines dropped."""
    return [line.strip() for line in body.splitlines() if line.strip()]
