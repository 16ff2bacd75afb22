"""Indexes for the 统计 dashboard: a period's reports, first answers and adoption levels

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-05 06:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = '0025'
down_revision: str | Sequence[str] | None = '0024'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index('ix_reports_dashboard', 'reports',
                    ['unit_id', 'created_at', 'point_id', 'category', 'reporter_id', 'decided_at',
                     'satisfaction'], unique=False)
    op.create_index('ix_report_events_action', 'report_events', ['action', 'report_id', 'created_at'],
                    unique=False)
    op.create_index('ix_adoptions_report_level', 'adoptions', ['report_id', 'level'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_adoptions_report_level', table_name='adoptions')
    op.drop_index('ix_report_events_action', table_name='report_events')
    op.drop_index('ix_reports_dashboard', table_name='reports')
