"""Where staff members are reached: one chat per channel (`StaffAddress`), the only writer of it.

A staff member links a chat by sending `/link CODE` from it (`store.network.staff`
checks the code); alerts (`store.delivery.notices`) then go to every live address.
A channel that says a chat blocked or unfollowed us makes the address gone
(`store.delivery.outbox.give_up`); writing to us from it again, or linking it again,
makes it live. Which channels a person may link on is the channels' own
business (`Capabilities.staff_alerts`): this module names none.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from store.models import Channel, StaffAddress, User, utcnow


def link(session: Session, user: User, channel: Channel, chat_id: str,
         now: datetime | None = None) -> None:
    """Make `chat_id` on `channel` the address of `user` there, live from now.

    A relink replaces the person's chat on that channel. A chat that was
    another account's moves to `user`: whoever typed a fresh code in it holds
    both the chat and this account, and that chat's alerts went to the same
    hands anyway. Refusing instead would leave a phone handed to a new
    colleague stuck until an admin unlinked it.

    The move is one statement, so two links of one chat at the same moment
    both succeed in turn and the chat ends with exactly one account. The
    person's own other chat on the channel goes first; one person cannot race
    themselves (a link code is taken once, `staff.link_chat`).
    """
    now = now or utcnow()
    session.execute(sa.delete(StaffAddress).where(
        StaffAddress.user_id == user.id, StaffAddress.channel == channel,
        StaffAddress.chat_id != chat_id))
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    statement = insert(StaffAddress).values(user_id=user.id, channel=channel, chat_id=chat_id,
                                            linked_at=now, gone_at=None)
    session.execute(statement.on_conflict_do_update(
        index_elements=[StaffAddress.channel, StaffAddress.chat_id],
        set_={"user_id": statement.excluded.user_id, "linked_at": statement.excluded.linked_at,
              "gone_at": None}))
    _forget(session)


def unlink(session: Session, user: User, channel: Channel | None = None) -> bool:
    """Stop alerts to `user` on `channel` (None: on every channel); False when nothing was linked."""
    query = sa.delete(StaffAddress).where(StaffAddress.user_id == user.id)
    if channel is not None:
        query = query.where(StaffAddress.channel == channel)
    removed = session.execute(query.returning(StaffAddress.id)).all()
    _forget(session)
    return bool(removed)


def live(session: Session, user: User) -> list[StaffAddress]:
    """The addresses alerts go to: linked and not gone."""
    return list(session.scalars(
        sa.select(StaffAddress).where(StaffAddress.user_id == user.id,
                                      StaffAddress.gone_at.is_(None))
        .order_by(StaffAddress.channel)))


def of(session: Session, user_ids: Collection[int]) -> dict[int, list[StaffAddress]]:
    """Every address (gone ones too) of each of `user_ids`, for the account and users pages."""
    found: dict[int, list[StaffAddress]] = {uid: [] for uid in user_ids}
    if not found:
        return found
    rows = session.scalars(sa.select(StaffAddress).where(StaffAddress.user_id.in_(list(found)))
                           .order_by(StaffAddress.user_id, StaffAddress.channel))
    for row in rows:
        found[row.user_id].append(row)
    return found


def mark_gone(session: Session, channel: Channel, chat_id: str) -> None:
    """The channel says `chat_id` blocked or unfollowed us: alerts skip it from now on."""
    session.execute(
        sa.update(StaffAddress)
        .where(StaffAddress.channel == channel, StaffAddress.chat_id == chat_id,
               StaffAddress.gone_at.is_(None))
        .values(gone_at=utcnow())
        .execution_options(synchronize_session=False))
    _forget(session)


def gone(channel: Any, chat_id: Any) -> sa.Exists:
    """Whether a staff address of `chat_id` on `channel` is marked gone: a caller that reads
    it with its own query calls `heard_from` only when it is (spares a write per chat input)."""
    return (sa.select(StaffAddress.id)
            .where(StaffAddress.channel == channel, StaffAddress.chat_id == chat_id,
                   StaffAddress.gone_at.is_not(None))
            .exists())


def heard_from(session: Session, channel: Channel, chat_id: str) -> None:
    """Someone wrote to us from `chat_id`: if it is a staff address that was gone, it is live again."""
    session.execute(
        sa.update(StaffAddress)
        .where(StaffAddress.channel == channel, StaffAddress.chat_id == chat_id,
               StaffAddress.gone_at.is_not(None))
        .values(gone_at=None)
        .execution_options(synchronize_session=False))
    _forget(session)


def _forget(session: Session) -> None:
    """Addresses this session holds are read again: the statements above bypass them."""
    for obj in list(session.identity_map.values()):
        if isinstance(obj, StaffAddress):
            session.expire(obj)
