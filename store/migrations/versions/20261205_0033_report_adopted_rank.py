"""Reports keep the rank of the highest level that adopted them

Revision ID: 0033
Revises: 0032
Create Date: 2026-12-05 10:30:00

reports.adopted_rank (county 0 ... national 3; NULL: never adopted), kept
by `store.outputs.adoption.record` beside each adoption it writes, so the 统计
dashboard counts "adopted at each level or above" in its one grouped scan
instead of an IN list per level (issue 13). The backfill takes the maximum
over the adoptions already recorded; the dashboard's index carries it.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0033'
down_revision: str | Sequence[str] | None = '0032'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

LEVELS = ("county", "city", "province", "national")  # lowest first, as AdoptionLevel


def upgrade() -> None:
    op.add_column('reports', sa.Column('adopted_rank', sa.SmallInteger(), nullable=True))
    reports = sa.table('reports', sa.column('id'), sa.column('adopted_rank'))
    adoptions = sa.table('adoptions', sa.column('report_id'), sa.column('level'))
    rank = sa.case({level: i for i, level in enumerate(LEVELS)}, value=adoptions.c.level)
    op.execute(reports.update().values(adopted_rank=(
        sa.select(sa.func.max(rank)).where(adoptions.c.report_id == reports.c.id)
        .scalar_subquery())))
    op.drop_index('ix_reports_dashboard', table_name='reports')
    op.create_index('ix_reports_dashboard', 'reports',
                    ['unit_id', 'created_at', 'point_id', 'category', 'reporter_id', 'satisfaction',
                     'answer_workdays', 'decision_workdays', 'adopted_rank'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_reports_dashboard', table_name='reports')
    op.create_index('ix_reports_dashboard', 'reports',
                    ['unit_id', 'created_at', 'point_id', 'category', 'reporter_id', 'satisfaction',
                     'answer_workdays', 'decision_workdays'], unique=False)
    # SQLite drops an unindexed column in place (3.35+): no copy of the table whose rows
    # other tables point at.
    op.drop_column('reports', 'adopted_rank')
