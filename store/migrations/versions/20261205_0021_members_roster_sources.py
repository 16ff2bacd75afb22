"""Members' work: the roster (members), commissions (topics.commissioned, commission_members),
reports.source / source_ref / member_id, reporters.member_id, binding_codes.member_id,
access_log.member_id

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-05 05:40:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0021'
down_revision: str | Sequence[str] | None = '0020'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SOURCES = ('citizen', 'member', 'informant', 'commissioned', 'survey', 'consultation',
           'proposal', 'plenary_speech')


def _add_fk_column(table: str, column: str, target: str) -> None:
    """A nullable column referring to `target`, without copying `table`.

    SQLite has no ALTER … ADD CONSTRAINT, but takes the reference inline in
    ADD COLUMN; batch mode would copy a table other tables refer to (see 0017).
    """
    name = f'fk_{table}_{column}_{target}'
    if op.get_bind().dialect.name == 'sqlite':
        op.execute(f'ALTER TABLE {table} ADD COLUMN {column} INTEGER '
                   f'CONSTRAINT {name} REFERENCES {target} (id)')
        return
    op.add_column(table, sa.Column(column, sa.Integer(), nullable=True))
    op.create_foreign_key(name, table, target, [column], ['id'])


def _add_source_column() -> None:
    if op.get_bind().dialect.name == 'sqlite':
        # The CHECK inline: SQLite cannot add it afterwards (DROP COLUMN takes it along).
        allowed = ', '.join(f"'{s}'" for s in SOURCES)
        op.execute("ALTER TABLE reports ADD COLUMN source VARCHAR(20) DEFAULT 'citizen' NOT NULL "
                   f"CONSTRAINT ck_reports_reportsource CHECK (source IN ({allowed}))")
        return
    op.add_column('reports', sa.Column(
        'source', sa.Enum(*SOURCES, name='reportsource', native_enum=False,
                          create_constraint=True, length=20),
        server_default='citizen', nullable=False))


def upgrade() -> None:
    op.create_table(
        'members',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=100), nullable=False),
        sa.Column('role', sa.Enum('member', 'informant', name='memberrole', native_enum=False,
                                  create_constraint=True, length=20), nullable=False),
        sa.Column('sector', sa.String(length=100), nullable=True),
        sa.Column('unit_id', sa.Integer(), nullable=True),
        sa.Column('contact', sa.String(length=200), nullable=True),
        sa.Column('yearly_target', sa.Integer(), server_default=sa.text('2'), nullable=False),
        sa.Column('active', sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['unit_id'], ['units.id'], name='fk_members_unit_id_units'),
        sa.PrimaryKeyConstraint('id', name='pk_members'),
        sa.UniqueConstraint('name', 'contact', name='uq_members_name_contact'),
    )
    op.create_index('ix_members_unit_id', 'members', ['unit_id'], unique=False)
    op.create_table(
        'commission_members',
        sa.Column('topic_id', sa.Integer(), nullable=False),
        sa.Column('member_id', sa.Integer(), nullable=False),
        sa.Column('sent', sa.Integer(), server_default=sa.text('0'), nullable=False),
        sa.Column('reminded_at', sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['member_id'], ['members.id'],
                                name='fk_commission_members_member_id_members'),
        sa.ForeignKeyConstraint(['topic_id'], ['topics.id'],
                                name='fk_commission_members_topic_id_topics'),
        sa.PrimaryKeyConstraint('topic_id', 'member_id', name='pk_commission_members'),
    )
    op.create_index('ix_commission_members_member_id', 'commission_members', ['member_id'],
                    unique=False)
    # Plain ADD COLUMN everywhere: these tables are referred to by others (see 0017).
    op.add_column('topics', sa.Column('commissioned', sa.Boolean(), server_default=sa.false(),
                                      nullable=False))
    _add_fk_column('topics', 'unit_id', 'units')
    op.create_index('ix_topics_unit_id', 'topics', ['unit_id'], unique=False)
    _add_fk_column('reporters', 'member_id', 'members')
    op.create_index('ix_reporters_member_id', 'reporters', ['member_id'], unique=False)
    _add_fk_column('binding_codes', 'member_id', 'members')
    _add_source_column()
    op.add_column('reports', sa.Column('source_ref', sa.String(length=300), nullable=True))
    _add_fk_column('reports', 'member_id', 'members')
    op.create_index('ix_reports_source', 'reports', ['source'], unique=False)
    op.create_index('ix_reports_member_id', 'reports', ['member_id'], unique=False)
    with op.batch_alter_table('access_log') as batch_op:
        batch_op.alter_column('report_id', existing_type=sa.Integer(), nullable=True)
        batch_op.add_column(sa.Column('member_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key('fk_access_log_member_id_members', 'members',
                                    ['member_id'], ['id'])
        batch_op.create_index('ix_access_log_member_id', ['member_id'], unique=False)
    _roster_from_bound_reporters()


def _roster_from_bound_reporters() -> None:
    """Each chat already bound as a member becomes a roster entry of its own.

    Two chats of one person cannot be told apart from two namesakes, so none
    are merged; the office links them again by issuing a code from the
    member's page. Their reports count for the entry and record the source
    their reporter's role says (member or informant); the rest stay `citizen`.
    """
    conn = op.get_bind()
    bound = conn.execute(sa.text(
        "SELECT id, member_name, display_name, member_role, unit_id, created_at FROM reporters "
        "WHERE kind = 'member' ORDER BY id")).all()
    for reporter_id, member_name, display_name, role, unit_id, created_at in bound:
        role = role if role in ('member', 'informant') else 'member'
        name = (member_name or display_name or f'委员 #{reporter_id}')[:100]
        # The moment as the row holds it (SQLite hands it back as text).
        member_id = conn.execute(sa.text(
            "INSERT INTO members (name, role, unit_id, yearly_target, active, created_at) "
            "VALUES (:name, :role, :unit, 2, :active, :created) RETURNING id"),
            {'name': name, 'role': role, 'unit': unit_id, 'active': True,
             'created': created_at}).scalar_one()
        params = {'member': member_id, 'reporter': reporter_id}
        conn.execute(sa.text("UPDATE reporters SET member_id = :member WHERE id = :reporter"),
                     params)
        conn.execute(sa.text("UPDATE binding_codes SET member_id = :member "
                             "WHERE reporter_id = :reporter"), params)
        conn.execute(sa.text("UPDATE reports SET member_id = :member, source = :role "
                             "WHERE reporter_id = :reporter"), {**params, 'role': role})


def downgrade() -> None:
    with op.batch_alter_table('access_log') as batch_op:
        batch_op.drop_index('ix_access_log_member_id')
        batch_op.drop_constraint('fk_access_log_member_id_members', type_='foreignkey')
        batch_op.drop_column('member_id')
    op.execute("DELETE FROM access_log WHERE report_id IS NULL")
    with op.batch_alter_table('access_log') as batch_op:
        batch_op.alter_column('report_id', existing_type=sa.Integer(), nullable=False)
    op.drop_index('ix_reports_member_id', table_name='reports')
    op.drop_index('ix_reports_source', table_name='reports')
    op.drop_column('reports', 'member_id')
    op.drop_column('reports', 'source_ref')
    op.drop_column('reports', 'source')
    op.drop_column('binding_codes', 'member_id')
    op.drop_index('ix_reporters_member_id', table_name='reporters')
    op.drop_column('reporters', 'member_id')
    op.drop_index('ix_topics_unit_id', table_name='topics')
    op.drop_column('topics', 'unit_id')
    op.drop_column('topics', 'commissioned')
    op.drop_index('ix_commission_members_member_id', table_name='commission_members')
    op.drop_table('commission_members')
    op.drop_index('ix_members_unit_id', table_name='members')
    op.drop_table('members')
