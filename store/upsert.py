"""One-statement writes: `INSERT … ON CONFLICT` in the session's dialect.

A read followed by an insert lets two requests at once both find nothing and
both insert, and the second fails on the unique key (a 500). Counters, "get or
create" and settings rows are written with one of these statements instead;
PostgreSQL and SQLite both understand them.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from store import audit, prepared
from store.models import OfficeSetting


def insert(session: Session, model: Any) -> Any:
    """An INSERT for `model` that can say `on_conflict_do_nothing/do_update`."""
    return insert_for(session.get_bind().dialect.name, model)


def insert_for(dialect: str, model: Any) -> Any:
    """`insert` for a dialect by name (a caller holding a connection, not a session)."""
    return (pg_insert if dialect == "postgresql" else sqlite_insert)(model)


# Every setting row, by key, once `read_setting` has read them in the session's current transaction.
_LOADED = "minyi_settings_loaded"
# Every office setting: a handful of small rows, read at once.
_ALL = sa.select(OfficeSetting)


def read_setting(session: Session, key: str) -> OfficeSetting | None:
    """The office setting row `key`, or None where the office never set it.

    Filing one report asks several keys (the review chain three times), most of
    them never set: the first read of a transaction loads every setting row (a
    handful) in one query, and a key with no row among them is None until the
    transaction ends or a setting is written.
    """
    rows: dict[str, OfficeSetting] | None = session.info.get(_LOADED)
    if rows is None:
        # Held here, not only in the identity map: that one lets go of unreferenced rows.
        rows = session.info[_LOADED] = _read_all(session)
    elif any(isinstance(obj, OfficeSetting) for obj in session.new):
        return session.get(OfficeSetting, key)  # added, not flushed yet: the get flushes it
    return rows.get(key)


def _read_all(session: Session) -> dict[str, OfficeSetting]:
    if any(isinstance(obj, OfficeSetting)
           for obj in (*session.new, *session.dirty, *session.deleted)):
        # Through the ORM, whose autoflush writes them first.
        return {row.key: row for row in session.scalars(_ALL)}
    # A prepared statement: the ORM's query cost filing more than the statement (issue 16).
    return {key: prepared.loaded(session, OfficeSetting, {"key": key, "value": value})
            for key, value in _ALL_ROWS.rows(session.connection(), {})}


_TABLE: sa.Table = OfficeSetting.__table__  # type: ignore[assignment]
_ALL_ROWS = prepared.Prepared(sa.select(_TABLE.c.key, _TABLE.c.value))


def loaded_setting(session: Session, key: str) -> tuple[bool, OfficeSetting | None]:
    """`read_setting`'s answer where it needs no query: `(True, row or None)` once this
    transaction has read the settings and none is waiting to be flushed, else `(False, None)`.
    For flush hooks, which may not query through the session."""
    rows: dict[str, OfficeSetting] | None = session.info.get(_LOADED)
    if rows is None or any(isinstance(obj, OfficeSetting) for obj in (*session.new, *session.dirty)):
        return False, None
    return True, rows.get(key)


def _forget_missing(session: Session, *_args: Any) -> None:
    session.info.pop(_LOADED, None)


for _name in ("after_commit", "after_rollback", "after_soft_rollback"):
    event.listen(Session, _name, _forget_missing)


@event.listens_for(Session, "after_flush")
def _settings_flushed(session: Session, _context: Any) -> None:
    if _LOADED in session.info and any(isinstance(obj, OfficeSetting)
                                        for obj in (*session.new, *session.dirty)):
        _forget_missing(session)


def put_setting(session: Session, key: str, value: dict[str, Any]) -> None:
    """Set the office setting `key` to `value`, creating its row or replacing it."""
    _forget_missing(session)
    session.execute(insert(session, OfficeSetting).values(key=key, value=value)
                    .on_conflict_do_update(index_elements=[OfficeSetting.key],
                                           set_={"value": value}))
    # A row of this key the session already holds is stale now: read it afresh.
    session.get(OfficeSetting, key, populate_existing=True)
    # One statement, not the ORM: the audit trail's flush hook does not see it (issue 14).
    audit.record(session, "setting.changed", object=f"office_settings:{key}", detail={"value": value})
