"""Search index (SQLite FTS5 / PostgreSQL tsvector) and saved views

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-22 09:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0007'
down_revision: str | Sequence[str] | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen copies of store.search.index.ddl(): a migration must not import code that changes.
SQLITE = [
    "CREATE VIRTUAL TABLE IF NOT EXISTS report_fts USING fts5("
    "title, body, notes, tokenize='unicode61 remove_diacritics 0')",
    "INSERT INTO report_fts(report_fts, rank) VALUES('rank', 'bm25(10.0, 1.0, 0.5)')",
    "CREATE VIRTUAL TABLE IF NOT EXISTS report_fts_vocab USING fts5vocab(report_fts, 'row')",
]
POSTGRESQL = [
    "CREATE TABLE IF NOT EXISTS report_search ("
    "report_id INTEGER PRIMARY KEY REFERENCES reports(id) ON DELETE CASCADE, "
    "doc TSVECTOR NOT NULL)",
    "CREATE INDEX IF NOT EXISTS ix_report_search_doc ON report_search USING gin (doc)",
]


def upgrade() -> None:
    op.create_table(
        'saved_views',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=40), nullable=False),
        sa.Column('args', sa.JSON(), nullable=False),
        sa.Column('position', sa.Integer(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_saved_views_user_id_users'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_saved_views')),
        sa.UniqueConstraint('user_id', 'name', name='uq_saved_views_user_name'),
    )
    with op.batch_alter_table('saved_views', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_saved_views_user_id'), ['user_id'], unique=False)

    bind = op.get_bind()
    for statement in SQLITE if bind.dialect.name == 'sqlite' else POSTGRESQL:
        op.execute(statement)
    # Reports filed before this revision are indexed by `minyi init`
    # (store.search.rebuild), which knows how to tokenise them.


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == 'sqlite':
        op.execute("DROP TABLE IF EXISTS report_fts_vocab")
        op.execute("DROP TABLE IF EXISTS report_fts")
    else:
        op.execute("DROP TABLE IF EXISTS report_search")
    with op.batch_alter_table('saved_views', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_saved_views_user_id'))
    op.drop_table('saved_views')
