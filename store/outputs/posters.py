"""Which points get posters, and what each poster shows; qr.posters draws them."""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.orm import Session

from qr.posters import Poster
from store.models import CollectionPoint, Unit
from store.network import points
from store.network.units import EVERYTHING, Scope


def _unit_and_below(session: Session, unit_id: int) -> set[int]:
    children: dict[int | None, list[int]] = {}
    for uid, parent in session.execute(sa.select(Unit.id, Unit.parent_id)):
        children.setdefault(parent, []).append(uid)
    out, todo = set(), [unit_id]
    while todo:
        uid = todo.pop()
        if uid not in out:
            out.add(uid)
            todo.extend(children.get(uid, []))
    return out


def selection(session: Session, unit_id: int | None = None,
              point_ids: list[int] | None = None, scope: Scope = EVERYTHING) -> list[CollectionPoint]:
    """Active points with a live code in `scope` (`units.point_view`), in tree order: those of
    a unit (and the units below it), the given ones, or all of them."""
    chosen = [p for p, _ in points.tree(points.list_points(session))
              if p.active and p.revoked_at is None and scope.covers(p.unit_id)]
    if unit_id is not None:
        units = _unit_and_below(session, unit_id)
        chosen = [p for p in chosen if p.unit_id in units]
    if point_ids is not None:
        wanted = set(point_ids)
        chosen = [p for p in chosen if p.id in wanted]
    return chosen


def poster_for(point: CollectionPoint, secret: str, public_url: str,
               codes: Sequence[tuple[str, str]]) -> Poster:
    """The poster of `point`; `codes` are its (caption, payload) on each channel switched on
    (`bot.channels.Registry.codes` of its token)."""
    token = points.token_for(point, secret)
    return Poster(name=point.name, address=point.address,
                  web=points.web_link(public_url, token), codes=tuple(codes),
                  short=points.short_link(public_url, points.short_code_for(point, secret)))
