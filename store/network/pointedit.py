"""Adding, editing and moving collection points within the units someone keeps.

A point belongs to a unit from the start: the one given, else its parent point's.
Only while the network has no units at all may a point (added by someone who
keeps the whole network) have none. Whoever keeps a unit (`units.point_scope`)
may change only points of that unit and the units below it, and put points
only there; the command line keeps everything (`units.EVERYTHING`).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from store.models import CollectionPoint, PointKind, Report, Unit
from store.network import points, units
from store.network.points import PointError
from store.network.units import Directory, Scope, UnitError

# A parent chain longer than this is treated as broken data (imports can loop).
DEPTH_LIMIT = 10_000
# The add form lists parent points to choose from when there are at most this many.
PARENT_CHOICES = 300


@dataclass(frozen=True)
class Moved:
    """What `move_points` did: how many points changed unit, and how many of their reports
    that had no unit came with them."""

    points: int
    reports: int


def _label(point: CollectionPoint) -> str:
    return f"「{point.name}」（#{point.id}）"


def _unit_name(session: Session, unit_id: int | None) -> str:
    unit = session.get(Unit, unit_id) if unit_id is not None else None
    return f"「{unit.name}」" if unit is not None else "未指定单位"


def _check_point_in(session: Session, scope: Scope, point: CollectionPoint, role: str) -> None:
    if not scope.covers(point.unit_id):
        raise PointError(f"{role}{_label(point)}属于{_unit_name(session, point.unit_id)}，"
                         f"不在您管理的范围内 / point #{point.id} is outside the units you manage")


def _target_unit(session: Session, scope: Scope, unit_id: int) -> Unit:
    return units.usable(session, unit_id, scope, error=PointError)


def find_unit(session: Session, ref: str) -> int:
    """A unit id from what a person typed: `12`, `#12` or an exact name (see `Directory.find`)."""
    try:
        return Directory(session).find(ref)
    except UnitError as exc:
        raise PointError(str(exc)) from None


def find_parent(session: Session, ref: str) -> CollectionPoint:
    """The point a person named as a parent: its import code or its id."""
    parent = points.find(session, ref.strip().lstrip("#"))
    if parent is None:
        raise PointError(f"找不到上级采集点「{ref}」 / no such point")
    return parent


def _placement(session: Session, scope: Scope, unit_id: int | None,
               parent: CollectionPoint | None) -> int | None:
    """The unit a new or edited point goes to: `unit_id`, else its parent's."""
    if parent is not None:
        _check_point_in(session, scope, parent, "上级采集点")
    if unit_id is not None:
        return _target_unit(session, scope, unit_id).id
    if parent is not None and parent.unit_id is not None:
        return _target_unit(session, scope, parent.unit_id).id
    if not scope.everything or Directory(session).any_active:
        raise PointError("请选择采集点所属的单位（或一个有单位的上级采集点） / "
                         "choose the point's unit, or a parent point that has one")
    return None


def add_point(session: Session, scope: Scope, name: str, *, kind: PointKind | str = PointKind.COMMUNITY,
              address: str | None = None, contact: str | None = None,
              parent: CollectionPoint | None = None, unit_id: int | None = None) -> CollectionPoint:
    """Add a point in `unit_id` (or its parent's unit) under `parent`; the caller commits."""
    placed = _placement(session, scope, unit_id, parent)
    return points.create_point(session, name, address, contact, kind=kind, parent=parent,
                               unit_id=placed)


def _check_no_cycle(session: Session, point: CollectionPoint, parent: CollectionPoint) -> None:
    """Refuse a parent that is the point itself or lies below it."""
    current: int | None = parent.id
    for _ in range(DEPTH_LIMIT):
        if current is None:
            return
        if current == point.id:
            raise PointError(f"不能把{_label(point)}放到它自己或它的下级采集点之下 / "
                             "a point cannot go under itself or a point below it")
        current = session.scalar(sa.select(CollectionPoint.parent_id)
                                 .where(CollectionPoint.id == current))
    raise PointError("上级关系过深或成环 / the parent chain loops")


def update_point(session: Session, scope: Scope, point: CollectionPoint, *, name: str,
                 kind: PointKind | str, address: str | None, contact: str | None,
                 parent: CollectionPoint | None, unit_id: int | None) -> Moved:
    """Change a point's name, kind, address, contact, parent and unit (None: the parent's
    unit, or the point's own when the parent has none).

    Moving it to another unit moves its reports that had no unit (`adopt_reports`).
    """
    _check_point_in(session, scope, point, "采集点")
    name, kind, address, contact = points.checked(name, kind, address, contact)
    if parent is not None and parent.id != point.parent_id:
        _check_point_in(session, scope, parent, "上级采集点")
        _check_no_cycle(session, point, parent)
    if unit_id is None:
        unit_id = parent.unit_id if parent is not None and parent.unit_id is not None \
            else point.unit_id
    moved = unit_id != point.unit_id
    if moved and unit_id is not None:
        _target_unit(session, scope, unit_id)
    point.name, point.kind = name, kind
    point.address, point.contact = address, contact
    point.parent_id = parent.id if parent is not None else None
    point.unit_id = unit_id
    session.flush()
    return Moved(int(moved), adopt_reports(session, [point.id], unit_id) if moved else 0)


def move_points(session: Session, scope: Scope, point_ids: Collection[int], unit_id: int) -> Moved:
    """Put every point of `point_ids` in `unit_id`, or none of them.

    Refused, naming each point, when a point is missing or outside `scope`, or the
    unit is retired or outside `scope`. Reports already filed stay with the unit that
    handled them; those filed while a point had no unit come along.
    """
    if not point_ids:
        raise PointError("请先勾选要移动的采集点 / choose the points to move")
    unit = _target_unit(session, scope, unit_id)
    wanted = sorted(set(point_ids))
    found = {p.id: p for p in session.scalars(
        sa.select(CollectionPoint).where(CollectionPoint.id.in_(wanted)))}
    problems = [f"没有 #{i} 号采集点 / no point #{i}" for i in wanted if i not in found]
    for point in found.values():
        try:
            _check_point_in(session, scope, point, "采集点")
        except PointError as exc:
            problems.append(str(exc))
    if problems:
        raise PointError("；".join(p.split(" / ")[0] for p in problems)
                         + f"。未移动任何采集点 / {len(problems)} of the points cannot be moved; "
                         "nothing was moved")
    changed = [p for p in found.values() if p.unit_id != unit.id]
    for point in changed:
        point.unit_id = unit.id
    session.flush()
    return Moved(len(changed), adopt_reports(session, [p.id for p in changed], unit.id))


def adopt_reports(session: Session, point_ids: Collection[int], unit_id: int | None) -> int:
    """Give the reports of `point_ids` that have no unit to `unit_id`; how many there were.

    They were filed before their point had a unit, so no unit's staff could see
    them. Reports that a unit already handles stay with it.
    """
    if unit_id is None or not point_ids:
        return 0
    result = session.execute(
        sa.update(Report).where(Report.point_id.in_(list(point_ids)), Report.unit_id.is_(None))
        .values(unit_id=unit_id).execution_options(synchronize_session=False))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def parent_choices(session: Session, scope: Scope) -> list[tuple[str, str]] | None:
    """(reference, name) of the points `scope` may hang a new point under, for a form to
    offer; None when there are too many to list (the form then takes a code or id)."""
    query = (sa.select(CollectionPoint.id, CollectionPoint.code, CollectionPoint.name)
             .where(CollectionPoint.active.is_(True)).order_by(CollectionPoint.name,
                                                                CollectionPoint.id)
             .limit(PARENT_CHOICES + 1))
    if scope.units is not None:
        query = query.where(CollectionPoint.unit_id.in_(scope.units))
    rows = session.execute(query).all()
    if len(rows) > PARENT_CHOICES:
        return None
    return [(code or str(pid), f"{name}（{code or '#' + str(pid)}）") for pid, code, name in rows]
