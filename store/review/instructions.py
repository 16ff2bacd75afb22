"""领导批示: a leader's written instruction on a report, the highest mark of impact.

Recording one is lifecycle's INSTRUCT move (an event, and the reporter is
told a leader instructed on it) plus the `Instruction` row with the details.
"""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa
from sqlalchemy.orm import Session

from store.i18n import register
from store.models import AdoptionLevel, Instruction, Report, User, utcnow
from store.reports import lifecycle
from store.reports.lifecycle import Action, TransitionError

NAME_LIMIT = 100
TITLE_LIMIT = 200

register({
    "error.instruction_incomplete": {
        "zh": "请完整填写批示领导、职务和批示内容。",
        "en": "Give the leader's name, their title and the instruction.",
    },
    "error.instruction_too_long": {
        "zh": "领导姓名不超过 {name} 字，职务不超过 {title} 字。",
        "en": "The name may have {name} characters and the title {title} at most.",
    },
    "error.instruction_in_future": {
        "zh": "批示日期不能晚于今天。",
        "en": "The date of the instruction cannot be in the future.",
    },
})


def record(
    session: Session,
    report: Report,
    user: User,
    *,
    leader_name: str,
    leader_title: str,
    level: AdoptionLevel | str,
    text: str,
    instructed_on: date,
    expected_version: int | None = None,
) -> Instruction:
    """Record a 批示 on `report`; the reporter hears that `leader_title` instructed on it.

    The reporter is told the leader's title, not their name nor the words:
    an instruction is an internal document.
    """
    leader_name, leader_title, text = (v.strip() for v in (leader_name or "", leader_title or "",
                                                          text or ""))
    if not leader_name or not leader_title or not text:
        raise TransitionError("error.instruction_incomplete")
    if len(leader_name) > NAME_LIMIT or len(leader_title) > TITLE_LIMIT:
        raise TransitionError("error.instruction_too_long", name=NAME_LIMIT, title=TITLE_LIMIT)
    # A leader in a later time zone may be a day ahead of UTC; more is a typo.
    if (instructed_on - utcnow().date()).days > 1:
        raise TransitionError("error.instruction_in_future")
    level = AdoptionLevel(level)
    lifecycle.apply(session, report, Action.INSTRUCT, user=user, note=text,
                    expected_version=expected_version, context={"leader": leader_title})
    instruction = Instruction(report_id=report.id, leader_name=leader_name,
                              leader_title=leader_title, level=level, text=text,
                              instructed_on=instructed_on, recorded_by_id=user.id)
    session.add(instruction)
    session.flush()
    return instruction


def for_report(session: Session, report: Report) -> list[Instruction]:
    """The report's instructions, earliest first."""
    return list(session.scalars(sa.select(Instruction).where(Instruction.report_id == report.id)
                                .order_by(Instruction.instructed_on, Instruction.id)))
