"""Scan analytics: how often each point's code was opened, per channel and day.

The Telegram deep link is counted by the engine's /start; the web chat page by
its GET, once per browser session. Reports per point come from the reports
themselves, so the console can set scans against reports.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa
from sqlalchemy.orm import Session

from store.models import Channel, PointScan, Report, utcnow


@dataclass(frozen=True)
class PointFigures:
    telegram: int = 0
    web: int = 0
    reports: int = 0

    @property
    def scans(self) -> int:
        return self.telegram + self.web


def record(session: Session, point_id: int, channel: Channel, day: date | None = None) -> None:
    """Count one opening of a point's code; the caller commits."""
    day = day or utcnow().date()
    row = session.scalar(sa.select(PointScan).where(
        PointScan.point_id == point_id, PointScan.channel == channel, PointScan.day == day))
    if row is None:
        session.add(PointScan(point_id=point_id, channel=channel, day=day, count=1))
    else:
        # Increment in SQL so two concurrent scans both count.
        row.count = PointScan.count + 1
    session.flush()


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
        out[point_id] = PointFigures(telegram=by.get("telegram", 0), web=by.get("web", 0),
                                     reports=int(reports.get(point_id, 0)))
    return out
