"""Processes apart: scheduled jobs' claimed runs, and each chat's outbox queue indexed

Revision ID: 0028
Revises: 0027
Create Date: 2026-12-05 06:45:00

`job_runs` holds one row per job and due time, inserted by the worker that
runs it (store.jobs); `ix_outbox_chat` serves the outbox claim's look for
an earlier unsent row to the same chat (store.delivery.outbox.claim_due).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0028'
down_revision: str | Sequence[str] | None = '0027'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'job_runs',
        sa.Column('job', sa.String(length=64), nullable=False),
        sa.Column('due_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('job', 'due_at', name=op.f('pk_job_runs')),
    )
    op.create_index('ix_outbox_chat', 'outbox', ['channel', 'chat_id', 'id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_outbox_chat', table_name='outbox')
    op.drop_table('job_runs')
