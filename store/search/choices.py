"""What the search form offers a user: only units, points and topics they may search in."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from store import access
from store.models import CollectionPoint, ReportStatus, Topic, Unit, User
from store.network import points, units
from store.review import chain as review


@dataclass
class Choices:
    statuses: list[ReportStatus]
    levels: list[tuple[int, str]]
    units: list[tuple[Unit, int]]
    points: list[tuple[CollectionPoint, int]]
    topics: list[Topic]


def for_user(session: Session, user: User) -> Choices:
    visible = access.visible_units(session, user)
    unit_rows = [(u, d) for u, d in units.tree(session) if visible is None or u.id in visible]
    query = sa.select(CollectionPoint).where(access.point_scope(session, user)) \
        .order_by(CollectionPoint.id)
    topics = list(session.scalars(sa.select(Topic).order_by(Topic.deadline.desc()).limit(50)))
    return Choices(
        statuses=list(ReportStatus),
        levels=[(i, lv.label()) for i, lv in enumerate(review.chain(session))],
        units=unit_rows,
        points=points.tree(list(session.scalars(query))),
        topics=topics,
    )
