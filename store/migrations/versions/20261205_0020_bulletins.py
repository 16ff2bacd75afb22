"""通报: bulletins; users.bulletin_opt_out, reporters.bulletin_opt_out

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-05 05:31:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0020'
down_revision: str | Sequence[str] | None = '0019'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'bulletins',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('period', sa.String(length=30), nullable=False),
        sa.Column('since', sa.Date(), nullable=False),
        sa.Column('until', sa.Date(), nullable=False),
        sa.Column('xlsx', sa.LargeBinary(), nullable=False),
        sa.Column('docx', sa.LargeBinary(), nullable=False),
        sa.Column('built_by_id', sa.Integer(), nullable=True),
        sa.Column('built_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('messages', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['built_by_id'], ['users.id'],
                                name=op.f('fk_bulletins_built_by_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_bulletins')),
        sa.UniqueConstraint('period', name=op.f('uq_bulletins_period')),
    )
    # Plain ADD COLUMN: users and reporters are referred to by other tables (no batch copy).
    op.add_column('users', sa.Column('bulletin_opt_out', sa.Boolean(), server_default=sa.false(),
                                     nullable=False))
    op.add_column('reporters', sa.Column('bulletin_opt_out', sa.Boolean(),
                                         server_default=sa.false(), nullable=False))


def downgrade() -> None:
    op.drop_column('reporters', 'bulletin_opt_out')
    op.drop_column('users', 'bulletin_opt_out')
    op.drop_table('bulletins')
