"""The network of units: CPPCC offices, party committees, departments ...

Units form a tree (`parent_id`); what staff may see follows it (`store.access`).
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from store.models import Unit, UnitKind

NAME_LIMIT = 200


class UnitError(ValueError):
    """A unit cannot be created as asked; the message says why (Chinese / English)."""


def create(session: Session, name: str, kind: UnitKind | str,
           parent_id: int | None = None) -> Unit:
    """Add a unit under `parent_id` (None: a top-level unit); the caller commits."""
    name = (name or "").strip()
    if not name or len(name) > NAME_LIMIT:
        raise UnitError(f"单位名称不能为空，且不超过 {NAME_LIMIT} 字 / "
                        f"a unit name needs 1-{NAME_LIMIT} characters")
    try:
        kind = UnitKind(kind)
    except ValueError:
        raise UnitError(f"未知的单位类型 {kind!r} / unknown unit kind {kind!r}; choose one of: "
                        + ", ".join(k.value for k in UnitKind)) from None
    if parent_id is not None and session.get(Unit, parent_id) is None:
        raise UnitError(f"上级单位 #{parent_id} 不存在 / no unit #{parent_id}")
    clash = session.scalar(sa.select(Unit.id).where(
        Unit.name == name,
        Unit.parent_id.is_(None) if parent_id is None else Unit.parent_id == parent_id))
    if clash is not None:
        raise UnitError(f"同一上级下已有单位「{name}」 / a unit named {name} exists there already")
    unit = Unit(name=name, kind=kind, parent_id=parent_id)
    session.add(unit)
    session.flush()
    return unit


def get(session: Session, unit_id: int) -> Unit | None:
    return session.get(Unit, unit_id)


def tree(session: Session) -> list[tuple[Unit, int]]:
    """Every unit with its depth, each followed by its children (by name)."""
    units = list(session.scalars(sa.select(Unit).order_by(Unit.name, Unit.id)))
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


def departments(session: Session) -> list[Unit]:
    """Units that take transfers (转办), by name."""
    return list(session.scalars(
        sa.select(Unit).where(Unit.kind == UnitKind.DEPARTMENT).order_by(Unit.name, Unit.id)))
