"""批示落实 changes as rows: followup_steps (改派, 督办)

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-05 06:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0018'
down_revision: str | Sequence[str] | None = '0017'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A new table only: instructions assigned before it have no steps, which is what happened.
    op.create_table(
        'followup_steps',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('transfer_id', sa.Integer(), nullable=False),
        sa.Column('action', sa.String(length=16), nullable=False),
        sa.Column('from_department_id', sa.Integer(), nullable=True),
        sa.Column('to_department_id', sa.Integer(), nullable=True),
        sa.Column('due_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('note', sa.Text(), nullable=True),
        sa.Column('user_id', sa.Integer(), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['from_department_id'], ['units.id']),
        sa.ForeignKeyConstraint(['to_department_id'], ['units.id']),
        sa.ForeignKeyConstraint(['transfer_id'], ['transfers.id']),
        sa.ForeignKeyConstraint(['user_id'], ['users.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_followup_steps_transfer_id', 'followup_steps', ['transfer_id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_followup_steps_transfer_id', table_name='followup_steps')
    op.drop_table('followup_steps')
