"""What a report page shows beside the report: the data each offered action needs.

Each panel comes from its store module and only when the page will use it,
so a viewer's page does not compute merge candidates it cannot act on.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from store.models import Report, User, utcnow
from store.network import units
from store.reports import notes, similar
from store.review import deadlines, instructions, templates, transfers


def panels(session: Session, report: Report, user: User, actions: set[str],
           office: bool) -> dict[str, Any]:
    """Template context for the report page's side panels."""
    now = utcnow()
    out: dict[str, Any] = {
        "decline_templates": [], "already_handled": None, "similar": [], "departments": [],
        "notes": [], "transfers": [], "instructions": [], "limits": None,
        # 代录: office staff may print the counter slip again.
        "slip": office and report.entered_by_id is not None,
    }
    if "decline" in actions:
        out["decline_templates"] = [x for x in templates.active(session) if not x.already_handled]
        out["already_handled"] = templates.already_handled(session)
    # Shown on every page view: as links, or as the choices of the open 合并 form.
    out["similar"] = similar.similar(session, report, user)
    if "transfer" in actions:
        out["departments"] = units.departments(session)
        out["limits"] = deadlines.rules(session)
    if office:
        out["notes"] = notes.for_report(session, report)
    out["transfers"] = [(tr, transfers.is_overdue(tr, now))
                        for tr in transfers.for_report(session, report)]
    out["instructions"] = instructions.for_report(session, report)
    return out
