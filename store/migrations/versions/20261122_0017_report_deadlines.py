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
    with op.batch_alter_table('reports', schema=None) as batch_op:
        batch_op.add_column(sa.Column('due_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('answer_due_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('chased_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index('ix_reports_status_due', ['status', 'due_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('reports', schema=None) as batch_op:
        batch_op.drop_index('ix_reports_status_due')
        batch_op.drop_column('chased_at')
        batch_op.drop_column('answer_due_at')
        batch_op.drop_column('due_at')
