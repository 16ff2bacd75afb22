"""What a reporter is told after a move: the words in their language, the buttons, who else hears.

`store.reports.lifecycle` decides which message a move owes (the `feedback` key of its
`Move`); this module words it and queues it in the outbox, so the console's
preview and the queued message are the same text.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from store.delivery import outbox
from store.i18n import t
from store.models import Report, Reporter, ReportStatus


def owe(session: Session, report: Report, action: str, key: str, note: str | None,
        context: dict[str, Any]) -> None:
    """Queue `key` for the reporter, and for reporters whose reports were merged into this one."""
    for owner in recipients(session, report):
        lang = owner.language
        outbox.enqueue(session, owner, text(report, key, lang, note, context),
                       report=report, buttons=_buttons(action, report, lang))


def recipients(session: Session, report: Report) -> list[Reporter]:
    """The report's reporter, then each other reporter of a report merged into it."""
    out = [report.reporter]
    merged = session.scalars(sa.select(Report).where(Report.merged_into_id == report.id,
                                                     Report.status == ReportStatus.MERGED))
    seen = {report.reporter_id}
    for child in merged:
        if child.reporter_id not in seen:
            seen.add(child.reporter_id)
            out.append(child.reporter)
    return out


def text(report: Report, key: str, lang: str, note: str | None, context: dict[str, Any]) -> str:
    """The message `key` about `report` in `lang`."""
    level = report.adoption_level
    params = {"no": report.tracking_no, "title": report.title, "note": note or "",
              "level": t(f"adoption.{level.value}", lang) if level else "", **context}
    return t(key, lang, **params)


def _buttons(action: str, report: Report, lang: str) -> list[list[dict[str, str]]] | None:
    # "~verb:arg" is the engine's stateless button: valid whenever pressed.
    if action in ("return", "remind"):
        return [[{"label": t("button.supplement", lang), "data": f"~supp:{report.id}"}]]
    if action == "close":
        return [[{"label": t(f"satisfaction.{k}", lang), "data": f"~rate:{report.id}:{k}"}
                 for k in ("satisfied", "basically", "unsatisfied")]]
    return None
