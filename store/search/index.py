"""The search index: the only code that writes it.

SQLite keeps it in an FTS5 table (`report_fts`, rowid = report id) of our own
tokens (see `store.search.text`) with the report's unit as a token of a column
of its own; PostgreSQL in `report_search`, per report its unit, its words and
its trigrams (two tsvectors: `store.search.text.tsvectors`) under one GIN index
(unit, words, trigrams), and in `report_runs` its long Chinese runs
(`store.search.text.long_runs`: title and body, and notes apart), where a word
of four characters or more, found by its trigrams, is checked to stand whole.
Either way a unit's search is answered from its own part of the index. None is
an ORM table: the DDL below runs with `create_all` and in migrations 0007, 0032,
0034 and 0037.

It is kept in step inside the writer's transaction: a flush hook reindexes
reports that were added or had their text changed through the ORM, and notes
added or removed; `store.reports.lifecycle` calls `index_ids` after its compare-and-set
UPDATE and `index_new` after filing's INSERT, which the ORM does not see.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.orm import Session, UOWTransaction

from store.models import Base, OfficeSetting, Report, ReportNote
from store.prepared import Prepared
from store.search import text
from store.upsert import loaded_setting, put_setting

FTS_TABLE = "report_fts"
PG_TABLE = "report_search"
# Kept apart from `report_search` so that its rows stay narrow: a common word's count
# visits them (`store.search.matching`).
PG_RUNS = "report_runs"
SETTING_KEY = "search"
# Text columns of a report that the index holds (besides its notes).
TEXT_COLUMNS = ("title", "situation", "analysis", "suggestion", "summary", "place")
TEXT_COLUMNS_SET = frozenset(TEXT_COLUMNS)
# bm25 weights for the FTS5 columns title, body, notes, unit (the unit token ranks nothing).
WEIGHTS = "bm25(10.0, 1.0, 0.5, 0.0)"
# The FTS5 columns a query's words are looked for in: never `unit`, so a word cannot
# match a unit token (a staff query of Chinese words alone, which cannot, names no
# column: `store.search.matching.fts5_words`).
WORD_COLUMNS, STAFF_WORD_COLUMNS = "{title body}", "{title body notes}"
_CHUNK = 500

# PostgreSQL: each indexed report's unit sits beside its words, so a clerk's
# search asks the index for the unit's matches only instead of matching the whole
# network and dropping the other units' reports afterwards. `_write` copies the
# unit when it indexes a report; this trigger follows a report that changes unit
# (`store.network.pointedit.adopt_reports` does, with a plain UPDATE).
PG_INDEX = f"ix_{PG_TABLE}_unit_doc"
PG_INDEX_DDL = (f"CREATE INDEX IF NOT EXISTS {PG_INDEX} ON {PG_TABLE} "
                "USING gin (unit_id, doc, grams)")
PG_UNIT_TRIGGER = [
    f"CREATE OR REPLACE FUNCTION {PG_TABLE}_unit() RETURNS trigger LANGUAGE plpgsql AS $$ "
    f"BEGIN UPDATE {PG_TABLE} SET unit_id = NEW.unit_id WHERE report_id = NEW.id; "
    "RETURN NULL; END $$",
    f"CREATE OR REPLACE TRIGGER {PG_TABLE}_unit AFTER UPDATE OF unit_id ON reports FOR EACH ROW "
    f"WHEN (OLD.unit_id IS DISTINCT FROM NEW.unit_id) EXECUTE FUNCTION {PG_TABLE}_unit()",
]
PG_RUNS_DDL = (f"CREATE TABLE IF NOT EXISTS {PG_RUNS} ("
               "report_id INTEGER PRIMARY KEY REFERENCES reports(id) ON DELETE CASCADE, "
               "runs TEXT NOT NULL DEFAULT '', note_runs TEXT NOT NULL DEFAULT '')")
# SQLite, likewise: the unit is a token (`unit_token`) in the FTS5 table's `unit`
# column, so a clerk's MATCH names the units and FTS5 skips the other units' postings.
SQLITE_UNIT_TRIGGER = (
    f"CREATE TRIGGER IF NOT EXISTS {FTS_TABLE}_unit AFTER UPDATE OF unit_id ON reports "
    "WHEN OLD.unit_id IS NOT NEW.unit_id BEGIN "
    f"UPDATE {FTS_TABLE} SET unit = COALESCE('u' || NEW.unit_id, '') WHERE rowid = NEW.id; END")


def unit_token(unit_id: int | None) -> str:
    """The FTS5 `unit` column of a report of `unit_id` (as SQLITE_UNIT_TRIGGER writes it)."""
    return "" if unit_id is None else f"u{unit_id}"


def ddl(dialect: str) -> list[str]:
    """The statements that create the index on `dialect` (sqlite or postgresql)."""
    if dialect == "sqlite":
        return [
            f"CREATE VIRTUAL TABLE IF NOT EXISTS {FTS_TABLE} USING fts5("
            "title, body, notes, unit, tokenize='unicode61 remove_diacritics 0')",
            # `rank` is bm25 with the title weighted above the body and the notes.
            f"INSERT INTO {FTS_TABLE}({FTS_TABLE}, rank) VALUES('rank', '{WEIGHTS}')",
            # How many reports hold each token: finding a report's rarest words.
            f"CREATE VIRTUAL TABLE IF NOT EXISTS {FTS_TABLE}_vocab USING fts5vocab({FTS_TABLE}, 'row')",
            SQLITE_UNIT_TRIGGER,
        ]
    if dialect == "postgresql":
        return [
            # btree_gin lets one GIN index hold the unit beside the words. In public, not
            # the current schema: dropping a schema drops the extensions in it, and with
            # them every index of every schema that uses them.
            "CREATE EXTENSION IF NOT EXISTS btree_gin SCHEMA public",
            f"CREATE TABLE IF NOT EXISTS {PG_TABLE} ("
            "report_id INTEGER PRIMARY KEY REFERENCES reports(id) ON DELETE CASCADE, "
            "unit_id INTEGER, doc TSVECTOR NOT NULL, grams TSVECTOR NOT NULL DEFAULT '')",
            PG_INDEX_DDL,
            *PG_UNIT_TRIGGER,
            PG_RUNS_DDL,
        ]
    raise NotImplementedError(f"no search index for {dialect}")


def drop_ddl(dialect: str) -> list[str]:
    if dialect == "sqlite":
        return [f"DROP TRIGGER IF EXISTS {FTS_TABLE}_unit", f"DROP TABLE IF EXISTS {FTS_TABLE}_vocab",
                f"DROP TABLE IF EXISTS {FTS_TABLE}"]
    return [f"DROP TABLE IF EXISTS {PG_RUNS}", f"DROP TABLE IF EXISTS {PG_TABLE}",
            f"DROP FUNCTION IF EXISTS {PG_TABLE}_unit() CASCADE"]


def is_index_table(name: str) -> bool:
    """Tables of the index (FTS5 makes shadow tables), which the models do not describe."""
    return name in (PG_TABLE, PG_RUNS, FTS_TABLE) or name.startswith(f"{FTS_TABLE}_")


@event.listens_for(Base.metadata, "after_create")
def _create(target: sa.MetaData, connection: sa.Connection, **_: Any) -> None:
    for statement in ddl(connection.dialect.name):
        connection.exec_driver_sql(statement)


@event.listens_for(Base.metadata, "before_drop")
def _drop(target: sa.MetaData, connection: sa.Connection, **_: Any) -> None:
    for statement in drop_ddl(connection.dialect.name):
        connection.exec_driver_sql(statement)


# -- the office's choice: fold traditional characters -----------------------------

def fold_traditional(session: Session) -> bool:
    """Whether the index (and so every query) folds traditional characters to simplified."""
    return _fold_on(session.connection())


def _fold_on(conn: sa.Connection) -> bool:
    # Read through the connection: the flush hook may not use the session for queries.
    value = conn.scalar(_FOLD)
    return bool(value and value.get("fold_traditional"))


# `_fold_on`'s statement, built once: every flush that indexes a report asks it.
_FOLD = sa.select(OfficeSetting.value).where(OfficeSetting.key == SETTING_KEY)


class TooMany(Exception):
    """More reports than the caller wants to reindex now."""

    def __init__(self, count: int) -> None:
        super().__init__(count)
        self.count = count


def set_fold_traditional(session: Session, on: bool, *, limit: int | None = None,
                         progress: Callable[[int, int], None] | None = None) -> int:
    """Turn folding on or off and rebuild the index to match; the number of reports indexed.

    With `limit`, refuses (TooMany) when there are more reports than that.
    """
    if limit is not None:
        count = session.scalar(sa.select(sa.func.count()).select_from(Report)) or 0
        if count > limit:
            raise TooMany(count)
    row = session.get(OfficeSetting, SETTING_KEY)
    put_setting(session, SETTING_KEY, {**(row.value if row else {}), "fold_traditional": on})
    return rebuild(session, progress=progress)


# -- writing ------------------------------------------------------------------------

def index_ids(session: Session, ids: Iterable[int]) -> None:
    """(Re)index these reports now, in the caller's transaction."""
    wanted = sorted(set(ids))
    if wanted:
        session.flush()
        _write(session.connection(), wanted)


def rebuild(session: Session, *, batch: int = 5000,
            progress: Callable[[int, int], None] | None = None, alone: bool = False) -> int:
    """Empty the index and index every report again; the number indexed.

    `alone`: nothing else uses the database meanwhile (a migration, a seed). PostgreSQL
    then empties the table with TRUNCATE and builds its GIN index once at the end instead
    of keeping it up to date report by report, several times faster for a large office;
    the table is locked against searches and filings until the transaction ends.
    """
    conn = session.connection()
    dialect = conn.dialect.name
    bulk = alone and dialect == "postgresql"
    if bulk:
        conn.exec_driver_sql(f"TRUNCATE {PG_TABLE}, {PG_RUNS}")
        conn.exec_driver_sql(f"DROP INDEX IF EXISTS {PG_INDEX}")
    elif dialect == "sqlite":
        conn.exec_driver_sql(f"DELETE FROM {FTS_TABLE}")
    else:
        conn.exec_driver_sql(f"DELETE FROM {PG_TABLE}")
        conn.exec_driver_sql(f"DELETE FROM {PG_RUNS}")
    total = conn.scalar(sa.select(sa.func.count()).select_from(Report)) or 0
    done, last = 0, 0
    while True:
        ids = list(conn.scalars(sa.select(Report.id).where(Report.id > last)
                                .order_by(Report.id).limit(batch)))
        if not ids:
            break
        _write(conn, ids, replace=False)
        done += len(ids)
        last = ids[-1]
        if progress is not None:
            progress(done, total)
    if dialect == "sqlite":
        # Merge the index's segments into one b-tree: bulk loads leave many.
        conn.exec_driver_sql(f"INSERT INTO {FTS_TABLE}({FTS_TABLE}) VALUES('optimize')")
    else:
        if bulk:
            conn.exec_driver_sql("SET LOCAL maintenance_work_mem = '256MB'")
            conn.exec_driver_sql(PG_INDEX_DDL)
        conn.exec_driver_sql(f"ANALYZE {PG_TABLE}")
        conn.exec_driver_sql(f"ANALYZE {PG_RUNS}")
    return done


def settle(engine: sa.Engine) -> None:
    """After a whole rebuild on PostgreSQL, outside its transaction: vacuum the index's table.

    A rebuild leaves every old row dead. Until a vacuum marks the pages all-visible again,
    a search's count, which the GIN index could answer alone, visits every matching row
    (3.5 s instead of 0.18 s for a common word at a million reports); autovacuum gets there
    only later.
    """
    from store.db import vacuum  # store.db imports this module for its flush hook

    vacuum(engine, [PG_TABLE, PG_RUNS])


def _write(conn: sa.Connection, ids: Sequence[int], replace: bool = True,
           fold: bool | None = None) -> None:
    if fold is None:
        fold = _fold_on(conn)
    for i in range(0, len(ids), _CHUNK):
        chunk = ids[i:i + _CHUNK]
        _store(conn, chunk, _documents(conn, chunk), fold, replace)


def _store(conn: sa.Connection, ids: Sequence[int],
           docs: dict[int, tuple[str, str, str, int | None]],
           fold: bool, replace: bool) -> None:
    """Index `docs`; with `replace`, first drop what the index held for `ids`."""
    if conn.dialect.name == "sqlite":
        if replace:
            conn.execute(sa.text(f"DELETE FROM {FTS_TABLE} WHERE rowid IN :ids")
                         .bindparams(sa.bindparam("ids", expanding=True)), {"ids": list(ids)})
        rows = [{"id": rid, "title": text.document(title, fold),
                 "body": text.document(body, fold), "notes": text.document(notes, fold),
                 "unit": unit_token(unit)}
                for rid, (title, body, notes, unit) in docs.items()]
        if rows:
            _FTS_INSERT.many(conn, rows)
    else:
        if replace:
            gone = set(ids) - set(docs)
            if gone:
                # report_runs' rows go with the reports (ON DELETE CASCADE).
                conn.execute(sa.text(f"DELETE FROM {PG_TABLE} WHERE report_id = ANY(:ids)"),
                             {"ids": sorted(gone)})
        rows = []
        for rid, (title, body, notes, unit) in docs.items():
            doc, grams = text.tsvectors([("A", title), ("B", body), ("C", notes)], fold)
            rows.append({"id": rid, "unit": unit, "doc": doc, "grams": grams,
                         "runs": text.long_runs(f"{title}\n{body}", fold),
                         "note_runs": text.long_runs(notes, fold)})
        if rows:
            _PG_INSERT.many(conn, rows)


# The index's INSERTs, prepared: filing a report runs one. PostgreSQL's writes both its
# tables in one statement (a data-modifying WITH): one round trip for a filing.
_FTS_INSERT = Prepared(sa.text(f"INSERT INTO {FTS_TABLE}(rowid, title, body, notes, unit) "
                               "VALUES (:id, :title, :body, :notes, :unit)"))
_PG_INSERT = Prepared(sa.text(
    f"WITH words AS (INSERT INTO {PG_TABLE}(report_id, unit_id, doc, grams) "
    "VALUES (:id, :unit, CAST(:doc AS tsvector), CAST(:grams AS tsvector)) "
    "ON CONFLICT (report_id) DO UPDATE SET unit_id = excluded.unit_id, "
    "doc = excluded.doc, grams = excluded.grams) "
    f"INSERT INTO {PG_RUNS}(report_id, runs, note_runs) VALUES (:id, :runs, :note_runs) "
    "ON CONFLICT (report_id) DO UPDATE SET runs = excluded.runs, note_runs = excluded.note_runs"))


def _documents(conn: sa.Connection, ids: Sequence[int]) -> dict[int, tuple[str, str, str, int | None]]:
    """(title, body, notes, unit) of each report that exists; fields are joined by newlines."""
    cols = [getattr(Report, c) for c in TEXT_COLUMNS]
    out: dict[int, tuple[str, str, str, int | None]] = {}
    notes: dict[int, list[str]] = {}
    for rid, note in conn.execute(sa.select(ReportNote.report_id, ReportNote.text)
                                  .where(ReportNote.report_id.in_(ids)).order_by(ReportNote.id)):
        notes.setdefault(rid, []).append(note)
    for rid, unit, title, *body in conn.execute(sa.select(Report.id, Report.unit_id, *cols)
                                                .where(Report.id.in_(ids))):
        out[rid] = (title or "", "\n".join(b for b in body if b), "\n".join(notes.get(rid, ())),
                    unit)
    return out


@event.listens_for(Session, "after_flush")
def _after_flush(session: Session, flush_context: UOWTransaction) -> None:
    """Reindex what this flush added or changed, in the same transaction."""
    ids: set[int] = set()
    added: dict[int, Report] = {}
    new_notes: list[ReportNote] = []
    for obj in session.new:
        if isinstance(obj, Report):
            added[obj.id] = obj
        elif isinstance(obj, ReportNote):
            ids.add(obj.report_id)
            new_notes.append(obj)
    for obj in session.dirty:
        if isinstance(obj, Report) and _text_changed(obj):
            ids.add(obj.id)
    for obj in session.deleted:
        if isinstance(obj, ReportNote):
            ids.add(obj.report_id)
        elif isinstance(obj, Report):
            ids.add(obj.id)  # gone from reports, so _write drops it from the index
    ids.discard(None)  # type: ignore[arg-type]
    ids -= added.keys()
    if not ids and not added:
        return
    conn = session.connection()
    fold = _fold_known(session)
    if added:
        _add_new(conn, added, new_notes, fold)
    if ids:
        _write(conn, sorted(ids), fold=fold)


def index_new(session: Session, reports: Sequence[Report]) -> None:
    """Index reports just inserted without the ORM's flush (`store.prepared.Insert`: filing),
    which the flush hook does not see; in the caller's transaction."""
    if reports:
        _add_new(session.connection(), {r.id: r for r in reports}, [], _fold_known(session))


def _fold_known(session: Session) -> bool:
    # The settings this transaction already read (filing reads them all before the INSERT).
    known, row = loaded_setting(session, SETTING_KEY)
    return bool(row is not None and (row.value or {}).get("fold_traditional")) if known \
        else _fold_on(session.connection())


def _add_new(conn: sa.Connection, added: dict[int, Report], new_notes: list[ReportNote],
             fold: bool) -> None:
    # Reports inserted in this transaction: their text is on the objects and their only notes
    # are `new_notes`, and the index holds nothing under an id never used (reports are
    # deleted only through the ORM, which the flush hook sees): nothing to read or drop.
    _store(conn, sorted(added), _new_documents(added, new_notes), fold, replace=False)


def _new_documents(added: dict[int, Report],
                   new_notes: list[ReportNote]) -> dict[int, tuple[str, str, str, int | None]]:
    """As `_documents`, for reports this flush inserted, from the objects themselves."""
    notes: dict[int, list[str]] = {}
    for note in sorted(new_notes, key=lambda n: n.id):
        if note.report_id in added:
            notes.setdefault(note.report_id, []).append(note.text)
    out: dict[int, tuple[str, str, str, int | None]] = {}
    for rid, report in added.items():
        title, *body = (getattr(report, c) for c in TEXT_COLUMNS)
        out[rid] = (title or "", "\n".join(b for b in body if b), "\n".join(notes.get(rid, ())),
                    report.unit_id)
    return out


def _text_changed(report: Report) -> bool:
    state = sa.inspect(report)
    return any(state.attrs[c].history.has_changes() for c in TEXT_COLUMNS)
