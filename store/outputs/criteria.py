"""What the dashboard counts and the inbox filters by, besides adoption: one clause each.

`store.outputs.stats` counts with these and `store.search.query.Filters`
filters with the same ones, so a figure on the 统计 page and the inbox it
clicks through to cannot disagree. Adoption, 报送 and journal issues have
their own readers (`store.outputs.adoption`, `store.outputs.journal.rules`).
"""

from __future__ import annotations

import sqlalchemy as sa

from store.models import AdoptionLevel, Instruction, Report, ReportEvent

# The reporter's rating as the chat stores it (`closure.RATINGS`) and as older rows and
# the demonstration data kept it (the Chinese word).
RATED = {"satisfied": ("satisfied", "满意"), "basically": ("basically", "基本满意")}
# Not satisfied is not stored as a rating: the report is reopened (lifecycle REOPEN).
RATINGS = ("satisfied", "basically", "unsatisfied")
REOPEN = "reopen"


def instructed(level: AdoptionLevel | str) -> sa.ColumnElement[bool]:
    """WHERE clause on `Report`: a leader of `level` gave a 批示 on it."""
    return sa.exists().where(Instruction.report_id == Report.id,
                             Instruction.level == AdoptionLevel(level).value)


def rated(rating: str) -> sa.ColumnElement[bool]:
    """WHERE clause on `Report`: the reporter rated it `rating` (one of `RATINGS`)."""
    if rating == "unsatisfied":
        return sa.exists().where(ReportEvent.report_id == Report.id, ReportEvent.action == REOPEN)
    return Report.satisfaction.in_(RATED[rating])
