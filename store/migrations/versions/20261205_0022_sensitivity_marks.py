"""Sensitivity marks: reports.mark, export_log.marked, details links and their reads

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-05 05:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0022'
down_revision: str | Sequence[str] | None = '0021'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Every report so far is 公开 (0), as it was treated. Plain ADD COLUMN: other tables
    # refer to reports, so a batch copy of it fails on SQLite.
    op.add_column('reports', sa.Column('mark', sa.SmallInteger(), server_default=sa.text('0'),
                                       nullable=False))
    op.add_column('export_log', sa.Column('marked', sa.Boolean(), server_default=sa.false(),
                                          nullable=False))
    op.create_table(
        'details_links',
        sa.Column('token', sa.String(length=32), nullable=False),
        sa.Column('report_id', sa.Integer(), nullable=False),
        sa.Column('reporter_id', sa.Integer(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('opened_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('browser', sa.String(length=40), nullable=True),
        sa.ForeignKeyConstraint(['report_id'], ['reports.id'], name=op.f('fk_details_links_report_id_reports')),
        sa.ForeignKeyConstraint(['reporter_id'], ['reporters.id'], name=op.f('fk_details_links_reporter_id_reporters')),
        sa.PrimaryKeyConstraint('token', name=op.f('pk_details_links')),
    )
    op.create_index(op.f('ix_details_links_report_id'), 'details_links', ['report_id'], unique=False)
    op.create_index(op.f('ix_details_links_reporter_id'), 'details_links', ['reporter_id'], unique=False)
    op.create_table(
        'details_reads',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('token', sa.String(length=32), nullable=False),
        sa.Column('report_id', sa.Integer(), nullable=False),
        sa.Column('reporter_id', sa.Integer(), nullable=False),
        sa.Column('asked_by_id', sa.Integer(), nullable=True),
        sa.Column('allowed', sa.Boolean(), nullable=False),
        sa.Column('outcome', sa.String(length=20), nullable=False),
        sa.Column('address', sa.String(length=64), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['asked_by_id'], ['reporters.id'], name=op.f('fk_details_reads_asked_by_id_reporters')),
        sa.ForeignKeyConstraint(['report_id'], ['reports.id'], name=op.f('fk_details_reads_report_id_reports')),
        sa.ForeignKeyConstraint(['reporter_id'], ['reporters.id'], name=op.f('fk_details_reads_reporter_id_reporters')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_details_reads')),
    )
    op.create_index(op.f('ix_details_reads_created_at'), 'details_reads', ['created_at'], unique=False)
    op.create_index(op.f('ix_details_reads_report_id'), 'details_reads', ['report_id'], unique=False)
    op.create_index(op.f('ix_details_reads_token'), 'details_reads', ['token'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_details_reads_token'), table_name='details_reads')
    op.drop_index(op.f('ix_details_reads_report_id'), table_name='details_reads')
    op.drop_index(op.f('ix_details_reads_created_at'), table_name='details_reads')
    op.drop_table('details_reads')
    op.drop_index(op.f('ix_details_links_reporter_id'), table_name='details_links')
    op.drop_index(op.f('ix_details_links_report_id'), table_name='details_links')
    op.drop_table('details_links')
    op.drop_column('export_log', 'marked')
    op.drop_column('reports', 'mark')
