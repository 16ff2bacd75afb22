"""API tokens' `marked` permission; roster contacts sealed with a blind index for duplicates

Revision ID: 0030
Revises: 0024
Create Date: 2026-12-05 06:40:00

`api_tokens.marked`: whether a token reads the content of reports marked above
公开 (tokens issued before read them as withheld; an administrator issues a new
one with the permission).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0030'
down_revision: str | Sequence[str] | None = '0024'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column('api_tokens', sa.Column('marked', sa.Boolean(), nullable=False,
                                          server_default=sa.false()))


def downgrade() -> None:
    op.drop_column('api_tokens', 'marked')
