"""The outbox: claims with a lease, retries with backoff, giving up, web delivery."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from bot.channels.webchat.channel import transcribe
from store.delivery import outbox
from store.models import (
    Channel,
    OutboxMessage,
    OutboxStatus,
    Reporter,
    WebChatMessage,
    utcnow,
)

SOON = timedelta(seconds=1)


def _reporter(session: Session, n: int, channel: Channel = Channel.TELEGRAM) -> Reporter:
    reporter = Reporter(channel=channel, external_id=f"u{n}", chat_id=f"chat{n}")
    session.add(reporter)
    session.flush()
    return reporter


def _owe(session: Session, reporter: Reporter, text: str = "您的信息已被采用。") -> OutboxMessage:
    msg = outbox.enqueue(session, reporter, text)
    assert msg is not None
    session.flush()
    return msg


def _statuses(session: Session) -> dict[int, OutboxStatus]:
    return dict(session.execute(sa.select(OutboxMessage.id, OutboxMessage.status)).all())


def test_it_enqueues_a_pending_message_to_the_reporters_chat(session: Session) -> None:
    reporter = _reporter(session, 1, Channel.WEB)

    msg = outbox.enqueue(session, reporter, "已收到", buttons=[[{"label": "查看", "data": "x"}]])
    session.commit()

    assert msg is not None
    row = session.get_one(OutboxMessage, msg.id)
    assert (row.status, row.channel, row.chat_id, row.attempts) == (
        OutboxStatus.PENDING, Channel.WEB, "chat1", 0)
    assert row.buttons == [[{"label": "查看", "data": "x"}]]
    assert outbox.pending_count(session) == 1


def test_it_owes_nothing_to_a_reporter_who_blocked_the_bot(session: Session) -> None:
    reporter = _reporter(session, 1)
    reporter.blocked_at = utcnow()

    assert outbox.enqueue(session, reporter, "已采用") is None

    session.flush()
    assert _statuses(session) == {}


def test_it_claims_due_messages_oldest_first_on_the_given_channels(session: Session) -> None:
    tg, web = _reporter(session, 1), _reporter(session, 2, Channel.WEB)
    first, second = _owe(session, tg, "一"), _owe(session, tg, "二")
    on_web = _owe(session, web, "网页")
    later = _owe(session, tg, "以后")
    later.next_attempt_at = utcnow() + timedelta(hours=1)
    session.commit()
    now = utcnow() + SOON

    claimed = outbox.claim_due(session, [Channel.TELEGRAM], now=now)
    session.commit()

    # Only the head of the chat's queue: the second waits until the first is sent.
    assert [m.id for m in claimed] == [first.id]
    assert all(m.status == OutboxStatus.SENDING and m.attempts == 1 for m in claimed)
    assert outbox.claim_due(session, [Channel.TELEGRAM], now=now) == []
    outbox.mark_sent(session, first)
    assert [m.id for m in outbox.claim_due(session, [Channel.TELEGRAM], now=now)] == [second.id]
    session.commit()
    assert _statuses(session)[on_web.id] == OutboxStatus.PENDING
    assert _statuses(session)[later.id] == OutboxStatus.PENDING
    assert outbox.pending_count(session) == 3  # pending and sending both count


def test_it_keeps_a_later_message_behind_one_waiting_to_be_retried(session: Session) -> None:
    reporter = _reporter(session, 1)
    first, second = _owe(session, reporter, "一"), _owe(session, reporter, "二")
    session.commit()
    now = utcnow() + SOON
    [claimed] = outbox.claim_due(session, [Channel.TELEGRAM], now=now)
    outbox.retry_later(session, claimed, "timed out", delay=60)
    session.commit()

    # The second is due, but the first is owed first: nothing goes until it may be retried.
    assert outbox.claim_due(session, [Channel.TELEGRAM], now=now) == []
    retried = outbox.claim_due(session, [Channel.TELEGRAM], now=now + timedelta(seconds=120))
    assert [m.id for m in retried] == [first.id]
    assert _statuses(session)[second.id] == OutboxStatus.PENDING


def test_it_claims_no_more_than_the_limit(session: Session) -> None:
    for i in range(5):
        _owe(session, _reporter(session, i + 1), f"第{i}条")
    session.commit()

    claimed = outbox.claim_due(session, [Channel.TELEGRAM], limit=2, now=utcnow() + SOON)

    assert len(claimed) == 2
    assert sorted(_statuses(session).values()).count(OutboxStatus.SENDING) == 2


def test_it_does_not_claim_a_message_twice_within_its_lease(session: Session) -> None:
    msg = _owe(session, _reporter(session, 1))
    session.commit()
    now = utcnow() + SOON
    assert outbox.claim_due(session, [Channel.TELEGRAM], now=now) == [msg]
    session.commit()

    assert outbox.claim_due(session, [Channel.TELEGRAM], now=now + outbox.LEASE / 2) == []


def test_it_takes_back_a_message_whose_worker_died_after_the_lease(session: Session) -> None:
    msg = _owe(session, _reporter(session, 1))
    session.commit()
    now = utcnow() + SOON
    outbox.claim_due(session, [Channel.TELEGRAM], now=now)
    session.commit()

    again = outbox.claim_due(session, [Channel.TELEGRAM], now=now + outbox.LEASE + SOON)

    assert again == [msg]
    assert msg.attempts == 2 and msg.status == OutboxStatus.SENDING


def test_a_renewed_claim_is_not_taken_back_after_the_lease_from_its_claim(session: Session) -> None:
    held, other = _owe(session, _reporter(session, 1)), _owe(session, _reporter(session, 2))
    session.commit()
    now = utcnow() + SOON
    outbox.claim_due(session, [Channel.TELEGRAM], now=now)
    session.commit()
    half = now + outbox.LEASE / 2

    # Keyed on the claim's attempts: a stale claim (another worker's since) is not renewed.
    assert outbox.renew(session, {held.id: 1, other.id: 0}, now=half) == {held.id}
    session.commit()

    again = outbox.claim_due(session, [Channel.TELEGRAM], now=now + outbox.LEASE + SOON)
    assert again == [other]  # the renewed one is still held
    session.commit()
    assert outbox.renew(session, {other.id: 1}) == set()  # claimed again meanwhile: not ours
    assert outbox.renew(session, {}) == set()


def test_it_marks_a_message_sent(session: Session) -> None:
    msg = _owe(session, _reporter(session, 1))
    outbox.claim_due(session, [Channel.TELEGRAM], now=utcnow() + SOON)
    msg.last_error = "timed out"

    outbox.mark_sent(session, msg)
    session.commit()

    row = session.get_one(OutboxMessage, msg.id)
    assert row.status == OutboxStatus.SENT and row.sent_at is not None and row.last_error is None
    assert outbox.claim_due(session, [Channel.TELEGRAM], now=utcnow() + outbox.LEASE * 2) == []
    assert outbox.pending_count(session) == 0


def test_it_retries_later_with_the_given_delay(session: Session) -> None:
    msg = _owe(session, _reporter(session, 1))
    [claimed] = outbox.claim_due(session, [Channel.TELEGRAM], now=utcnow() + SOON)

    before = utcnow()
    outbox.retry_later(session, claimed, "429 Too Many Requests: retry after 7", 7)
    after = utcnow()
    session.commit()

    row = session.get_one(OutboxMessage, msg.id)
    assert row.status == OutboxStatus.PENDING
    assert row.last_error == "429 Too Many Requests: retry after 7"
    assert before + timedelta(seconds=7) <= row.next_attempt_at <= after + timedelta(seconds=7)
    assert outbox.claim_due(session, [Channel.TELEGRAM], now=before + SOON) == []
    assert outbox.claim_due(session, [Channel.TELEGRAM], now=after + timedelta(seconds=8)) == [row]


def test_it_gives_up_after_the_last_attempt(session: Session) -> None:
    msg = _owe(session, _reporter(session, 1))
    msg.attempts = outbox.MAX_ATTEMPTS

    outbox.retry_later(session, msg, "x" * 5000, 60)
    session.commit()

    row = session.get_one(OutboxMessage, msg.id)
    assert row.status == OutboxStatus.DEAD
    assert row.last_error is not None and len(row.last_error) == 1000


def test_it_gives_up_on_one_message_without_touching_others(session: Session) -> None:
    reporter = _reporter(session, 1)
    bad, other = _owe(session, reporter), _owe(session, reporter)

    outbox.give_up(session, bad, "400 Bad Request: message is too long")
    session.commit()

    assert _statuses(session) == {bad.id: OutboxStatus.DEAD, other.id: OutboxStatus.PENDING}
    assert session.get_one(Reporter, reporter.id).blocked_at is None


def test_it_stops_writing_to_a_reporter_who_blocked_the_bot(session: Session) -> None:
    blocker, other = _reporter(session, 1), _reporter(session, 2)
    msg, queued = _owe(session, blocker), _owe(session, blocker)
    unrelated = _owe(session, other)

    outbox.give_up(session, msg, "403 Forbidden: bot was blocked by the user", blocked=True)
    session.commit()

    assert _statuses(session) == {msg.id: OutboxStatus.DEAD, queued.id: OutboxStatus.DEAD,
                                  unrelated.id: OutboxStatus.PENDING}
    session.refresh(blocker)
    assert blocker.blocked_at is not None
    assert outbox.enqueue(session, blocker, "再次反馈") is None

    outbox.heard_from(session, blocker)
    assert outbox.enqueue(session, blocker, "再次反馈") is not None


def test_it_delivers_to_the_web_chat_once_however_often_it_is_asked(session: Session) -> None:
    msg = _owe(session, _reporter(session, 1, Channel.WEB), "您的信息已被采用。")
    msg.buttons = [[{"label": "补充信息", "data": "~supp:1"}]]
    session.commit()

    transcribe(session, msg.id, msg.chat_id, msg.text, msg.buttons)

    outbox.mark_sent(session, msg)
    session.commit()
    transcribe(session, msg.id, msg.chat_id, msg.text, msg.buttons)
    outbox.mark_sent(session, msg)  # e.g. a notifier restarted before recording it
    session.commit()

    [shown] = session.scalars(sa.select(WebChatMessage)).all()
    assert (shown.chat_id, shown.direction, shown.text, shown.outbox_id) == (
        "chat1", "out", "您的信息已被采用。", msg.id)
    assert shown.buttons == [[{"label": "补充信息", "data": "~supp:1"}]]
    assert session.get_one(OutboxMessage, msg.id).status == OutboxStatus.SENT


@pytest.mark.parametrize(("attempts", "seconds"), [(0, 2), (1, 2), (2, 4), (3, 8), (10, 1024),
                                                   (12, 3600), (40, 3600)])
def test_it_backs_off_exponentially_up_to_an_hour(attempts: int, seconds: float) -> None:
    assert outbox.backoff(attempts) == seconds
