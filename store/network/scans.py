"""Scan analytics: how often each point's code was opened, per channel and day.

A scan on a chat channel (Telegram's deep link, WeChat's parametric code) is
counted by the engine when it opens a conversation at a point; the web chat
page by its GET, once per browser session. Reports per point come from the reports
themselves, so the console can set scans against reports.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import date

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from store.models import Channel, PointScan, Report, utcnow


@dataclass(frozen=True)
class PointFigures:
    """A point's scans per channel (by `Channel` value) and its reports."""

    by_channel: Mapping[str, int] = field(default_factory=dict)
    reports: int = 0

    @property
    def scans(self) -> int:
        return sum(self.by_channel.values())

    def on(self, channel: Channel) -> int:
        return self.by_channel.get(channel.value, 0)


def record(session: Session, point_id: int, channel: Channel, day: date | None = None) -> None:
    """Count one opening of a point's code; the caller commits.

    One statement: the day's row is created or its count raised in SQL, so
    two scans at the same moment both count and neither fails.
    """
    day = day or utcnow().date()
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    statement = insert(PointScan).values(point_id=point_id, channel=channel, day=day, count=1)
    session.execute(statement.on_conflict_do_update(
        index_elements=[PointScan.point_id, PointScan.channel, PointScan.day],
        set_={"count": PointScan.count + 1}))


def figures(session: Session, point_ids: Collection[int] | None = None) -> dict[int, PointFigures]:
    """Scans by channel and reports submitted, per point id (points with neither are absent).

    `point_ids` limits the count to those points (a page of them); None counts every point.
    """
    scan_q = (sa.select(PointScan.point_id, PointScan.channel, sa.func.sum(PointScan.count))
              .group_by(PointScan.point_id, PointScan.channel))
    report_q = (sa.select(Report.point_id, sa.func.count(Report.id))
                .where(Report.point_id.is_not(None)).group_by(Report.point_id))
    if point_ids is not None:
        scan_q = scan_q.where(PointScan.point_id.in_(list(point_ids)))
        report_q = report_q.where(Report.point_id.in_(list(point_ids)))
    scans: dict[int, dict[str, int]] = {}
    for point_id, channel, total in session.execute(scan_q):
        scans.setdefault(point_id, {})[Channel(channel).value] = int(total)
    reports: dict[int, int] = {}
    for report_point, n in session.execute(report_q):
        if report_point is not None:
            reports[report_point] = int(n)
    out: dict[int, PointFigures] = {}
    for point_id in set(scans) | set(reports):
        by = scans.get(point_id, {})
        out[point_id] = PointFigures(by_channel=by, reports=int(reports.get(point_id, 0)))
    return out
