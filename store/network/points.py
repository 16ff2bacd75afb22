"""Collection points and the tokens on their QR codes."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from store import prepared
from store.errors import DomainError
from store.models import CollectionPoint, PointKind, utcnow
from store.network import tokens

KIND_NAMES: dict[str, str] = {
    PointKind.COUNTY: "县（区）", PointKind.TOWNSHIP: "乡镇", PointKind.STREET: "街道",
    PointKind.COMMUNITY: "社区（村）", PointKind.MEMBER_STUDIO: "委员工作室",
    PointKind.COUNCIL_HALL: "民生议事堂",
}


class PointError(DomainError):
    pass


@dataclass(frozen=True)
class Resolved:
    """What a scanned token turned out to be; `point` is set only when `ok`."""

    ok: bool
    point: CollectionPoint | None = None
    # forged | unknown | retired | inactive (a message key suffix) when not ok.
    reason: str | None = None
    # Set with ok=True when a retired or revoked code was routed on to its
    # point's successor: tell the scanner, then bind `point` (the successor).
    replaced: CollectionPoint | None = None


# The longest text each column takes (the columns' lengths).
LIMITS = {"name": 200, "address": 300, "contact": 200}


def checked(name: str, kind: PointKind | str, address: str | None,
            contact: str | None) -> tuple[str, PointKind, str | None, str | None]:
    """A point's name, kind, address and contact, trimmed and checked (PointError if bad)."""
    name = (name or "").strip()
    if not name or len(name) > LIMITS["name"]:
        raise PointError("采集点名称不能为空，且不超过 200 字 / name must be 1-200 characters")
    try:
        kind = PointKind(kind)
    except ValueError as exc:
        raise PointError(f"类型「{kind}」无效 / unknown kind") from exc
    address = (address or "").strip() or None
    contact = (contact or "").strip() or None
    for label, column, value in (("地址", "address", address), ("联系人", "contact", contact)):
        if value is not None and len(value) > LIMITS[column]:
            raise PointError(f"{label}不超过 {LIMITS[column]} 字 / {column} longer than "
                             f"{LIMITS[column]} characters")
    return name, kind, address, contact


def create_point(session: Session, name: str, address: str | None = None,
                 contact: str | None = None, *, kind: PointKind | str = PointKind.COMMUNITY,
                 parent: CollectionPoint | None = None,
                 unit_id: int | None = None) -> CollectionPoint:
    """Add a point as given; `store.network.pointedit.add_point` decides its unit and checks scope."""
    name, kind, address, contact = checked(name, kind, address, contact)
    point = CollectionPoint(name=name, address=address, contact=contact, kind=kind,
                            parent_id=parent.id if parent else None, unit_id=unit_id)
    session.add(point)
    session.flush()
    return point


def find(session: Session, ref: str) -> CollectionPoint | None:
    """A point by its import code, or by its id."""
    point = session.scalar(sa.select(CollectionPoint).where(CollectionPoint.code == ref))
    if point is None and ref.isdigit():
        point = session.get(CollectionPoint, int(ref))
    return point


def token_for(point: CollectionPoint, secret: str) -> str:
    return tokens.make(secret, point.id, point.token_version)


def short_code_for(point: CollectionPoint, secret: str) -> str:
    """The code a person can type instead of scanning (see `short_link`)."""
    return tokens.make_short(secret, point.id, point.token_version)


# How many retired versions a typed short code is checked against: enough for
# every rotation a point will see, few enough that a guess is not helped.
SHORT_VERSIONS_CHECKED = 20


def token_for_short(session: Session, secret: str, code: str | None) -> str | None:
    """The full token a typed short code stands for; None if it is malformed or forged.

    The token is of the version the short code was printed with, so `resolve`
    treats it as it would the QR code on the same poster: current, or replaced
    (routed to the successor, or refused), or inactive.
    """
    parsed = tokens.parse_short(code)
    if parsed is None:
        return None
    point = session.get(CollectionPoint, parsed.point_id)
    if point is None:
        return None
    newest = point.token_version
    for version in range(newest, max(0, newest - SHORT_VERSIONS_CHECKED), -1):
        if tokens.short_matches(secret, parsed, version):
            return tokens.make(secret, point.id, version)
    return None


# Every scan reads its point by id: one prepared SELECT (store.prepared), not the ORM's query.
_POINT = prepared.Get(CollectionPoint)


def resolve(session: Session, secret: str, token: str | None) -> Resolved:
    """Which point a scanned token names. A bad token never yields a point."""
    parsed = tokens.parse(secret, token)
    if parsed is None:
        return Resolved(False, reason="forged")
    point: CollectionPoint | None = _POINT(session, parsed.point_id)
    if point is None:
        return Resolved(False, reason="unknown")
    if parsed.version != point.token_version or point.revoked_at is not None:
        successor = _live_successor(session, point)
        if successor is not None:
            return Resolved(True, point=successor, replaced=point)
        return Resolved(False, reason="retired")
    if not point.active:
        return Resolved(False, reason="inactive")
    return Resolved(True, point=point)


def _live_successor(session: Session, point: CollectionPoint) -> CollectionPoint | None:
    """The first active, unrevoked point down the successor chain (cycles stop it)."""
    seen = {point.id}
    current = point
    while current.successor_id is not None and current.successor_id not in seen:
        nxt = session.get(CollectionPoint, current.successor_id)
        if nxt is None:
            return None
        if nxt.active and nxt.revoked_at is None:
            return nxt
        seen.add(nxt.id)
        current = nxt
    return None


def rotate(session: Session, point: CollectionPoint) -> CollectionPoint:
    """Issue a new code: every code printed so far is retired, and a revocation lifted.

    Print new posters next (`minyi posters`).
    """
    point.token_version += 1
    point.revoked_at = None
    session.flush()
    return point


def revoke(session: Session, point: CollectionPoint) -> CollectionPoint:
    """Withdraw the point's code without issuing a new one; `rotate` issues one again."""
    if point.revoked_at is None:
        point.revoked_at = utcnow()
    session.flush()
    return point


def set_successor(session: Session, point: CollectionPoint,
                  successor: CollectionPoint | None) -> CollectionPoint:
    """Where this point's retired or revoked codes send scanners (None: nowhere)."""
    if successor is not None and successor.id == point.id:
        raise PointError("接续采集点不能是它自己 / a point cannot succeed itself")
    point.successor_id = successor.id if successor else None
    session.flush()
    return point


def list_points(session: Session) -> list[CollectionPoint]:
    return list(session.scalars(sa.select(CollectionPoint).order_by(CollectionPoint.id)))


def telegram_link(bot_username: str | None, token: str) -> str | None:
    return f"https://t.me/{bot_username}?start={token}" if bot_username else None


def web_link(public_url: str, token: str) -> str:
    return f"{public_url.rstrip('/')}/c/{token}"


def short_link(public_url: str, code: str) -> str:
    return f"{public_url.rstrip('/')}/p/{code}"


def tree(all_points: list[CollectionPoint]) -> list[tuple[CollectionPoint, int]]:
    """Points in depth-first order with their depth; orphans and cycles surface at the top."""
    by_id = {p.id: p for p in all_points}
    return [(by_id[i], depth) for i, depth in tree_order([(p.id, p.parent_id) for p in all_points])]


def tree_order(links: list[tuple[int, int | None]]) -> list[tuple[int, int]]:
    """(id, depth) in depth-first order from (id, parent id) pairs, children in the given order."""
    children: dict[int | None, list[int]] = {}
    ids = {i for i, _ in links}
    for i, parent in links:
        children.setdefault(parent if parent in ids else None, []).append(i)
    out: list[tuple[int, int]] = []
    seen: set[int] = set()

    def walk(root: int | None, depth: int) -> None:
        # A stack, not recursion: an imported chain may be deeper than Python's limit.
        stack = [(child, depth) for child in reversed(children.get(root, []))]
        while stack:
            node, level = stack.pop()
            if node in seen:
                continue
            seen.add(node)
            out.append((node, level))
            stack.extend((child, level + 1) for child in reversed(children.get(node, [])))

    walk(None, 0)
    for i, _ in links:  # parts of a parent cycle have no root to hang from
        if i not in seen:
            seen.add(i)
            out.append((i, 0))
            walk(i, 1)
    return out
