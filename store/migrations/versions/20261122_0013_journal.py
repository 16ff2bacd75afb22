"""Journals (issue 12): series, numbered issues, their items and history; 社情民意 and 信息专报 seeded

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-22 10:00:00
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision: str = '0013'
down_revision: str | Sequence[str] | None = '0012'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    series = op.create_table(
        'journal_series',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=40), nullable=False),
        sa.Column('publisher', sa.String(length=100), server_default='', nullable=False),
        sa.Column('single_item', sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column('template', sa.String(length=300), nullable=True),
        sa.Column('active', sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_journal_series')),
        sa.UniqueConstraint('name', name=op.f('uq_journal_series_name')),
    )
    op.create_table(
        'journal_issues',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('series_id', sa.Integer(), nullable=False),
        sa.Column('status', sa.Enum('draft', 'signed_off', 'published', name='issuestatus',
                                    native_enum=False, length=20, create_constraint=True),
                  nullable=False),
        sa.Column('year', sa.Integer(), nullable=True),
        sa.Column('number', sa.Integer(), nullable=True),
        sa.Column('total_number', sa.Integer(), nullable=True),
        sa.Column('note', sa.Text(), nullable=True),
        sa.Column('distribution', sa.JSON(), nullable=False),
        sa.Column('version', sa.Integer(), nullable=False),
        sa.Column('created_by_id', sa.Integer(), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('signed_off_by_id', sa.Integer(), nullable=True),
        sa.Column('signed_off_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('published_at', sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['created_by_id'], ['users.id'],
                                name=op.f('fk_journal_issues_created_by_id_users')),
        sa.ForeignKeyConstraint(['series_id'], ['journal_series.id'],
                                name=op.f('fk_journal_issues_series_id_journal_series')),
        sa.ForeignKeyConstraint(['signed_off_by_id'], ['users.id'],
                                name=op.f('fk_journal_issues_signed_off_by_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_journal_issues')),
        sa.UniqueConstraint('series_id', 'total_number', name='uq_journal_issues_total'),
        sa.UniqueConstraint('series_id', 'year', 'number', name='uq_journal_issues_number'),
    )
    op.create_index(op.f('ix_journal_issues_series_id'), 'journal_issues', ['series_id'])
    op.create_table(
        'journal_items',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('issue_id', sa.Integer(), nullable=False),
        sa.Column('report_id', sa.Integer(), nullable=False),
        sa.Column('position', sa.Integer(), nullable=False),
        sa.Column('title', sa.Text(), nullable=False),
        sa.Column('body', sa.Text(), nullable=False),
        sa.Column('note', sa.Text(), nullable=True),
        sa.Column('source', sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(['issue_id'], ['journal_issues.id'],
                                name=op.f('fk_journal_items_issue_id_journal_issues'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['report_id'], ['reports.id'],
                                name=op.f('fk_journal_items_report_id_reports')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_journal_items')),
        sa.UniqueConstraint('issue_id', 'report_id', name='uq_journal_items_report'),
    )
    op.create_index(op.f('ix_journal_items_issue_id'), 'journal_items', ['issue_id'])
    op.create_index(op.f('ix_journal_items_report_id'), 'journal_items', ['report_id'])
    op.create_table(
        'journal_events',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('issue_id', sa.Integer(), nullable=False),
        sa.Column('action', sa.String(length=30), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=True),
        sa.Column('note', sa.Text(), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['issue_id'], ['journal_issues.id'],
                                name=op.f('fk_journal_events_issue_id_journal_issues'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'],
                                name=op.f('fk_journal_events_user_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_journal_events')),
    )
    op.create_index(op.f('ix_journal_events_issue_id'), 'journal_events', ['issue_id'])
    # A frozen copy of store.models.journal.STANDARD_SERIES.
    now = datetime.now(UTC)
    op.bulk_insert(series, [
        {'name': '社情民意', 'publisher': '', 'single_item': False, 'template': None,
         'active': True, 'created_at': now},
        {'name': '信息专报', 'publisher': '', 'single_item': True, 'template': None,
         'active': True, 'created_at': now},
    ])


def downgrade() -> None:
    op.drop_table('journal_events')
    op.drop_table('journal_items')
    op.drop_table('journal_issues')
    op.drop_table('journal_series')
