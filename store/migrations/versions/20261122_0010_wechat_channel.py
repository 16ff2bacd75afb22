"""WeChat channel: the 'wechat' channel value, shared channel state, access tokens, the callback inbox

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-22 10:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0010'
down_revision: str | Sequence[str] | None = '0009'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Written out, not imported: a migration must not change when the models do.
OLD_CHANNELS = ('telegram', 'web')
CHANNELS = OLD_CHANNELS + ('wechat',)
CHANNEL_TABLES = ('point_scans', 'reporters', 'outbox', 'conversations')


def _in(values: tuple[str, ...]) -> str:
    return "channel IN (" + ", ".join(f"'{v}'" for v in values) + ")"


def _channel_check(old: tuple[str, ...], new: tuple[str, ...]) -> None:
    """The enum CHECK constraints name their values: widen (or narrow) them."""
    bind = op.get_bind()
    if bind.dialect.name != "sqlite":
        for table in CHANNEL_TABLES:
            with op.batch_alter_table(table, schema=None) as batch_op:
                batch_op.drop_constraint(op.f(f'ck_{table}_channel'), type_='check')
                batch_op.create_check_constraint('channel', sa.column('channel').in_(new))
        return
    # SQLite would copy each table (batch mode) and drop the old one, which foreign
    # keys from reports, outbox ... forbid while they are enforced, and they cannot be
    # switched off inside the migration's transaction. A CHECK constraint is not in
    # the stored rows, so its text is edited in the schema instead, as SQLite's ALTER
    # TABLE documentation describes for such changes.
    version = bind.exec_driver_sql("PRAGMA schema_version").scalar_one()
    bind.exec_driver_sql("PRAGMA writable_schema=ON")
    try:
        for table in CHANNEL_TABLES:
            sql = bind.exec_driver_sql("SELECT sql FROM sqlite_master WHERE type = 'table' "
                                       "AND name = ?", (table,)).scalar_one()
            before = f"CONSTRAINT ck_{table}_channel CHECK ({_in(old)})"
            if before not in sql:
                raise RuntimeError(f"{table}: expected {before!r} in its schema, found {sql!r}")
            bind.exec_driver_sql(
                "UPDATE sqlite_master SET sql = ? WHERE type = 'table' AND name = ?",
                (sql.replace(before, f"CONSTRAINT ck_{table}_channel CHECK ({_in(new)})"), table))
        bind.exec_driver_sql(f"PRAGMA schema_version={int(version) + 1}")
    finally:
        bind.exec_driver_sql("PRAGMA writable_schema=OFF")


def upgrade() -> None:
    op.create_table('channel_state',
    sa.Column('key', sa.String(length=200), nullable=False),
    sa.Column('value', sa.JSON(), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_channel_state'))
    )
    with op.batch_alter_table('channel_state', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_channel_state_expires_at'), ['expires_at'], unique=False)

    op.create_table('wechat_tokens',
    sa.Column('app_id', sa.String(length=64), nullable=False),
    sa.Column('access_token', sa.String(length=1024), nullable=True),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('refreshing_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('app_id', name=op.f('pk_wechat_tokens'))
    )
    op.create_table('wechat_inbox',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('msg_key', sa.String(length=160), nullable=False),
    sa.Column('openid', sa.String(length=64), nullable=False),
    sa.Column('payload', sa.Text(), nullable=False),
    sa.Column('status', sa.Enum('pending', 'answered', 'done', 'dead', name='wechatinboxstatus', native_enum=False, create_constraint=True, length=20), nullable=False),
    sa.Column('replies', sa.JSON(), nullable=True),
    sa.Column('sent_parts', sa.Integer(), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('done_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_wechat_inbox')),
    sa.UniqueConstraint('msg_key', name=op.f('uq_wechat_inbox_msg_key'))
    )
    with op.batch_alter_table('wechat_inbox', schema=None) as batch_op:
        batch_op.create_index('ix_wechat_inbox_due', ['status', 'next_attempt_at'], unique=False)
        batch_op.create_index('ix_wechat_inbox_openid_id', ['openid', 'id'], unique=False)

    _channel_check(OLD_CHANNELS, CHANNELS)


def downgrade() -> None:
    _channel_check(CHANNELS, OLD_CHANNELS)
    with op.batch_alter_table('wechat_inbox', schema=None) as batch_op:
        batch_op.drop_index('ix_wechat_inbox_openid_id')
        batch_op.drop_index('ix_wechat_inbox_due')
    op.drop_table('wechat_inbox')
    op.drop_table('wechat_tokens')
    with op.batch_alter_table('channel_state', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_channel_state_expires_at'))
    op.drop_table('channel_state')
