"""The console's list of points: search and filters, tree order, parent paths, pages.

A network has thousands of points, so the list comes a page at a time. Only
ids, parents and names of every point are read (for the tree order and each
row's parent path); whole rows, scan counts and report counts are read for
the page shown.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.orm import Session

from store import access
from store.models import CollectionPoint, PointKind
from store.network import points, scans
from store.network.units import EVERYTHING, Scope

PER_PAGE = 50
QUERY_LIMIT = 100
# A parent path longer than this is cut (hand-edited data can loop).
PATH_LIMIT = 12


@dataclass(frozen=True)
class Filters:
    """What the list is narrowed to: text in the name, code or address; a kind; a unit and below."""

    q: str = ""
    kind: PointKind | None = None
    unit_id: int | None = None

    @property
    def active(self) -> bool:
        return bool(self.q or self.kind or self.unit_id)


@dataclass(frozen=True)
class Row:
    point: CollectionPoint
    depth: int
    # Names from the root down to the point's parent.
    path: list[str]
    figures: scans.PointFigures
    successor: str | None = None
    successor_ref: str | None = None


@dataclass(frozen=True)
class Page:
    rows: list[Row]
    total: int  # points matching the filters, on all pages
    number: int
    pages: int
    filters: Filters = field(default_factory=Filters)
    per_page: int = PER_PAGE

    @property
    def first(self) -> int:
        """The position of the page's first row in the whole list, from 1."""
        return (self.number - 1) * self.per_page + 1


@dataclass(frozen=True)
class _Node:
    parent_id: int | None
    name: str
    code: str | None


def page(session: Session, filters: Filters | None = None, number: int = 1,
         per_page: int = PER_PAGE, scope: Scope = EVERYTHING) -> Page:
    """Page `number` (from 1; out of range means the nearest) of the points matching `filters`,
    in tree order; only points of units in `scope` (`units.point_view`) are read at all."""
    filters = filters or Filters()
    nodes = {i: _Node(parent, name, code) for i, parent, name, code in session.execute(
        sa.select(CollectionPoint.id, CollectionPoint.parent_id, CollectionPoint.name,
                  CollectionPoint.code).where(in_scope(scope)).order_by(CollectionPoint.id))}
    depth = dict(points.tree_order([(i, n.parent_id) for i, n in nodes.items()]))
    order = list(depth)  # dicts keep the tree order
    if filters.active:
        wanted = set(session.scalars(sa.select(CollectionPoint.id).where(*_where(session, filters))))
        order = [i for i in order if i in wanted]
    total = len(order)
    pages = max(1, -(-total // per_page))
    number = min(max(number, 1), pages)
    shown = order[(number - 1) * per_page:number * per_page]
    loaded = {p.id: p for p in session.scalars(
        sa.select(CollectionPoint).where(CollectionPoint.id.in_(shown)))} if shown else {}
    figures = scans.figures(session, shown) if shown else {}
    rows = []
    for i in shown:
        point = loaded[i]
        successor = nodes.get(point.successor_id) if point.successor_id is not None else None
        rows.append(Row(
            point=point, depth=0 if filters.active else depth[i], path=_path(nodes, i),
            figures=figures.get(i, scans.PointFigures()),
            successor=successor.name if successor else None,
            successor_ref=(successor.code or str(point.successor_id)) if successor else None))
    return Page(rows, total, number, pages, filters, per_page)


def in_scope(scope: Scope) -> sa.ColumnElement[bool]:
    """A WHERE clause on `CollectionPoint`: the points of the units in `scope`."""
    if scope.units is None:
        return sa.true()
    return CollectionPoint.unit_id.in_(sorted(scope.units))


def page_of(session: Session, point_id: int, per_page: int = PER_PAGE,
            scope: Scope = EVERYTHING) -> int:
    """The page of the unfiltered list that shows `point_id` (1 if there is none)."""
    links = [(i, parent) for i, parent in session.execute(
        sa.select(CollectionPoint.id, CollectionPoint.parent_id).where(in_scope(scope))
        .order_by(CollectionPoint.id))]
    for index, (i, _) in enumerate(points.tree_order(links)):
        if i == point_id:
            return index // per_page + 1
    return 1


def _where(session: Session, filters: Filters) -> list[sa.ColumnElement[bool]]:
    where: list[sa.ColumnElement[bool]] = []
    q = filters.q.strip()[:QUERY_LIMIT]
    if q:
        text = [CollectionPoint.name.icontains(q, autoescape=True),
                CollectionPoint.code.icontains(q, autoescape=True),
                CollectionPoint.address.icontains(q, autoescape=True)]
        if q.isdigit() and len(q) <= 12:
            text.append(CollectionPoint.id == int(q))
        where.append(sa.or_(*text))
    if filters.kind is not None:
        where.append(CollectionPoint.kind == filters.kind)
    if filters.unit_id is not None:
        where.append(CollectionPoint.unit_id.in_(access.unit_subtree(session, filters.unit_id)))
    return where


def _path(nodes: dict[int, _Node], point_id: int) -> list[str]:
    names: list[str] = []
    seen = {point_id}
    parent = nodes[point_id].parent_id
    while parent is not None and parent in nodes and parent not in seen and len(names) < PATH_LIMIT:
        seen.add(parent)
        names.append(nodes[parent].name)
        parent = nodes[parent].parent_id
    return names[::-1]
