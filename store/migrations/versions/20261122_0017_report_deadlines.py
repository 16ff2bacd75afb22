"""Deadlines in working days: reports.due_at, answer_due_at, chased_at

Revision ID: 0017
Revises: 0016
Create Date: 2026-11-22 12:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0017'
down_revision: str | Sequence[str] | None = '0016'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Reports already in review get no deadline: none was set or told when they came in.
    # Plain ADD/DROP COLUMN: batch mode would copy `reports` and drop the old table, which
    # the rows of other tables that refer to reports forbid on SQLite.
    op.add_column('reports', sa.Column('due_at', sa.DateTime(timezone=True), nullable=True))
    op.add_column('reports', sa.Column('answer_due_at', sa.DateTime(timezone=True), nullable=True))
    op.add_column('reports', sa.Column('chased_at', sa.DateTime(timezone=True), nullable=True))
    op.create_index('ix_reports_status_due', 'reports', ['status', 'due_at'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_reports_status_due', table_name='reports')
    op.drop_column('reports', 'chased_at')
    op.drop_column('reports', 'answer_due_at')
    op.drop_column('reports', 'due_at')
