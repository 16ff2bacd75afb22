"""The WeChat channel's small shared facts in `channel_state`, one row per key.

Kept in the database, not in memory, because an office may run several
processes (web servers, workers) and each must see the same:

- `wechat:nonce:<timestamp>:<nonce>`: callbacks already accepted, so a replay
  is refused; rows live as long as a timestamp is accepted, then are pruned.
- `wechat:offer:<openid>`: the buttons last offered to a user as numbered
  options, so "2" can be read back as the second one.
- `wechat:qr:<app id>:<scene>`: a point's parametric QR code (ticket, url),
  fetched from WeChat once.

Functions take the caller's session and never commit.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from store.conversation.types import Button
from store.models import ChannelState, utcnow


def _insert(session: Session) -> Any:
    dialect = session.get_bind().dialect.name
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(ChannelState)


def get(session: Session, key: str, now: datetime | None = None) -> dict[str, Any] | None:
    """The value at `key`, unless it has expired."""
    now = now or utcnow()
    row = session.get(ChannelState, key)
    if row is None or (row.expires_at is not None and row.expires_at <= now):
        return None
    return row.value


def put(session: Session, key: str, value: dict[str, Any], expires_at: datetime | None = None) -> None:
    """Set `key` to `value`, whoever wrote it before."""
    now = utcnow()
    stmt = _insert(session).values(key=key, value=value, expires_at=expires_at, updated_at=now)
    session.execute(stmt.on_conflict_do_update(
        index_elements=[ChannelState.key],
        set_={"value": value, "expires_at": expires_at, "updated_at": now}))


def add_once(session: Session, key: str, value: dict[str, Any],
             expires_at: datetime | None = None) -> bool:
    """Write `key` unless it is there already; True when this call wrote it (one atomic statement)."""
    stmt = _insert(session).values(key=key, value=value, expires_at=expires_at, updated_at=utcnow())
    # RETURNING, not rowcount: psycopg reports -1 rows for an INSERT ... ON CONFLICT.
    written = session.scalar(stmt.on_conflict_do_nothing(index_elements=[ChannelState.key])
                             .returning(ChannelState.key))
    return written is not None


def prune(session: Session, prefix: str, now: datetime | None = None) -> int:
    """Delete the expired rows under `prefix`; returns how many went."""
    now = now or utcnow()
    result = session.execute(sa.delete(ChannelState).where(
        ChannelState.key.startswith(prefix, autoescape=True), ChannelState.expires_at <= now))
    return int(result.rowcount)  # type: ignore[attr-defined]


# -- what a user was offered ------------------------------------------------------

def _offer_key(openid: str) -> str:
    return f"wechat:offer:{openid}"


def save_offer(session: Session, openid: str, offered: list[Button]) -> None:
    """Remember the numbered options just sent to `openid` (none: forget the last ones)."""
    if not offered:
        session.execute(sa.delete(ChannelState).where(ChannelState.key == _offer_key(openid)))
        return
    put(session, _offer_key(openid), {"buttons": [[b.label, b.data] for b in offered]})


def offer(session: Session, openid: str) -> list[Button]:
    """The options last sent to `openid`, in their numbers' order."""
    value = get(session, _offer_key(openid)) or {}
    return [Button(label, data) for label, data in value.get("buttons", [])]


# -- callbacks seen ---------------------------------------------------------------

NONCE_PREFIX = "wechat:nonce:"


def first_sight(session: Session, timestamp: int, nonce: str, expires_at: datetime) -> bool:
    """Record a callback's (timestamp, nonce); False when it was recorded before (a replay)."""
    prune(session, NONCE_PREFIX)
    return add_once(session, f"{NONCE_PREFIX}{timestamp}:{nonce}", {}, expires_at)
