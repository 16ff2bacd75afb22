"""A round of inputs (`Engine.handle_all`): the group commit's inputs share the statements
every input runs, and each is answered as it would be alone (issue 16, P1).

Run on SQLite and, when `MINYI_TEST_POSTGRES_URL` is set, on PostgreSQL.
"""

from __future__ import annotations

from datetime import timedelta
from itertools import count
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from store import db
from store.conversation.engine import Engine
from store.conversation.types import Inbound, Reply
from store.models import Channel, Conversation, ProcessedUpdate, Report, Reporter, StaffAddress, utcnow
from tests.test_engine_statements import statements
from tests.test_races import together

_updates = count(1)
TITLE = "城关镇人民路路灯长期不亮"


def _in(user: int, *, chat: int | None = None, update: str | None = None, **kw: Any) -> Inbound:
    return Inbound(channel=Channel.TELEGRAM, user_id=str(user), chat_id=str(chat or user),
                   update_id=update or f"r{next(_updates)}", language="zh",
                   display_name=f"U{user}", **kw)


def _press(replies: list[Reply], label: str) -> str:
    return next(b.data for r in reversed(replies) for row in r.buttons for b in row if label in b.label)


def _alone(Session_: sessionmaker[Session], engine: Engine, inbound: Inbound) -> list[Reply]:  # noqa: N803
    with db.unit(Session_) as work:
        return engine.handle(work, inbound)


def _round(Session_: sessionmaker[Session], engine: Engine,  # noqa: N803
           inbounds: list[Inbound]) -> list[list[Reply]]:
    with db.unit(Session_) as work:
        return engine.handle_all(work, inbounds)


def _at_title(Session_: sessionmaker[Session], engine: Engine, token: str,  # noqa: N803
              users: range) -> None:
    """Each of `users` started from the point and chose a category: the title is asked."""
    for user in users:
        replies = _alone(Session_, engine, _in(user, command="start", args=token))
        _alone(Session_, engine, _in(user, callback=_press(replies, "民生保障")))


def _shown(replies: list[Reply]) -> list[tuple[str, list[list[str]]]]:
    return [(r.text, [[b.label for b in row] for row in r.buttons]) for r in replies]


def test_a_round_takes_the_statements_of_one_input_and_answers_each_as_alone(
        Session_: sessionmaker[Session], engine: Engine, db_engine: sa.Engine,  # noqa: N803
        point_token: str, session: Session) -> None:
    _at_title(Session_, engine, point_token, range(1, 13))
    alone = [_alone(Session_, engine, _in(user, text=f"{TITLE}{user}")) for user in (1, 2)]

    with statements(db_engine) as seen:
        together_ = _round(Session_, engine, [_in(user, text=f"{TITLE}{user}") for user in range(3, 13)])

    # BEGIN (SQLite's), the update ids, the reporters with their conversations, the saves.
    assert len(seen) <= 4, seen
    assert [s.split()[:3] for s in seen if not s.startswith("BEGIN")] == [
        ["INSERT", "INTO", "processed_updates"], ["SELECT", "reporters.id", "AS"],
        ["UPDATE", "conversations", "SET"]]
    assert [_shown(r) for r in together_] == [_shown(alone[0])] * 10
    session.rollback()
    steps = dict(session.execute(sa.select(Reporter.external_id, Conversation.step)
                                 .join(Conversation, Conversation.reporter_id == Reporter.id)).all())
    assert all(steps[str(user)] == "situation" for user in range(1, 13)), steps
    answers = {c.external_id: c.answers.get("title") for c in session.scalars(sa.select(Conversation))}
    assert answers == {str(user): f"{TITLE}{user}" for user in range(1, 13)}


def test_a_round_saves_conversations_that_changed_different_columns(
        Session_: sessionmaker[Session], engine: Engine, db_engine: sa.Engine,  # noqa: N803
        point_token: str, session: Session) -> None:
    """Saved in id order, rows next in that order that changed alike by one executemany: a
    title (answers, step, turn) beside a press of 返回上一步 (step, turn)."""
    users = range(81, 87)
    _at_title(Session_, engine, point_token, users)
    with db.unit(Session_) as work:
        asked = {user: engine.handle(work, _in(user, text="？")) for user in users}  # too short
    inbounds = [_in(user, text=f"{TITLE}{user}") if user % 2 else
                _in(user, callback=_press(asked[user], "返回上一步")) for user in users]
    with statements(db_engine) as seen:
        _round(Session_, engine, inbounds)
    assert len([s for s in seen if s.startswith("UPDATE conversations")]) == len(users)
    session.rollback()
    assert {c.external_id: (c.step, c.answers.get("title"))
            for c in session.scalars(sa.select(Conversation))} == {
        str(user): ("situation", f"{TITLE}{user}") if user % 2 else ("category", None)
        for user in users}


def test_a_round_takes_first_inputs_and_filings_of_several_people(
        Session_: sessionmaker[Session], engine: Engine, point_token: str,  # noqa: N803
        session: Session) -> None:
    started = _round(Session_, engine, [_in(user, command="start", args=point_token)
                                        for user in (21, 22, 23)])
    assert all("民生保障" in str(_shown(r)) for r in started)
    last = _round(Session_, engine, [_in(u, callback=_press(r, "民生保障"))
                                     for u, r in zip((21, 22, 23), started, strict=True)])
    for text in (TITLE, "人民路共有路灯40盏，其中12盏已经损坏超过3个月，居民夜间出行不便。",
                 "可能是雨季后线路老化短路，维修不及时。", "建议城管部门尽快排查维修，并建立路灯定期巡查机制。",
                 "城关镇人民路", "跳过"):
        last = _round(Session_, engine, [_in(user, text=text) for user in (21, 22, 23)])
    for label in ("否", "是", "确认提交"):
        last = _round(Session_, engine, [_in(u, callback=_press(r, label))
                                         for u, r in zip((21, 22, 23), last, strict=True)])
    assert all("提交成功" in r[0].text for r in last), [r[0].text for r in last]
    session.rollback()
    assert session.scalar(sa.select(sa.func.count()).select_from(Report)) == 3


def test_inputs_of_one_sender_in_a_round_are_answered_one_after_the_other(
        Session_: sessionmaker[Session], engine: Engine, point_token: str,  # noqa: N803
        session: Session) -> None:
    _at_title(Session_, engine, point_token, range(31, 32))
    title, situation = _round(Session_, engine, [
        _in(31, text=TITLE), _in(31, text="人民路共有路灯40盏，其中12盏已经损坏超过3个月。")])
    # The second found the first's answer saved: it answered the next question.
    assert "情况" in title[-1].text and "原因" in situation[-1].text
    session.rollback()
    conv = session.scalar(sa.select(Conversation))
    assert conv is not None and conv.step == "analysis" and conv.answers["title"] == TITLE


def test_an_update_applied_before_is_asked_again_and_the_rest_of_its_round_applied(
        Session_: sessionmaker[Session], engine: Engine, point_token: str,  # noqa: N803
        session: Session) -> None:
    _at_title(Session_, engine, point_token, range(41, 43))
    _alone(Session_, engine, _in(41, text=TITLE, update="again-1"))
    again, fresh = _round(Session_, engine, [_in(41, text=TITLE, update="again-1"),
                                             _in(42, text=TITLE)])
    assert "情况" in again[-1].text and "情况" in fresh[-1].text
    session.rollback()
    assert {c.external_id: c.step for c in session.scalars(sa.select(Conversation))} == {
        "41": "situation", "42": "situation"}  # 41's title applied once, not stored twice over
    assert session.scalar(sa.select(sa.func.count()).select_from(ProcessedUpdate)
                          .where(ProcessedUpdate.update_id == "again-1")) == 1


def test_one_update_twice_in_a_round_is_applied_once(
        Session_: sessionmaker[Session], engine: Engine, point_token: str,  # noqa: N803
        session: Session) -> None:
    _at_title(Session_, engine, point_token, range(51, 52))
    first, second = _round(Session_, engine, [_in(51, text=TITLE, update="twice"),
                                              _in(51, text=TITLE, update="twice")])
    assert "情况" in first[-1].text and "情况" in second[-1].text  # asked again, not stored again
    session.rollback()
    conv = session.scalar(sa.select(Conversation))
    assert conv is not None and conv.step == "situation"


def test_an_update_id_given_as_a_number_and_as_text_is_one_update(
        Session_: sessionmaker[Session], engine: Engine, point_token: str,  # noqa: N803
        session: Session) -> None:
    """A channel's update id is recorded as text: 5151 and "5151" are the same update, in a
    round as anywhere (the second is answered as a redelivery, and applies nothing)."""
    _at_title(Session_, engine, point_token, range(53, 55))
    _round(Session_, engine, [_in(53, text=TITLE, update="5151"),
                              _in(54, text=TITLE, update=5151)])  # type: ignore[arg-type]
    session.rollback()
    assert {c.external_id: c.step for c in session.scalars(sa.select(Conversation))} == {
        "53": "situation", "54": "title"}


def test_a_staff_address_gone_is_live_again_when_its_chat_writes_in_a_round(
        Session_: sessionmaker[Session], engine: Engine, point_token: str,  # noqa: N803
        session: Session, clerk: Any, admin: Any) -> None:
    """The round asks whether each reporter's stored chat is a staff address marked gone; an
    input from another chat of theirs is asked of that chat."""
    _at_title(Session_, engine, point_token, range(61, 63))
    gone = utcnow() - timedelta(days=1)
    session.add_all([StaffAddress(user_id=clerk.id, channel=Channel.TELEGRAM, chat_id="61", gone_at=gone),
                     StaffAddress(user_id=admin.id, channel=Channel.TELEGRAM, chat_id="6200",
                                  gone_at=gone)])
    session.commit()
    _round(Session_, engine, [_in(61, text=TITLE), _in(62, chat=6200, text=TITLE)])
    session.expire_all()
    assert {a.chat_id: a.gone_at for a in session.scalars(sa.select(StaffAddress))} == {
        "61": None, "6200": None}
    assert session.scalar(sa.select(Reporter.chat_id).where(Reporter.external_id == "62")) == "6200"


def test_rounds_naming_the_same_updates_at_once_apply_each_once(
        Session_: sessionmaker[Session], engine: Engine, point_token: str,  # noqa: N803
        session: Session) -> None:
    """Two workers handed the same updates (a redelivery), in opposite orders, at once: each
    update is applied once and nobody deadlocks (PostgreSQL takes the rows in key order)."""
    users = range(71, 111)
    _at_title(Session_, engine, point_token, users)
    inbounds = [_in(user, text=f"{TITLE}{user}", update=f"same-{user}") for user in users]

    def deliver(i: int) -> list[list[Reply]]:
        return _round(Session_, engine, inbounds if i % 2 == 0 else inbounds[::-1])

    answered = together(deliver)
    assert all("情况" in replies[-1].text for each in answered for replies in each)
    session.rollback()
    assert {c.external_id: (c.step, c.answers.get("title"))
            for c in session.scalars(sa.select(Conversation))} == {
        str(user): ("situation", f"{TITLE}{user}") for user in users}


def test_a_rounds_statements_are_compiled_for_a_few_sizes_only(
        Session_: sessionmaker[Session], engine: Engine, point_token: str,  # noqa: N803
        session: Session, monkeypatch: Any) -> None:
    """A bot meets rounds of every size up to the group commit's most; each size compiled
    would keep a statement of its own. Rows are padded to a power of two instead, each
    padding row a repeat that changes nothing."""
    from store.conversation import engine as engine_module

    sizes: list[int] = []
    for name in ("_seen", "_pairs"):
        made = getattr(engine_module, name)
        monkeypatch.setattr(engine_module, name, lambda n, made=made: sizes.append(n) or made(n))
    users = range(91, 98)
    _at_title(Session_, engine, point_token, users)
    sizes.clear()
    for chunk in (users[:3], users[3:]):  # rounds of 3 and 4
        _round(Session_, engine, [_in(user, text=f"{TITLE}{user}") for user in chunk])
    assert sizes == [4, 4, 4, 4]
    session.rollback()
    assert {c.external_id: c.answers.get("title") for c in session.scalars(sa.select(Conversation))
            if int(c.external_id) in users} == {str(user): f"{TITLE}{user}" for user in users}
    assert session.scalar(sa.select(sa.func.count()).select_from(ProcessedUpdate)) == 7 * 3
