"""API tokens' `marked` permission; roster contacts sealed with a blind index for duplicates

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-05 06:40:00

`api_tokens.marked`: whether a token reads the content of reports marked above
公开 (tokens issued before read them as withheld; an administrator issues a new
one with the permission).

`members.contact` becomes sealed TEXT beside a new `contact_digest` (a keyed
hash of the normalised contact, `store.blindindex`); the same person is now
(name, contact_digest). Schema only, like 0024: `minyi init` right after the
upgrade seals the contacts and fills the digests (store.rekey), with the data
key from the settings. Until then the digests are empty, so a duplicate is
not caught: run init before starting the service, as after 0024.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import sqlalchemy as sa
from alembic import op
from alembic.operations import BatchOperations

revision: str = '0026'
down_revision: str | Sequence[str] | None = '0025'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _members(change: Callable[[BatchOperations], None]) -> None:
    """Change `members` in place (PostgreSQL) or by a copy (SQLite), its rows kept.

    SQLite copies the table, which it refuses while rows of other tables refer
    to it and foreign keys are enforced: enforcement is off for the copy only
    (a pragma that takes effect only between transactions, so what ran before
    is committed first and the copy is a transaction of its own), and
    `PRAGMA foreign_key_check` proves nothing was broken.
    """
    if op.get_bind().dialect.name != 'sqlite':
        with op.batch_alter_table('members') as batch:
            change(batch)
        return
    conn = op.get_bind()
    conn.commit()  # the pragma is ignored inside a transaction
    _pragma(conn, 'foreign_keys=OFF')
    try:
        with op.batch_alter_table('members', recreate='always') as batch:
            change(batch)
        broken = conn.exec_driver_sql('PRAGMA foreign_key_check').fetchall()
        if broken:
            raise RuntimeError(f'copying members broke references: {broken[:5]}')
        conn.commit()
    finally:
        conn.rollback()
        _pragma(conn, 'foreign_keys=ON')


def _pragma(conn: sa.Connection, pragma: str) -> None:
    # Straight to the driver: SQLAlchemy would open a transaction (BEGIN) first.
    dbapi = conn.connection.dbapi_connection
    assert dbapi is not None
    cursor = dbapi.cursor()
    cursor.execute(f'PRAGMA {pragma}')
    cursor.close()


def _upgrade_members(batch: BatchOperations) -> None:
    batch.alter_column('contact', type_=sa.Text(), existing_type=sa.String(length=200),
                       existing_nullable=True)
    batch.add_column(sa.Column('contact_digest', sa.String(length=64), nullable=True))
    batch.drop_constraint('uq_members_name_contact', type_='unique')
    batch.create_unique_constraint('uq_members_name_contact_digest', ['name', 'contact_digest'])


def _downgrade_members(batch: BatchOperations) -> None:
    batch.drop_constraint('uq_members_name_contact_digest', type_='unique')
    batch.drop_column('contact_digest')
    batch.alter_column('contact', type_=sa.String(length=200), existing_type=sa.Text(),
                       existing_nullable=True)
    batch.create_unique_constraint('uq_members_name_contact', ['name', 'contact'])


def upgrade() -> None:
    op.add_column('api_tokens', sa.Column('marked', sa.Boolean(), nullable=False,
                                          server_default=sa.false()))
    _members(_upgrade_members)


def downgrade() -> None:
    _members(_downgrade_members)
    op.drop_column('api_tokens', 'marked')
