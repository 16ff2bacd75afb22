"""Reporting upward and adoption as facts: destinations, unit chains, upward records, adoptions;
reports.adoption_level is copied into adoptions and dropped

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-23 10:00:00
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision: str = '0012'
down_revision: str | Sequence[str] | None = '0011'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Written out, not imported: a migration must not change when the models do.
LEVELS = ('county', 'city', 'province', 'national')
DEFAULTS = (('市委办公室', 'city'), ('市政府办公室', 'city'), ('省政协办公厅', 'province'),
            ('全国政协办公厅', 'national'))
CHECK = "CONSTRAINT ck_reports_adoptionlevel CHECK (adoption_level IN ('county', 'city', 'province', 'national'))"


def _level(name: str = 'adoptionlevel') -> sa.Enum:
    return sa.Enum(*LEVELS, name=name, native_enum=False, create_constraint=True, length=20)


def upgrade() -> None:
    destinations = op.create_table(
        'upward_destinations',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=200), nullable=False),
        sa.Column('level', _level(), nullable=False),
        sa.Column('unit_id', sa.Integer(), nullable=True),
        sa.Column('active', sa.Boolean(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['unit_id'], ['units.id'],
                                name=op.f('fk_upward_destinations_unit_id_units')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_upward_destinations')),
        sa.UniqueConstraint('name', name=op.f('uq_upward_destinations_name')),
    )
    with op.batch_alter_table('upward_destinations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_upward_destinations_unit_id'), ['unit_id'], unique=False)
    now = datetime.now(UTC)
    op.bulk_insert(destinations, [{'name': n, 'level': lv, 'active': True, 'created_at': now}
                                  for n, lv in DEFAULTS])

    op.create_table(
        'upward_routes',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('unit_id', sa.Integer(), nullable=False),
        sa.Column('destination_id', sa.Integer(), nullable=False),
        sa.Column('position', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['destination_id'], ['upward_destinations.id'],
                                name=op.f('fk_upward_routes_destination_id_upward_destinations')),
        sa.ForeignKeyConstraint(['unit_id'], ['units.id'], name=op.f('fk_upward_routes_unit_id_units')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_upward_routes')),
        sa.UniqueConstraint('unit_id', 'destination_id', name='uq_upward_routes_unit_destination'),
    )
    with op.batch_alter_table('upward_routes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_upward_routes_unit_id'), ['unit_id'], unique=False)

    op.create_table(
        'upward_records',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('report_id', sa.Integer(), nullable=False),
        sa.Column('destination_id', sa.Integer(), nullable=False),
        sa.Column('version_id', sa.Integer(), nullable=False),
        sa.Column('sending_unit_id', sa.Integer(), nullable=True),
        sa.Column('sent_by_id', sa.Integer(), nullable=True),
        sa.Column('sent_on', sa.Date(), nullable=False),
        sa.Column('status', sa.Enum('sent', 'adopted', 'instructed', 'declined', name='upwardstatus',
                                    native_enum=False, create_constraint=True, length=20),
                  nullable=False),
        sa.Column('body', sa.String(length=200), nullable=True),
        sa.Column('level', _level(), nullable=True),
        sa.Column('publication', sa.String(length=200), nullable=True),
        sa.Column('leader', sa.String(length=100), nullable=True),
        sa.Column('leader_level', _level('leaderlevel'), nullable=True),
        sa.Column('outcome_on', sa.Date(), nullable=True),
        sa.Column('note', sa.Text(), nullable=True),
        sa.Column('outcome_by_id', sa.Integer(), nullable=True),
        sa.Column('outcome_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['destination_id'], ['upward_destinations.id'],
                                name=op.f('fk_upward_records_destination_id_upward_destinations')),
        sa.ForeignKeyConstraint(['outcome_by_id'], ['users.id'],
                                name=op.f('fk_upward_records_outcome_by_id_users')),
        sa.ForeignKeyConstraint(['report_id'], ['reports.id'],
                                name=op.f('fk_upward_records_report_id_reports')),
        sa.ForeignKeyConstraint(['sending_unit_id'], ['units.id'],
                                name=op.f('fk_upward_records_sending_unit_id_units')),
        sa.ForeignKeyConstraint(['sent_by_id'], ['users.id'], name=op.f('fk_upward_records_sent_by_id_users')),
        sa.ForeignKeyConstraint(['version_id'], ['report_versions.id'],
                                name=op.f('fk_upward_records_version_id_report_versions')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_upward_records')),
    )
    with op.batch_alter_table('upward_records', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_upward_records_report_id'), ['report_id'], unique=False)
        batch_op.create_index('ix_upward_records_destination_status', ['destination_id', 'status'],
                              unique=False)
        batch_op.create_index('uq_upward_records_open', ['report_id', 'destination_id'], unique=True,
                              sqlite_where=sa.text("status = 'sent'"),
                              postgresql_where=sa.text("status = 'sent'"))

    adoptions = op.create_table(
        'adoptions',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('report_id', sa.Integer(), nullable=False),
        sa.Column('level', _level(), nullable=False),
        sa.Column('adopted_on', sa.Date(), nullable=False),
        sa.Column('body', sa.String(length=200), nullable=True),
        sa.Column('publication', sa.String(length=200), nullable=True),
        sa.Column('event_id', sa.Integer(), nullable=True),
        sa.Column('upward_id', sa.Integer(), nullable=True),
        sa.Column('recorded_by_id', sa.Integer(), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['event_id'], ['report_events.id'],
                                name=op.f('fk_adoptions_event_id_report_events')),
        sa.ForeignKeyConstraint(['recorded_by_id'], ['users.id'],
                                name=op.f('fk_adoptions_recorded_by_id_users')),
        sa.ForeignKeyConstraint(['report_id'], ['reports.id'], name=op.f('fk_adoptions_report_id_reports')),
        sa.ForeignKeyConstraint(['upward_id'], ['upward_records.id'],
                                name=op.f('fk_adoptions_upward_id_upward_records')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_adoptions')),
        sa.UniqueConstraint('upward_id', name=op.f('uq_adoptions_upward_id')),
    )
    with op.batch_alter_table('adoptions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_adoptions_report_id'), ['report_id'], unique=False)

    _copy_levels(adoptions)
    _drop_level_column()
    # An upward record's 批示 entered from the command line has no recording user.
    with op.batch_alter_table('instructions', schema=None) as batch_op:
        batch_op.alter_column('recorded_by_id', existing_type=sa.Integer(), nullable=True)


def _copy_levels(adoptions: sa.Table) -> None:
    """Each adopted report gets one adoption at its stored level, dated by the move that set it.

    A report raised from the city to the province kept only "province": the
    earlier level was never stored, so it cannot be brought back.
    """
    bind = op.get_bind()
    reports = sa.table('reports', sa.column('id', sa.Integer), sa.column('adoption_level', sa.String),
                       sa.column('decided_at', sa.DateTime(timezone=True)),
                       sa.column('updated_at', sa.DateTime(timezone=True)))
    events = sa.table('report_events', sa.column('id', sa.Integer), sa.column('report_id', sa.Integer),
                      sa.column('action', sa.String), sa.column('user_id', sa.Integer),
                      sa.column('created_at', sa.DateTime(timezone=True)))
    last = (sa.select(events.c.report_id, sa.func.max(events.c.id).label('event_id'))
            .where(events.c.action.in_(('adopt', 'raise'))).group_by(events.c.report_id).subquery())
    rows = bind.execute(
        sa.select(reports.c.id, reports.c.adoption_level, reports.c.decided_at, reports.c.updated_at,
                  events.c.id.label('event_id'), events.c.user_id, events.c.created_at)
        .select_from(reports.outerjoin(last, last.c.report_id == reports.c.id)
                     .outerjoin(events, events.c.id == last.c.event_id))
        .where(reports.c.adoption_level.is_not(None)).order_by(reports.c.id))
    batch = []
    for r in rows:
        at = r.created_at or r.decided_at or r.updated_at
        batch.append({'report_id': r.id, 'level': r.adoption_level, 'adopted_on': at.date(),
                      'event_id': r.event_id, 'recorded_by_id': r.user_id, 'created_at': at})
        if len(batch) >= 5000:
            bind.execute(adoptions.insert(), batch)
            batch = []
    if batch:
        bind.execute(adoptions.insert(), batch)


def _drop_level_column() -> None:
    bind = op.get_bind()
    if bind.dialect.name != 'sqlite':
        op.drop_column('reports', 'adoption_level')  # its CHECK goes with it
        return
    # SQLite's DROP COLUMN refuses a column a table CHECK names, and batch mode would
    # copy `reports`, which the foreign keys pointing at it forbid (see 0010). The
    # CHECK is not in the stored rows, so its text is taken out of the schema first.
    # (A database downgraded by this migration has the CHECK on the column itself,
    # which DROP COLUMN takes along.)
    version = bind.exec_driver_sql("PRAGMA schema_version").scalar_one()
    sql = bind.exec_driver_sql("SELECT sql FROM sqlite_master WHERE type = 'table' "
                               "AND name = 'reports'").scalar_one()
    if f", \n\t{CHECK}" in sql:
        _edit_schema(bind, sql.replace(f", \n\t{CHECK}", ""), version)
    bind.exec_driver_sql("ALTER TABLE reports DROP COLUMN adoption_level")


def _edit_schema(bind: sa.Connection, sql: str, version: int) -> None:
    bind.exec_driver_sql("PRAGMA writable_schema=ON")
    try:
        bind.exec_driver_sql("UPDATE sqlite_master SET sql = ? WHERE type = 'table' AND name = 'reports'",
                             (sql,))
        bind.exec_driver_sql(f"PRAGMA schema_version={int(version) + 1}")
    finally:
        bind.exec_driver_sql("PRAGMA writable_schema=OFF")


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == 'sqlite':
        bind.exec_driver_sql(f"ALTER TABLE reports ADD COLUMN adoption_level VARCHAR(20) "
                             f"{CHECK.replace('CONSTRAINT ck_reports_adoptionlevel ', '')}")
    else:
        op.add_column('reports', sa.Column('adoption_level', _level(), nullable=True))
    # The highest level back into the column; the history of levels is lost again.
    rank = " ".join(f"WHEN '{lv}' THEN {i}" for i, lv in enumerate(LEVELS))
    back = " ".join(f"WHEN {i} THEN '{lv}'" for i, lv in enumerate(LEVELS))
    bind.exec_driver_sql(
        f"UPDATE reports SET adoption_level = (SELECT CASE max(CASE a.level {rank} END) {back} END "
        f"FROM adoptions a WHERE a.report_id = reports.id)")
    op.drop_table('adoptions')
    bind.exec_driver_sql("DELETE FROM instructions WHERE recorded_by_id IS NULL")
    with op.batch_alter_table('instructions', schema=None) as batch_op:
        batch_op.alter_column('recorded_by_id', existing_type=sa.Integer(), nullable=False)
    op.drop_table('upward_records')
    op.drop_table('upward_routes')
    op.drop_table('upward_destinations')
