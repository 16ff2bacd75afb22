"""Counter intake (代录): who on the staff entered a report for a walk-in citizen

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-22 09:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0006'
down_revision: str | Sequence[str] | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FK_ENTERED_BY = 'fk_reports_entered_by_id_users'


def upgrade() -> None:
    with op.batch_alter_table('reports', schema=None) as batch_op:
        batch_op.add_column(sa.Column('entered_by_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f(FK_ENTERED_BY), 'users', ['entered_by_id'], ['id'])


def downgrade() -> None:
    with op.batch_alter_table('reports', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f(FK_ENTERED_BY), type_='foreignkey')
        batch_op.drop_column('entered_by_id')
