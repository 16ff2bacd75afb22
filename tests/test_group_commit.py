"""Group commit (bot/channels/group_commit.py): inputs waiting together are answered in one
transaction, each answer only once it is committed, and a failing input or commit costs the
others nothing."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Sequence
from itertools import count
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from bot.channels import group_commit
from bot.channels.group_commit import GroupCommit, Outcome
from store import db
from store.conversation.engine import Engine
from store.conversation.types import Inbound, Reply
from store.models import Channel, Conversation, ProcessedUpdate, Reporter

_updates = count(1)


def _start(user: int, token: str) -> Inbound:
    return Inbound(channel=Channel.TELEGRAM, user_id=str(user), chat_id=str(user),
                   update_id=f"gc{next(_updates)}", language="zh", display_name=f"U{user}",
                   command="start", args=token)


def _commits(db_engine: sa.Engine) -> list[int]:
    made: list[int] = []
    sa.event.listen(db_engine, "commit", lambda _conn: made.append(1))
    return made


def _state(Session_: sessionmaker[Session]) -> tuple[int, int, int]:  # noqa: N803
    with Session_() as s:
        return (s.scalar(sa.select(sa.func.count()).select_from(Reporter)) or 0,
                s.scalar(sa.select(sa.func.count()).select_from(Conversation)) or 0,
                s.scalar(sa.select(sa.func.count()).select_from(ProcessedUpdate)) or 0)


def test_inputs_of_several_chats_are_committed_once_and_each_answered_as_alone(
        Session_: sessionmaker[Session], engine: Engine, db_engine: sa.Engine,  # noqa: N803
        point_token: str) -> None:
    alone = [_start(900, point_token)]
    with db.unit(Session_) as work:
        expected = engine.handle(work, alone[0])
    commits = _commits(db_engine)

    outcomes = group_commit.answer_all(Session_, engine.handle_all,
                                       [_start(u, point_token) for u in range(901, 911)])

    assert len(commits) == 1
    assert [[r.text for r in o] for o in outcomes if isinstance(o, list)] == [
        [r.text for r in expected]] * 10
    assert _state(Session_) == (11, 11, 11)


def test_a_failing_input_raises_alone_and_the_others_are_stored_once(
        Session_: sessionmaker[Session], engine: Engine, point_token: str) -> None:  # noqa: N803
    def handle_all(work: db.Unit, inbounds: Sequence[Inbound]) -> list[list[Reply]]:
        replies = engine.handle_all(work, inbounds)  # written, then an input fails: rolled back
        if any(inbound.user_id == "913" for inbound in inbounds):
            raise RuntimeError("913 broke")
        return replies

    outcomes = group_commit.answer_all(Session_, handle_all,
                                       [_start(u, point_token) for u in (912, 913, 914)])

    assert isinstance(outcomes[1], RuntimeError)
    assert all(isinstance(o, list) and o for o in (outcomes[0], outcomes[2]))
    assert _state(Session_) == (2, 2, 2)  # 912 and 914 once each; nothing of 913


def test_a_failed_commit_answers_each_input_in_a_unit_of_its_own(
        Session_: sessionmaker[Session], engine: Engine, db_engine: sa.Engine,  # noqa: N803
        point_token: str) -> None:
    failed: list[int] = []

    def fail_the_first(conn: Any) -> None:
        if not failed:
            failed.append(1)
            raise sa.exc.OperationalError("COMMIT", {}, Exception("disk I/O error"))

    sa.event.listen(db_engine, "commit", fail_the_first)
    try:
        outcomes = group_commit.answer_all(Session_, engine.handle_all,
                                           [_start(u, point_token) for u in (915, 916, 917)])
    finally:
        sa.event.remove(db_engine, "commit", fail_the_first)

    assert failed and all(isinstance(o, list) and o for o in outcomes), outcomes
    assert _state(Session_) == (3, 3, 3)  # each applied once, none twice


def test_inputs_waiting_together_share_a_round_and_each_caller_gets_its_own_outcome() -> None:
    rounds: list[list[str]] = []
    running = threading.Event()
    go_on = threading.Event()

    def run(inbounds: Sequence[Inbound]) -> list[Outcome]:
        rounds.append([i.user_id for i in inbounds])
        if len(rounds) == 1:
            running.set()
            go_on.wait(5)
        return [ValueError(i.user_id) if i.user_id == "5" else [Reply(f"好 {i.user_id}")]
                for i in inbounds]

    def inbound(user: int) -> Inbound:
        return Inbound(channel=Channel.TELEGRAM, user_id=str(user), chat_id=str(user), text="x")

    async def main() -> list[Any]:
        rc = GroupCommit(run, most=3)
        first = asyncio.ensure_future(rc.answer(inbound(1)))
        await asyncio.to_thread(running.wait, 5)  # round 1 holds input 1 alone
        rest = [asyncio.ensure_future(rc.answer(inbound(u))) for u in range(2, 7)]
        await asyncio.sleep(0.05)
        go_on.set()
        return await asyncio.gather(first, *rest, return_exceptions=True)

    got = asyncio.run(main())

    assert rounds == [["1"], ["2", "3", "4"], ["5", "6"]]  # those that waited, together, ≤ most
    assert [g[0].text if isinstance(g, list) else repr(g) for g in got] == [
        "好 1", "好 2", "好 3", "好 4", "ValueError('5')", "好 6"]


def test_a_new_event_loop_gets_a_group_commit_of_its_own(
        Session_: sessionmaker[Session], engine: Engine, point_token: str) -> None:  # noqa: N803
    from bot.channels.telegram.handlers import BotContext

    deps = BotContext(session_factory=Session_, engine=engine)
    first = asyncio.run(deps.answer_soon(_start(918, point_token)))
    second = asyncio.run(deps.answer_soon(_start(919, point_token)))  # a second loop: no hang

    assert first and second


@pytest.mark.parametrize("users", [1, 130])
def test_the_bot_context_answers_each_input_once_in_rounds(
        Session_: sessionmaker[Session], engine: Engine, db_engine: sa.Engine,  # noqa: N803
        point_token: str, users: int) -> None:
    from bot.channels.telegram.handlers import BotContext

    deps = BotContext(session_factory=Session_, engine=engine)
    commits = _commits(db_engine)

    async def main() -> list[list[Reply]]:
        return await asyncio.gather(*(deps.answer_soon(_start(2000 + u, point_token))
                                      for u in range(users)))

    got = asyncio.run(main())

    assert all(g for g in got) and _state(Session_) == (users, users, users)
    # Rounds of at most MOST inputs: 130 inputs waiting at once take two commits, not 130.
    assert len(commits) == -(-users // group_commit.MOST)


def test_a_unit_whose_commit_failed_leaves_the_next_unit_a_clean_connection(
        Session_: sessionmaker[Session], engine: Engine, db_engine: sa.Engine,  # noqa: N803
        point_token: str) -> None:
    """store.db.Unit: a failed COMMIT drops its connection instead of pooling it mid-transaction
    (SQLite's next BEGIN would fail, and what the next unit wrote would hang on that one)."""
    def fail(conn: Any) -> None:
        raise sa.exc.OperationalError("COMMIT", {}, Exception("disk I/O error"))

    sa.event.listen(db_engine, "commit", fail)
    try:
        with pytest.raises(sa.exc.OperationalError), db.unit(Session_) as work:
            engine.handle(work, _start(920, point_token))
    finally:
        sa.event.remove(db_engine, "commit", fail)
    for user in (921, 922, 923):  # whichever pooled connection each gets
        with db.unit(Session_) as work:
            assert engine.handle(work, _start(user, point_token))

    assert _state(Session_) == (3, 3, 3)
