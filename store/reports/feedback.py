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
from store.models import AdoptionLevel, OutboxMessage, Report, Reporter, ReportStatus
from store.outputs import adoption
from store.reports import details, marks
from store.review import deadlines

# Who instructed, as a reporter is told it when only the leader's level is known
# (an upward record's 批示): the name stays internal, as with `store.review.instructions`.
register({f"leader.{lv.value}": words for lv, words in (
    (AdoptionLevel.COUNTY, {"zh": "县级领导", "en": "a county leader"}),
    (AdoptionLevel.CITY, {"zh": "市级领导", "en": "a city leader"}),
    (AdoptionLevel.PROVINCE, {"zh": "省级领导", "en": "a provincial leader"}),
    (AdoptionLevel.NATIONAL, {"zh": "中央领导", "en": "a national leader"}),
)})

# The deadline a message tells the reporter (context "due", from store.review.deadlines), by message.
DUE_LINES = {
    "feedback.returned": "feedback.due.supplement",
    "feedback.return_reminder": "feedback.due.supplement",
    "feedback.transferred": "feedback.due.department",
}
register({
    "feedback.due.supplement": {
        "zh": "请在 {due} 前补充（节假日不计入）。",
        "en": "Please add it by {due} (public holidays not counted).",
    },
    "feedback.due.department": {
        "zh": "按规定，承办部门应在 {due} 前答复。",
        "en": "The department is due to reply by {due}.",
    },
    "feedback.due.answer": {
        "zh": "我们将在 {due} 前给您答复（节假日不计入）。",
        "en": "You will have an answer by {due} (public holidays not counted).",
    },
    # A marked report over a foreign carrier (store.reports.marks.withheld): number, status, link.
    "feedback.withheld": {
        "zh": "您反映的信息（编号 {no}）有新进展，当前状态：{status}。\n"
              "为保护信息安全，详细内容请打开以下链接查看（仅限您本人）：\n{link}",
        "en": "There is news on your report {no}; it is now: {status}.\n"
              "To keep it safe, read the details at this link (for you only):\n{link}",
    },
})


def owe(session: Session, report: Report, action: str, key: str, note: str | None,
        context: dict[str, Any], level: AdoptionLevel | None = None) -> None:
    """Queue `key` for the reporter, and for reporters whose reports were merged into this one.

    `level` is the adopting level the message names; by default the report's highest.
    """
    level = level or adoption.highest(session, report)
    for owner in recipients(session, report):
        lang = owner.language
        tell(session, report, owner, text(report, key, lang, note, context, level),
             _buttons(action, report, lang), key=key, context=context)


def tell(session: Session, report: Report, owner: Reporter, words: str,
         buttons: list[list[dict[str, str]]] | None = None, *, key: str = "",
         context: dict[str, Any] | None = None) -> OutboxMessage | None:
    """Queue `words` about `report` for `owner`, as their carrier may carry them: a marked
    report over a foreign one (`marks.withheld`) gets `withheld` instead. The one way a
    message about a report is queued for a reporter."""
    if marks.withheld(session, report, marks.external(owner.channel)):
        words = withheld(session, report, owner, key, owner.language, context or {})
    return outbox.enqueue(session, owner, words, report=report, buttons=buttons)


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
    """The message `key` about `report` in `lang`; `level` fills {level}; with the deadline it
    owes the reporter when the context has one ("due").

    A `leader_level` in `context` words {leader} as "a provincial leader".
    """
    params = {"no": report.tracking_no, "title": report.title, "note": note or "",
              "level": t(f"adoption.{level.value}", lang) if level else "", **context}
    if context.get("leader_level"):
        params["leader"] = t(f"leader.{context['leader_level']}", lang)
    out = t(key, lang, **params)
    if key in DUE_LINES and params.get("due"):
        out += "\n" + t(DUE_LINES[key], lang, due=params["due"])
    return out


def withheld(session: Session, report: Report, owner: Reporter, key: str, lang: str,
             context: dict[str, Any]) -> str:
    """What a foreign carrier may carry instead of message `key`: the number, the status, a link
    to the details for `owner` alone, and the deadline it owes them."""
    out = t("feedback.withheld", lang, no=report.tracking_no, status=t(f"status.{report.status.value}", lang),
            link=details.issue(session, report, owner))
    if key in DUE_LINES and context.get("due"):
        out += "\n" + t(DUE_LINES[key], lang, due=context["due"])
    return out


def expect_answer(report: Report, lang: str) -> str:
    """"You will have an answer by ...": for the receipt, and whenever the answer date is set anew."""
    return t("feedback.due.answer", lang, due=deadlines.shown(report.answer_due_at)) \
        if report.answer_due_at else ""


def _buttons(action: str, report: Report, lang: str) -> list[list[dict[str, str]]] | None:
    # "~verb:arg" is the engine's stateless button: valid whenever pressed.
    if action in ("return", "remind"):
        return [[{"label": t("button.supplement", lang), "data": f"~supp:{report.id}"}]]
    if action == "close":
        return [[{"label": t(f"satisfaction.{k}", lang), "data": f"~rate:{report.id}:{k}"}
                 for k in ("satisfied", "basically", "unsatisfied")]]
    return None
