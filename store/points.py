"""Collection points and the tokens on their QR codes."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from store import tokens
from store.models import CollectionPoint


class PointError(ValueError):
    pass


@dataclass(frozen=True)
class Resolved:
    """What a scanned token turned out to be; `point` is set only when `ok`."""

    ok: bool
    point: CollectionPoint | None = None
    # forged | unknown | retired | inactive (a message key suffix) when not ok.
    reason: str | None = None


def create_point(session: Session, name: str, address: str | None = None,
                 contact: str | None = None) -> CollectionPoint:
    name = name.strip()
    if not name or len(name) > 200:
        raise PointError("采集点名称不能为空，且不超过 200 字 / name must be 1-200 characters")
    point = CollectionPoint(name=name, address=address, contact=contact)
    session.add(point)
    session.flush()
    return point


def token_for(point: CollectionPoint, secret: str) -> str:
    return tokens.make(secret, point.id, point.token_version)


def resolve(session: Session, secret: str, token: str | None) -> Resolved:
    """Which point a scanned token names. A bad token never yields a point."""
    parsed = tokens.parse(secret, token)
    if parsed is None:
        return Resolved(False, reason="forged")
    point = session.get(CollectionPoint, parsed.point_id)
    if point is None:
        return Resolved(False, reason="unknown")
    if parsed.version != point.token_version:
        return Resolved(False, reason="retired")
    if not point.active:
        return Resolved(False, reason="inactive")
    return Resolved(True, point=point)


def list_points(session: Session) -> list[CollectionPoint]:
    return list(session.scalars(sa.select(CollectionPoint).order_by(CollectionPoint.id)))


def telegram_link(bot_username: str | None, token: str) -> str | None:
    return f"https://t.me/{bot_username}?start={token}" if bot_username else None


def web_link(public_url: str, token: str) -> str:
    return f"{public_url.rstrip('/')}/c/{token}"
