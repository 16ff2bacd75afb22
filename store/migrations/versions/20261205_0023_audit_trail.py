"""The audit trail: audit_entries, append-only (triggers) and hash-chained, from a genesis row

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-05 05:00:00

The chain starts here, with one genesis row (`audit.started`) that counts the
rows the older logs already hold; those rows stay where they are (a report's
history, the access and export logs ...) and are not copied: hashing them now
would vouch for a past nobody can check. Everything from here on is chained.
The hash is spelled out below rather than imported, as a migration must not
change when the code does; `tests/test_audit.py` checks the row verifies.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision: str = '0023'
down_revision: str | Sequence[str] | None = '0022'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

EARLIER = ('report_events', 'journal_events', 'transfers', 'instructions', 'access_log',
           'export_log', 'api_calls', 'login_failures')


def _guard(dialect: str) -> list[str]:
    if dialect == 'sqlite':
        return [f"CREATE TRIGGER audit_entries_no_{verb.lower()} BEFORE {verb} ON audit_entries "
                f"BEGIN SELECT RAISE(ABORT, 'audit_entries is append-only'); END"
                for verb in ('UPDATE', 'DELETE')]
    return [
        "CREATE OR REPLACE FUNCTION audit_entries_refuse() RETURNS trigger LANGUAGE plpgsql AS "
        "$$ BEGIN RAISE EXCEPTION 'audit_entries is append-only'; END $$",
        "CREATE TRIGGER audit_entries_no_change BEFORE UPDATE OR DELETE ON audit_entries "
        "FOR EACH ROW EXECUTE FUNCTION audit_entries_refuse()",
        "CREATE TRIGGER audit_entries_no_truncate BEFORE TRUNCATE ON audit_entries "
        "FOR EACH STATEMENT EXECUTE FUNCTION audit_entries_refuse()",
    ]


def upgrade() -> None:
    table = op.create_table(
        'audit_entries',
        sa.Column('id', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('actor', sa.String(length=10), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=True),
        sa.Column('reporter_id', sa.Integer(), nullable=True),
        sa.Column('action', sa.String(length=40), nullable=False),
        sa.Column('report_id', sa.Integer(), nullable=True),
        sa.Column('object', sa.String(length=80), nullable=False),
        sa.Column('detail', sa.JSON(), nullable=False),
        sa.Column('prev_hash', sa.String(length=64), nullable=False),
        sa.Column('hash', sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_entries')),
        sa.UniqueConstraint('hash', name=op.f('uq_audit_entries_hash')),
    )
    for column in ('at', 'user_id', 'action', 'report_id'):
        op.create_index(op.f(f'ix_audit_entries_{column}'), 'audit_entries', [column], unique=False)
    conn = op.get_bind()
    counts = {name: int(conn.execute(sa.text(f'SELECT count(*) FROM {name}')).scalar() or 0)
              for name in EARLIER}
    at = datetime.now(UTC)
    detail = {'earlier_rows': counts}
    text = json.dumps([1, at.isoformat(timespec='microseconds'), 'system', None, None,
                       'audit.started', None, '', detail],
                      sort_keys=True, ensure_ascii=False, separators=(',', ':'))
    prev = '0' * 64
    op.bulk_insert(table, [{
        'id': 1, 'at': at, 'actor': 'system', 'user_id': None, 'reporter_id': None,
        'action': 'audit.started', 'report_id': None, 'object': '', 'detail': detail,
        'prev_hash': prev, 'hash': hashlib.sha256((prev + text).encode()).hexdigest(),
    }])
    for statement in _guard(conn.dialect.name):
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        op.execute('DROP TRIGGER IF EXISTS audit_entries_no_change ON audit_entries')
        op.execute('DROP TRIGGER IF EXISTS audit_entries_no_truncate ON audit_entries')
        op.execute('DROP FUNCTION IF EXISTS audit_entries_refuse()')
    for column in ('report_id', 'action', 'user_id', 'at'):
        op.drop_index(op.f(f'ix_audit_entries_{column}'), table_name='audit_entries')
    op.drop_table('audit_entries')
