"""The report's moves as a table: state → action → `Move` (who may, what it needs, what it owes).

`store.reports.lifecycle` is the one writer that applies them; this module is
data only, walked whole by `tests/test_lifecycle.py`. Who may act: a role,
`REPORTER` (from the chat), `SYSTEM` (scheduled jobs) or `LEVEL` — the roles of
the review level the report waits at (初审 → 审核 → 审定, see
`store.review.chain`), plus admins.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from store import access
from store.i18n import register
from store.models import ReportStatus, Role

S = ReportStatus


class Action(StrEnum):
    SUBMIT = "submit"
    SIGN_OFF = "sign_off"  # this level passes it up the chain
    ADOPT = "adopt"
    DECLINE = "decline"
    RETURN = "return"
    RESUBMIT = "resubmit"
    REMIND = "remind"  # the reporter is reminded of an open question
    EXPIRE = "expire"  # no answer to the question in time
    MERGE = "merge"
    EDIT = "edit"
    RAISE = "raise"  # adopted again by a higher level
    TRANSFER = "transfer"
    DEPT_REPLY = "dept_reply"
    INSTRUCT = "instruct"  # 批示
    INSTRUCTION_DONE = "instruction_done"  # the acting department reports the 批示 carried out
    REFER = "refer"  # 函送参考: a report not adopted, sent to a department for reference
    REFER_REPLY = "refer_reply"  # the department's answer to a 函送参考
    CLOSE = "close"
    RATE = "rate"
    REOPEN = "reopen"


# What the console calls each action: the report's history, the decision buttons. The one list of it.
register({f"action.{action}": names for action, names in {
    Action.SUBMIT: {"zh": "提交", "en": "Submitted"},
    Action.SIGN_OFF: {"zh": "通过本级", "en": "Passed this level"},
    Action.ADOPT: {"zh": "采用", "en": "Adopt"},
    Action.DECLINE: {"zh": "不采用", "en": "Decline"},
    Action.RETURN: {"zh": "退回补充", "en": "Return for more"},
    Action.RESUBMIT: {"zh": "补充后重新提交", "en": "Resubmitted with more"},
    Action.REMIND: {"zh": "提醒补充", "en": "Reminded"},
    Action.EXPIRE: {"zh": "逾期未补充", "en": "No answer in time"},
    Action.MERGE: {"zh": "合并", "en": "Merged"},
    Action.EDIT: {"zh": "编辑", "en": "Edited"},
    Action.RAISE: {"zh": "提高采用级别", "en": "Adopted higher"},
    Action.TRANSFER: {"zh": "转办", "en": "Transfer"},
    Action.DEPT_REPLY: {"zh": "部门办理回复", "en": "Department replied"},
    Action.INSTRUCT: {"zh": "领导批示", "en": "Leader's instruction"},
    Action.INSTRUCTION_DONE: {"zh": "批示落实结果", "en": "Instruction carried out"},
    Action.REFER: {"zh": "函送参考", "en": "Sent for reference"},
    Action.REFER_REPLY: {"zh": "函送参考回复", "en": "Reply to the reference"},
    Action.CLOSE: {"zh": "办结", "en": "Close"},
    Action.RATE: {"zh": "满意度评价", "en": "Rated"},
    Action.REOPEN: {"zh": "重新办理", "en": "Reopened"},
}.items()})


REPORTER = "reporter"
SYSTEM = "system"
LEVEL = "level"
OFFICE = frozenset(r.value for r in access.OFFICE_ROLES)
DEPARTMENT = frozenset({Role.DEPARTMENT.value, Role.ADMIN.value})
# What staff may edit on a report (EDIT, store.reports.editing, the console's edit page), in the
# order the edit page shows it; the one list of it.
EDITABLE = ("title", "situation", "analysis", "suggestion", "summary")
TEXT_FIELDS = frozenset(EDITABLE)
PENDING = (S.SUBMITTED, S.REVIEWING, S.RESUBMITTED, S.REOPENED)
DECIDED = (S.ADOPTED, S.NOT_ADOPTED)


@dataclass(frozen=True)
class Move:
    # None: the report stays in its state (an edit, a 批示, a reminder ...).
    to: ReportStatus | None
    actors: frozenset[str]
    note_required: bool = False
    # Key of the feedback message in store.i18n, or None when none is owed.
    feedback: str | None = None
    # Report columns the caller may set with this move, and facts it records
    # (FACTS: `adoption_level` is an `Adoption` row, not a column).
    fields: frozenset[str] = frozenset()
    # Review-chain position: only at the last level / only below it.
    final_level: bool | None = None


def _m(to: ReportStatus | None, *actors: str, **kw: Any) -> Move:
    return Move(to, frozenset(actors), **kw)


REVIEW_MOVES: dict[Action, Move] = {
    Action.SIGN_OFF: _m(S.REVIEWING, LEVEL, final_level=False),
    Action.ADOPT: _m(S.ADOPTED, LEVEL, feedback="feedback.adopted",
                     fields=frozenset({"adoption_level"}), final_level=True),
    Action.DECLINE: _m(S.NOT_ADOPTED, LEVEL, note_required=True, feedback="feedback.not_adopted"),
    Action.RETURN: _m(S.RETURNED, LEVEL, note_required=True, feedback="feedback.returned"),
    Action.MERGE: _m(S.MERGED, LEVEL, feedback="feedback.merged",
                     fields=frozenset({"merged_into_id"})),
    Action.EDIT: _m(None, *OFFICE, fields=TEXT_FIELDS),
}
FOLLOW_UP: dict[Action, Move] = {
    Action.RAISE: _m(None, *OFFICE, feedback="feedback.raised",
                     fields=frozenset({"adoption_level"})),
    Action.INSTRUCT: _m(None, *OFFICE, note_required=True, feedback="feedback.instructed"),
    # The result goes to the leader's office; the reporter hears only that it was done.
    Action.INSTRUCTION_DONE: _m(None, *DEPARTMENT, note_required=True,
                                feedback="feedback.instruction_done"),
}

TRANSITIONS: dict[ReportStatus | None, dict[Action, Move]] = {
    None: {Action.SUBMIT: _m(S.SUBMITTED, REPORTER)},
    **{state: REVIEW_MOVES for state in PENDING},
    S.RETURNED: {
        Action.RESUBMIT: _m(S.RESUBMITTED, REPORTER, note_required=True),
        Action.REMIND: _m(None, SYSTEM, feedback="feedback.return_reminder"),
        Action.EXPIRE: _m(S.CLOSED, SYSTEM, feedback="feedback.return_expired"),
    },
    S.ADOPTED: {
        **FOLLOW_UP,
        Action.EDIT: _m(None, *OFFICE, fields=TEXT_FIELDS),
        Action.TRANSFER: _m(S.TRANSFERRED, *OFFICE, feedback="feedback.transferred"),
        Action.CLOSE: _m(S.CLOSED, *OFFICE, feedback="feedback.closed"),
    },
    S.TRANSFERRED: {
        **FOLLOW_UP,
        Action.DEPT_REPLY: _m(S.HANDLED, *DEPARTMENT, note_required=True,
                              feedback="feedback.handled"),
    },
    S.HANDLED: {
        **FOLLOW_UP,
        Action.TRANSFER: _m(S.TRANSFERRED, *OFFICE, feedback="feedback.transferred"),
        Action.CLOSE: _m(S.CLOSED, *OFFICE, feedback="feedback.closed"),
    },
    S.NOT_ADOPTED: {
        Action.REFER: _m(None, *OFFICE, feedback="feedback.referred"),
        Action.REFER_REPLY: _m(None, *DEPARTMENT, note_required=True,
                               feedback="feedback.reference_replied"),
    },
    S.MERGED: {},
    S.CLOSED: {
        **FOLLOW_UP,
        Action.RATE: _m(None, REPORTER, fields=frozenset({"satisfaction"})),
        Action.REOPEN: _m(S.REOPENED, REPORTER, note_required=True),
    },
}

NOTE_LIMIT = 2000
# Values a move records as rows of their own rather than report columns.
FACTS = frozenset({"adoption_level"})
