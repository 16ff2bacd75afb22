"""Which reports an issue may carry, and which ones it has carried: one place for each rule.

`may_carry` is the whole rule of what may go into an issue; composing,
signing off, publishing, the picker and the 专报 all ask it, so pointing it at
another definition of "adopted" changes all of them at once.
"""

from __future__ import annotations

import sqlalchemy as sa

from store.models import IssueStatus, JournalIssue, JournalItem, Report, ReportStatus
from store.outputs import adoption

# Adopted once, then taken out of circulation: folded into another report, or
# declined after the reporter reopened it.
WITHDRAWN = (ReportStatus.MERGED, ReportStatus.NOT_ADOPTED)


def may_carry() -> sa.ColumnElement[bool]:
    """A WHERE clause on `Report`: adopted (`store.outputs.adoption`), and not withdrawn since.

    Adoption is a fact, not the current status: a report adopted and then
    transferred, handled or closed may still be carried.
    """
    return sa.and_(adoption.adopted(), Report.status.not_in(WITHDRAWN))


def carried() -> sa.ColumnElement[bool]:
    """A WHERE clause on `Report`: carried in a published issue of any series."""
    return sa.exists().where(
        JournalItem.report_id == Report.id, JournalItem.issue_id == JournalIssue.id,
        JournalIssue.status == IssueStatus.PUBLISHED,
    )


def why_not(report: Report) -> str:
    """Why `report` may not be carried (it failed `may_carry`), in a few words."""
    if report.status is ReportStatus.MERGED:
        return "已合并到其他信息 / merged into another report"
    if report.status is ReportStatus.NOT_ADOPTED:
        return "已不采用 / no longer adopted"
    return "尚未采用 / not adopted"
