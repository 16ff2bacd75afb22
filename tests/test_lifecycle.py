"""The lifecycle table, walked entirely: every state × every action × every actor."""

from __future__ import annotations

from collections import deque
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from store import lifecycle
from store.lifecycle import REPORTER, TRANSITIONS, Action, Conflict, TransitionError
from store.models import (
    Channel,
    OutboxMessage,
    Report,
    Reporter,
    ReportEvent,
    ReportStatus,
    Role,
    User,
)
from store.reports import next_tracking_no

ACTORS = [REPORTER, *(r.value for r in Role)]
NOTE = "请补充涉及的 3 个小区的名称和住户数。"


def _reporter(session: Session, n: int, *, language: str = "zh",
              channel: Channel = Channel.TELEGRAM) -> Reporter:
    reporter = Reporter(channel=channel, external_id=f"u{n}", chat_id=f"c{n}", language=language)
    session.add(reporter)
    session.flush()
    return reporter


def _draft(session: Session, reporter: Reporter) -> Report:
    """A report as `reports.create_from_answers` builds it, before its submit move."""
    report = Report(
        tracking_no=next_tracking_no(session), category="livelihood",
        title="老旧小区加装电梯进展缓慢", situation="城关镇 12 个老旧小区中只有 2 个装了电梯。",
        suggestion="建议简化审批，设立补贴。", reporter=reporter,
    )
    session.add(report)
    session.flush()
    return report


def _staff(session: Session) -> dict[str, User]:
    staff = {}
    for role in Role:
        user = User(username=f"{role.value}-1", password_hash="x", role=role)
        session.add(user)
        staff[role.value] = user
    session.flush()
    return staff


def _paths() -> dict[ReportStatus | None, list[tuple[Action, str]]]:
    """The shortest (action, actor) path from a new report to every reachable state."""
    paths: dict[ReportStatus | None, list[tuple[Action, str]]] = {None: []}
    queue: deque[ReportStatus | None] = deque([None])
    while queue:
        state = queue.popleft()
        for action, move in TRANSITIONS[state].items():
            if move.to not in paths:
                actor = REPORTER if REPORTER in move.actors else sorted(move.actors)[0]
                paths[move.to] = [*paths[state], (action, actor)]
                queue.append(move.to)
    return paths


PATHS = _paths()


def _act(session: Session, report: Report, action: Action, actor: str,
         staff: dict[str, User], note: str | None = NOTE) -> ReportEvent:
    who = {"reporter": report.reporter} if actor == REPORTER else {"user": staff[actor]}
    return lifecycle.apply(session, report, action, note=note, **who)  # type: ignore[arg-type]


def _report_in(session: Session, state: ReportStatus | None, n: int,
               staff: dict[str, User]) -> Report:
    report = _draft(session, _reporter(session, n))
    for action, actor in PATHS[state]:
        _act(session, report, action, actor, staff)
    return report


def _count(session: Session, model: type, report: Report) -> int:
    return session.scalar(
        sa.select(sa.func.count()).select_from(model).where(model.report_id == report.id)  # type: ignore[attr-defined]
    ) or 0


def test_every_state_is_reachable_and_listed() -> None:
    assert set(PATHS) == set(TRANSITIONS) == {None, *ReportStatus}


@pytest.mark.parametrize("state", list(TRANSITIONS), ids=lambda s: s or "new")
def test_it_allows_exactly_the_moves_in_the_table(session: Session, state: ReportStatus | None) -> None:
    staff = _staff(session)
    n = 0
    for action in Action:
        for actor in ACTORS:
            n += 1
            report = _report_in(session, state, n, staff)
            status, version = report.status, report.version
            events, outbox = _count(session, ReportEvent, report), _count(session, OutboxMessage, report)
            move = TRANSITIONS[state].get(action)
            case = f"{state} --{action}--> by {actor}"

            if move is None or actor not in move.actors:
                with pytest.raises(TransitionError) as exc:
                    _act(session, report, action, actor, staff)
                expected = "error.forbidden" if move else "error.transition_not_allowed"
                assert exc.value.code == expected, case
                session.refresh(report)
                assert (report.status, report.version) == (status, version), case
                assert _count(session, ReportEvent, report) == events, case
                assert _count(session, OutboxMessage, report) == outbox, case
                continue

            event = _act(session, report, action, actor, staff)
            session.refresh(report)
            assert report.status == move.to, case
            assert report.version == (1 if state is None else version + 1), case
            assert (event.action, event.from_status, event.to_status, event.note) == (
                action.value, state.value if state else None, move.to.value, NOTE), case
            if actor == REPORTER:
                assert (event.reporter_id, event.user_id) == (report.reporter_id, None), case
            else:
                assert (event.user_id, event.reporter_id) == (staff[actor].id, None), case
            assert _count(session, ReportEvent, report) == events + 1, case
            assert _count(session, OutboxMessage, report) == outbox + bool(move.feedback), case
            if move.feedback:
                msg = session.scalars(sa.select(OutboxMessage).where(
                    OutboxMessage.report_id == report.id).order_by(OutboxMessage.id.desc())).first()
                assert msg is not None
                assert report.tracking_no in msg.text and report.title in msg.text, case
                assert (msg.channel, msg.chat_id) == (Channel.TELEGRAM, report.reporter.chat_id)
                if move.note_required:
                    assert NOTE in msg.text, case
            if move.to in (ReportStatus.ADOPTED, ReportStatus.NOT_ADOPTED):
                assert report.decided_at is not None, case
    session.commit()


@pytest.mark.parametrize("state", [s for s in TRANSITIONS if s is not None])
def test_it_submits_an_existing_report_only_if_the_table_says_so(
    session: Session, state: ReportStatus
) -> None:
    staff = _staff(session)
    report = _report_in(session, state, 1, staff)
    status, version = report.status, report.version

    if Action.SUBMIT in TRANSITIONS[state]:
        pytest.skip("the table allows submitting again from here")
    with pytest.raises(TransitionError):
        _act(session, report, Action.SUBMIT, REPORTER, staff, note=None)

    session.refresh(report)
    assert (report.status, report.version) == (status, version)
    assert _count(session, ReportEvent, report) == len(PATHS[state])


def _note_moves() -> list[tuple[ReportStatus | None, Action]]:
    return [(s, a) for s, moves in TRANSITIONS.items() for a, m in moves.items() if m.note_required]


@pytest.mark.parametrize(("state", "action"), _note_moves(), ids=str)
@pytest.mark.parametrize("note", [None, "", "   \n "], ids=["none", "empty", "blank"])
def test_it_requires_a_note_where_the_table_says_so(
    session: Session, state: ReportStatus, action: Action, note: str | None
) -> None:
    staff = _staff(session)
    report = _report_in(session, state, 1, staff)
    actor = REPORTER if REPORTER in TRANSITIONS[state][action].actors else Role.CLERK.value
    outbox = _count(session, OutboxMessage, report)

    with pytest.raises(TransitionError) as exc:
        _act(session, report, action, actor, staff, note=note)

    assert exc.value.code == "error.note_required"
    session.refresh(report)
    assert report.status == state
    assert _count(session, ReportEvent, report) == len(PATHS[state])
    assert _count(session, OutboxMessage, report) == outbox


def test_it_refuses_a_note_over_the_limit_and_keeps_one_at_the_limit(session: Session) -> None:
    staff = _staff(session)
    report = _report_in(session, ReportStatus.SUBMITTED, 1, staff)

    with pytest.raises(TransitionError) as exc:
        _act(session, report, Action.DECLINE, "clerk", staff, note="长" * (lifecycle.NOTE_LIMIT + 1))

    assert exc.value.code == "error.note_too_long"
    assert exc.value.params == {"limit": lifecycle.NOTE_LIMIT}
    session.refresh(report)
    assert report.status == ReportStatus.SUBMITTED
    assert _count(session, ReportEvent, report) == 1
    assert _count(session, OutboxMessage, report) == 0

    event = _act(session, report, Action.DECLINE, "clerk", staff, note="长" * lifecycle.NOTE_LIMIT)
    assert event.note is not None and len(event.note) == lifecycle.NOTE_LIMIT


def test_it_lists_the_actions_each_actor_may_take() -> None:
    assert lifecycle.allowed_actions(ReportStatus.SUBMITTED, "clerk") == [
        Action.ADOPT, Action.DECLINE, Action.RETURN]
    assert lifecycle.allowed_actions(ReportStatus.SUBMITTED, "viewer") == []
    assert lifecycle.allowed_actions(ReportStatus.RETURNED, REPORTER) == [Action.RESUBMIT]
    assert lifecycle.allowed_actions(ReportStatus.ADOPTED, "admin") == []


def test_it_needs_exactly_one_actor(session: Session) -> None:
    staff = _staff(session)
    report = _report_in(session, ReportStatus.SUBMITTED, 1, staff)

    with pytest.raises(ValueError):
        lifecycle.apply(session, report, Action.ADOPT)
    with pytest.raises(ValueError):
        lifecycle.apply(session, report, Action.ADOPT, user=staff["admin"], reporter=report.reporter)


def _decided_setup(session_factory: sessionmaker[Session]) -> tuple[int, int, int]:
    with session_factory() as s, s.begin():
        staff = _staff(s)
        report = _report_in(s, ReportStatus.SUBMITTED, 1, staff)
        return report.id, staff["admin"].id, staff["clerk"].id


def _history(session_factory: sessionmaker[Session], report_id: int) -> tuple[Report, list[str],
                                                                               list[str]]:
    with session_factory() as s:
        report = s.get_one(Report, report_id)
        events = [e.action for e in report.events]
        texts = list(s.scalars(sa.select(OutboxMessage.text).where(
            OutboxMessage.report_id == report_id)))
        return report, events, texts


def test_it_lets_only_the_first_of_two_deciders_win(Session_: sessionmaker[Session]) -> None:  # noqa: N803
    report_id, admin_id, clerk_id = _decided_setup(Session_)

    # The clerk opens the report (and sees version 1); the admin adopts it meanwhile.
    with Session_() as s2:
        with s2.begin():
            stale = s2.get_one(Report, report_id)
            seen = stale.version
        with Session_() as s1, s1.begin():
            lifecycle.apply(s1, s1.get_one(Report, report_id), Action.ADOPT,
                            user=s1.get_one(User, admin_id), expected_version=seen)
        # The clerk's decline names the version they saw: refused before any write ...
        with s2.begin():
            s2.refresh(stale)
            with pytest.raises(Conflict) as exc:
                lifecycle.apply(s2, stale, Action.DECLINE, user=s2.get_one(User, clerk_id),
                                note="重复", expected_version=seen)
        assert exc.value.code == "error.conflict"

    report, events, texts = _history(Session_, report_id)
    assert report.status == ReportStatus.ADOPTED and report.version == seen + 1
    assert events == ["submit", "adopt"]
    assert len(texts) == 1 and "采用" in texts[0]


def test_it_refuses_a_decision_made_on_a_stale_copy(Session_: sessionmaker[Session]) -> None:  # noqa: N803
    report_id, admin_id, clerk_id = _decided_setup(Session_)

    with Session_() as s2:
        with s2.begin():
            stale = s2.get_one(Report, report_id)
            clerk = s2.get_one(User, clerk_id)
        with Session_() as s1, s1.begin():
            lifecycle.apply(s1, s1.get_one(Report, report_id), Action.RETURN,
                            user=s1.get_one(User, admin_id), note=NOTE)
        # ... and without a version, the compare-and-set still catches the stale copy.
        with s2.begin(), pytest.raises(Conflict):
            lifecycle.apply(s2, stale, Action.ADOPT, user=clerk)

    report, events, texts = _history(Session_, report_id)
    assert report.status == ReportStatus.RETURNED
    assert events == ["submit", "return"]
    assert len(texts) == 1 and NOTE in texts[0]


def test_it_owes_nothing_to_a_reporter_who_blocked_the_bot(session: Session) -> None:
    staff = _staff(session)
    report = _report_in(session, ReportStatus.SUBMITTED, 1, staff)
    report.reporter.blocked_at = datetime(2026, 1, 1, tzinfo=UTC)

    event = _act(session, report, Action.ADOPT, "clerk", staff)

    assert event.to_status == ReportStatus.ADOPTED
    session.refresh(report)
    assert report.status == ReportStatus.ADOPTED
    assert _count(session, OutboxMessage, report) == 0


def test_it_writes_feedback_in_the_reporters_language_with_a_supplement_button(
    session: Session,
) -> None:
    staff = _staff(session)
    report = _draft(session, _reporter(session, 1, language="en", channel=Channel.WEB))
    _act(session, report, Action.SUBMIT, REPORTER, staff, note=None)

    _act(session, report, Action.RETURN, "admin", staff, note="How many households?")

    [msg] = session.scalars(sa.select(OutboxMessage)).all()
    assert msg.channel == Channel.WEB and msg.chat_id == "c1"
    assert msg.text.startswith("Your report") and "How many households?" in msg.text
    assert msg.buttons == [[{"label": "Add information", "data": f"~supp:{report.id}"}]]
