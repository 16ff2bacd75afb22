"""Separation of duties (issue 14 point 4): no one person carries a report through review alone.

Two rules, asked by `store.reports.lifecycle` wherever it decides who may act:

- whoever typed a report in at a counter (代录, `Report.entered_by_id`) does not
  sign it off at 初审;
- nobody signs off two levels of the same report.

"Signing off" is approving at a level: passing it up (SIGN_OFF) or adopting
it at the last one (ADOPT); declining, returning and merging stop a report
rather than push it on, so they are not limited. Admins, who may act at any
level, are bound like everyone else. An office with one reviewer turns both
rules off (系统管理 → 审核流程, `set_single_reviewer`).
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from store.i18n import register
from store.models import OfficeSetting, Report, ReportEvent, User
from store.review import chain
from store.upsert import put_setting

SETTING_KEY = "review_separation"
# The actions that approve at a level (store.reports.transitions.Action values).
SIGNING = frozenset({"sign_off", "adopt"})

register({
    "error.entered_by": {
        "zh": "这条信息是您代录的，不能由您初审；请由其他初审人员签批。",
        "en": "You entered this report at the counter, so another reviewer signs it off "
              "at first review.",
    },
    "error.signed_other_level": {
        "zh": "您已在“{level}”一级签批过这条信息，同一条信息不能由一人签批两级。",
        "en": "You already signed this report off at {level_en}; one person does not sign off "
              "two levels of the same report.",
    },
})


def single_reviewer(session: Session) -> bool:
    """Whether the office has one reviewer, who may sign off every level (rules off)."""
    row = session.get(OfficeSetting, SETTING_KEY)
    return bool((row.value or {}).get("single_reviewer")) if row else False


def set_single_reviewer(session: Session, on: bool) -> None:
    put_setting(session, SETTING_KEY, {"single_reviewer": bool(on)})


def conflict(session: Session, report: Report, user: User, action: str) -> tuple[str, dict[str, str]] | None:
    """Why `user` may not make `action` on `report` at its level: an i18n key and its
    parameters; None when no rule stands in the way."""
    if action not in SIGNING or report.id is None or single_reviewer(session):
        return None
    level = chain.level_at(chain.chain(session), report.review_level)
    if level.key == "first" and report.entered_by_id == user.id:
        return "error.entered_by", {}
    other = session.scalar(
        sa.select(ReportEvent.level)
        .where(ReportEvent.report_id == report.id, ReportEvent.user_id == user.id,
               ReportEvent.action.in_(SIGNING), ReportEvent.level.is_not(None),
               ReportEvent.level != level.key)
        .order_by(ReportEvent.id).limit(1))
    if other is None:
        return None
    signed = chain.LEVELS.get(other)
    return "error.signed_other_level", {
        "level": signed.label("zh") if signed else other,
        "level_en": signed.label("en") if signed else other}
