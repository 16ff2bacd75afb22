"""Who may see what: units, roles, and the reporter's identity (保密).

Every list, count, search and decision goes through these rules, so a user
never meets a report of a unit they may not see.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from store.models import AccessLog, CollectionPoint, Report, Role, Transfer, Unit, User

# The office's own staff: they review, decide and follow up.
OFFICE_ROLES = frozenset({Role.ADMIN, Role.CLERK, Role.DIRECTOR, Role.SECRETARY_GENERAL})
# Who may see a reporter's contact and chat id; each look is logged.
IDENTITY_ROLES = OFFICE_ROLES


def unit_subtree(session: Session, unit_id: int) -> set[int]:
    """`unit_id` and every unit below it."""
    tree = sa.select(Unit.id).where(Unit.id == unit_id).cte("tree", recursive=True)
    tree = tree.union_all(sa.select(Unit.id).where(Unit.parent_id == tree.c.id))
    return set(session.scalars(sa.select(tree.c.id)))


def visible_units(session: Session, user: User) -> set[int] | None:
    """The units whose reports `user` may see; None means every unit."""
    if user.unit_id is None:
        return None
    return unit_subtree(session, user.unit_id)


def report_scope(session: Session, user: User) -> sa.ColumnElement[bool]:
    """A WHERE clause on `Report` that keeps what `user` may see.

    Departments see only the reports transferred to them (or their sub-units);
    everyone else sees their unit's reports and those of the units below.
    Staff without a unit see the whole network, except departments, which
    must belong to one.
    """
    if not user.active:
        return sa.false()
    units = visible_units(session, user)
    if user.role is Role.DEPARTMENT:
        if units is None:
            return sa.false()
        transferred = sa.select(Transfer.report_id).where(Transfer.department_id.in_(units))
        return Report.id.in_(transferred)
    if units is None:
        return sa.true()
    return Report.unit_id.in_(units)


def point_scope(session: Session, user: User) -> sa.ColumnElement[bool]:
    """A WHERE clause on `CollectionPoint`: the points of the units `user` sees (all: no unit)."""
    units = visible_units(session, user)
    return sa.true() if units is None else CollectionPoint.unit_id.in_(units)


def can_see(session: Session, user: User, report: Report) -> bool:
    return bool(session.scalar(
        sa.select(sa.literal(True)).select_from(Report)
        .where(Report.id == report.id, report_scope(session, user))
    ))


def can_see_identity(user: User) -> bool:
    return user.role in IDENTITY_ROLES


def log_identity_view(session: Session, user: User, report: Report, what: str = "identity") -> None:
    """Record that `user` saw who filed `report`."""
    session.add(AccessLog(user_id=user.id, report_id=report.id, what=what))


def can_reply_transfer(session: Session, user: User, transfer: Transfer) -> bool:
    """Department staff answer transfers to their unit (or a sub-unit); admins any."""
    if user.role is Role.ADMIN:
        return True
    if user.role is not Role.DEPARTMENT or user.unit_id is None:
        return False
    return transfer.department_id in unit_subtree(session, user.unit_id)
