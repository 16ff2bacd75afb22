"""The inbox: every accepted callback kept until it is answered, and the worker that answers it.

WeChat waits five seconds for the callback's answer and then retries (three
times). The endpoint therefore only checks, stores the message here and
answers "success"; a `Worker` thread does the slow part: fetch an image,
run the handler (the conversation engine) in a unit of work of its own, and
send the replies through the customer service API. A row moves

    pending ──handled──> answered ──all parts sent──> done
          └────────────────┴──── given up ──────────> dead (the payload stays)

The replies are stored with the `answered` move, in the handler's own
transaction, and `sent_parts` counts what went out, so neither a retry nor a
restart runs the handler twice or sends a part twice. One user's messages
are handled in the order they came: a row waits while an earlier row of the
same user is unfinished. A claim is a lease (`next_attempt_at` moved on), so
a worker that dies lets its rows go; every write after it checks `attempts`
is still the claim's.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, aliased, sessionmaker

from bot.channels.wechat import inbound, render, state
from bot.channels.wechat.api import Status, WeChatAPI, WeChatError
from bot.channels.wechat.delivery import deliver
from store.conversation.types import Inbound, Reply
from store.delivery.outbox import backoff
from store.i18n import t
from store.models import WeChatInbox, WeChatInboxStatus, utcnow

log = logging.getLogger(__name__)

# What answers one input: the conversation engine's `handle`, or a test's stand-in.
Handler = Callable[[Session, Inbound], list[Reply]]

LEASE = timedelta(minutes=2)
MAX_ATTEMPTS = 12
# A picture that cannot be fetched after this many tries is answered with a request to resend.
MEDIA_ATTEMPTS = 4
# Finished rows are deleted after this long: the report keeps what matters, not the chat.
KEEP_DONE = timedelta(days=7)
OPEN = (WeChatInboxStatus.PENDING, WeChatInboxStatus.ANSWERED)


@dataclass(frozen=True)
class Item:
    """A claimed inbox row, detached from its session."""

    id: int
    msg_key: str
    openid: str
    payload: str
    status: WeChatInboxStatus
    replies: list[str]
    sent_parts: int
    attempts: int


def accept(session: Session, envelope: inbound.Envelope) -> bool:
    """Keep a checked callback; False when WeChat sent this message before (a retry)."""
    dialect = session.get_bind().dialect.name
    insert = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(WeChatInbox)
    now = utcnow()
    written = session.scalar(insert.values(
        msg_key=envelope.key, openid=envelope.openid, payload=envelope.xml,
        status=WeChatInboxStatus.PENDING, sent_parts=0, attempts=0, next_attempt_at=now,
        received_at=now).on_conflict_do_nothing(index_elements=[WeChatInbox.msg_key])
        .returning(WeChatInbox.id))
    return written is not None


def claim(session: Session, limit: int = 20, now: datetime | None = None) -> list[Item]:
    """Lease up to `limit` due rows, oldest first, at most the first open one of each user."""
    now = now or utcnow()
    earlier = aliased(WeChatInbox)
    waiting = sa.exists().where(earlier.openid == WeChatInbox.openid, earlier.id < WeChatInbox.id,
                                earlier.status.in_(OPEN))
    query = (sa.select(WeChatInbox)
             .where(WeChatInbox.status.in_(OPEN), WeChatInbox.next_attempt_at <= now, ~waiting)
             .order_by(WeChatInbox.id).limit(limit))
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True, of=WeChatInbox)
    items = []
    for row in session.scalars(query):
        row.attempts += 1
        row.next_attempt_at = now + LEASE
        items.append(Item(row.id, row.msg_key, row.openid, row.payload, row.status,
                          list(row.replies or []), row.sent_parts, row.attempts))
    session.flush()
    return items


def prune(session: Session, now: datetime | None = None) -> int:
    """Delete rows finished more than `KEEP_DONE` ago."""
    cutoff = (now or utcnow()) - KEEP_DONE
    result = session.execute(sa.delete(WeChatInbox).where(
        WeChatInbox.status == WeChatInboxStatus.DONE, WeChatInbox.done_at < cutoff))
    return int(result.rowcount)  # type: ignore[attr-defined]


class _LostClaim(Exception):
    """Another worker took the row over (our lease ran out): drop our work on it."""


class Worker:
    """Answers the inbox: `drain()` once, or `start()` a thread that drains whenever woken."""

    def __init__(self, sessions: sessionmaker[Session], api: WeChatAPI, handle: Handler, *,
                 template_id: str | None = None, max_file_mb: int = 20, interval: float = 5.0,
                 clock: Callable[[], datetime] = utcnow) -> None:
        self.sessions = sessions
        self.api = api
        self.handle = handle
        self.template_id = template_id
        self.max_file_bytes = max_file_mb * 1024 * 1024
        self.interval = interval
        self.clock = clock
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._pruned_at: datetime | None = None

    # -- running -----------------------------------------------------------------

    def wake(self) -> None:
        """Something arrived: drain now rather than at the next interval."""
        self._wake.set()

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="wechat-inbox", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def _run(self) -> None:
        while not self._stop.is_set():
            # Cleared before draining, so a message kept meanwhile wakes the next round at once.
            self._wake.clear()
            try:
                self.drain()
            except Exception:
                log.exception("wechat inbox: drain failed")
            self._wake.wait(self.interval)

    def drain(self, limit: int = 1000) -> int:
        """Handle what is due until nothing is (or `limit` rows); returns how many were worked on."""
        done = 0
        while done < limit:
            with self.sessions() as s, s.begin():
                items = claim(s, min(20, limit - done), self.clock())
            if not items:
                break
            for item in items:
                self._work(item)
            done += len(items)
        self._prune()
        return done

    def _prune(self) -> None:
        now = self.clock()
        if self._pruned_at is None or now - self._pruned_at > timedelta(hours=1):
            with self.sessions() as s, s.begin():
                prune(s, now)
            self._pruned_at = now

    # -- one row -------------------------------------------------------------------

    def _work(self, item: Item) -> None:
        try:
            if item.status == WeChatInboxStatus.PENDING:
                answered = self._answer(item)
                if answered is None:
                    return
                item = answered
            self._send(item)
        except _LostClaim:
            log.info("wechat inbox: row %d was taken over by another worker", item.id)
        except Exception as exc:
            log.exception("wechat inbox: row %d failed", item.id)
            with contextlib.suppress(_LostClaim):
                self._retry(item, f"{type(exc).__name__}: {exc}", None)

    def _answer(self, item: Item) -> Item | None:
        """Run the handler and store its replies; None when the row must wait (a picture to fetch)."""
        message = inbound.parse(item.payload)
        file = None
        override: list[Reply] | None = None
        media = inbound.media_id(message)
        if media is not None:
            try:
                got = self.api.download_media(media, self.max_file_bytes)
            except WeChatError as exc:
                if exc.retry and item.attempts < MEDIA_ATTEMPTS:
                    self._retry(item, str(exc), exc.retry_after)
                    return None
                log.warning("wechat inbox: picture %s of row %d not fetched: %s", media, item.id, exc)
                override = [Reply(t("wechat.media_failed"))]
            else:
                file = inbound.photo(message, got.data, got.content_type, got.size)
        incoming = inbound.to_inbound(message, item.msg_key, file)
        with self.sessions() as s, s.begin():
            # Still ours? Checked (and the row locked) before the handler runs, not only after.
            self._update(s, item, last_error=None)
            if incoming is not None and incoming.text is not None:
                # "2" or "民生保障" answering the options last offered is a press of that button.
                chosen = render.choose(state.offer(s, item.openid), incoming.text)
                if chosen is not None:
                    incoming = replace(incoming, text=None, callback=chosen)
            if override is not None:
                replies = override
            else:
                replies = self.handle(s, incoming) if incoming is not None else []
            rendered = render.render(replies)
            if replies:
                state.save_offer(s, item.openid, rendered.offered)
            status = WeChatInboxStatus.ANSWERED if rendered.parts else WeChatInboxStatus.DONE
            self._update(s, item, status=status, replies=rendered.parts, sent_parts=0,
                         done_at=None if rendered.parts else self.clock())
        return replace(item, status=status, replies=rendered.parts, sent_parts=0)

    def _send(self, item: Item) -> None:
        if item.status != WeChatInboxStatus.ANSWERED:
            return

        def progress(sent: int) -> None:
            with self.sessions() as s, s.begin():
                self._update(s, item, sent_parts=sent)

        delivery = deliver(self.api, item.openid, item.replies, start=item.sent_parts,
                           template_id=self.template_id, on_sent=progress, now=self.clock)
        outcome = delivery.outcome
        if outcome.sent:
            self._finish(item, WeChatInboxStatus.DONE, None)
        elif outcome.status == Status.RETRY:
            self._retry(item, outcome.error, outcome.retry_after)
        else:
            # GONE (they unfollowed) or FAILED: the answer cannot reach them; the input was handled.
            log.warning("wechat inbox: replies of row %d not delivered: %s", item.id, outcome.error)
            self._finish(item, WeChatInboxStatus.DEAD, outcome.error)

    # -- writes, each checking the claim is still ours --------------------------------

    def _update(self, session: Session, item: Item, **values: Any) -> None:
        result = session.execute(
            sa.update(WeChatInbox)
            .where(WeChatInbox.id == item.id, WeChatInbox.attempts == item.attempts)
            .values(**values).execution_options(synchronize_session=False))
        if result.rowcount != 1:  # type: ignore[attr-defined]
            raise _LostClaim()

    def _finish(self, item: Item, status: WeChatInboxStatus, error: str | None) -> None:
        with self.sessions() as s, s.begin():
            self._update(s, item, status=status, last_error=error and error[:1000],
                         done_at=self.clock())

    def _retry(self, item: Item, error: str, after: float | None) -> None:
        """Try the row again later; after `MAX_ATTEMPTS` give up on it (its payload stays)."""
        if item.attempts >= MAX_ATTEMPTS:
            log.error("wechat inbox: giving up on row %d after %d attempts: %s", item.id,
                      item.attempts, error)
            self._finish(item, WeChatInboxStatus.DEAD, error)
            return
        delay = after if after is not None else backoff(item.attempts)
        with self.sessions() as s, s.begin():
            self._update(s, item, last_error=error[:1000],
                         next_attempt_at=self.clock() + timedelta(seconds=delay))
