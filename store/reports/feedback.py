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
from store.i18n import register, t
from store.models import AdoptionLevel, Report, Reporter, ReportStatus
from store.outputs import adoption

# Who instructed, as a reporter is told it when only the leader's level is known
# (an upward record's 批示): the name stays internal, as with `store.review.instructions`.
register({f"leader.{lv.value}": words for lv, words in (
    (AdoptionLevel.COUNTY, {"zh": "县级领导", "en": "a county leader"}),
    (AdoptionLevel.CITY, {"zh": "市级领导", "en": "a city leader"}),
    (AdoptionLevel.PROVINCE, {"zh": "省级领导", "en": "a provincial leader"}),
    (AdoptionLevel.NATIONAL, {"zh": "中央领导", "en": "a national leader"}),
)})


def owe(session: Session, report: Report, action: str, key: str, note: str | None,
        context: dict[str, Any], level: AdoptionLevel | None = None) -> None:
    """Queue `key` for the reporter, and for reporters whose reports were merged into this one.

    `level` is the adopting level the message names; by default the report's highest.
    """
    level = level or adoption.highest(session, report)
    for owner in recipients(session, report):
        lang = owner.language
        outbox.enqueue(session, owner, text(report, key, lang, note, context, level),
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


def text(report: Report, key: str, lang: str, note: str | None, context: dict[str, Any],
         level: AdoptionLevel | None = None) -> str:
    """The message `key` about `report` in `lang`; `level` fills {level}.

    A `leader_level` in `context` words {leader} as "a provincial leader".
    """
    params = {"no": report.tracking_no, "title": report.title, "note": note or "",
              "level": t(f"adoption.{level.value}", lang) if level else "", **context}
    if context.get("leader_level"):
        params["leader"] = t(f"leader.{context['leader_level']}", lang)
    return t(key, lang, **params)


def _buttons(action: str, report: Report, lang: str) -> list[list[dict[str, str]]] | None:
    # "~verb:arg" is the engine's stateless button: valid whenever pressed.
    if action in ("return", "remind"):
        return [[{"label": t("button.supplement", lang), "data": f"~supp:{report.id}"}]]
    if action == "close":
        return [[{"label": t(f"satisfaction.{k}", lang), "data": f"~rate:{report.id}:{k}"}
                 for k in ("satisfied", "basically", "unsatisfied")]]
    return None
