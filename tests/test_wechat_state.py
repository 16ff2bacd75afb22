"""The channel's shared facts: written once, read back, pruned, on every backend."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from bot.channels.wechat import inbox, state
from bot.channels.wechat.inbound import Envelope
from store.conversation.types import Button
from store.models import ChannelState, WeChatInbox, utcnow


def test_add_once_writes_the_first_time_only(session: Session) -> None:
    assert state.add_once(session, "k", {"v": 1}) is True
    assert state.add_once(session, "k", {"v": 2}) is False
    session.commit()

    assert state.get(session, "k") == {"v": 1}


def test_put_overwrites_and_get_ignores_what_expired(session: Session) -> None:
    state.put(session, "k", {"v": 1})
    state.put(session, "k", {"v": 2})
    state.put(session, "old", {"v": 3}, expires_at=utcnow() - timedelta(seconds=1))
    session.commit()

    assert state.get(session, "k") == {"v": 2}
    assert state.get(session, "old") is None


def test_a_nonce_is_seen_once_and_pruned_when_it_expired(session: Session) -> None:
    soon = utcnow() + timedelta(minutes=10)
    assert state.first_sight(session, 1_800_000_000, "123", soon)
    assert not state.first_sight(session, 1_800_000_000, "123", soon)
    assert state.first_sight(session, 1_800_000_000, "124", soon)
    state.add_once(session, "wechat:nonce:1:old", {}, utcnow() - timedelta(seconds=1))
    state.add_once(session, "wechat:offer:keep", {}, utcnow() - timedelta(seconds=1))

    state.first_sight(session, 1_800_000_001, "125", soon)
    session.commit()

    keys = set(session.scalars(sa.select(ChannelState.key)))
    assert keys == {"wechat:nonce:1800000000:123", "wechat:nonce:1800000000:124",
                    "wechat:nonce:1800000001:125", "wechat:offer:keep"}


def test_offers_are_kept_per_user_and_forgotten_when_none(session: Session) -> None:
    state.save_offer(session, "a", [Button("经济发展", "t1:ch:economy"), Button("其他", "t1:ch:other")])
    state.save_offer(session, "b", [Button("是", "t2:yn:yes")])
    session.commit()
    assert state.offer(session, "a") == [Button("经济发展", "t1:ch:economy"), Button("其他", "t1:ch:other")]

    state.save_offer(session, "a", [])
    session.commit()

    assert state.offer(session, "a") == []
    assert state.offer(session, "b") == [Button("是", "t2:yn:yes")]


def test_the_inbox_keeps_a_message_once(session: Session) -> None:
    env = Envelope("<xml/>", "m42", "oA", "text", 1_800_000_000, "1")

    assert inbox.accept(session, env) is True
    assert inbox.accept(session, env) is False
    session.commit()

    assert session.scalar(sa.select(sa.func.count()).select_from(WeChatInbox)) == 1
