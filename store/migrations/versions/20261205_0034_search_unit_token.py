"""SQLite search index: each report's unit as a token in a column of its own

A county clerk's search matched the whole network in FTS5 and dropped the other
units' reports afterwards. With the unit a token of the FTS5 table (`unit`
column, `u<unit id>`) the clerk's MATCH names the units and FTS5 steps over the
rest. FTS5 cannot add a column, so the table is made again from the tokens it
already holds (no text is tokenised here) and a trigger follows a report that
changes unit, as PostgreSQL's does since 0032.

Revision ID: 0034
Revises: 0033
Create Date: 2026-12-05 13:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = '0034'
down_revision: str | Sequence[str] | None = '0033'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TOKENIZE = "tokenize='unicode61 remove_diacritics 0'"
# Frozen copies of store.search.index's DDL: a migration must not import code that changes.
UPGRADE = [
    f"CREATE VIRTUAL TABLE report_fts_new USING fts5(title, body, notes, unit, {TOKENIZE})",
    "INSERT INTO report_fts_new(rowid, title, body, notes, unit) "
    "SELECT f.rowid, f.title, f.body, f.notes, COALESCE('u' || r.unit_id, '') "
    "FROM report_fts AS f JOIN reports AS r ON r.id = f.rowid",
    "DROP TABLE IF EXISTS report_fts_vocab",
    "DROP TABLE report_fts",
    "ALTER TABLE report_fts_new RENAME TO report_fts",
    "INSERT INTO report_fts(report_fts, rank) VALUES('rank', 'bm25(10.0, 1.0, 0.5, 0.0)')",
    "INSERT INTO report_fts(report_fts) VALUES('optimize')",
    "CREATE VIRTUAL TABLE IF NOT EXISTS report_fts_vocab USING fts5vocab(report_fts, 'row')",
    "CREATE TRIGGER IF NOT EXISTS report_fts_unit AFTER UPDATE OF unit_id ON reports "
    "WHEN OLD.unit_id IS NOT NEW.unit_id BEGIN "
    "UPDATE report_fts SET unit = COALESCE('u' || NEW.unit_id, '') WHERE rowid = NEW.id; END",
]
DOWNGRADE = [
    "DROP TRIGGER IF EXISTS report_fts_unit",
    f"CREATE VIRTUAL TABLE report_fts_old USING fts5(title, body, notes, {TOKENIZE})",
    "INSERT INTO report_fts_old(rowid, title, body, notes) "
    "SELECT rowid, title, body, notes FROM report_fts",
    "DROP TABLE IF EXISTS report_fts_vocab",
    "DROP TABLE report_fts",
    "ALTER TABLE report_fts_old RENAME TO report_fts",
    "INSERT INTO report_fts(report_fts, rank) VALUES('rank', 'bm25(10.0, 1.0, 0.5)')",
    "CREATE VIRTUAL TABLE IF NOT EXISTS report_fts_vocab USING fts5vocab(report_fts, 'row')",
]


def upgrade() -> None:
    if op.get_bind().dialect.name == 'sqlite':
        for statement in UPGRADE:
            op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == 'sqlite':
        for statement in DOWNGRADE:
            op.execute(statement)
