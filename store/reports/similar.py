"""Finding likely duplicates: reports that tell the same story in other words.

Chinese has no spaces, so texts are compared as sets of character bigrams
(Latin words and numbers count as whole tokens). The text score is weighted
by what makes a duplicate likelier: the same collection point, the same
category, and closeness in time.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from store import access
from store.models import Report, ReportStatus, User
from store.search import related

WINDOW = timedelta(days=180)
RECENT = timedelta(days=30)
CANDIDATES = 500
# With the index's help: this many reports nearest in time besides those sharing rare words.
NEAREST = 60
# Below this, two reports share little more than common words and place names.
MIN_SCORE = 0.2
# Reports that cannot take a merge are not offered (see store.reports.merging).
NOT_CANDIDATES = (ReportStatus.MERGED, ReportStatus.NOT_ADOPTED)

_LATIN = re.compile(r"[a-z0-9]+")
_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")


def tokens(text: str) -> set[str]:
    """Character bigrams of each run of Chinese, plus whole Latin words and numbers."""
    text = unicodedata.normalize("NFKC", text or "").lower()
    out = set(_LATIN.findall(text))
    for run in _CJK.findall(text):
        if len(run) == 1:
            out.add(run)
        out.update(run[i:i + 2] for i in range(len(run) - 1))
    return out


def dice(a: set[str], b: set[str]) -> float:
    if not a or not b:
        return 0.0
    return 2 * len(a & b) / (len(a) + len(b))


def _text_score(report: Report, other: Report, mine: tuple[set[str], set[str]]) -> float:
    title, body = mine
    # Titles are short and pointed; the body carries the facts. Both count.
    return 0.4 * dice(title, tokens(other.title)) + \
        0.6 * dice(body, tokens(f"{other.title} {other.situation}"))


def score(report: Report, other: Report) -> float:
    """How likely `other` tells the same story as `report`, 0 to 1."""
    mine = (tokens(report.title), tokens(f"{report.title} {report.situation}"))
    return _weighted(report, other, _text_score(report, other, mine))


def _weighted(report: Report, other: Report, text: float) -> float:
    bonus = 0.8
    if report.point_id is not None and report.point_id == other.point_id:
        bonus += 0.1
    if report.category == other.category:
        bonus += 0.1
    apart = abs(report.created_at - other.created_at)
    # Full weight within a month, fading to 0.7 at the window's edge.
    fade = 1.0 if apart <= RECENT else 1.0 - 0.3 * min(1.0, (apart - RECENT) / (WINDOW - RECENT))
    return text * bonus * fade


def similar(session: Session, report: Report, user: User, limit: int = 5) -> list[tuple[Report, float]]:
    """Up to `limit` reports `user` may see most like `report`, best first, with scores in 0..1.

    Leaves out `report` itself, reports already merged into it, and reports
    that cannot take a merge (merged or not adopted).
    """
    window = (report.created_at - WINDOW, report.created_at + WINDOW)
    scopes = access.report_scopes(session, user)
    rest = (Report.id != report.id, Report.status.not_in(NOT_CANDIDATES),
            Report.created_at.between(*window))
    scope = sa.and_(scopes[0] if len(scopes) == 1 else sa.or_(*scopes), *rest)
    newest = (Report.created_at.desc(), Report.id.desc())
    # Where the index can say, the reports sharing the report's rarest words
    # anywhere in the window, and the few nearest in time; else the nearest.
    wordy = related.candidates(session, report, *window)
    if wordy is None:
        query = sa.select(Report).where(scope).order_by(*newest).limit(CANDIDATES)
    else:
        ids = set(wordy) | set(_nearest(session, scopes, rest))
        query = sa.select(Report).where(scope, Report.id.in_(ids))
    mine = (tokens(report.title), tokens(f"{report.title} {report.situation}"))
    ranked = []
    for other in session.scalars(query):
        if other.merged_into_id == report.id:
            continue
        value = _weighted(report, other, _text_score(report, other, mine))
        if value >= MIN_SCORE:
            ranked.append((other, round(value, 4)))
    ranked.sort(key=lambda pair: (-pair[1], -pair[0].id))
    return ranked[:limit]



def _nearest(session: Session, scopes: list[sa.ColumnElement[bool]],
             rest: tuple[sa.ColumnElement[bool], ...]) -> list[int]:
    """The `NEAREST` newest reports in any of `scopes`: each scope walked on its own index and
    the walks merged. Under one OR (a unit's reports, or those reported up to it) SQLite
    gathers and sorts every report of the unit in the window: 120 ms at a million reports."""
    rows: dict[int, tuple[datetime, int]] = {}
    for clause in scopes:
        for row_id, created in session.execute(
                sa.select(Report.id, Report.created_at).where(clause, *rest)
                .order_by(Report.created_at.desc(), Report.id.desc()).limit(NEAREST)):
            rows[row_id] = (created, row_id)
    return sorted(rows, key=rows.__getitem__, reverse=True)[:NEAREST]
