"""How each channel's connection is doing, as the process running it last said.

`minyi bot` (or `minyi serve`) records its Telegram connection here while it
starts, retries and runs; the console, which may run in another process,
reads it (`minyi.runner`, `web.admin`). One row per channel in
`channel_state`, key `health:<channel>`.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from store.models import Channel, ChannelState, utcnow
from store.upsert import insert

PREFIX = "health:"


class Health(enum.StrEnum):
    CONNECTING = "connecting"
    UP = "up"
    RETRYING = "retrying"  # unreachable: trying again in the background
    FAILED = "failed"  # refused for good (a wrong token): fix the settings


# What the console prints for each (Chinese, as console texts are).
LABELS = {Health.CONNECTING: "正在连接", Health.UP: "正常", Health.RETRYING: "无法连接，正在重试",
          Health.FAILED: "连接失败，请检查配置"}


@dataclass(frozen=True)
class ChannelHealth:
    channel: Channel
    health: Health
    detail: str
    since: datetime

    @property
    def label(self) -> str:
        return LABELS[self.health]


def record(session: Session, channel: Channel, health: Health, detail: str = "") -> None:
    """Say how `channel`'s connection is doing now (one statement, whoever wrote before)."""
    now = utcnow()
    value = {"health": health.value, "detail": detail[:500], "since": now.isoformat()}
    session.execute(insert(session, ChannelState)
                    .values(key=PREFIX + channel.value, value=value, updated_at=now)
                    .on_conflict_do_update(index_elements=[ChannelState.key],
                                           set_={"value": value, "updated_at": now}))


def read(session: Session) -> list[ChannelHealth]:
    """Every channel whose connection some process has reported, by channel."""
    rows = session.scalars(sa.select(ChannelState)
                           .where(ChannelState.key.startswith(PREFIX))
                           .order_by(ChannelState.key))
    found = []
    for row in rows:
        try:
            found.append(ChannelHealth(Channel(row.key[len(PREFIX):]), Health(row.value["health"]),
                                       str(row.value.get("detail", "")),
                                       datetime.fromisoformat(row.value["since"])))
        except (KeyError, ValueError):
            continue  # a row from another version: not ours to read
    return found
