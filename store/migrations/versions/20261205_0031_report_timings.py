"""Reports keep their first answer and the working days to it and to the decision

Revision ID: 0031
Revises: 0030
Create Date: 2026-12-05 09:40:00

reports.answered_at (the first adopt, decline, return or merge in the
report's history), reports.answer_workdays and reports.decision_workdays
(working days from filing, in the office's calendar), so the 统计 dashboard
groups by them instead of reading every report's history (issue 13). The
backfill takes the moments from report_events and counts the days with
`store.reports.timings.recount`, the same code the lifecycle and a calendar
change use. The dashboard's index carries the counts instead of decided_at.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.orm import Session

revision: str = '0031'
down_revision: str | Sequence[str] | None = '0030'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ANSWERS = ("adopt", "decline", "return", "merge")


def upgrade() -> None:
    op.add_column('reports', sa.Column('answered_at', sa.DateTime(timezone=True), nullable=True))
    op.add_column('reports', sa.Column('answer_workdays', sa.SmallInteger(), nullable=True))
    op.add_column('reports', sa.Column('decision_workdays', sa.SmallInteger(), nullable=True))
    reports = sa.table('reports', sa.column('id'), sa.column('answered_at'))
    events = sa.table('report_events', sa.column('report_id'), sa.column('action'),
                      sa.column('created_at'))
    op.execute(reports.update().values(answered_at=(
        sa.select(sa.func.min(events.c.created_at))
        .where(events.c.report_id == reports.c.id, events.c.action.in_(ANSWERS))
        .scalar_subquery())))
    from store.reports import timings  # the one counter of working days, as the lifecycle uses it

    with Session(bind=op.get_bind()) as session:
        timings.recount(session)
    op.drop_index('ix_reports_dashboard', table_name='reports')
    op.create_index('ix_reports_dashboard', 'reports',
                    ['unit_id', 'created_at', 'point_id', 'category', 'reporter_id', 'satisfaction',
                     'answer_workdays', 'decision_workdays'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_reports_dashboard', table_name='reports')
    op.create_index('ix_reports_dashboard', 'reports',
                    ['unit_id', 'created_at', 'point_id', 'category', 'reporter_id', 'decided_at',
                     'satisfaction'], unique=False)
    # SQLite drops unindexed columns in place (3.35+): a batch copy of the table would drop
    # `reports`, which other tables' rows point at (FOREIGN KEY constraint failed).
    for column in ('decision_workdays', 'answer_workdays', 'answered_at'):
        op.drop_column('reports', column)
