"""Group commit: the inputs that arrive together are answered in one transaction.

Every chat input is committed before it is answered. Alone, each input pays a
transaction of its own (on SQLite, BEGIN and COMMIT are about half of an
ordinary input's CPU, issue 16 P1). `GroupCommit` runs the inputs waiting at a
moment in one unit of work and hands each its replies once that unit has
committed, as a database's group commit does: an input that finds nothing
running starts a round at once (no added wait); inputs arriving meanwhile wait
for the round and go in the next one together, up to `MOST` of them.

What a crash may do is unchanged: a round killed before its commit applied none
of its inputs and answered none, and the channel delivers them again (Telegram
until the offset passes them; a webhook post is not answered 200 before its
input is). Should any input of a round fail, or the commit, the round is rolled
back and each of its inputs is answered in a unit of its own, so one bad input
costs the others nothing but the retry; the failed one raises alone. Inputs of
one chat never share a round: the channel hands over a chat's next input only
when the last is answered.

The flood counters (`store.conversation.flood`) live in memory and are not
rolled back: an input retried alone after a failed round counts twice there.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence

from sqlalchemy.orm import Session, sessionmaker

from store import db
from store.conversation.types import Inbound, Reply

log = logging.getLogger(__name__)

# Inputs in one round at most: a round holds the write lock (SQLite) or its rows' locks
# (PostgreSQL) while it runs, about 0.25 ms an input on these machines (25 ms for a full
# round). The fewer the rounds, the fewer times the pages every input touches (the update
# ids', the conversations') are written to SQLite's log: 100 rather than 50 took about 10 %
# less CPU per report in P1 (bench/bench_engine.py).
MOST = 100

# Answers inputs in the unit of work given, each's replies in their order (`Engine.handle_all`).
HandleAll = Callable[[db.Unit, Sequence[Inbound]], list[list[Reply]]]
Outcome = list[Reply] | Exception


def answer_all(sessions: sessionmaker[Session], handle_all: HandleAll,
               inbounds: Sequence[Inbound]) -> list[Outcome]:
    """Answer `inbounds` (of different chats) in one unit of work, committed before this
    returns: each input's replies, or the exception it raised in a unit of its own after the
    joint one failed (blocking: call it in a thread)."""
    try:
        with db.unit(sessions) as work:
            together: list[Outcome] = list(handle_all(work, inbounds))
        return together
    except Exception as exc:
        if len(inbounds) == 1:
            return [exc]
        log.warning("a round of %d inputs failed (%r): each is answered alone", len(inbounds),
                    exc, exc_info=exc)
    alone: list[Outcome] = []
    for inbound in inbounds:
        try:
            with db.unit(sessions) as work:
                [replies] = handle_all(work, [inbound])
            alone.append(replies)
        except Exception as exc:  # noqa: BLE001 - this input's own failure, raised to its caller
            alone.append(exc)
    return alone


class GroupCommit:
    """Answers inputs in rounds on one worker thread (see the module). Use it from one event
    loop."""

    def __init__(self, run: Callable[[Sequence[Inbound]], list[Outcome]],
                 most: int | None = None) -> None:
        self._run = run
        self._most = most or MOST
        self._waiting: list[tuple[Inbound, asyncio.Future[list[Reply]]]] = []
        self._rounds: asyncio.Task[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def serves_this_loop(self) -> bool:
        """Whether this is (or may become) the running event loop's: a new loop (a restart,
        a test) needs a GroupCommit of its own."""
        return self._loop is None or self._loop is asyncio.get_running_loop()

    async def answer(self, inbound: Inbound) -> list[Reply]:
        """`inbound`'s replies, once the round that applied it has committed."""
        self._loop = asyncio.get_running_loop()
        future: asyncio.Future[list[Reply]] = self._loop.create_future()
        self._waiting.append((inbound, future))
        if self._rounds is None or self._rounds.done():
            self._rounds = asyncio.ensure_future(self._drain())
        return await future

    async def _drain(self) -> None:
        while self._waiting:
            batch = self._waiting[:self._most]
            del self._waiting[:self._most]
            try:
                outcomes = await asyncio.to_thread(self._run, [inbound for inbound, _ in batch])
            except BaseException as exc:  # cancelled, or the thread pool gone at shutdown
                for _, future in batch:
                    if not future.done():
                        future.set_exception(exc if isinstance(exc, Exception)
                                             else RuntimeError("the round was stopped"))
                raise
            for (_, future), outcome in zip(batch, outcomes, strict=True):
                if future.done():  # its caller gave up waiting
                    continue
                if isinstance(outcome, Exception):
                    future.set_exception(outcome)
                else:
                    future.set_result(outcome)
