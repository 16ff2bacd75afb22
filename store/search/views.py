"""Saved views: a staff member's named searches, shown as tabs with live counts."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from store import access
from store.errors import DomainError
from store.models import SavedView, User
from store.search.query import Filters, count

MAX_VIEWS = 12
NAME_LIMIT = 20


@dataclass(frozen=True)
class Builtin:
    """A view every office staff member has without saving it."""

    name: str
    args: dict[str, str]


BUILTIN = (Builtin("待我审核", {"mine": "1"}), Builtin("本周紧急", {"urgency": "urgent", "days": "7"}))


def builtin_for(user: User) -> list[Builtin]:
    return list(BUILTIN) if user.role in access.OFFICE_ROLES else []


def builtin_counts(session: Session, user: User) -> list[tuple[Builtin, int]]:
    return [(view, count(session, user, Filters.from_args(view.args)[0]))
            for view in builtin_for(user)]


class ViewError(DomainError):
    """A view could not be saved; the message is for the user (zh)."""


def for_user(session: Session, user: User) -> list[SavedView]:
    return list(session.scalars(sa.select(SavedView).where(SavedView.user_id == user.id)
                                .order_by(SavedView.position, SavedView.id)))


def save(session: Session, user: User, name: str, filters: Filters) -> SavedView:
    """Save `filters` (without paging) as `name`; the same name again replaces it."""
    name = " ".join((name or "").split())
    if not name:
        raise ViewError("请给视图起个名字。")
    if len(name) > NAME_LIMIT:
        raise ViewError(f"视图名称最多 {NAME_LIMIT} 个字（现在 {len(name)} 个）。")
    args = filters.to_args(page=1, per_page=20)
    view = session.scalar(sa.select(SavedView).where(SavedView.user_id == user.id,
                                                     SavedView.name == name))
    if view is not None:
        view.args = args
    else:
        mine = for_user(session, user)
        if len(mine) >= MAX_VIEWS:
            raise ViewError(f"最多保存 {MAX_VIEWS} 个视图，请先删除不用的。")
        view = SavedView(user_id=user.id, name=name, args=args,
                         position=max((v.position for v in mine), default=0) + 1)
        session.add(view)
    session.flush()
    return view


def delete(session: Session, user: User, view_id: int) -> bool:
    """Delete one of `user`'s views; False if it is not theirs (or gone)."""
    view = session.get(SavedView, view_id)
    if view is None or view.user_id != user.id:
        return False
    session.delete(view)
    session.flush()
    return True


def filters_of(view: SavedView) -> Filters:
    return Filters.from_args(view.args)[0]


def counts(session: Session, user: User, views: list[SavedView]) -> dict[int, int]:
    """How many reports each view finds now (under `user`'s access rules)."""
    out = {}
    for view in views:
        out[view.id] = count(session, user, filters_of(view))
    return out
