"""The outbox: messages owed to reporters (and staff alerts), written inside the owing transaction.

Delivery (`minyi.notifier`) claims due rows for the enabled channels, hands
each to its channel (`bot.channels`) and records the outcome; this module
holds the state changes so each has one writer. It names no channel.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm
from sqlalchemy.orm import Session

from store.models import (
    Channel,
    OutboxMessage,
    OutboxStatus,
    Report,
    Reporter,
    utcnow,
)
from store.network import addresses

MAX_ATTEMPTS = 12
# A claim older than this is taken to be from a worker that died mid-send.
LEASE = timedelta(minutes=5)
# Rows still owed: a later row to the same chat waits behind any of these.
UNSENT = (OutboxStatus.PENDING, OutboxStatus.SENDING)


def enqueue(
    session: Session,
    reporter: Reporter,
    text: str,
    *,
    report: Report | None = None,
    buttons: list[list[dict[str, str]]] | None = None,
) -> OutboxMessage | None:
    """Owe `reporter` a message on their channel. Returns None for reporters who blocked us."""
    if reporter.blocked_at is not None:
        return None
    msg = OutboxMessage(
        reporter_id=reporter.id, report_id=report.id if report else None,
        channel=reporter.channel, chat_id=reporter.chat_id, text=text, buttons=buttons,
    )
    session.add(msg)
    return msg


def claim_due(
    session: Session, channels: Sequence[Channel], limit: int = 100, now: datetime | None = None,
    lease: timedelta = LEASE,
) -> list[OutboxMessage]:
    """Mark up to `limit` due messages as being sent and return them, oldest first.

    Only the head of each chat's queue is claimed: a row is taken when no
    earlier row to the same chat is still unsent (pending, waiting for a
    retry, or being sent by some worker), so one chat's messages go out in
    the order they were written, across retries and across workers, and at
    most one of them is in flight. On PostgreSQL the rows are locked with
    `FOR UPDATE SKIP LOCKED`: two workers claiming at once never take the
    same row (one that another worker claimed meanwhile no longer matches).
    A message left in `sending` by a worker that died is taken again after
    `lease` (`LEASE` unless OUTBOX_LEASE_SECONDS says); a live worker holding rows longer
    `renew`s them. `claim_due` is the only way out of `pending`.
    """
    now = now or utcnow()
    due = sa.or_(
        sa.and_(OutboxMessage.status == OutboxStatus.PENDING, OutboxMessage.next_attempt_at <= now),
        sa.and_(OutboxMessage.status == OutboxStatus.SENDING,
                OutboxMessage.next_attempt_at <= now - lease),
    )
    earlier = sa.orm.aliased(OutboxMessage)
    waits_behind = (
        sa.select(earlier.id)
        .where(earlier.channel == OutboxMessage.channel, earlier.chat_id == OutboxMessage.chat_id,
               earlier.status.in_(UNSENT), earlier.id < OutboxMessage.id)
        .exists()
    )
    query = (
        sa.select(OutboxMessage)
        .where(due, OutboxMessage.channel.in_(list(channels)), ~waits_behind)
        .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)
        .limit(limit)
    )
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True, of=OutboxMessage)
    rows = list(session.scalars(query))
    for msg in rows:
        msg.status = OutboxStatus.SENDING
        msg.attempts += 1
        msg.next_attempt_at = now
    session.flush()
    return rows


def renew(session: Session, claims: Mapping[int, int], now: datetime | None = None) -> set[int]:
    """Extend the lease on rows a worker still holds; returns the ids it still holds.

    `claims` maps each row's id to its `attempts` as the worker's claim left it: a row that
    is no longer `sending` on that claim was settled, or claimed again by another worker
    after the lease ran out (the worker stalled), and is not renewed: it is the other's now.
    """
    if not claims:
        return set()
    now = now or utcnow()
    query = (
        sa.update(OutboxMessage)
        .where(sa.tuple_(OutboxMessage.id, OutboxMessage.attempts).in_(list(claims.items())),
               OutboxMessage.status == OutboxStatus.SENDING)
        .values(next_attempt_at=now)
        .returning(OutboxMessage.id)
        .execution_options(synchronize_session=False)
    )
    return set(session.scalars(query))


def mark_sent(session: Session, msg: OutboxMessage) -> None:
    msg.status = OutboxStatus.SENT
    msg.sent_at = utcnow()
    msg.last_error = None


def mark_all_sent(session: Session, ids: Sequence[int]) -> None:
    """`mark_sent` for many claimed rows in one statement (a row no longer being sent,
    given up meanwhile because its recipient blocked us, stays as it is)."""
    if ids:
        session.execute(
            sa.update(OutboxMessage)
            .where(OutboxMessage.id.in_(list(ids)), OutboxMessage.status == OutboxStatus.SENDING)
            .values(status=OutboxStatus.SENT, sent_at=utcnow(), last_error=None)
            .execution_options(synchronize_session=False))


def mark_claims_sent(session: Session, claims: Mapping[int, int]) -> int:
    """`mark_all_sent` for rows a worker that died had sent (row id: its claim's attempts);
    a row claimed again since is left to the claim that holds it. Returns how many were marked."""
    if not claims:
        return 0
    result = session.execute(
        sa.update(OutboxMessage)
        .where(sa.tuple_(OutboxMessage.id, OutboxMessage.attempts).in_(list(claims.items())),
               OutboxMessage.status == OutboxStatus.SENDING)
        .values(status=OutboxStatus.SENT, sent_at=utcnow(), last_error=None)
        .execution_options(synchronize_session=False))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def release(session: Session, ids: Sequence[int]) -> None:
    """Hand back claimed rows that were never sent (a worker stopping): due again at once,
    the claim's attempt not counted."""
    if ids:
        session.execute(
            sa.update(OutboxMessage)
            .where(OutboxMessage.id.in_(list(ids)), OutboxMessage.status == OutboxStatus.SENDING)
            .values(status=OutboxStatus.PENDING, attempts=OutboxMessage.attempts - 1)
            .execution_options(synchronize_session=False))


def retry_later(session: Session, msg: OutboxMessage, error: str, delay: float) -> None:
    """Put `msg` back with a delay; after `MAX_ATTEMPTS` it is given up."""
    msg.last_error = error[:1000]
    if msg.attempts >= MAX_ATTEMPTS:
        msg.status = OutboxStatus.DEAD
        return
    msg.status = OutboxStatus.PENDING
    msg.next_attempt_at = utcnow() + timedelta(seconds=delay)


def give_up(session: Session, msg: OutboxMessage, error: str, *, blocked: bool = False) -> None:
    """Never retry `msg`; if the recipient blocked us, stop writing to them there at all.

    A reporter who blocked us is marked blocked, and a staff member's chat
    gone (their other chats still get alerts), until they write from it again
    (`heard_from`) or, for staff, link it again.
    """
    msg.status = OutboxStatus.DEAD
    msg.last_error = error[:1000]
    if not blocked:
        return
    if msg.reporter_id is not None:
        reporter = session.get(Reporter, msg.reporter_id)
        if reporter is not None and reporter.blocked_at is None:
            reporter.blocked_at = utcnow()
        recipient = OutboxMessage.reporter_id == msg.reporter_id
        reason = "reporter blocked the bot"
    elif msg.user_id is not None:
        addresses.mark_gone(session, msg.channel, msg.chat_id)
        recipient = sa.and_(OutboxMessage.user_id == msg.user_id,
                            OutboxMessage.channel == msg.channel,
                            OutboxMessage.chat_id == msg.chat_id)
        reason = "staff member blocked the bot"
    else:
        return
    session.execute(
        sa.update(OutboxMessage)
        .where(recipient, OutboxMessage.status == OutboxStatus.PENDING)
        .values(status=OutboxStatus.DEAD, last_error=reason)
    )


def heard_from(session: Session, reporter: Reporter, *, staff_gone: bool = True) -> None:
    """`reporter` wrote to us: we can reach them again, and their chat if it is a staff address.

    `staff_gone=False`: the caller read (`addresses.gone`) that no staff address of the chat
    is marked gone, so there is nothing to clear there."""
    if reporter.blocked_at is not None:
        reporter.blocked_at = None
    if staff_gone:
        addresses.heard_from(session, reporter.channel, reporter.chat_id)


def backoff(attempts: int, base: float = 2.0, cap: float = 3600.0) -> float:
    """Seconds to wait before attempt `attempts + 1`: 2, 4, 8 ... capped at an hour."""
    return float(min(cap, base ** max(1, attempts)))


def pending_count(session: Session) -> int:
    return session.scalar(
        sa.select(sa.func.count()).select_from(OutboxMessage)
        .where(OutboxMessage.status.in_([OutboxStatus.PENDING, OutboxStatus.SENDING]))
    ) or 0


__all__: list[Any] = ["enqueue", "claim_due", "renew", "mark_sent", "mark_all_sent",
                      "mark_claims_sent", "release", "retry_later", "give_up", "backoff",
                      "pending_count", "heard_from"]
