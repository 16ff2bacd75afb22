"""Scan analytics: how often each point's code was opened, per channel and day.

A scan on a chat channel (Telegram's deep link, WeChat's parametric code) is
counted by the engine when it opens a conversation at a point; the web chat
page by its GET. Each visitor counts once per point and day (`ScanVisitor`: a
chat user, or the web chat's client address, as a keyed hash), so one device
cannot inflate a point's figures with fresh cookies or repeated /start. Reports
per point come from the reports themselves, so the console can set scans
against reports.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from store import prepared
from store.models import Channel, PointScan, Report, ScanVisitor, utcnow
from store.upsert import insert_for


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


def visitor_key(secret: str, who: str) -> str:
    """Who scanned, as kept: a keyed hash (an address or chat id is not stored)."""
    return hmac.new(secret.encode(), f"scan:{who}".encode(), hashlib.sha256).hexdigest()[:32]


def record(session: Session, point_id: int, channel: Channel, day: date | None = None, *,
           visitor: str | None = None) -> bool:
    """Count one opening of a point's code, once per `visitor` (a `visitor_key`) a day;
    whether it counted. The caller commits.

    One statement each: the visitor's row is claimed with ON CONFLICT DO NOTHING,
    and the day's count created or raised in SQL, so scans at the same moment all
    count and none fails.
    """
    day = day or utcnow().date()
    conn = session.connection()
    if visitor is not None:
        claimed = _CLAIM.first(conn, {"point_id": point_id, "day": day, "visitor": visitor})
        if claimed is None:
            return False
    _COUNT.rows(conn, {"point_id": point_id, "channel": channel, "day": day, "count": 1})
    return True


# `record`'s two statements, each dialect's INSERT … ON CONFLICT, prepared (store.prepared):
# a scan opens most conversations.
def _claim(dialect: str) -> Any:
    visitors = ScanVisitor.__table__
    return (insert_for(dialect, visitors).values(prepared.binds(visitors, "point_id", "day", "visitor"))
            .on_conflict_do_nothing().returning(visitors.c.point_id))


def _count(dialect: str) -> Any:
    scans = PointScan.__table__
    return insert_for(dialect, scans).values(
        prepared.binds(scans, "point_id", "channel", "day", "count")).on_conflict_do_update(
        index_elements=[scans.c.point_id, scans.c.channel, scans.c.day],
        set_={"count": scans.c.count + 1})


_CLAIM, _COUNT = prepared.Prepared(_claim), prepared.Prepared(_count)


def prune_visitors(session: Session, now: datetime | None = None) -> int:
    """Forget who scanned before yesterday (only today's visitors matter); how many rows went."""
    cutoff = (now or utcnow()).date() - timedelta(days=1)
    result = session.execute(sa.delete(ScanVisitor).where(ScanVisitor.day < cutoff))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


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
