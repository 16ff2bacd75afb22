"""Delivers the outbox: feedback owed to reporters and staff alerts, on whichever channel.

A delivery round claims due rows for the enabled channels (the registry's;
rows for a channel switched off wait until it is back), at most one per chat
(the oldest it is owed: `outbox.claim_due`, so one chat's messages go in
order, across retries and workers), and sends several at once on each
channel, as many as its `RatePolicy.at_once` allows, started as fast as its
`RateLimiter` lets them. An outcome is recorded as soon as it is known (group
commit: those that come while a write is under way go together in the next),
each write one transaction that also claims the rows they unblock, so the
next chat's message is on hand before the pool runs dry; a row stays
`sending` (claimed, so no worker sends it again) until its outcome is
recorded, and a round renews the lease on the rows it holds every third of
the lease (`outbox.renew`), so a row waiting its turn here is not claimed by
another worker meanwhile; one that was (this worker stalled past the lease)
is dropped here unsent. Each accepted send is also noted on local disk at once
(`minyi.sent_journal`) until its write commits, and a notifier replays what a
killed one noted before it claims, so that a kill while that write waits for the
database does not send the message again. Outcomes are recorded alike for every channel.
"""

from __future__ import annotations

import asyncio
import logging
import math
import sys
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager, suppress
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from bot.channels import Registry
from bot.channels.base import ChannelPort, Message, Outcome, Status
from minyi.pacing import RateLimiter
from minyi.sent_journal import Segment, SentJournal
from minyi.settings import Settings
from store.delivery import outbox
from store.models import Channel, OutboxMessage, OutboxStatus
from store.ops import logctx
from store.reports import details

log = logging.getLogger(__name__)

__all__ = ["Notifier", "RateLimiter"]

# Rows held claimed at most (about three seconds' worth at 30 messages a second).
CLAIM_BATCH = 100

# A round renews its claims when a third of the lease has passed since it last did.
RENEW_EVERY = 1 / 3
# Where, in the instance folder, accepted sends are noted until recorded (minyi.sent_journal).
JOURNAL_FOLDER = "outbox-sent"

Settled = tuple[Message, Outcome]


class Notifier:
    """Delivers due outbox rows through `registry`; `run()` loops, `tick()` is one round."""

    def __init__(self, settings: Settings,
                 session_factory: Callable[[], AbstractContextManager[Session]],
                 registry: Registry) -> None:
        self.settings = settings
        self.session_factory = session_factory
        self.registry = registry
        # Kept across ticks (and across a registry rebuilt for the same channels).
        self.limiters: dict[Channel, RateLimiter] = {}
        # Accepted sends noted on disk until recorded; `run` keeps one, `tick` none.
        self.journal: SentJournal | None = None

    def limiter(self, channel: ChannelPort) -> RateLimiter:
        if channel.kind not in self.limiters:
            self.limiters[channel.kind] = RateLimiter.of(channel.rate, channel.kind)
        return self.limiters[channel.kind]

    async def run(self, stop: asyncio.Event) -> None:
        """Deliver until `stop` is set; rest `notifier_interval` when nothing is due."""
        # A send's rate slot is held a window past its answer less the least round trip
        # seen (minyi.pacing): answers noticed late hold slots longer. Let the database
        # thread hold the loop up for 1 ms at a time, not Python's default 5.
        sys.setswitchinterval(min(sys.getswitchinterval(), 0.001))
        self.journal = _journal(self.settings)
        try:
            while not stop.is_set():
                try:
                    if self.journal is not None:  # what a killed notifier sent, before claiming
                        await asyncio.to_thread(self.journal.replay, self.session_factory)
                    handled = await _Round(self, stop=stop).deliver()
                except Exception:
                    log.exception("notifier round failed")
                    handled = 0
                if handled == 0:
                    with suppress(TimeoutError):
                        await asyncio.wait_for(stop.wait(), self.settings.notifier_interval)
        finally:
            if self.journal is not None:
                self.journal.close()
                self.journal = None

    async def tick(self, now: datetime | None = None) -> int:
        """Claim what is due (as of `now`) once and deliver it; returns how many rows were handled."""
        return await _Round(self, now=now).deliver()

    # -- the database, in short transactions off the event loop ---------------

    def write(self, settled: list[Settled], channels: list[Channel], claim: int,
              now: datetime | None, release: Sequence[Message] = (),
              renew: Mapping[int, int] | None = None) -> tuple[list[Message], set[int]]:
        """In one transaction: record `settled`, hand back `release`, renew the lease on the
        `renew` claims (row id: its attempts), and claim up to `claim` due rows on `channels`
        (those the outcomes just recorded may have unblocked too). Returns the rows claimed
        and the ids in `renew` no longer held (another worker claimed them again)."""
        with self.session_factory() as session, session.begin():  # type: ignore[attr-defined]
            outbox.mark_all_sent(session, [m.id for m, o in settled if o.status == Status.SENT])
            for message, outcome in settled:
                if outcome.status != Status.SENT:
                    _record(session, message, outcome)
            outbox.release(session, [m.id for m in release])
            lost = set(renew or ()) - outbox.renew(session, renew or {}, now)
            if claim <= 0 or not channels:
                return [], lost
            rows = outbox.claim_due(session, channels, limit=claim, now=now,
                                    lease=timedelta(seconds=self.settings.outbox_lease_seconds))
            # A details link is queued as a marker: the site's address is known here, not in store/.
            url = self.settings.public_url
            return [Message(r.id, r.channel, r.chat_id, details.resolve(r.text, url), r.buttons,
                            r.attempts) for r in rows], lost


def _journal(settings: Settings) -> SentJournal | None:
    journal = SentJournal(settings.instance_dir / JOURNAL_FOLDER)
    try:
        journal.open()
    except OSError as exc:  # a read-only instance folder: deliver without it
        log.warning("no journal of accepted sends (%s): a notifier killed mid-write may send "
                    "a message twice", exc)
        return None
    return journal


def _record(session: Session, message: Message, outcome: Outcome) -> None:
    """Record a delivery that did not go, the same way whichever channel it came from."""
    msg = session.get(OutboxMessage, message.id)
    # Only the claim we hold is ours to settle; a row given up meanwhile
    # (its recipient blocked us) stays as it is.
    if msg is None or msg.status != OutboxStatus.SENDING:
        return
    if outcome.status == Status.RETRY:
        delay = (outcome.retry_after if outcome.retry_after is not None
                 else outbox.backoff(message.attempts))
        outbox.retry_later(session, msg, error=outcome.error, delay=delay)
    else:  # a recipient gone gives up their other rows too
        outbox.give_up(session, msg, error=outcome.error, blocked=outcome.status == Status.GONE)


class _Round:
    """One delivery round: claim, send several at once within each channel's limits, record
    each outcome as soon as it is known. Given `stop`, it claims again as rows are settled, until
    nothing more is due or `stop` is set; without, it delivers one claim's rows (`tick`)."""

    def __init__(self, notifier: Notifier, *, now: datetime | None = None,
                 stop: asyncio.Event | None = None) -> None:
        self.notifier = notifier
        self.registry = notifier.registry
        self.now = now
        self.stop = stop
        self.queues: dict[Channel, deque[Message]] = {}
        self.flying: dict[Channel, int] = {}
        self.sends: set[asyncio.Task[Settled]] = set()
        self.settled: list[Settled] = []
        self.writing: asyncio.Task[tuple[list[Message], set[int]]] | None = None
        self.segment: Segment | None = None  # the journal file the write in progress records
        self.journal = notifier.journal
        self.claims = 0
        self.claiming = 0  # how many rows the write in progress claims
        self.more = True  # the last claim may have left rows due
        self.handled = 0
        # Rows this round holds and has not yet handed to a write that records them (queued,
        # in flight, or answered), each with its `attempts` as this round's claim left it. A
        # row whose lease ran out while it waited here is claimed again (by this round, too):
        # it must not be queued a second time and sent twice.
        self.held: dict[int, int] = {}
        # Every held row's lease was renewed (or claimed) at or after this (monotonic).
        self.renewed = time.monotonic()
        lease = notifier.settings.outbox_lease_seconds
        self.renew_every = lease * RENEW_EVERY if lease > 0 else math.inf

    @property
    def stopping(self) -> bool:
        return self.stop is not None and self.stop.is_set()

    def queued(self) -> int:
        return sum(len(q) for q in self.queues.values())

    async def deliver(self) -> int:
        """Returns how many rows were claimed (and so handled)."""
        try:
            while True:
                if self.writing is None:
                    self._write_if_due()
                wait = min(self._start_sends(), self._renew_in())
                if not (self.sends or self.writing or self.settled
                        or (self.queued() and not self.stopping)):
                    break
                waiting: set[asyncio.Task[Any]] = set(self.sends)
                if self.writing is not None:
                    waiting.add(self.writing)
                if not waiting:
                    await asyncio.sleep(wait)
                    continue
                done, _ = await asyncio.wait(waiting, timeout=None if math.isinf(wait) else wait,
                                             return_when=asyncio.FIRST_COMPLETED)
                for task in done:
                    if task is self.writing:
                        self.writing = None
                        rows, lost = self._written(task)
                        if self.claiming:
                            self.more = len(rows) >= self.claiming
                        self._drop(lost)
                        self._queue(rows)
                    else:
                        self._finished(task)
        finally:
            await self._wind_down()
        return self.handled

    # -- the database ----------------------------------------------------------

    def _write_if_due(self) -> None:
        """Record what is settled and claim more, in the background, when it is time."""
        if self.stop is None:  # `tick`: one claim
            want = self.claims == 0
        else:
            want = not self.stopping and self.queued() < CLAIM_BATCH // 2
        # Outcomes are written as soon as they are known: a worker killed between a channel's
        # answer and its record sends that message again after the lease (a channel cannot be
        # asked whether it went), so the window is kept to one write; outcomes that come while
        # one is under way share the next, which starts when it ends (the loop waits on it).
        # After a claim that found fewer rows than asked, the rest wait behind rows in
        # flight: claim again when their outcomes are recorded.
        renew_due = self._renew_in() == 0
        if not (self.settled or (want and self.more) or renew_due):
            return
        claim = CLAIM_BATCH - self.queued() - len(self.sends) if want else 0
        settled, self.settled = self.settled, []
        # The write records these before it claims: from then on they cannot be claimed again.
        for message, _ in settled:
            self.held.pop(message.id, None)
        renew = None
        if renew_due:  # with whatever else is written now, not as a write of its own
            renew, self.renewed = dict(self.held), time.monotonic()
        self.claims += 1 if claim else 0
        self.claiming = claim
        # The journal file noting exactly these outcomes: deleted once the write has them.
        self.segment = self.journal.rotate() if settled and self.journal else None
        self.writing = asyncio.create_task(asyncio.to_thread(
            self.notifier.write, settled, self.registry.kinds, claim, self.now, (), renew))

    def _written(self, task: asyncio.Task[tuple[list[Message], set[int]]]
                 ) -> tuple[list[Message], set[int]]:
        """The finished write's result; its journal file deleted, or let go if it failed."""
        segment, self.segment = self.segment, None
        try:
            result = task.result()
        except BaseException:
            SentJournal.done(segment, recorded=False)
            raise
        SentJournal.done(segment)
        return result

    def _renew_in(self) -> float:
        """Seconds until the held rows' leases are to be renewed (inf while none are held or a
        write is under way: the loop waits on that write, and the renewal goes with the next)."""
        if not self.held or self.writing is not None:
            return math.inf
        return max(0.0, self.renewed + self.renew_every - time.monotonic())

    def _drop(self, lost: set[int]) -> None:
        """Rows another worker claimed again (this one stalled past the lease): theirs now."""
        lost = set(lost)
        for queue in self.queues.values():
            for message in [m for m in queue if m.id in lost]:
                queue.remove(message)
                self.held.pop(message.id, None)
                self.handled -= 1
                lost.discard(message.id)
        for row in lost:  # in flight or answered here: too late not to send it
            log.warning("outbox row %s was claimed by another worker while this one held it "
                        "past its lease; it may go twice", row)

    def _queue(self, rows: list[Message]) -> None:
        for message in rows:
            held = message.id in self.held
            self.held[message.id] = message.attempts  # this round's claim, renewed from now on
            if held:
                continue  # claimed again after its lease; the claim renewed the lease only
            self.handled += 1
            self.queues.setdefault(message.channel, deque()).append(message)

    async def _wind_down(self) -> None:
        """Let the sends in flight finish, record every outcome, hand back what was not sent."""
        if self.writing is not None:
            writing, self.writing = self.writing, None
            await asyncio.wait({writing})
            with suppress(Exception):
                rows, lost = self._written(writing)
                self._drop(lost)
                self._queue(rows)
        if self.sends:
            await asyncio.wait(self.sends)
            for task in list(self.sends):
                self._finished(task)
        left = [m for queue in self.queues.values() for m in queue]
        if self.settled or left:
            segment = self.journal.rotate() if self.settled and self.journal else None
            try:
                await asyncio.to_thread(self.notifier.write, self.settled, [], 0, self.now, left)
            except BaseException:
                SentJournal.done(segment, recorded=False)
                raise
            SentJournal.done(segment)
            self.settled = []

    # -- the channels ----------------------------------------------------------

    def _start_sends(self) -> float:
        """Start every send that may start now; returns seconds until one more may."""
        if self.stopping:
            return math.inf
        wait = math.inf
        for kind, queue in self.queues.items():
            channel = self.registry.channels[kind]
            limiter = self.notifier.limiter(channel)
            while queue and self.flying.get(kind, 0) < channel.rate.at_once:
                now = limiter.clock()
                if limiter.everyone() > now:
                    wait = min(wait, limiter.everyone() - now)
                    break
                # The first row whose chat may be written to now (one chat's rows are in
                # separate claims, in order: only a chat's oldest unsent row is claimed).
                ready = next((m for m in queue if limiter.delay(m.chat_id) == 0), None)
                if ready is None:
                    wait = min(wait, *(limiter.delay(m.chat_id) for m in queue))
                    break
                if limiter.take(ready.chat_id) > 0:
                    continue  # another worker spent the budget or wrote to the chat; look again
                queue.remove(ready)
                self.flying[kind] = self.flying.get(kind, 0) + 1
                self.sends.add(asyncio.create_task(self._send(channel, limiter, ready)))
        return wait

    def _finished(self, task: asyncio.Task[Settled]) -> None:
        self.sends.discard(task)
        message, outcome = task.result()
        self.flying[message.channel] -= 1
        if outcome.status == Status.SENT and self.journal is not None:
            # On disk at once: the write that records it may wait for the database.
            self.journal.note(message.id, self.held.get(message.id, message.attempts))
        self.settled.append((message, outcome))

    async def _send(self, channel: ChannelPort, limiter: RateLimiter, message: Message) -> Settled:
        """Deliver one row; its outcome is recorded with the next write."""
        # Every line logged for this delivery (the channel's too) names the row.
        with logctx.tagged(f"out={message.id}"):
            try:
                outcome = await channel.deliver(message)
            except Exception as exc:  # a channel's bug: never lose the row over it
                log.error("delivering outbox row %s failed", message.id, exc_info=exc)
                outcome = Outcome.retry(f"{type(exc).__name__}: {exc}")
            finally:
                limiter.done(message.chat_id)
            if outcome.status == Status.RETRY and outcome.retry_after is not None:
                # The channel said how long: nothing goes to anyone on it until then.
                limiter.pause(outcome.retry_after)
            log.info("outbox row %s on %s: %s%s", message.id, channel.kind.value,
                     outcome.status.value, f" ({outcome.error})" if outcome.error else "")
            return message, outcome
