"""Bringing a database's schema up to date with Alembic, without an alembic.ini."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from store.db import make_engine, make_sessionmaker

MIGRATIONS = Path(__file__).parent / "migrations"
# The revision that created the search index (store.search).
SEARCH_REVISION = "0007"


def _config(connection: sa.Connection | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


def upgrade(url: str, revision: str = "head") -> None:
    """Migrate the database at `url` to `revision` (default: the newest)."""
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            before = MigrationContext.configure(conn).get_current_revision()
            command.upgrade(_config(conn), revision)
            conn.commit()
        if before is not None and before < SEARCH_REVISION <= (current(engine) or ""):
            # The index came with this upgrade: put the reports already filed into it.
            from store.search import index

            with make_sessionmaker(engine)() as session, session.begin():
                index.rebuild(session)
    finally:
        engine.dispose()


def include_name(name: str | None, type_: str, parent_names: object) -> bool:
    """What Alembic compares with the models: not the search index's own tables."""
    from store.search import index

    return not (type_ == "table" and name is not None and index.is_index_table(name))


def head() -> str | None:
    """The newest revision the code knows."""
    return ScriptDirectory.from_config(_config()).get_current_head()


def current(engine: sa.Engine) -> str | None:
    """The revision the database is at, or None for an empty database."""
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()
