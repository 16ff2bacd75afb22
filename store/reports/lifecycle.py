"""The one writer of `Report.status` (and of the facts that move with it).

Allowed moves are a table: state → action → `Move`. Each move writes its
event and, in the same transaction, the feedback owed to the reporter (and to
the reporters of reports merged into this one). Callers pass the session and
commit; nothing here commits.

Who may act is part of the table: a role, `REPORTER` (from the chat),
`SYSTEM` (scheduled jobs) or `LEVEL` — the roles of the review level the
report waits at (初审 → 审核 → 审定, see `store.review.chain`), plus admins.
Staff act only on reports of units they may see (`store.access`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from store import access
from store.delivery import notices
from store.i18n import register
from store.models import (
    AdoptionLevel,
    Report,
    Reporter,
    ReportEvent,
    ReportStatus,
    Role,
    Urgency,
    User,
    utcnow,
)
from store.outputs import adoption
from store.reports import feedback
from store.review import chain as review
from store.review import deadlines
from store.search import index as search_index

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


class TransitionError(Exception):
    """The move is not allowed; `code` is an i18n key for the user-facing reason."""

    def __init__(self, code: str, **params: Any) -> None:
        super().__init__(code)
        self.code = code
        self.params = params


class Conflict(TransitionError):
    """Someone else moved the report since the caller looked at it."""


def _actor_key(user: User | None, reporter: Reporter | None, system: bool) -> str:
    if sum((user is not None, reporter is not None, system)) != 1:
        raise ValueError("exactly one of user, reporter and system acts")
    if reporter is not None:
        return REPORTER
    if system:
        return SYSTEM
    return user.role.value  # type: ignore[union-attr]


def actors_for(session: Session, report: Report, move: Move) -> frozenset[str]:
    """Who may make `move` on `report` now, with `LEVEL` spelled out."""
    if LEVEL not in move.actors:
        return move.actors
    level = review.level_at(review.chain(session), report.review_level)
    return (move.actors - {LEVEL}) | {r.value for r in level.roles} | {Role.ADMIN.value}


def allowed_actions(session: Session, report: Report, user: User) -> list[Action]:
    """What `user` may do to `report` now (what the console offers)."""
    if not user.active or not access.can_see(session, user, report):
        return []
    levels = review.chain(session)
    out = []
    for action, move in TRANSITIONS.get(report.status, {}).items():
        if user.role.value not in actors_for(session, report, move):
            continue
        if move.final_level is not None and \
                review.is_final(levels, report.review_level) != move.final_level:
            continue
        out.append(action)
    return out


def _has_history(session: Session, report: Report) -> bool:
    if report.id is None:
        return False
    return session.scalar(
        sa.select(ReportEvent.id).where(ReportEvent.report_id == report.id).limit(1)
    ) is not None


def permit(
    session: Session,
    report: Report,
    action: Action,
    *,
    user: User | None = None,
    reporter: Reporter | None = None,
    system: bool = False,
    expected_version: int | None = None,
) -> Move:
    """The move `action` makes on `report` now, if this actor may make it; else `TransitionError`.

    Who and when only: the console asks this before it looks at what was typed,
    so an impossible move is refused as such, not for a missing field.
    """
    return _permit(session, report, action, _actor_key(user, reporter, system), user,
                   expected_version)[1]


def check(
    session: Session,
    report: Report,
    action: Action,
    *,
    user: User | None = None,
    reporter: Reporter | None = None,
    system: bool = False,
    note: str | None = None,
    expected_version: int | None = None,
    values: Mapping[str, Any] | None = None,
) -> Move:
    """Everything `apply` checks, without writing: for a page that asks "are you sure?" first."""
    move = permit(session, report, action, user=user, reporter=reporter, system=system,
                  expected_version=expected_version)
    _check_input(session, report, action, move, _clean_note(note), dict(values or {}))
    return move


def _permit(session: Session, report: Report, action: Action, actor: str, user: User | None,
            expected_version: int | None) -> tuple[ReportStatus | None, Move]:
    # A report is new until its submit event exists; the status column alone
    # cannot say so (it defaults to submitted).
    current = report.status if _has_history(session, report) else None
    # Checked first: whoever acted on an older version learns that the report
    # moved, not that their action no longer fits its new state.
    if current is not None and expected_version not in (None, report.version):
        raise Conflict("error.conflict")
    move = TRANSITIONS.get(current, {}).get(action)
    if move is None:
        raise TransitionError("error.transition_not_allowed", action=action.value,
                              status=current.value if current else "new")
    if actor not in actors_for(session, report, move):
        raise TransitionError("error.forbidden")
    if user is not None and (not user.active or not access.can_see(session, user, report)):
        raise TransitionError("error.forbidden")
    levels = review.chain(session)
    if move.final_level is not None and review.is_final(levels, report.review_level) != move.final_level:
        raise TransitionError("error.final_level" if move.final_level else "error.not_final_level")
    return current, move


def _clean_note(note: str | None) -> str | None:
    return (note or "").strip() or None


def _check_input(session: Session, report: Report, action: Action, move: Move, note: str | None,
                 values: dict[str, Any]) -> None:
    if move.note_required and not note:
        raise TransitionError("error.note_required")
    if note and len(note) > NOTE_LIMIT:
        raise TransitionError("error.note_too_long", limit=NOTE_LIMIT)
    # The level is a decision of its own: no move guesses it.
    if action in (Action.ADOPT, Action.RAISE) and values.get("adoption_level") is None:
        raise TransitionError("error.level_required")
    if action is Action.RAISE and adoption_rank(values.get("adoption_level")) <= \
            adoption_rank(adoption.highest(session, report)):
        raise TransitionError("error.not_higher")
    if not set(values) <= move.fields:
        raise ValueError(f"{action.value} may not set {sorted(set(values) - move.fields)}")


def apply(
    session: Session,
    report: Report,
    action: Action,
    *,
    user: User | None = None,
    reporter: Reporter | None = None,
    system: bool = False,
    note: str | None = None,
    expected_version: int | None = None,
    values: Mapping[str, Any] | None = None,
    context: Mapping[str, Any] | None = None,
    now: datetime | None = None,
) -> ReportEvent:
    """Move `report` by `action`; write the event and any feedback owed.

    `values` sets the report columns the move allows (its `fields`);
    `context` fills the feedback message (a department's name, a leader ...).
    `expected_version` is the version the actor saw; if the report has moved
    since, `Conflict` is raised and nothing is written. `now` is when the
    move happens (the clock by default), which its deadlines count from.
    """
    actor = _actor_key(user, reporter, system)
    current, move = _permit(session, report, action, actor, user, expected_version)
    note = _clean_note(note)
    values = dict(values or {})
    _check_input(session, report, action, move, note, values)

    levels = review.chain(session)
    now = now or utcnow()
    acted_at = review.level_at(levels, report.review_level).key if current in PENDING else None
    to = move.to or current
    assert to is not None
    facts = {k: values.pop(k) for k in FACTS & set(values)}
    changes: dict[str, Any] = {**values, **_level_changes(report, action, levels)}
    changes.update(_deadlines(session, report, action, move, changes, now))
    if current is None:
        report.status = to
        report.version = 1
        for column, value in changes.items():
            setattr(report, column, value)
    else:
        if to in DECIDED:
            changes["decided_at"] = now
        # Compare-and-set on the version: a concurrent decision that slipped
        # in between our read and this write makes the update touch no row.
        result = session.execute(
            sa.update(Report)
            .where(Report.id == report.id, Report.version == report.version,
                   Report.status == report.status)
            .values(status=to, version=Report.version + 1, updated_at=now, **changes)
            .execution_options(synchronize_session=False)
        )
        if result.rowcount != 1:  # type: ignore[attr-defined]
            raise Conflict("error.conflict")
        if search_index.TEXT_COLUMNS_SET & set(changes):
            # The ORM does not see this UPDATE, so the flush hook would miss it.
            search_index.index_ids(session, [report.id])
        if action is Action.MERGE:
            # Feedback fans out one level deep: reports merged into this one
            # follow it to the new main report, or their reporters hear nothing more.
            session.execute(sa.update(Report)
                            .where(Report.merged_into_id == report.id, Report.status == S.MERGED)
                            .values(merged_into_id=values["merged_into_id"])
                            .execution_options(synchronize_session=False))
        session.refresh(report)

    event = ReportEvent(
        report=report, action=action.value, from_status=current.value if current else None,
        to_status=to.value, level=acted_at, user_id=user.id if user else None,
        reporter_id=reporter.id if reporter else None, note=note, created_at=now,
    )
    session.add(event)
    if "adoption_level" in facts:
        session.flush()  # the event's id, which the fact names
        adoption.record(session, report, facts["adoption_level"], event=event, user=user)
    if move.feedback:
        feedback.owe(session, report, action, move.feedback, note,
                     {"due": deadlines.shown(report.due_at), **(context or {})})
    if action is Action.SUBMIT and report.urgency is Urgency.URGENT:
        notices.alert_reviewers(session, report, "urgent")
    if action is Action.RESUBMIT:
        # The level that asked the question is told the answer has come.
        notices.alert_reviewers(session, report, "resubmitted")
    session.flush()
    return event


def _level_changes(report: Report, action: Action,
                   levels: tuple[review.Level, ...]) -> dict[str, Any]:
    """Where in the review chain the report stands after `action`."""
    if action is Action.SIGN_OFF:
        return {"review_level": min(report.review_level + 1, len(levels) - 1)}
    if action is Action.RETURN:
        return {"returned_from_level": report.review_level}
    if action is Action.RESUBMIT:
        return {"review_level": report.returned_from_level or 0, "returned_from_level": None}
    if action is Action.REOPEN:
        return {"review_level": 0, "satisfaction": None}
    return {}


def _deadlines(session: Session, report: Report, action: Action, move: Move,
               changes: dict[str, Any], now: datetime) -> dict[str, Any]:
    """The deadlines a move sets (`store.review.deadlines`); a move that keeps the state keeps them."""
    if move.to is None:
        return {}
    return deadlines.on_move(
        session, report, now=now,
        waiting_at=changes.get("review_level", report.review_level) if move.to in PENDING else None,
        returned=move.to is S.RETURNED,
        restarts_answer=action in (Action.SUBMIT, Action.RESUBMIT, Action.REOPEN))


@dataclass(frozen=True)
class Preview:
    """What a move would tell people, before it is made (the console's confirmation)."""

    to: ReportStatus | None
    message: str | None  # the reporter's message, in their language; None: they hear nothing
    others: int  # reporters of reports merged into this one who hear the same


def preview(session: Session, report: Report, action: Action, *, note: str | None = None,
            context: Mapping[str, Any] | None = None) -> Preview:
    """The state `action` leads to and the feedback it owes, in the words `apply` will queue.

    Call `check` first: this assumes the move is allowed.
    """
    move = TRANSITIONS.get(report.status, {})[action]
    if move.feedback is None:
        return Preview(move.to, None, 0)
    people = feedback.recipients(session, report)
    due = _deadlines(session, report, action, move, _level_changes(report, action, review.chain(session)),
                     utcnow()).get("due_at", report.due_at)
    text = feedback.text(report, move.feedback, report.reporter.language, _clean_note(note),
                         {"due": deadlines.shown(due), **(context or {})},
                         adoption.highest(session, report))
    return Preview(move.to, text, len(people) - 1)


def adoption_rank(level: AdoptionLevel | None) -> int:
    """County < city < province < national; None below all."""
    return adoption.rank(level)
