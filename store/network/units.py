"""The network of units: CPPCC offices, party committees, departments ...

Units form a tree (`parent_id`); what staff may see follows it (`store.access`),
and so does what they may manage (`Scope`). A unit is never deleted: it is
retired (`retired_at`), which keeps its reports, points and users pointing at
it while it is no longer offered for new ones.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from store import access
from store.errors import DomainError
from store.models import CollectionPoint, Role, Unit, UnitKind, User, utcnow

NAME_LIMIT = 200
# How many names a refusal lists before it says "and N more".
NAMES_SHOWN = 5


class UnitError(DomainError):
    """A unit cannot be created or changed as asked; the message says why (Chinese / English)."""


@dataclass(frozen=True)
class Scope:
    """The units someone manages: a set of unit ids, or None for every unit (and none)."""

    units: frozenset[int] | None

    @property
    def everything(self) -> bool:
        return self.units is None

    def covers(self, unit_id: int | None) -> bool:
        """Whether a point or unit in `unit_id` (None: no unit) is this scope's to change."""
        return self.units is None or (unit_id is not None and unit_id in self.units)


# The command line, and an administrator without a unit.
EVERYTHING = Scope(None)
# Roles that keep their unit's collection points (an admin also keeps the units).
POINT_KEEPERS = frozenset({Role.ADMIN, Role.CLERK})


def subtree_scope(session: Session, unit_id: int) -> Scope:
    return Scope(frozenset(access.unit_subtree(session, unit_id)))


def point_scope(session: Session, user: User) -> Scope | None:
    """The units whose collection points `user` may add, edit, move and import; None: none.

    An administrator without a unit keeps the whole network; an administrator or
    clerk (信息员) of a unit keeps that unit and the units below it.
    """
    if not user.active or user.role not in POINT_KEEPERS:
        return None
    if user.unit_id is None:
        return EVERYTHING if user.role is Role.ADMIN else None
    return subtree_scope(session, user.unit_id)


def point_view(session: Session, user: User) -> Scope:
    """The units whose collection points `user` may see: listed, exported, printed, their QR
    codes shown. Staff without a unit see the whole network; staff of a unit, that unit
    and the units below it (as with reports, `store.access.visible_units`)."""
    if not user.active:
        return Scope(frozenset())
    units = access.visible_units(session, user)
    return EVERYTHING if units is None else Scope(frozenset(units))


def unit_scope(session: Session, user: User) -> Scope | None:
    """The units `user` may add, rename, move and retire: administrators only."""
    if not user.active or user.role is not Role.ADMIN:
        return None
    return EVERYTHING if user.unit_id is None else subtree_scope(session, user.unit_id)


def _check_name(name: str) -> str:
    name = (name or "").strip()
    if not name or len(name) > NAME_LIMIT:
        raise UnitError(f"单位名称不能为空，且不超过 {NAME_LIMIT} 字 / "
                        f"a unit name needs 1-{NAME_LIMIT} characters")
    return name


def _outside(unit: Unit | None) -> UnitError:
    what = f"单位「{unit.name}」（#{unit.id}）" if unit else "顶级单位"
    where = f"unit #{unit.id}" if unit else "top level"
    return UnitError(f"{what}不在您管理的范围内 / {where} is outside the units you manage")


def usable(session: Session, unit_id: int, scope: Scope, *, role: str = "单位",
           error: type[DomainError] = UnitError) -> Unit:
    """Unit `unit_id`, to put something in or under: it exists, is not retired, and is
    `scope`'s; else `error` (the caller's own kind of refusal), naming the unit as `role`."""
    unit = session.get(Unit, unit_id)
    if unit is None:
        raise error(f"{role} #{unit_id} 不存在 / no unit #{unit_id}")
    if unit.retired_at is not None:
        raise error(f"{role}「{unit.name}」已撤销 / unit #{unit_id} is retired")
    if not scope.covers(unit.id):
        raise error(str(_outside(unit)))
    return unit


def _parent(session: Session, parent_id: int | None, scope: Scope) -> Unit | None:
    """The unit a unit is to hang under: it exists, is not retired, and is `scope`'s."""
    if parent_id is None:
        if not scope.everything:
            raise _outside(None)
        return None
    return usable(session, parent_id, scope, role="上级单位")


def _no_clash(session: Session, name: str, parent_id: int | None, but: int | None = None) -> None:
    clash = session.scalar(sa.select(Unit.id).where(
        Unit.name == name, Unit.id != (but or 0),
        Unit.parent_id.is_(None) if parent_id is None else Unit.parent_id == parent_id))
    if clash is not None:
        raise UnitError(f"同一上级下已有单位「{name}」（#{clash}） / "
                        f"a unit named {name} exists there already (#{clash})")


def create(session: Session, name: str, kind: UnitKind | str,
           parent_id: int | None = None, scope: Scope = EVERYTHING) -> Unit:
    """Add a unit under `parent_id` (None: a top-level unit); the caller commits."""
    name = _check_name(name)
    try:
        kind = UnitKind(kind)
    except ValueError:
        raise UnitError(f"未知的单位类型 {kind!r} / unknown unit kind {kind!r}; choose one of: "
                        + ", ".join(k.value for k in UnitKind)) from None
    _parent(session, parent_id, scope)
    _no_clash(session, name, parent_id)
    unit = Unit(name=name, kind=kind, parent_id=parent_id)
    session.add(unit)
    session.flush()
    return unit


def _own(unit: Unit, scope: Scope) -> None:
    if not scope.covers(unit.id):
        raise _outside(unit)


def rename(session: Session, unit: Unit, name: str, scope: Scope = EVERYTHING) -> Unit:
    """Give `unit` a new name (unique among its siblings); reports and points follow by id."""
    _own(unit, scope)
    name = _check_name(name)
    _no_clash(session, name, unit.parent_id, but=unit.id)
    unit.name = name
    session.flush()
    return unit


def move(session: Session, unit: Unit, parent_id: int | None, scope: Scope = EVERYTHING) -> Unit:
    """Hang `unit` (and everything below it) under `parent_id`; None makes it a top-level unit.

    Staff of the units above see its reports from now on, staff of the old parents no longer.
    """
    _own(unit, scope)
    _parent(session, parent_id, scope)
    if parent_id is not None and parent_id in access.unit_subtree(session, unit.id):
        raise UnitError(f"不能把单位「{unit.name}」移到它自己或它的下级单位之下 / "
                        f"a unit cannot move under itself or a unit below it")
    _no_clash(session, unit.name, parent_id, but=unit.id)
    unit.parent_id = parent_id
    session.flush()
    return unit


def _names(values: Iterable[str], total: int) -> str:
    shown = "、".join(values)
    return shown + (f" 等 {total} 个" if total > NAMES_SHOWN else "")


def retire(session: Session, unit: Unit, scope: Scope = EVERYTHING) -> Unit:
    """Retire `unit`: it keeps its history but is no longer offered for new points, users,
    sub-units or transfers. Refused while active points, active staff or active sub-units
    remain in it; the message names them so they can be moved first."""
    _own(unit, scope)
    if unit.retired_at is not None:
        return unit
    blockers: list[tuple[str, str, list[str], int]] = []
    for zh, en, column, where in (
        ("个下级单位", "sub-units", Unit.name, [Unit.parent_id == unit.id, Unit.retired_at.is_(None)]),
        ("个在用的采集点", "active collection points", CollectionPoint.name,
         [CollectionPoint.unit_id == unit.id, CollectionPoint.active.is_(True)]),
        ("名在职工作人员", "active staff", User.username,
         [User.unit_id == unit.id, User.active.is_(True)]),
    ):
        total = session.scalar(sa.select(sa.func.count()).where(*where)) or 0
        if total:
            names = list(session.scalars(sa.select(column).where(*where).order_by(column)
                                         .limit(NAMES_SHOWN)))
            blockers.append((zh, en, names, total))
    if blockers:
        zh = "；".join(f"{total} {what}（{_names(names, total)}）"
                      for what, _, names, total in blockers)
        en = ", ".join(f"{total} {what}" for _, what, _, total in blockers)
        raise UnitError(f"单位「{unit.name}」还有{zh}，请先移走或停用后再撤销 / "
                        f"unit #{unit.id} still has {en}; move or switch them off first")
    unit.retired_at = utcnow()
    session.flush()
    return unit


def restore(session: Session, unit: Unit, scope: Scope = EVERYTHING) -> Unit:
    """Undo `retire`; its parent must not be retired."""
    _own(unit, scope)
    if unit.parent_id is not None:
        parent = session.get(Unit, unit.parent_id)
        if parent is not None and parent.retired_at is not None:
            raise UnitError(f"上级单位「{parent.name}」已撤销，请先恢复上级 / "
                            f"its parent unit #{parent.id} is retired")
    unit.retired_at = None
    session.flush()
    return unit


def get(session: Session, unit_id: int) -> Unit | None:
    return session.get(Unit, unit_id)


def tree(session: Session, *, include_retired: bool = True) -> list[tuple[Unit, int]]:
    """Every unit with its depth, each followed by its children (by name).

    `include_retired=False` is what a form offers for new points, users and units.
    """
    query = sa.select(Unit).order_by(Unit.name, Unit.id)
    if not include_retired:
        query = query.where(Unit.retired_at.is_(None))
    units = list(session.scalars(query))
    ids = {u.id for u in units}
    children: dict[int | None, list[Unit]] = {}
    for unit in units:
        # A parent that vanished would hide its subtree; show it at the top instead.
        parent = unit.parent_id if unit.parent_id in ids else None
        children.setdefault(parent, []).append(unit)
    out: list[tuple[Unit, int]] = []
    seen: set[int] = set()

    def walk(parent: int | None, depth: int) -> None:
        for unit in children.get(parent, []):
            if unit.id in seen:  # a cycle in hand-edited data must not loop forever
                continue
            seen.add(unit.id)
            out.append((unit, depth))
            walk(unit.id, depth + 1)

    walk(None, 0)
    return out


def offered(session: Session, scope: Scope) -> list[tuple[Unit, int]]:
    """The units a form offers someone with `scope`: not retired, theirs, in tree order."""
    return [(u, d) for u, d in tree(session, include_retired=False) if scope.covers(u.id)]


def departments(session: Session) -> list[Unit]:
    """Units that take transfers (转办), by name; retired ones take no more."""
    return list(session.scalars(
        sa.select(Unit).where(Unit.kind == UnitKind.DEPARTMENT, Unit.retired_at.is_(None))
        .order_by(Unit.name, Unit.id)))


class Directory:
    """Every unit's name, parent and state, read once: names to ids and paths for messages."""

    def __init__(self, session: Session) -> None:
        self.rows: dict[int, tuple[str, int | None, bool]] = {
            uid: (name, parent, retired is not None) for uid, name, parent, retired in
            session.execute(sa.select(Unit.id, Unit.name, Unit.parent_id, Unit.retired_at))}
        self.by_name: dict[str, list[int]] = {}
        for uid, (name, _, _) in sorted(self.rows.items()):
            self.by_name.setdefault(name, []).append(uid)

    @property
    def any_active(self) -> bool:
        return any(not retired for _, _, retired in self.rows.values())

    def retired(self, unit_id: int) -> bool:
        return self.rows[unit_id][2]

    def path(self, unit_id: int) -> str:
        """`城关县政协 › 城关镇政协联络组` (a loop in hand-edited data stops the walk)."""
        names: list[str] = []
        seen: set[int] = set()
        current: int | None = unit_id
        while current is not None and current in self.rows and current not in seen:
            seen.add(current)
            names.append(self.rows[current][0])
            current = self.rows[current][1]
        return " › ".join(reversed(names))

    def label(self, unit_id: int) -> str:
        return f"{self.path(unit_id)}（#{unit_id}）"

    def find(self, ref: str) -> int:
        """The unit `ref` names: `#12` or `12` (an id), else an exact name.

        Raises UnitError when there is none, or when the name is shared by several
        units (naming each with its path and id). A retired unit is found (its old
        points still name it); whoever puts something new in it refuses.
        """
        ref = ref.strip()
        digits = ref[1:] if ref.startswith("#") else ref
        if digits.isdigit() and int(digits) in self.rows:
            found = [int(digits)]
        else:
            found = self.by_name.get(ref, [])
            active = [uid for uid in found if not self.retired(uid)]
            found = active or found
        if not found:
            raise UnitError(f"单位「{ref}」不存在 / unknown unit {ref!r}")
        if len(found) > 1:
            raise UnitError(f"单位「{ref}」有 {len(found)} 个同名："
                            + "、".join(self.label(uid) for uid in found)
                            + f"，请填写单位 ID / {len(found)} units are named {ref!r}; give the id")
        return found[0]
