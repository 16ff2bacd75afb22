"""Reports indexed by category and time, with their adoption rank

The console's filtered page over the whole network (a category, a half-year,
已采用) counted every report of the period to find one category's: 270 ms at
a million reports on SQLite. With (category, created_at, adopted_rank) the
count reads one category's period from the index alone, since 已采用 is read
from `adopted_rank` (kept by `adoption.record` beside every adoption) rather
than by a lookup in adoptions per report.

Revision ID: 0035
Revises: 0034
Create Date: 2026-12-05 17:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = '0035'
down_revision: str | Sequence[str] | None = '0034'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index('ix_reports_category_created', 'reports',
                    ['category', 'created_at', 'adopted_rank'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_reports_category_created', table_name='reports')
