"""Reports that share a report's rarest words: candidates for the duplicate finder.

At a million reports the newest few hundred around a report's date cover
hours, not months, so `store.reports.similar` asks here first. A report's words that
almost every report holds (问题, 小区) say nothing; the rarest ones that at
least one other report holds are what a duplicate shares. SQLite's index
knows each token's document count (fts5vocab); on PostgreSQL that count is
not cheap, so there `candidates` returns None and the caller keeps to the
reports nearest in time.
"""

from __future__ import annotations

import threading
import time
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from store.models import Report
from store.search import index, text

RAREST = 6  # how many of the report's rarest words are searched for
# A word in more reports than this says little about which one is a duplicate,
# and ranking its matches would cost more than the page can spend.
COMMON = 5_000
# Counting a common token's reports walks its whole list (milliseconds each),
# so counts are remembered per database for a while: a stale count only
# shifts which rare words are chosen.
COUNT_TTL = 3600.0
_counts: dict[tuple[str, str], tuple[float, int]] = {}
_lock = threading.Lock()


def candidates(session: Session, report: Report, since: datetime, until: datetime,
               limit: int = 100) -> list[int] | None:
    """Ids of up to `limit` reports in [since, until] sharing the report's rarest words, best first."""
    if session.get_bind().dialect.name != "sqlite":
        return None
    fold = index.fold_traditional(session)
    words = {t for t in text.tokens(f"{report.title} {report.situation[:80]}", fold)
             if len(t) > 1}
    if not words:
        return []
    counts = _document_counts(session, words)
    shared = sorted((doc, term) for term, doc in counts.items() if 1 < doc <= COMMON)[:RAREST]
    if not shared:
        return []
    match = index.STAFF_WORD_COLUMNS + " : (" + " OR ".join(f'"{term}"' for _, term in shared) + ")"
    fts = sa.table(index.FTS_TABLE, sa.column("rowid"), sa.column("rank"))
    rows = session.scalars(
        sa.select(fts.c.rowid).join(Report, Report.id == fts.c.rowid)
        .where(sa.literal_column(index.FTS_TABLE).op("MATCH")(sa.literal(match)),
               Report.id != report.id, Report.created_at.between(since, until))
        .order_by(fts.c.rank).limit(limit))
    return list(rows)


def _document_counts(session: Session, words: set[str]) -> dict[str, int]:
    db = str(session.get_bind().engine.url)
    now = time.monotonic()
    out: dict[str, int] = {}
    with _lock:
        if len(_counts) > 200_000:
            _counts.clear()
        for word in words:
            hit = _counts.get((db, word))
            if hit is not None and now - hit[0] < COUNT_TTL:
                out[word] = hit[1]
    missing = sorted(words - set(out))
    if missing:
        rows = session.execute(
            sa.text(f"SELECT term, doc FROM {index.FTS_TABLE}_vocab WHERE term IN :terms")
            .bindparams(sa.bindparam("terms", expanding=True)), {"terms": missing}).all()
        found = {term: doc for term, doc in rows}
        with _lock:
            for word in missing:
                out[word] = found.get(word, 0)
                _counts[(db, word)] = (now, out[word])
    return out
