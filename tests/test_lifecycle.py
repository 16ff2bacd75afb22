"""The lifecycle table, walked entirely: every state × every level × every action × every actor."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from store.models import (
    AdoptionLevel,
    Channel,
    OutboxMessage,
    Report,
    ReportEvent,
    ReportStatus,
    Role,
    StaffNotice,
    Transfer,
    Unit,
    UnitKind,
    User,
    utcnow,
)
from store.outputs import adoption
from store.reports import lifecycle
from store.reports.lifecycle import LEVEL, REPORTER, SYSTEM, TRANSITIONS, Action, Conflict, TransitionError
from store.review import chain as review
from store.review import separation
from tests.domain_support import make_report, reporter

S = ReportStatus
ACTORS = [REPORTER, SYSTEM, *(r.value for r in Role)]
NOTE = "请补充涉及的 3 个小区的名称和住户数。"
# Who signs off each level of the three-level chain, written out here, not read from store.review.chain.
LEVEL_ROLES = {0: {"clerk"}, 1: {"director"}, 2: {"secretary_general"}}
FINAL = 2
CONTEXT = {"department": "县住建局", "leader": "县长"}


@dataclass
class World:
    staff: dict[str, User]
    department: Unit
    main: Report  # a report others may be merged into
    values: dict[Action, dict[str, Any]] = field(default_factory=dict)


def _world(session: Session) -> World:
    # The walk plays every level by one admin: an office with a single reviewer, where
    # separation of duties (tests/test_separation.py) stands aside.
    separation.set_single_reviewer(session, True)
    roads = Unit(name="县住建局", kind=UnitKind.DEPARTMENT)
    session.add(roads)
    session.flush()
    staff = {}
    for role in Role:
        user = User(username=f"{role.value}-1", password_hash="x", role=role,
                    unit_id=roads.id if role is Role.DEPARTMENT else None)
        session.add(user)
        staff[role.value] = user
    session.flush()
    main = make_report(session, title="小区电梯问题（主信息）", commit=False)
    world = World(staff, roads, main)
    world.values = {
        Action.MERGE: {"merged_into_id": main.id},
        Action.RAISE: {"adoption_level": AdoptionLevel.PROVINCE},
        Action.ADOPT: {"adoption_level": AdoptionLevel.COUNTY},
        Action.EDIT: {"title": "城关镇老旧小区加装电梯进展缓慢"},
        Action.RATE: {"satisfaction": "satisfied"},
    }
    return world


def _act(session: Session, world: World, report: Report, action: Action, actor: str,
         note: str | None = NOTE, **kw: Any) -> ReportEvent:
    if actor == REPORTER:
        who: dict[str, Any] = {"reporter": report.reporter}
    elif actor == SYSTEM:
        who = {"system": True}
    else:
        who = {"user": world.staff[actor]}
    event = lifecycle.apply(session, report, action, note=note,
                            values=kw.pop("values", world.values.get(action)),
                            context=CONTEXT, **who, **kw)
    if action is Action.TRANSFER:
        # What store.review.transfers adds beside the move: the department may now see it.
        now = utcnow()
        session.add(Transfer(report_id=report.id, department_id=world.department.id, due_at=now,
                             escalate_at=now, created_by_id=world.staff["admin"].id))
        session.flush()
    return event


def _hand_over(session: Session, world: World, report: Report) -> None:
    """Departments act only on reports handed to their unit (a 转办, a 批示 to carry out,
    a 函送参考: store.review.transfers, store.review.followup, store.review.reference); the walk hands each one."""
    handed = session.scalar(sa.select(Transfer.id).where(
        Transfer.report_id == report.id, Transfer.department_id == world.department.id))
    if handed is None:
        session.add(Transfer(kind="reference", report_id=report.id,
                             department_id=world.department.id,
                             created_by_id=world.staff["admin"].id))
        session.flush()


def _canonical(move: lifecycle.Move) -> str:
    for actor in (REPORTER, SYSTEM):
        if actor in move.actors:
            return actor
    return "admin"  # admins act at every level and in the office


Position = tuple[S | None, int]


_PATHS: dict[Position, list[Action]] = {}


def _paths(session: Session, world: World) -> dict[Position, list[Action]]:
    """Every (state, review level) reachable from a new report, with a shortest path there.

    Found by playing the table for real, each move by an actor it names
    (once per run: the paths do not depend on the database).
    """
    if not _PATHS:
        _PATHS.update(_explore(session, world))
    return _PATHS


def _explore(session: Session, world: World) -> dict[Position, list[Action]]:
    paths: dict[Position, list[Action]] = {(None, 0): []}
    frontier = [(None, 0)]
    while frontier:
        nxt = []
        for position in frontier:
            for action in TRANSITIONS[position[0]]:
                try:
                    report = _replay(session, world, [*paths[position], action])
                except TransitionError:
                    continue
                reached = (report.status, report.review_level)
                if reached not in paths:
                    paths[reached] = [*paths[position], action]
                    nxt.append(reached)
        frontier = nxt
    return paths


def _replay(session: Session, world: World, path: list[Action]) -> Report:
    if not path:
        return _new(session)
    report = _new(session)
    _hand_over(session, world, report)
    _act(session, world, report, Action.SUBMIT, REPORTER, note=None)
    for action in path[1:]:
        _act(session, world, report, action, _canonical(TRANSITIONS[report.status][action]))
    return report


def _new(session: Session) -> Report:
    """A report as `drafts.Draft.file` builds it, before its submit move."""
    report = Report(tracking_no=f"T-{session.scalar(sa.select(sa.func.count(Report.id)))}",
                    category="livelihood", title="老旧小区加装电梯进展缓慢",
                    situation="城关镇 12 个老旧小区中只有 2 个装了电梯。",
                    suggestion="建议简化审批。", reporter=reporter(session))
    session.add(report)
    session.flush()
    return report


def _count(session: Session, model: type, report: Report) -> int:
    return session.scalar(sa.select(sa.func.count()).select_from(model)
                          .where(model.report_id == report.id)) or 0  # type: ignore[attr-defined]


def _expected(state: S | None, level: int, action: Action, actor: str) -> str | None:
    """The error code the move should get, or None if it should happen (the spec, spelled out)."""
    move = TRANSITIONS[state].get(action)
    if move is None:
        return "error.transition_not_allowed"
    actors = set(move.actors)
    if LEVEL in actors:
        actors = (actors - {LEVEL}) | LEVEL_ROLES[level] | {"admin"}
    if actor not in actors:
        return "error.forbidden"
    if move.final_level is True and level != FINAL:
        return "error.final_level"
    if move.final_level is False and level == FINAL:
        return "error.not_final_level"
    return None


def test_the_walk_reaches_every_state_and_every_level_of_the_chain(session: Session) -> None:
    paths = _paths(session, _world(session))

    assert {state for state, _ in paths} == set(TRANSITIONS) == {None, *S}
    assert {lvl for state, lvl in paths if state is S.REVIEWING} == {1, 2}
    assert {lvl for state, lvl in paths if state is S.RESUBMITTED} == {0, 1, 2}


def test_it_allows_exactly_the_moves_in_the_table(session: Session) -> None:
    world = _world(session)
    paths = _paths(session, world)
    checked = allowed = 0
    for (state, level), path in sorted(paths.items(), key=lambda kv: len(kv[1])):
        report = _replay(session, world, path)
        for action in Action:
            for actor in ACTORS:
                if state is None and action is not Action.SUBMIT:
                    continue  # a report without history only knows SUBMIT (tested below)
                case = f"{state}@{level} --{action}--> by {actor}"
                checked += 1
                status, version = report.status, report.version
                events = _count(session, ReportEvent, report)
                owed = _count(session, OutboxMessage, report)
                expected = _expected(state, level, action, actor)
                if actor not in (REPORTER, SYSTEM):
                    offered = action in lifecycle.allowed_actions(session, report,
                                                                  world.staff[actor])
                    assert offered == (expected is None), case
                if expected is not None:
                    with pytest.raises(TransitionError) as exc:
                        _act(session, world, report, action, actor)
                    assert exc.value.code == expected, case
                    session.refresh(report)
                    assert (report.status, report.version) == (status, version), case
                    assert _count(session, ReportEvent, report) == events, case
                    assert _count(session, OutboxMessage, report) == owed, case
                    continue

                allowed += 1
                move = TRANSITIONS[state][action]
                event = _act(session, world, report, action, actor)
                session.refresh(report)
                to = move.to or state
                assert report.status == to, case
                assert report.version == (1 if state is None else version + 1), case
                assert (event.action, event.from_status, event.to_status) == (
                    action.value, state.value if state else None, to.value), case
                if actor == REPORTER:
                    assert (event.reporter_id, event.user_id) == (report.reporter_id, None), case
                elif actor == SYSTEM:
                    assert (event.reporter_id, event.user_id) == (None, None), case
                else:
                    assert (event.user_id, event.reporter_id) == (world.staff[actor].id, None)
                assert _count(session, ReportEvent, report) == events + 1, case
                assert _count(session, OutboxMessage, report) == owed + bool(move.feedback), case
                if move.feedback:
                    msg = session.scalars(sa.select(OutboxMessage).where(
                        OutboxMessage.report_id == report.id)
                        .order_by(OutboxMessage.id.desc())).first()
                    assert msg is not None
                    assert report.tracking_no in msg.text and report.title in msg.text, case
                    assert (msg.reporter_id, msg.chat_id) == (report.reporter_id,
                                                              report.reporter.chat_id), case
                    # A 批示 and the department's report on it stay in the office.
                    if move.note_required and action not in (Action.INSTRUCT,
                                                             Action.INSTRUCTION_DONE):
                        assert NOTE in msg.text, case
                if to in (S.ADOPTED, S.NOT_ADOPTED):
                    assert report.decided_at is not None, case
                # The move happened: the next case needs the report back where it was.
                report = _replay(session, world, path)
    assert checked > 1000 and allowed > 40


def test_it_submits_a_report_once(session: Session) -> None:
    world = _world(session)
    report = _new(session)
    for action in Action:
        if action is not Action.SUBMIT:
            with pytest.raises(TransitionError) as exc:
                _act(session, world, report, action, "admin")
            assert exc.value.code == "error.transition_not_allowed"
    _act(session, world, report, Action.SUBMIT, REPORTER, note=None)

    with pytest.raises(TransitionError) as exc:
        _act(session, world, report, Action.SUBMIT, REPORTER, note=None)

    assert exc.value.code == "error.transition_not_allowed"
    assert _count(session, ReportEvent, report) == 1


def _note_moves() -> list[tuple[S, Action]]:
    return [(s, a) for s, moves in TRANSITIONS.items() if s is not None
            for a, m in moves.items() if m.note_required]


@pytest.mark.parametrize(("state", "action"), _note_moves(), ids=str)
@pytest.mark.parametrize("note", [None, "", "   \n "], ids=["none", "empty", "blank"])
def test_it_requires_a_note_where_the_table_says_so(
    session: Session, state: S, action: Action, note: str | None
) -> None:
    world = _world(session)
    paths = _paths(session, world)
    report = _replay(session, world, next(p for (s, _), p in paths.items() if s is state))
    actor = _canonical(TRANSITIONS[state][action])
    owed = _count(session, OutboxMessage, report)
    events = _count(session, ReportEvent, report)

    with pytest.raises(TransitionError) as exc:
        _act(session, world, report, action, actor, note=note)

    assert exc.value.code == "error.note_required"
    session.refresh(report)
    assert report.status == state
    assert _count(session, ReportEvent, report) == events
    assert _count(session, OutboxMessage, report) == owed


def test_it_refuses_a_note_over_the_limit_and_keeps_one_at_the_limit(session: Session) -> None:
    world = _world(session)
    report = _replay(session, world, [Action.SUBMIT])

    with pytest.raises(TransitionError) as exc:
        _act(session, world, report, Action.DECLINE, "clerk", note="长" * (lifecycle.NOTE_LIMIT + 1))

    assert (exc.value.code, exc.value.params) == ("error.note_too_long",
                                                  {"limit": lifecycle.NOTE_LIMIT})
    assert _count(session, OutboxMessage, report) == 0
    event = _act(session, world, report, Action.DECLINE, "clerk", note="长" * lifecycle.NOTE_LIMIT)
    assert event.note is not None and len(event.note) == lifecycle.NOTE_LIMIT


def test_it_signs_off_only_below_the_final_level_and_adopts_only_at_it(session: Session) -> None:
    world = _world(session)
    report = _replay(session, world, [Action.SUBMIT])

    with pytest.raises(TransitionError) as exc:
        _act(session, world, report, Action.ADOPT, "clerk")
    assert exc.value.code == "error.final_level"
    _act(session, world, report, Action.SIGN_OFF, "clerk")
    _act(session, world, report, Action.SIGN_OFF, "director")
    assert (report.status, report.review_level) == (S.REVIEWING, 2)
    with pytest.raises(TransitionError) as exc:
        _act(session, world, report, Action.SIGN_OFF, "secretary_general")
    assert exc.value.code == "error.not_final_level"

    _act(session, world, report, Action.ADOPT, "secretary_general")

    session.refresh(report)
    assert (report.status, adoption.highest(session, report)) == (S.ADOPTED, AdoptionLevel.COUNTY)
    assert [e.action for e in report.events] == ["submit", "sign_off", "sign_off", "adopt"]


def test_in_a_two_level_chain_the_second_level_decides(session: Session) -> None:
    world = _world(session)
    review.set_chain(session, "two")
    report = _replay(session, world, [Action.SUBMIT])

    _act(session, world, report, Action.SIGN_OFF, "clerk")

    assert lifecycle.allowed_actions(session, report, world.staff["director"]) == [Action.EDIT]
    assert Action.ADOPT in lifecycle.allowed_actions(session, report,
                                                     world.staff["secretary_general"])
    _act(session, world, report, Action.ADOPT, "secretary_general")
    assert report.status is S.ADOPTED


def test_a_supplement_goes_back_to_the_level_that_asked(session: Session) -> None:
    world = _world(session)
    report = _replay(session, world, [Action.SUBMIT, Action.SIGN_OFF])
    _act(session, world, report, Action.RETURN, "director")
    assert (report.status, report.returned_from_level) == (S.RETURNED, 1)

    _act(session, world, report, Action.RESUBMIT, REPORTER)

    assert (report.status, report.review_level, report.returned_from_level) == (
        S.RESUBMITTED, 1, None)
    assert lifecycle.allowed_actions(session, report, world.staff["clerk"]) == [Action.EDIT]
    # The level that asked hears that the answer came.
    [notice] = session.scalars(sa.select(StaffNotice).where(
        StaffNotice.user_id == world.staff["director"].id)).all()
    assert notice.kind == "resubmitted" and report.tracking_no in notice.text


def test_it_sets_only_the_columns_a_move_allows(session: Session) -> None:
    world = _world(session)
    report = _replay(session, world, [Action.SUBMIT])

    with pytest.raises(ValueError, match="decline may not set"):
        _act(session, world, report, Action.DECLINE, "clerk",
             values={"adoption_level": AdoptionLevel.NATIONAL})
    with pytest.raises(ValueError, match="edit may not set"):
        _act(session, world, report, Action.EDIT, "clerk", values={"status": "adopted"})

    session.refresh(report)
    assert (report.status, adoption.highest(session, report), report.version) == (S.SUBMITTED, None, 1)
    assert _count(session, ReportEvent, report) == 1


def test_it_refuses_adopting_without_a_level(session: Session) -> None:
    world = _world(session)
    report = _replay(session, world, [Action.SUBMIT, Action.SIGN_OFF, Action.SIGN_OFF])

    with pytest.raises(TransitionError) as exc:
        _act(session, world, report, Action.ADOPT, "secretary_general", values={})

    assert exc.value.code == "error.level_required"
    session.refresh(report)
    assert (report.status, adoption.highest(session, report)) == (S.REVIEWING, None)
    assert _count(session, OutboxMessage, report) == 0


def test_it_previews_what_a_decline_tells_the_reporter_without_writing(session: Session) -> None:
    world = _world(session)
    report = _replay(session, world, [Action.SUBMIT])
    lifecycle.check(session, report, Action.DECLINE, user=world.staff["clerk"], note="重复",
                    expected_version=report.version)

    preview = lifecycle.preview(session, report, Action.DECLINE, note="重复")

    assert preview.to is S.NOT_ADOPTED and preview.others == 0
    assert preview.message is not None and "原因：重复" in preview.message
    assert (report.status, _count(session, ReportEvent, report),
            _count(session, OutboxMessage, report)) == (S.SUBMITTED, 1, 0)
    # What apply queues is word for word what the preview showed.
    _act(session, world, report, Action.DECLINE, "clerk", note="重复")
    queued = session.scalars(sa.select(OutboxMessage).where(OutboxMessage.report_id == report.id))
    assert [m.text for m in queued] == [preview.message]


@pytest.mark.parametrize(("level", "code"), [(AdoptionLevel.COUNTY, "error.not_higher"),
                                             (AdoptionLevel.CITY, "error.not_higher"),
                                             (None, "error.level_required")])
def test_raise_must_go_higher(session: Session, level: AdoptionLevel | None, code: str) -> None:
    world = _world(session)
    report = _replay(session, world, [Action.SUBMIT, Action.SIGN_OFF, Action.SIGN_OFF])
    _act(session, world, report, Action.ADOPT, "admin",
         values={"adoption_level": AdoptionLevel.CITY})
    owed = _count(session, OutboxMessage, report)

    with pytest.raises(TransitionError) as exc:
        _act(session, world, report, Action.RAISE, "director", values={"adoption_level": level})

    assert exc.value.code == code
    session.refresh(report)
    assert adoption.highest(session, report) is AdoptionLevel.CITY
    assert _count(session, OutboxMessage, report) == owed
    _act(session, world, report, Action.RAISE, "director",
         values={"adoption_level": AdoptionLevel.PROVINCE})
    session.refresh(report)
    assert adoption.highest(session, report) is AdoptionLevel.PROVINCE
    msg = session.scalars(sa.select(OutboxMessage).order_by(OutboxMessage.id.desc())).first()
    assert msg is not None and "省政协" in msg.text


def test_it_needs_exactly_one_actor(session: Session) -> None:
    world = _world(session)
    report = _replay(session, world, [Action.SUBMIT])

    with pytest.raises(ValueError):
        lifecycle.apply(session, report, Action.DECLINE, note=NOTE)
    with pytest.raises(ValueError):
        lifecycle.apply(session, report, Action.DECLINE, note=NOTE, user=world.staff["admin"],
                        reporter=report.reporter)


def test_merged_reporters_hear_what_becomes_of_the_main_report(session: Session) -> None:
    world = _world(session)
    main, dup, dup_of_dup = (_replay(session, world, [Action.SUBMIT]) for _ in range(3))
    _act(session, world, dup_of_dup, Action.MERGE, "clerk", values={"merged_into_id": dup.id})
    # The duplicate is merged in turn: its own merged report follows it to the main one.
    _act(session, world, dup, Action.MERGE, "clerk", values={"merged_into_id": main.id})
    session.refresh(dup_of_dup)
    assert (dup_of_dup.status, dup_of_dup.merged_into_id) == (S.MERGED, main.id)

    for actor in ("clerk", "director"):
        _act(session, world, main, Action.SIGN_OFF, actor)
    _act(session, world, main, Action.ADOPT, "secretary_general")

    adopted = session.scalars(sa.select(OutboxMessage).where(
        OutboxMessage.report_id == main.id)).all()
    assert sorted(m.reporter_id for m in adopted) == sorted(
        r.reporter_id for r in (main, dup, dup_of_dup))
    assert all("已被采用" in m.text and main.tracking_no in m.text for m in adopted)
    # Each duplicate's reporter heard of its merge once, on their own report.
    assert _count(session, OutboxMessage, dup) == 1
    assert _count(session, OutboxMessage, dup_of_dup) == 1


def _decided_setup(session_factory: sessionmaker[Session]) -> tuple[int, int, int]:
    with session_factory() as s, s.begin():
        world = _world(s)
        report = _replay(s, world, [Action.SUBMIT])
        return report.id, world.staff["admin"].id, world.staff["clerk"].id


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

    # The clerk opens the report (version 1); the admin declines it meanwhile.
    with Session_() as s2:
        with s2.begin():
            stale = s2.get_one(Report, report_id)
            seen = stale.version
        with Session_() as s1, s1.begin():
            lifecycle.apply(s1, s1.get_one(Report, report_id), Action.DECLINE, note="重复",
                            user=s1.get_one(User, admin_id), expected_version=seen)
        # The clerk's return names the version they saw: refused before any write.
        with s2.begin():
            s2.refresh(stale)
            with pytest.raises(Conflict) as exc:
                lifecycle.apply(s2, stale, Action.RETURN, user=s2.get_one(User, clerk_id),
                                note=NOTE, expected_version=seen)
        assert exc.value.code == "error.conflict"

    report, events, texts = _history(Session_, report_id)
    assert report.status == S.NOT_ADOPTED and report.version == seen + 1
    assert events == ["submit", "decline"]
    assert len(texts) == 1 and "暂不采用" in texts[0]


def test_it_refuses_a_move_made_on_a_stale_copy(Session_: sessionmaker[Session]) -> None:  # noqa: N803
    report_id, admin_id, clerk_id = _decided_setup(Session_)

    with Session_() as s2:
        with s2.begin():
            stale = s2.get_one(Report, report_id)
            clerk = s2.get_one(User, clerk_id)
        with Session_() as s1, s1.begin():
            lifecycle.apply(s1, s1.get_one(Report, report_id), Action.RETURN,
                            user=s1.get_one(User, admin_id), note=NOTE)
        # Without a version the compare-and-set still catches the stale copy.
        with s2.begin(), pytest.raises(Conflict):
            lifecycle.apply(s2, stale, Action.SIGN_OFF, user=clerk)

    report, events, texts = _history(Session_, report_id)
    assert (report.status, report.review_level) == (S.RETURNED, 0)
    assert events == ["submit", "return"]
    assert len(texts) == 1 and NOTE in texts[0]


def test_it_owes_nothing_to_a_reporter_who_blocked_the_bot(session: Session) -> None:
    world = _world(session)
    report = _replay(session, world, [Action.SUBMIT])
    report.reporter.blocked_at = utcnow()

    event = _act(session, world, report, Action.DECLINE, "clerk")

    assert event.to_status == S.NOT_ADOPTED
    assert _count(session, OutboxMessage, report) == 0


def test_it_writes_feedback_in_the_reporters_language_with_a_supplement_button(
    session: Session,
) -> None:
    world = _world(session)
    report = _new(session)
    report.reporter = reporter(session, language="en", channel=Channel.WEB)
    _act(session, world, report, Action.SUBMIT, REPORTER, note=None)

    _act(session, world, report, Action.RETURN, "admin", note="How many households?")

    [msg] = session.scalars(sa.select(OutboxMessage).where(OutboxMessage.report_id == report.id))
    assert msg.channel == Channel.WEB and msg.chat_id == report.reporter.chat_id
    assert msg.text.startswith("Your report") and "How many households?" in msg.text
    assert msg.buttons == [[{"label": "Add information", "data": f"~supp:{report.id}"}]]


def test_closing_asks_the_reporter_to_rate_and_rating_is_stored(session: Session) -> None:
    world = _world(session)
    report = _replay(session, world, [Action.SUBMIT, Action.SIGN_OFF, Action.SIGN_OFF,
                                      Action.ADOPT])

    _act(session, world, report, Action.CLOSE, "clerk")
    msg = session.scalars(sa.select(OutboxMessage).order_by(OutboxMessage.id.desc())).first()
    assert msg is not None and [b["data"] for b in msg.buttons[0]] == [
        f"~rate:{report.id}:{k}" for k in ("satisfied", "basically", "unsatisfied")]
    _act(session, world, report, Action.RATE, REPORTER, note=None,
         values={"satisfaction": "basically"})

    session.refresh(report)
    assert (report.status, report.satisfaction) == (S.CLOSED, "basically")


def test_it_names_every_action_once_for_the_console_in_both_languages() -> None:
    from store.i18n import t

    for action in lifecycle.Action:
        zh, en = t(f"action.{action}"), t(f"action.{action}", "en")
        assert zh and en and zh != en, action
