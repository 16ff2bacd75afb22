"""PostgreSQL search index: each Chinese run's trigrams in a tsvector of their own

A three-character word (养老院) was a phrase of two bigrams. GIN keeps no
positions, so every report holding both bigrams had its word list read from
the table to check that they stand together: 75,000 reports, half a second, at
a million. `report_search.grams` now holds each run's trigrams at their
bigrams' positions (`store.search.text.tsvectors`), under the same GIN index
as the unit and the words: a three-character word is one trigram the index
answers alone. A longer one stays a phrase of bigrams checked against the words'
column, which the trigrams would have doubled.

The index is built again with the code that writes it (TRUNCATE, then the
GIN index once at the end): seconds for a county's reports; tens of minutes for
a million (`minyi seed`'s index phase, the same code, took 42 minutes on a
2-core machine shared with other jobs, 10 of them building the GIN index).
That code now also writes 0037's table, so the rebuild is 0037's: here the
column is added and the old GIN index dropped (an upgrade stops at 0036 only
when asked to; 0037 then builds the index with the trigrams).
SQLite's FTS5 keeps positions in its index and is not touched. Downgrading
drops the trigrams; the words' column is as 0035 wrote it.

Revision ID: 0036
Revises: 0035
Create Date: 2026-12-06 00:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = '0036'
down_revision: str | Sequence[str] | None = '0035'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if op.get_bind().dialect.name != 'postgresql':
        return
    op.execute("ALTER TABLE report_search ADD COLUMN IF NOT EXISTS grams TSVECTOR NOT NULL "
               "DEFAULT ''")
    # 0037 fills `grams` and makes the GIN index with it (`index.rebuild`); building the
    # old one's replacement here would be minutes wasted on a large office.
    op.execute("DROP INDEX IF EXISTS ix_report_search_unit_doc")


def downgrade() -> None:
    if op.get_bind().dialect.name != 'postgresql':
        return
    op.execute("DROP INDEX IF EXISTS ix_report_search_unit_doc")
    op.execute("ALTER TABLE report_search DROP COLUMN IF EXISTS grams")
    op.execute("CREATE INDEX ix_report_search_unit_doc ON report_search USING gin (unit_id, doc)")
