"""PostgreSQL search index: long words checked in each report's long runs

A word of four characters or more was a phrase of bigrams, and GIN keeps no
positions: the phrase was checked in every candidate's word list, stored
apart from its row and uncompressed (4.8 KB, three pages of TOAST). At a
million reports a nine-character word's 25,257 matches took 292 ms to count.
Such a word is now the trigrams that cover it, which the index answers
alone, and a substring check in `report_runs`: per report, its Chinese runs
of four characters or more (`store.search.text.long_runs`), a short row in a
table of its own so that `report_search`'s rows stay narrow.

The table is filled here by rebuilding the whole index with the code that
writes it, as 0036 did (the trigrams 0036 added are written by the same
rebuild): seconds for a county's reports, about 20 minutes for a million.
SQLite's FTS5 keeps positions and is not touched. Downgrading drops the
table; the code of 0036 answers long words as phrases of the words' column,
which this revision leaves as it was.

Revision ID: 0037
Revises: 0036
Create Date: 2026-12-06 00:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op
from sqlalchemy.orm import Session

revision: str = '0037'
down_revision: str | Sequence[str] | None = '0036'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if op.get_bind().dialect.name != 'postgresql':
        return
    from store.search import index  # the one writer of the index, as the flush hook uses it

    op.execute(index.PG_RUNS_DDL)
    with Session(bind=op.get_bind()) as session:
        index.rebuild(session, alone=True)


def downgrade() -> None:
    if op.get_bind().dialect.name != 'postgresql':
        return
    op.execute("DROP TABLE IF EXISTS report_runs")
