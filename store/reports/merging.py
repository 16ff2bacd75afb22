"""合并: folding a duplicate report into a main one.

The duplicate becomes MERGED (lifecycle's MERGE move) and its reporter hears
so; from then on every feedback on the main report reaches them too.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from store import access
from store.i18n import register
from store.models import Report, ReportEvent, ReportStatus, User
from store.reports import lifecycle
from store.reports.lifecycle import Action, TransitionError

# A main report must still be going somewhere, or the merged reporters hear nothing more.
CLOSED_TARGETS = (ReportStatus.MERGED, ReportStatus.NOT_ADOPTED)

register({
    "error.merge_self": {
        "zh": "不能把信息合并到它自己。",
        "en": "A report cannot be merged into itself.",
    },
    "error.merge_target_closed": {
        "zh": "主信息 {no} 已合并或不采用，不能再合并进去，请选择其他主信息。",
        "en": "The main report {no} is merged or not adopted; choose another one.",
    },
    "error.merge_cycle": {
        "zh": "主信息 {no} 已合并到本条信息，不能反向合并。",
        "en": "{no} is already merged into this report; it cannot be merged the other way.",
    },
})


def check(session: Session, report: Report, into: Report, user: User,
          expected_version: int | None) -> None:
    """Everything `merge` checks, without writing (for the console's confirmation)."""
    _check_target(session, report, into, user)
    lifecycle.check(session, report, Action.MERGE, user=user, expected_version=expected_version,
                    values={"merged_into_id": into.id})


def merge(session: Session, report: Report, into: Report, user: User,
          expected_version: int | None) -> ReportEvent:
    """Merge `report` into `into`; reports merged into `report` follow it to `into`."""
    _check_target(session, report, into, user)
    return lifecycle.apply(session, report, Action.MERGE, user=user,
                           note=f"合并到 {into.tracking_no}《{into.title}》",
                           expected_version=expected_version,
                           values={"merged_into_id": into.id})


def _check_target(session: Session, report: Report, into: Report, user: User) -> None:
    if into.id == report.id:
        raise TransitionError("error.merge_self")
    if into.merged_into_id == report.id:
        raise TransitionError("error.merge_cycle", no=into.tracking_no)
    if into.status in CLOSED_TARGETS:
        raise TransitionError("error.merge_target_closed", no=into.tracking_no)
    if not access.can_see(session, user, into):
        raise TransitionError("error.forbidden")
