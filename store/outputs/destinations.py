"""Where reports are sent up to (报送去向), and each unit's own chain of them.

A destination has a name and a level, and is either an outside body (the
record is all there is) or a unit of this network (its staff receive what
is sent, see `store.outputs.upward`). New installations start with
`store.models.upward.DEFAULT_DESTINATIONS`; the office edits them. A unit's
chain lists, in order, the destinations its staff report to; a unit without
one (and staff over the whole network) is offered every active destination.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from store.errors import DomainError
from store.models import AdoptionLevel, Destination, Unit, UpwardRoute, User
from store.network import units
from store.outputs import adoption

NAME_LIMIT = 200


class DestinationError(DomainError):
    """A destination or a chain the office cannot have as asked."""


def listed(session: Session, *, active_only: bool = False) -> list[Destination]:
    """Destinations lowest level first, then by name."""
    query = sa.select(Destination)
    if active_only:
        query = query.where(Destination.active.is_(True))
    rows = list(session.scalars(query))
    return sorted(rows, key=lambda d: (adoption.rank(d.level), d.name, d.id))


def _name(session: Session, name: str, but: int | None = None) -> str:
    name = " ".join((name or "").split())
    if not name:
        raise DestinationError("请填写报送去向的名称。 / Give the destination a name.")
    if len(name) > NAME_LIMIT:
        raise DestinationError(f"名称最多 {NAME_LIMIT} 个字。 / A name has {NAME_LIMIT} characters at most.")
    clash = session.scalar(sa.select(Destination.id).where(Destination.name == name))
    if clash is not None and clash != but:
        raise DestinationError(f"已有名为「{name}」的报送去向。 "
                               f"/ There is already a destination named {name}.")
    return name


def _level(level: AdoptionLevel | str | None) -> AdoptionLevel:
    try:
        return AdoptionLevel(level or "")
    except ValueError:
        raise DestinationError("请选择报送去向的级别（县、市、省、全国）。 "
                               "/ Choose the destination's level.") from None


def _unit(session: Session, unit_id: int | None) -> int | None:
    if unit_id is None:
        return None
    unit = units.get(session, unit_id)
    if unit is None or unit.retired_at is not None:
        raise DestinationError(f"没有可用的 #{unit_id} 号单位。 / No usable unit #{unit_id}.")
    return unit.id


def create(session: Session, name: str, level: AdoptionLevel | str | None,
           unit_id: int | None = None) -> Destination:
    """A new destination; `unit_id`: a unit of this network, which then receives what is sent."""
    dest = Destination(name=_name(session, name), level=_level(level), unit_id=_unit(session, unit_id))
    session.add(dest)
    session.flush()
    return dest


def update(session: Session, dest: Destination, *, name: str, level: AdoptionLevel | str | None,
           unit_id: int | None, active: bool) -> Destination:
    """Change a destination; records already sent keep pointing at it."""
    dest.name = _name(session, name, but=dest.id)
    dest.level = _level(level)
    dest.unit_id = _unit(session, unit_id)
    dest.active = active
    session.flush()
    return dest


def get(session: Session, destination_id: int) -> Destination | None:
    return session.get(Destination, destination_id)


def find(session: Session, text: str) -> Destination:
    """A destination by id (`3`, `#3`) or exact name; else `DestinationError` naming the choices."""
    key = (text or "").strip()
    dest: Destination | None = None
    if key.lstrip("#").isdigit():
        dest = session.get(Destination, int(key.lstrip("#")))
    if dest is None:
        dest = session.scalar(sa.select(Destination).where(Destination.name == key))
    if dest is None:
        names = "、".join(f"#{d.id} {d.name}" for d in listed(session, active_only=True))
        raise DestinationError(f"没有名为「{key}」的报送去向；可选：{names or '（无）'} "
                               f"/ No destination {key!r}.")
    return dest


def chain(session: Session, unit_id: int) -> list[Destination]:
    """The destinations unit `unit_id` reports up to, in its order (empty: none configured)."""
    return list(session.scalars(
        sa.select(Destination).join(UpwardRoute, UpwardRoute.destination_id == Destination.id)
        .where(UpwardRoute.unit_id == unit_id).order_by(UpwardRoute.position, UpwardRoute.id)))


def set_chain(session: Session, unit: Unit, destination_ids: list[int]) -> list[Destination]:
    """Replace `unit`'s chain with `destination_ids` in that order (duplicates once)."""
    ids = list(dict.fromkeys(destination_ids))
    found = {d.id: d for d in session.scalars(sa.select(Destination).where(Destination.id.in_(ids)))}
    missing = [str(i) for i in ids if i not in found]
    if missing:
        raise DestinationError(f"没有这些报送去向：#{'、#'.join(missing)} / No such destinations.")
    if any(found[i].unit_id == unit.id for i in ids):
        raise DestinationError("单位不能向自己报送。 / A unit does not report to itself.")
    session.execute(sa.delete(UpwardRoute).where(UpwardRoute.unit_id == unit.id))
    session.add_all(UpwardRoute(unit_id=unit.id, destination_id=i, position=n)
                    for n, i in enumerate(ids))
    session.flush()
    return [found[i] for i in ids]


def offered(session: Session, user: User) -> list[Destination]:
    """What `user` may report to: their unit's chain if it has one, else every active destination;
    never their own unit."""
    mine = chain(session, user.unit_id) if user.unit_id is not None else []
    rows = [d for d in mine if d.active] if mine else listed(session, active_only=True)
    return [d for d in rows if d.unit_id is None or d.unit_id != user.unit_id]
