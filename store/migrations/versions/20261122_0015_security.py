"""Security (issue 15): users.session_generation, conversations.refused_code, login_failures, scan_visitors

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-22 12:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0015'
down_revision: str | Sequence[str] | None = '0014'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column('users', sa.Column('session_generation', sa.Integer(), nullable=False,
                                     server_default=sa.text('0')))
    op.add_column('conversations', sa.Column('refused_code', sa.String(length=16), nullable=True))

    op.create_table('login_failures',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('username', sa.String(length=64), nullable=False),
    sa.Column('address', sa.String(length=64), nullable=False),
    sa.Column('reason', sa.String(length=16), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_login_failures'))
    )
    with op.batch_alter_table('login_failures', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_login_failures_address'), ['address'], unique=False)
        batch_op.create_index(batch_op.f('ix_login_failures_created_at'), ['created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_login_failures_username'), ['username'], unique=False)

    op.create_table('scan_visitors',
    sa.Column('point_id', sa.Integer(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('visitor', sa.String(length=32), nullable=False),
    sa.ForeignKeyConstraint(['point_id'], ['collection_points.id'],
                            name=op.f('fk_scan_visitors_point_id_collection_points')),
    sa.PrimaryKeyConstraint('point_id', 'day', 'visitor', name=op.f('pk_scan_visitors'))
    )


def downgrade() -> None:
    op.drop_table('scan_visitors')
    with op.batch_alter_table('login_failures', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_login_failures_username'))
        batch_op.drop_index(batch_op.f('ix_login_failures_created_at'))
        batch_op.drop_index(batch_op.f('ix_login_failures_address'))
    op.drop_table('login_failures')
    # Plain DROP COLUMN (SQLite has had it since 3.35): batch mode would copy the table and
    # drop the old one, which the rows of other tables that refer to users forbid.
    op.drop_column('conversations', 'refused_code')
    op.drop_column('users', 'session_generation')
