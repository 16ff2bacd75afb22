"""Department work of three kinds: transfers.kind (转办 / 批示落实 / 函送参考), instruction_id, reminded_for; due dates optional

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-22 12:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0014'
down_revision: str | Sequence[str] | None = '0013'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OPEN_REFERENCE = "kind = 'reference' AND status = 'open'"


def upgrade() -> None:
    # No table refers to transfers, so SQLite's batch copy of it is safe.
    # Every existing row is a 转办: the server default says so.
    with op.batch_alter_table('transfers', schema=None) as batch_op:
        batch_op.add_column(sa.Column('kind', sa.String(length=16), server_default='transfer',
                                      nullable=False))
        batch_op.add_column(sa.Column('instruction_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('reminded_for', sa.Date(), nullable=True))
        batch_op.alter_column('due_at', existing_type=sa.DateTime(timezone=True), nullable=True)
        batch_op.alter_column('escalate_at', existing_type=sa.DateTime(timezone=True),
                              nullable=True)
        batch_op.create_foreign_key(batch_op.f('fk_transfers_instruction_id_instructions'),
                                    'instructions', ['instruction_id'], ['id'])
        batch_op.create_unique_constraint(batch_op.f('uq_transfers_instruction_id'),
                                          ['instruction_id'])
        batch_op.create_index('uq_transfers_open_reference', ['report_id', 'department_id'],
                              unique=True, sqlite_where=sa.text(OPEN_REFERENCE),
                              postgresql_where=sa.text(OPEN_REFERENCE))


def downgrade() -> None:
    # Rows that are not 转办 have no place in the old table.
    op.execute("DELETE FROM transfers WHERE kind <> 'transfer'")
    with op.batch_alter_table('transfers', schema=None) as batch_op:
        batch_op.drop_index('uq_transfers_open_reference')
        batch_op.drop_constraint(batch_op.f('uq_transfers_instruction_id'), type_='unique')
        batch_op.drop_constraint(batch_op.f('fk_transfers_instruction_id_instructions'),
                                 type_='foreignkey')
        batch_op.alter_column('escalate_at', existing_type=sa.DateTime(timezone=True),
                              nullable=False)
        batch_op.alter_column('due_at', existing_type=sa.DateTime(timezone=True), nullable=False)
        batch_op.drop_column('reminded_for')
        batch_op.drop_column('instruction_id')
        batch_op.drop_column('kind')
