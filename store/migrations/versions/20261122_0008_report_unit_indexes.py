"""Indexes for a unit's inbox at scale: (unit, status, urgency, level) and (unit, created)

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-22 09:10:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = '0008'
down_revision: str | Sequence[str] | None = '0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('reports', schema=None) as batch_op:
        batch_op.create_index('ix_reports_unit_status',
                              ['unit_id', 'status', 'urgency', 'review_level'], unique=False)
        batch_op.create_index('ix_reports_unit_created', ['unit_id', 'created_at'], unique=False)
        # (unit_id, ...) serves every lookup the single-column index did.
        batch_op.drop_index('ix_reports_unit_id')


def downgrade() -> None:
    with op.batch_alter_table('reports', schema=None) as batch_op:
        batch_op.create_index('ix_reports_unit_id', ['unit_id'], unique=False)
        batch_op.drop_index('ix_reports_unit_created')
        batch_op.drop_index('ix_reports_unit_status')
