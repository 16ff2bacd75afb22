"""Collection points: kind, parent, import code, successor, revocation; point_scans

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22 06:40:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0004'
down_revision: str | Sequence[str] | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CHANNEL = sa.Enum('telegram', 'web', name='channel', native_enum=False,
                  create_constraint=True, length=20)
POINT_KIND = sa.Enum('county', 'township', 'street', 'community', 'member_studio', 'council_hall',
                     name='pointkind', native_enum=False, create_constraint=True, length=20)
FK_PARENT = 'fk_collection_points_parent_id_collection_points'
FK_SUCCESSOR = 'fk_collection_points_successor_id_collection_points'


def upgrade() -> None:
    op.create_table(
        'point_scans',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('point_id', sa.Integer(), nullable=False),
        sa.Column('channel', CHANNEL, nullable=False),
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('count', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['point_id'], ['collection_points.id'],
                                name=op.f('fk_point_scans_point_id_collection_points')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_point_scans')),
        sa.UniqueConstraint('point_id', 'channel', 'day', name='uq_point_scans_point_channel_day'),
    )
    with op.batch_alter_table('point_scans', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_point_scans_point_id'), ['point_id'], unique=False)

    with op.batch_alter_table('collection_points', schema=None) as batch_op:
        batch_op.add_column(sa.Column('kind', POINT_KIND, server_default='community',
                                      nullable=False))
        batch_op.add_column(sa.Column('parent_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('code', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('successor_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index(batch_op.f('ix_collection_points_parent_id'), ['parent_id'],
                              unique=False)
        batch_op.create_unique_constraint(batch_op.f('uq_collection_points_code'), ['code'])
        batch_op.create_foreign_key(batch_op.f(FK_SUCCESSOR), 'collection_points',
                                    ['successor_id'], ['id'])
        batch_op.create_foreign_key(batch_op.f(FK_PARENT), 'collection_points',
                                    ['parent_id'], ['id'])


def downgrade() -> None:
    with op.batch_alter_table('collection_points', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f(FK_PARENT), type_='foreignkey')
        batch_op.drop_constraint(batch_op.f(FK_SUCCESSOR), type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('uq_collection_points_code'), type_='unique')
        batch_op.drop_index(batch_op.f('ix_collection_points_parent_id'))
        batch_op.drop_column('revoked_at')
        batch_op.drop_column('successor_id')
        batch_op.drop_column('code')
        batch_op.drop_column('parent_id')
        batch_op.drop_column('kind')

    with op.batch_alter_table('point_scans', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_point_scans_point_id'))
    op.drop_table('point_scans')
