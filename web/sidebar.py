"""What a report page shows beside the report: the data each offered action needs.

Each panel comes from its store module and only when the page will use it,
so a viewer's page does not compute merge candidates it cannot act on.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from store import access
from store.models import Report, Role, Transfer, User, utcnow
from store.network import units
from store.outputs import adoption, destinations, upward
from store.reports import editing, marks, notes, similar
from store.review import deadlines, followup, instructions, reference, templates, transfers


def panels(session: Session, report: Report, user: User, actions: set[str],
           office: bool) -> dict[str, Any]:
    """Template context for the report page's side panels."""
    now = utcnow()
    out: dict[str, Any] = {
        "decline_templates": [], "already_handled": None, "similar": [], "departments": [],
        "notes": [], "transfers": [], "instructions": [], "followups": {}, "references": [],
        "limits": None,
        # 代录: office staff may print the counter slip again.
        "slip": office and report.entered_by_id is not None,
    }
    if "decline" in actions:
        out["decline_templates"] = [x for x in templates.active(session) if not x.already_handled]
        out["already_handled"] = templates.already_handled(session)
    # Shown on every page view: as links, or as the choices of the open 合并 form.
    out["similar"] = similar.similar(session, report, user)
    if "transfer" in actions or "refer" in actions:
        out["departments"] = units.departments(session)
        out["limits"] = deadlines.rules(session)
    # A unit that only received the report by 报送 reads what was sent, not the sender's notes.
    out["handles"] = access.can_handle(session, user, report)
    if office and out["handles"]:
        out["notes"] = notes.for_report(session, report)
    out["transfers"] = [(tr, transfers.is_overdue(tr, now))
                        for tr in transfers.for_report(session, report)]
    out["instructions"] = instructions.for_report(session, report)
    # 采用与报送: each level with its date, each record, where the user may report to.
    out["adoptions"] = adoption.history(session, report) if office else []
    out["upward_records"] = upward.for_report(session, report) if office else []
    out["received"] = upward.received(session, user, report) if office else []
    out["upward_offered"] = destinations.offered(session, user) if office else []
    out["versions"] = editing.versions(session, report) if office else []
    # 密级: its label, the marks this person may move it to, and the line a print carries.
    office_marks = marks.rules(session)
    out["mark_label"] = office_marks.label(report.mark)
    out["mark_moves"] = marks.moves(report, user, office_marks) if office else []
    out["watermark"] = marks.watermark(user, now) if report.mark else None
    out["upward_outcomes"] = {"adopted": "采用", "instructed": "领导批示", "declined": "不采用"}

    def own(row: Transfer) -> bool:
        # A department reads its own work on the report, not another department's answer.
        return user.role is not Role.DEPARTMENT or access.can_reply_transfer(session, user, row)

    out["followups"] = {iid: (row, transfers.is_overdue(row, now))
                        for iid, row in followup.for_report(session, report).items() if own(row)}
    out["references"] = [row for row in reference.for_report(session, report) if own(row)]
    return out
