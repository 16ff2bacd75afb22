"""English for the console and the chat: users.language, reporters.language_chosen

Revision ID: 0029
Revises: 0028
Create Date: 2026-12-05 06:30:00

Every existing account keeps the Chinese console ("zh") until its owner
switches on 我的账号; every reporter keeps following their client's
language until they send /lang.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0029'
down_revision: str | Sequence[str] | None = '0028'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column('users', sa.Column('language', sa.String(length=8), server_default='zh', nullable=False))
    op.add_column('reporters', sa.Column('language_chosen', sa.Boolean(), server_default=sa.false(),
                                         nullable=False))


def downgrade() -> None:
    op.drop_column('reporters', 'language_chosen')
    op.drop_column('users', 'language')
