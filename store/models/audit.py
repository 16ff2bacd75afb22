"""The audit trail (issue 14): one append-only, hash-chained table of who did and saw what."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from store.models.base import Base


class AuditEntry(Base):
    """One thing that happened: a change, a look at a reporter's identity, an export, a login ...

    Written only by `store.audit.chain.record`, never updated or deleted (a
    trigger refuses both). `hash` is sha256 of `prev_hash` and the row's own
    content, so an edited, removed or reordered row breaks the chain that
    `minyi audit verify` walks. The ids are consecutive (the writer holds the
    chain's lock and takes the last id + 1), so a gap is a removed row.
    No foreign keys: the trail outlives what it names.
    """

    __tablename__ = "audit_entries"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    at: Mapped[datetime] = mapped_column(index=True)
    # user | reporter | system (a scheduled job, the command line, an API token)
    actor: Mapped[str] = mapped_column(sa.String(10))
    user_id: Mapped[int | None] = mapped_column(index=True)
    reporter_id: Mapped[int | None]
    # A dotted name: report.sign_off, identity.viewed, export, login.failed, setting.changed ...
    action: Mapped[str] = mapped_column(sa.String(40), index=True)
    report_id: Mapped[int | None] = mapped_column(index=True)
    # What was touched, as table:id (transfers:12, office_settings:review_chain ...).
    object: Mapped[str] = mapped_column(sa.String(80), default="")
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)
    prev_hash: Mapped[str] = mapped_column(sa.String(64))
    hash: Mapped[str] = mapped_column(sa.String(64), unique=True)


def append_only_ddl(dialect: str) -> list[str]:
    """Triggers that refuse UPDATE and DELETE (and TRUNCATE on PostgreSQL) of the trail.

    The migration runs the same statements, so a database made by `create_all`
    (tests, a first `minyi init`) is guarded alike.
    """
    if dialect == "sqlite":
        return [f"CREATE TRIGGER audit_entries_no_{verb.lower()} BEFORE {verb} ON audit_entries "
                f"BEGIN SELECT RAISE(ABORT, 'audit_entries is append-only'); END"
                for verb in ("UPDATE", "DELETE")]
    return [
        "CREATE OR REPLACE FUNCTION audit_entries_refuse() RETURNS trigger LANGUAGE plpgsql AS "
        "$$ BEGIN RAISE EXCEPTION 'audit_entries is append-only'; END $$",
        "CREATE TRIGGER audit_entries_no_change BEFORE UPDATE OR DELETE ON audit_entries "
        "FOR EACH ROW EXECUTE FUNCTION audit_entries_refuse()",
        "CREATE TRIGGER audit_entries_no_truncate BEFORE TRUNCATE ON audit_entries "
        "FOR EACH STATEMENT EXECUTE FUNCTION audit_entries_refuse()",
    ]


def drop_append_only_ddl(dialect: str) -> list[str]:
    if dialect == "sqlite":
        return ["DROP TRIGGER IF EXISTS audit_entries_no_update",
                "DROP TRIGGER IF EXISTS audit_entries_no_delete"]
    return ["DROP TRIGGER IF EXISTS audit_entries_no_change ON audit_entries",
            "DROP TRIGGER IF EXISTS audit_entries_no_truncate ON audit_entries",
            "DROP FUNCTION IF EXISTS audit_entries_refuse()"]


@sa.event.listens_for(AuditEntry.__table__, "after_create")
def _guard(table: sa.Table, connection: sa.Connection, **_: Any) -> None:
    for statement in append_only_ddl(connection.dialect.name):
        connection.exec_driver_sql(statement)
