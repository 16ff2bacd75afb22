"""Reporters' identity sealed at rest: the sealed columns become TEXT (conversations.answers too)

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-05 05:30:00

Schema only: a sealed value (`enc1:<key id>:<Fernet token>`) is several times
longer than the text it holds. The values themselves are sealed by
`minyi init` right after upgrading (store.rekey, with the data key from the
settings), which finds plain text by its missing prefix, so running it again
is harmless; until then a plain value still reads as it is.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0024'
down_revision: str | Sequence[str] | None = '0023'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COLUMNS = (('reporters', 'display_name', 200, True), ('reporters', 'contact', 200, True),
           ('reporters', 'member_name', 100, True), ('reports', 'contact', 200, True),
           ('binding_codes', 'name', 100, False))


def _retype(table: str, column: str, new: sa.types.TypeEngine[str], nullable: bool) -> None:
    if op.get_bind().dialect.name != 'sqlite':
        op.alter_column(table, column, type_=new, existing_nullable=nullable)
        return
    # SQLite cannot change a column's type in place, and a batch copy of `reports` or
    # `reporters` is refused while other tables refer to them: add, copy, drop, rename.
    op.add_column(table, sa.Column(f'{column}_new', new, nullable=nullable,
                                   server_default=None if nullable else ''))
    op.execute(f'UPDATE {table} SET {column}_new = {column}')
    op.drop_column(table, column)
    op.execute(f'ALTER TABLE {table} RENAME COLUMN {column}_new TO {column}')


def upgrade() -> None:
    for table, column, _, nullable in COLUMNS:
        _retype(table, column, sa.Text(), nullable)
    # A chat's draft answers, sealed as a whole: the JSON text they held reads as it is.
    if op.get_bind().dialect.name != 'sqlite':
        op.alter_column('conversations', 'answers', type_=sa.Text(), existing_nullable=False,
                        postgresql_using='answers::text')
    else:
        op.add_column('conversations', sa.Column('answers_new', sa.Text(), nullable=False,
                                                 server_default='{}'))
        op.execute('UPDATE conversations SET answers_new = answers')
        op.drop_column('conversations', 'answers')
        op.execute('ALTER TABLE conversations RENAME COLUMN answers_new TO answers')


def downgrade() -> None:
    if op.get_bind().dialect.name != 'sqlite':
        op.alter_column('conversations', 'answers', type_=sa.JSON(), existing_nullable=False,
                        postgresql_using='answers::json')
    else:
        op.add_column('conversations', sa.Column('answers_old', sa.JSON(), nullable=False,
                                                 server_default='{}'))
        op.execute('UPDATE conversations SET answers_old = answers')
        op.drop_column('conversations', 'answers')
        op.execute('ALTER TABLE conversations RENAME COLUMN answers_old TO answers')
    # Only for a database never sealed: on PostgreSQL sealed values do not fit the old widths.
    for table, column, length, nullable in COLUMNS:
        _retype(table, column, sa.String(length=length), nullable)
