"""The one writer of `Report.status` (and of the facts that move with it).

Allowed moves are a table, `store.reports.transitions`: state → action → `Move`. Each move writes its
event and, in the same transaction, the feedback owed to the reporter (and to
the reporters of reports merged into this one). Callers pass the session and
commit; nothing here commits.

Who may act is part of the table: a role, `REPORTER` (from the chat),
`SYSTEM` (scheduled jobs) or `LEVEL` — the roles of the review level the
report waits at (初审 → 审核 → 审定, see `store.review.chain`), plus admins.
Staff act only on reports of units they may see (`store.access`), and
nobody signs off two levels of one report, nor 初审 of a report they typed in
(`store.review.separation`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from store import access
from store.audit import chain as audit_chain
from store.audit import watch as audit_watch
from store.delivery import notices
from store.errors import DomainError
from store.i18n import t
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
from store.prepared import Insert
from store.reports import feedback, marks, timings
from store.reports.transitions import (
    DECIDED,
    FACTS,
    LEVEL,
    NOTE_LIMIT,
    PENDING,
    REPORTER,
    REVIEW_MOVES,
    SYSTEM,
    TRANSITIONS,
    Action,
    Move,
    S,
)
from store.review import chain as review
from store.review import deadlines, separation
from store.search import index as search_index


class TransitionError(Exception):
    """The move is not allowed; `code` is an i18n key for the user-facing reason."""

    def __init__(self, code: str, **params: Any) -> None:
        super().__init__(code)
        self.code = code
        self.params = params


class Conflict(TransitionError):
    """Someone else moved the report since the caller looked at it."""


class DutyConflict(TransitionError, DomainError):
    """Separation of duties: this person may not sign off this report at this level."""

    def __str__(self) -> str:
        return f"{t(self.code, **self.params)} / {t(self.code, 'en', **self.params)}"


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
    if not user.active or not access.can_handle(session, user, report):
        return []
    levels = review.chain(session)
    out = []
    for action, move in TRANSITIONS.get(report.status, {}).items():
        if user.role.value not in actors_for(session, report, move):
            continue
        if move.final_level is not None and \
                review.is_final(levels, report.review_level) != move.final_level:
            continue
        if separation.conflict(session, report, user, action.value) is not None:
            continue
        out.append(action)
    return out


REVIEW_SIGN_OFF = REVIEW_MOVES[Action.SIGN_OFF]


def withheld(session: Session, report: Report, user: User) -> str | None:
    """Why the console offers `user` no sign-off of `report` at its level, when separation
    of duties is the reason (the sentence the report page shows); else None."""
    if report.status not in PENDING or not user.active or not access.can_see(session, user, report):
        return None
    if user.role.value not in actors_for(session, report, REVIEW_SIGN_OFF):
        return None
    found = separation.conflict(session, report, user, Action.SIGN_OFF.value)
    return t(found[0], **found[1]) if found else None


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
            expected_version: int | None, new: bool = False) -> tuple[ReportStatus | None, Move]:
    # A report is new until its submit event exists; the status column alone
    # cannot say so (it defaults to submitted).
    current = report.status if not new and _has_history(session, report) else None
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
    if user is not None and (not user.active or not access.can_handle(session, user, report)):
        raise TransitionError("error.forbidden")
    levels = review.chain(session)
    if move.final_level is not None and review.is_final(levels, report.review_level) != move.final_level:
        raise TransitionError("error.final_level" if move.final_level else "error.not_final_level")
    if user is not None and (found := separation.conflict(session, report, user, action.value)):
        raise DutyConflict(found[0], **found[1])
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
    new: bool = False,
) -> ReportEvent:
    """Move `report` by `action`; write the event and any feedback owed.

    `values` sets the report columns the move allows (its `fields`);
    `context` fills the feedback message (a department's name, a leader ...).
    `expected_version` is the version the actor saw; if the report has moved
    since, `Conflict` is raised and nothing is written. `now` is when the
    move happens (the clock by default), which its deadlines count from.
    `new` says `report` is being filed: made by the caller and not in the session
    yet, it has no events and none is looked up; it is inserted here with its
    status, deadlines and first event (`_insert_new`), and joins the session.
    """
    actor = _actor_key(user, reporter, system)
    if new and (report.id is not None or report in session):
        raise ValueError("a report being filed is not in the session yet")
    current, move = _permit(session, report, action, actor, user, expected_version, new)
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
        changes.update(timings.on_move(session, report, action.value, decided=to in DECIDED, now=now))
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

    said = {"action": action.value, "from_status": current.value if current else None,
            "to_status": to.value, "level": acted_at, "user_id": user.id if user else None,
            "reporter_id": reporter.id if reporter else None, "note": note, "created_at": now}
    if new:
        event = _insert_new(session, report, said)
    else:
        event = ReportEvent(report=report, **said)
        session.add(event)
        if report.id is None:
            session.flush()  # a report not inserted yet: what follows names its id
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


def _insert_new(session: Session, report: Report, said: dict[str, Any]) -> ReportEvent:
    """Filing's writes: the report's row and its first event, by prepared statements
    (the ORM's unit of work cost filing more than its statements, issue 16), then what
    the ORM's flush hooks would add for them: the event's audit entry and the report in
    the search index. The report and the event join the session as loaded."""
    session.flush()  # anything pending first, in the order the ORM would have written it
    _REPORT_ROW.add(session, report)
    event = ReportEvent(report_id=report.id, **said)
    _EVENT_ROW.add(session, event)
    entry = audit_watch.new_entry(session, event)
    assert entry is not None
    audit_chain.append(session.connection(), [entry])
    search_index.index_new(session, [report])
    return event


_REPORT_ROW, _EVENT_ROW = Insert(Report), Insert(ReportEvent)


def _level_changes(report: Report, action: Action,
                   levels: tuple[review.Level, ...]) -> dict[str, Any]:
    """Where in the review chain the report stands after `action`."""
    if action is Action.SUBMIT:
        # At the first level; said here, as a report being filed may not be inserted yet
        # (its column default is not on the object), and its deadline is that level's.
        return {"review_level": 0}
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
    # The reporter's carrier is foreign and the report marked: they get only the number, the
    # status and a details link (store.reports.marks.withheld), and read this there.
    withheld: bool = False


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
    hidden = marks.withheld(session, report, marks.external(report.reporter.channel))
    return Preview(move.to, text, len(people) - 1, hidden)


def adoption_rank(level: AdoptionLevel | None) -> int:
    """County < city < province < national; None below all."""
    return adoption.rank(level)
