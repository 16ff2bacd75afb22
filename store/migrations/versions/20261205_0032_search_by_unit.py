"""PostgreSQL search index: each report's unit beside its words, in one GIN index

A county clerk's search asked the index for the whole network's matches and
dropped the other units' afterwards (slower than a LIKE scan for a common word
at 100,000 reports). With the unit in the index (btree_gin) the index answers
for the clerk's units only. SQLite's FTS5 index is unchanged.

Revision ID: 0032
Revises: 0031
Create Date: 2026-12-05 09:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = '0032'
down_revision: str | Sequence[str] | None = '0031'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen copies of store.search.index's DDL: a migration must not import code that changes.
UPGRADE = [
    "CREATE EXTENSION IF NOT EXISTS btree_gin SCHEMA public",
    "ALTER TABLE report_search ADD COLUMN IF NOT EXISTS unit_id INTEGER",
    "UPDATE report_search SET unit_id = reports.unit_id FROM reports "
    "WHERE reports.id = report_search.report_id",
    "CREATE INDEX IF NOT EXISTS ix_report_search_unit_doc ON report_search USING gin (unit_id, doc)",
    "DROP INDEX IF EXISTS ix_report_search_doc",
    "CREATE OR REPLACE FUNCTION report_search_unit() RETURNS trigger LANGUAGE plpgsql AS $$ "
    "BEGIN UPDATE report_search SET unit_id = NEW.unit_id WHERE report_id = NEW.id; "
    "RETURN NULL; END $$",
    "CREATE OR REPLACE TRIGGER report_search_unit AFTER UPDATE OF unit_id ON reports FOR EACH ROW "
    "WHEN (OLD.unit_id IS DISTINCT FROM NEW.unit_id) EXECUTE FUNCTION report_search_unit()",
    "ANALYZE report_search",
]
DOWNGRADE = [
    "DROP FUNCTION IF EXISTS report_search_unit() CASCADE",
    "CREATE INDEX IF NOT EXISTS ix_report_search_doc ON report_search USING gin (doc)",
    "DROP INDEX IF EXISTS ix_report_search_unit_doc",
    "ALTER TABLE report_search DROP COLUMN IF EXISTS unit_id",
]


def upgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        for statement in UPGRADE:
            op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        for statement in DOWNGRADE:
            op.execute(statement)
