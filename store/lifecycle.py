"""The one writer of `Report.status`.

Allowed moves are a table. Each move writes its event and, in the same
transaction, the feedback owed to the reporter (an outbox row). Callers pass
the session and commit; nothing here commits.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from store import outbox
from store.i18n import t
from store.models import Report, Reporter, ReportEvent, ReportStatus, Role, User, utcnow

S = ReportStatus


class Action(StrEnum):
    SUBMIT = "submit"
    ADOPT = "adopt"
    DECLINE = "decline"
    RETURN = "return"
    RESUBMIT = "resubmit"


REPORTER = "reporter"  # the actor for moves made from the chat
STAFF_DECIDERS = frozenset({Role.ADMIN, Role.CLERK})


@dataclass(frozen=True)
class Move:
    to: ReportStatus
    actors: frozenset[str]
    note_required: bool = False
    # Key of the feedback message in store.i18n, or None when none is owed.
    feedback: str | None = None


TRANSITIONS: dict[ReportStatus | None, dict[Action, Move]] = {
    None: {Action.SUBMIT: Move(S.SUBMITTED, frozenset({REPORTER}))},
    S.SUBMITTED: {
        Action.ADOPT: Move(S.ADOPTED, STAFF_DECIDERS, feedback="feedback.adopted"),
        Action.DECLINE: Move(S.NOT_ADOPTED, STAFF_DECIDERS, True, "feedback.not_adopted"),
        Action.RETURN: Move(S.RETURNED, STAFF_DECIDERS, True, "feedback.returned"),
    },
    S.RESUBMITTED: {
        Action.ADOPT: Move(S.ADOPTED, STAFF_DECIDERS, feedback="feedback.adopted"),
        Action.DECLINE: Move(S.NOT_ADOPTED, STAFF_DECIDERS, True, "feedback.not_adopted"),
        Action.RETURN: Move(S.RETURNED, STAFF_DECIDERS, True, "feedback.returned"),
    },
    S.RETURNED: {
        Action.RESUBMIT: Move(S.RESUBMITTED, frozenset({REPORTER}), True),
    },
    S.ADOPTED: {},
    S.NOT_ADOPTED: {},
}

NOTE_LIMIT = 2000


class TransitionError(Exception):
    """The move is not allowed; `code` is an i18n key for the user-facing reason."""

    def __init__(self, code: str, **params: Any) -> None:
        super().__init__(code)
        self.code = code
        self.params = params


class Conflict(TransitionError):
    """Someone else moved the report since the caller looked at it."""


def allowed_actions(status: ReportStatus, actor: str) -> list[Action]:
    return [a for a, m in TRANSITIONS.get(status, {}).items() if actor in m.actors]


def _actor_key(user: User | None, reporter: Reporter | None) -> str:
    if (user is None) == (reporter is None):
        raise ValueError("exactly one of user and reporter acts")
    return REPORTER if reporter is not None else user.role.value  # type: ignore[union-attr]


def _has_history(session: Session, report: Report) -> bool:
    if report.id is None:
        return False
    return session.scalar(
        sa.select(ReportEvent.id).where(ReportEvent.report_id == report.id).limit(1)
    ) is not None


def apply(
    session: Session,
    report: Report,
    action: Action,
    *,
    user: User | None = None,
    reporter: Reporter | None = None,
    note: str | None = None,
    expected_version: int | None = None,
) -> ReportEvent:
    """Move `report` by `action`; write the event and any feedback owed.

    `expected_version` is the version the actor saw; if the report has moved
    since, `Conflict` is raised and nothing is written.
    """
    actor = _actor_key(user, reporter)
    # A report is new until its submit event exists; the status column alone
    # cannot say so (it defaults to submitted), and without this check a
    # second SUBMIT would reset a decided report to submitted.
    current = report.status if _has_history(session, report) else None
    # Checked first: whoever acted on an older version learns that the report
    # moved, not that their action no longer fits its new state.
    if current is not None and expected_version not in (None, report.version):
        raise Conflict("error.conflict")
    move = TRANSITIONS.get(current, {}).get(action)
    if move is None:
        raise TransitionError("error.transition_not_allowed", action=action.value,
                              status=current.value if current else "new")
    if actor not in move.actors:
        raise TransitionError("error.forbidden")
    note = (note or "").strip() or None
    if move.note_required and not note:
        raise TransitionError("error.note_required")
    if note and len(note) > NOTE_LIMIT:
        raise TransitionError("error.note_too_long", limit=NOTE_LIMIT)

    now = utcnow()
    if current is None:
        report.status = move.to
        report.version = 1
    else:
        # Compare-and-set on the version: a concurrent decision that slipped
        # in between our read and this write makes the update touch no row.
        result = session.execute(
            sa.update(Report)
            .where(Report.id == report.id, Report.version == report.version,
                   Report.status == report.status)
            .values(status=move.to, version=Report.version + 1, updated_at=now,
                    decided_at=now if move.to in (S.ADOPTED, S.NOT_ADOPTED) else Report.decided_at)
            .execution_options(synchronize_session=False)
        )
        if result.rowcount != 1:  # type: ignore[attr-defined]
            raise Conflict("error.conflict")
        session.refresh(report)

    event = ReportEvent(
        report=report, action=action.value, from_status=current.value if current else None,
        to_status=move.to.value, user_id=user.id if user else None,
        reporter_id=reporter.id if reporter else None, note=note, created_at=now,
    )
    session.add(event)
    if move.feedback:
        owner = report.reporter
        text = t(move.feedback, owner.language, no=report.tracking_no, title=report.title,
                 note=note or "")
        buttons = None
        if action is Action.RETURN:
            # "~verb:arg" is the engine's stateless button: valid whenever pressed.
            buttons = [[{"label": t("button.supplement", owner.language),
                         "data": f"~supp:{report.id}"}]]
        outbox.enqueue(session, owner, text, report=report, buttons=buttons)
    session.flush()
    return event
