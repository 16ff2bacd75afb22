"""Idempotent web chat input: web_chat_sends

Revision ID: 0030
Revises: 0029
Create Date: 2026-12-05 09:30:00

One row per message the web chat page sent, keyed by its client message id
(`mid`) and inserted in the transaction that applied it, so a resend is
answered from the transcript instead of applied twice
(store.delivery.webchat.claim). Housekeeping forgets rows after a day.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0030'
down_revision: str | Sequence[str] | None = '0029'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'web_chat_sends',
        sa.Column('chat_id', sa.String(length=64), nullable=False),
        sa.Column('mid', sa.String(length=64), nullable=False),
        sa.Column('first_id', sa.Integer(), nullable=True),
        sa.Column('last_id', sa.Integer(), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('chat_id', 'mid', name=op.f('pk_web_chat_sends')),
    )
    op.create_index(op.f('ix_web_chat_sends_created_at'), 'web_chat_sends', ['created_at'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_web_chat_sends_created_at'), table_name='web_chat_sends')
    op.drop_table('web_chat_sends')
