"""One-statement writes: `INSERT … ON CONFLICT` in the session's dialect.

A read followed by an insert lets two requests at once both find nothing and
both insert, and the second fails on the unique key (a 500). Counters, "get or
create" and settings rows are written with one of these statements instead;
PostgreSQL and SQLite both understand them.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from store import audit
from store.models import OfficeSetting


def insert(session: Session, model: Any) -> Any:
    """An INSERT for `model` that can say `on_conflict_do_nothing/do_update`."""
    return (pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert)(model)


def put_setting(session: Session, key: str, value: dict[str, Any]) -> None:
    """Set the office setting `key` to `value`, creating its row or replacing it."""
    session.execute(insert(session, OfficeSetting).values(key=key, value=value)
                    .on_conflict_do_update(index_elements=[OfficeSetting.key],
                                           set_={"value": value}))
    # A row of this key the session already holds is stale now: read it afresh.
    session.get(OfficeSetting, key, populate_existing=True)
    # One statement, not the ORM: the audit trail's flush hook does not see it (issue 14).
    audit.record(session, "setting.changed", object=f"office_settings:{key}", detail={"value": value})
