"""Scoring and assessment series: score_rule_sets, assessment_series, series_members

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-05 05:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0019'
down_revision: str | Sequence[str] | None = '0018'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'score_rule_sets',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('effective_from', sa.Date(), nullable=False),
        sa.Column('points', sa.JSON(), nullable=False),
        sa.Column('note', sa.String(length=200), nullable=True),
        sa.Column('created_by_id', sa.Integer(), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['created_by_id'], ['users.id'],
                                name=op.f('fk_score_rule_sets_created_by_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_score_rule_sets')),
        sa.UniqueConstraint('effective_from', name=op.f('uq_score_rule_sets_effective_from')),
    )
    op.create_table(
        'assessment_series',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=60), nullable=False),
        sa.Column('position', sa.Integer(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_assessment_series')),
        sa.UniqueConstraint('name', name=op.f('uq_assessment_series_name')),
    )
    op.create_table(
        'series_members',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('series_id', sa.Integer(), nullable=False),
        sa.Column('unit_id', sa.Integer(), nullable=False),
        sa.Column('year', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['series_id'], ['assessment_series.id'], ondelete='CASCADE',
                                name=op.f('fk_series_members_series_id_assessment_series')),
        sa.ForeignKeyConstraint(['unit_id'], ['units.id'],
                                name=op.f('fk_series_members_unit_id_units')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_series_members')),
        sa.UniqueConstraint('unit_id', 'year', name='uq_series_members_unit_year'),
    )
    op.create_index(op.f('ix_series_members_series_id'), 'series_members', ['series_id'],
                    unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_series_members_series_id'), table_name='series_members')
    op.drop_table('series_members')
    op.drop_table('assessment_series')
    op.drop_table('score_rule_sets')
