"""PostgreSQL search index: each report's normalised text in the row, for phrases

GIN knows which reports hold a word's bigrams, not whether they stand in a row,
so every match of a phrase (a Chinese word of three characters or more) was
checked on its word list, stored apart from the row: 1.7 s for a common
three-character word at a million reports. With the text in the row a phrase
is a `strpos` in it. Rows indexed before this revision have none (NULL) and are
checked on their word list as before, until `minyi search rebuild` (or any
change to the report) indexes them again; the migration does not tokenise text.

Revision ID: 0036
Revises: 0035
Create Date: 2026-12-05 20:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = '0036'
down_revision: str | Sequence[str] | None = '0035'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen copies of store.search.index's DDL: a migration must not import code that changes.
UPGRADE = [
    "ALTER TABLE report_search ADD COLUMN IF NOT EXISTS plain TEXT",
    "ALTER TABLE report_search ALTER COLUMN plain SET STORAGE MAIN",
]
DOWNGRADE = ["ALTER TABLE report_search DROP COLUMN IF EXISTS plain"]


def upgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        for statement in UPGRADE:
            op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        for statement in DOWNGRADE:
            op.execute(statement)
