"""Members and informants (binding codes, reporter unit), topic calls (topics, report topic)

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-22 07:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0005'
down_revision: str | Sequence[str] | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FK_REPORTER_UNIT = 'fk_reporters_unit_id_units'
FK_REPORT_TOPIC = 'fk_reports_topic_id_topics'


def upgrade() -> None:
    op.create_table(
        'binding_codes',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('code', sa.String(length=16), nullable=False),
        sa.Column('name', sa.String(length=100), nullable=False),
        sa.Column('role', sa.String(length=20), nullable=False),
        sa.Column('unit_id', sa.Integer(), nullable=True),
        sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('used_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('reporter_id', sa.Integer(), nullable=True),
        sa.Column('created_by_id', sa.Integer(), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['created_by_id'], ['users.id'],
                                name=op.f('fk_binding_codes_created_by_id_users')),
        sa.ForeignKeyConstraint(['reporter_id'], ['reporters.id'],
                                name=op.f('fk_binding_codes_reporter_id_reporters')),
        sa.ForeignKeyConstraint(['unit_id'], ['units.id'],
                                name=op.f('fk_binding_codes_unit_id_units')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_binding_codes')),
        sa.UniqueConstraint('code', name=op.f('uq_binding_codes_code')),
    )
    op.create_table(
        'topics',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('title', sa.String(length=200), nullable=False),
        sa.Column('description', sa.Text(), nullable=False),
        sa.Column('deadline', sa.DateTime(timezone=True), nullable=False),
        sa.Column('created_by_id', sa.Integer(), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['created_by_id'], ['users.id'],
                                name=op.f('fk_topics_created_by_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_topics')),
    )
    with op.batch_alter_table('topics', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_topics_deadline'), ['deadline'], unique=False)

    with op.batch_alter_table('reporters', schema=None) as batch_op:
        batch_op.add_column(sa.Column('member_name', sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column('member_role', sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column('unit_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('topics_opt_in', sa.Boolean(), server_default=sa.false(),
                                      nullable=False))
        batch_op.create_index(batch_op.f('ix_reporters_unit_id'), ['unit_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f(FK_REPORTER_UNIT), 'units', ['unit_id'], ['id'])

    with op.batch_alter_table('reports', schema=None) as batch_op:
        batch_op.add_column(sa.Column('topic_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_reports_topic_id'), ['topic_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f(FK_REPORT_TOPIC), 'topics', ['topic_id'], ['id'])


def downgrade() -> None:
    with op.batch_alter_table('reports', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f(FK_REPORT_TOPIC), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_reports_topic_id'))
        batch_op.drop_column('topic_id')

    with op.batch_alter_table('reporters', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f(FK_REPORTER_UNIT), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_reporters_unit_id'))
        batch_op.drop_column('topics_opt_in')
        batch_op.drop_column('unit_id')
        batch_op.drop_column('member_role')
        batch_op.drop_column('member_name')

    with op.batch_alter_table('topics', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_topics_deadline'))
    op.drop_table('topics')
    op.drop_table('binding_codes')
