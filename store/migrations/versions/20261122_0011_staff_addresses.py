"""Staff addresses: a staff member's alert chat per channel, instead of users.telegram_chat_id

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-22 11:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0011'
down_revision: str | Sequence[str] | None = '0010'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Written out, not imported: a migration must not change when the models do.
CHANNELS = ('telegram', 'web', 'wechat')

# Nothing in the database kept two accounts off one chat before (only the /link code
# did), so a chat held by several keeps one: an active account before a disabled one,
# then the newest account.
COPY = """
INSERT INTO staff_addresses (user_id, channel, chat_id, linked_at)
SELECT u.id, 'telegram', u.telegram_chat_id, CURRENT_TIMESTAMP
FROM users u
WHERE u.telegram_chat_id IS NOT NULL
  AND u.id = (SELECT o.id FROM users o WHERE o.telegram_chat_id = u.telegram_chat_id
              ORDER BY o.active DESC, o.id DESC LIMIT 1)
"""

# The old column held Telegram only; a chat that was found gone was unlinked then.
COPY_BACK = """
UPDATE users SET telegram_chat_id = (
    SELECT a.chat_id FROM staff_addresses a
    WHERE a.user_id = users.id AND a.channel = 'telegram' AND a.gone_at IS NULL)
"""


def upgrade() -> None:
    op.create_table('staff_addresses',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('channel', sa.Enum(*CHANNELS, name='channel', native_enum=False, create_constraint=True, length=20), nullable=False),
    sa.Column('chat_id', sa.String(length=64), nullable=False),
    sa.Column('linked_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('gone_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_staff_addresses_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_staff_addresses')),
    sa.UniqueConstraint('channel', 'chat_id', name='uq_staff_addresses_chat'),
    sa.UniqueConstraint('user_id', 'channel', name='uq_staff_addresses_user_channel')
    )
    op.execute(COPY)
    # A plain DROP COLUMN (SQLite has had it since 3.35): batch mode would copy the
    # users table, which the foreign keys of reports, events ... forbid (see 0010).
    op.drop_column('users', 'telegram_chat_id')


def downgrade() -> None:
    op.add_column('users', sa.Column('telegram_chat_id', sa.String(length=64), nullable=True))
    op.execute(COPY_BACK)
    op.drop_table('staff_addresses')
