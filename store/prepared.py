"""Core statements run on the driver's cursor: for the few that every chat input runs.

Through SQLAlchemy, a statement's execution (its context, events, result object)
costs several times what the driver spends on it: for a chat input, whose three
statements are each a lookup by key, that is most of its CPU (issue 16, P1).
`Prepared` compiles a Core statement once per dialect and runs it on the
DB-API cursor of the caller's connection, inside the caller's transaction
(`run` does it for a fixed SQL text, SQLite's BEGIN). It
converts values with the column types' own bind and result processors, so
what is stored and read is what SQLAlchemy would store and read: sealed
columns go through the keyring, datetimes keep SQLite's text form, enums are
stored by value. A driver error is raised as SQLAlchemy's (`sa.exc.DBAPIError`)
and a lost connection is invalidated, as SQLAlchemy does; the engine's
`before_cursor_execute` listeners see each statement.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.orm import Session, make_transient_to_detached
from sqlalchemy.orm.attributes import instance_dict

Processor = Callable[[Any], Any]
T = TypeVar("T")


@dataclass(frozen=True)
class _Compiled:
    sql: str
    positional: bool
    # Bind names in the order a positional driver takes them, each with its processor.
    binds: tuple[tuple[str, Processor | None], ...]
    # Values of the columns an INSERT or UPDATE fills with their scalar default when not given.
    defaults: dict[str, Any]
    # The result columns that have a processor: (index, processor).
    results: tuple[tuple[int, Processor], ...]


class Prepared:
    """One Core statement, compiled at its first use on each dialect.

    `statement` is the statement, or a function that builds it for a dialect's
    name (an `INSERT … ON CONFLICT` is each dialect's own construct).
    """

    def __init__(self, statement: sa.Executable | Callable[[str], sa.Executable]) -> None:
        self._build = statement if callable(statement) else lambda _dialect: statement
        self._compiled: dict[str, _Compiled] = {}

    def rows(self, conn: sa.Connection, params: Mapping[str, Any]) -> list[tuple[Any, ...]]:
        """Run the statement in `conn`'s transaction: the rows it returns, converted."""
        dialect = conn.dialect
        c = self._compiled.get(dialect.name) or self._compile(dialect)
        raw = run(conn, c.sql, _values(c, params))
        if not c.results:
            return raw
        out = []
        for r in raw:
            row = list(r)
            for i, proc in c.results:
                row[i] = proc(row[i])
            out.append(tuple(row))
        return out

    def many(self, conn: sa.Connection, params: Sequence[Mapping[str, Any]]) -> None:
        """Run the statement once for each of `params` (the driver's executemany), for a
        statement that returns no rows."""
        dialect = conn.dialect
        c = self._compiled.get(dialect.name) or self._compile(dialect)
        run(conn, c.sql, [_values(c, p) for p in params], many=True)

    def first(self, conn: sa.Connection, params: Mapping[str, Any]) -> tuple[Any, ...] | None:
        found = self.rows(conn, params)
        return found[0] if found else None

    def _compile(self, dialect: sa.Dialect) -> _Compiled:
        statement = self._build(dialect.name)
        compiled = statement.compile(dialect=dialect)  # type: ignore[attr-defined]
        if "POSTCOMPILE" in compiled.string:
            raise ValueError("a statement with parameters expanded at execution cannot be prepared")
        binds = compiled.binds  # type: ignore[attr-defined]
        # Columns SQLAlchemy would fill from their Python-side default at execution.
        defaults: dict[str, Any] = {}
        for col in (*compiled.insert_prefetch, *compiled.update_prefetch):  # type: ignore[attr-defined]
            if col.default is None or not col.default.is_scalar:
                raise ValueError(f"give {col.key!r} its value: only scalar defaults are filled in")
            defaults[col.key] = col.default.arg
        # Values the statement itself holds (a LIMIT's).
        defaults.update((n, b.effective_value) for n, b in binds.items()
                        if not b.required and n not in defaults)
        names = compiled.positiontup if dialect.positional else list(binds)  # type: ignore[attr-defined]
        columns = getattr(statement, "exported_columns", ())
        made = _Compiled(
            sql=compiled.string, positional=dialect.positional, defaults=defaults,
            binds=tuple((n, binds[n].type.dialect_impl(dialect).bind_processor(dialect)) for n in names),
            results=tuple((i, p) for i, col in enumerate(columns)
                          if (p := col.type.dialect_impl(dialect).result_processor(dialect, None))))
        self._compiled[dialect.name] = made
        return made


def _values(c: _Compiled, params: Mapping[str, Any]) -> Sequence[Any] | dict[str, Any]:
    """`params` as the driver takes them for `c`: converted, in order for a positional driver."""
    if c.defaults:
        params = {**c.defaults, **params}
    if c.positional:
        return tuple(params[n] if p is None else p(params[n]) for n, p in c.binds)
    return {n: params[n] if p is None else p(params[n]) for n, p in c.binds}


def run(conn: sa.Connection, sql: str, values: Any = (), *, many: bool = False) -> list[Any]:
    """Run `sql` on the driver's cursor of `conn`: the driver's rows (none for a statement
    without a result). `many`: `values` is a list of parameter sets, run by executemany.
    Errors and events as through SQLAlchemy (see the module's docstring)."""
    dialect = conn.dialect
    fairy = conn.connection
    cursor = fairy.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        if conn._has_events or conn.engine._has_events:
            conn.dispatch.before_cursor_execute(conn, cursor, sql, values, None, many)
        try:
            if many:
                cursor.executemany(sql, values)
                return []
            cursor.execute(sql, values)
            return cursor.fetchall() if cursor.description is not None else []  # type: ignore[no-any-return]
        except dialect.loaded_dbapi.Error as exc:
            gone = dialect.is_disconnect(exc, fairy, cursor)
            if gone:
                conn.invalidate(exc)
            raise sa.exc.DBAPIError.instance(
                sql, values, exc, dialect.loaded_dbapi.Error, hide_parameters=True,
                connection_invalidated=gone, dialect=dialect) from exc
    finally:
        cursor.close()


def binds(table: sa.FromClause, *names: str) -> dict[str, sa.BindParameter[Any]]:
    """A bind parameter of each named column, by its name and with its type (so that its value
    goes through the column's processor): an INSERT's `values` for a prepared statement."""
    return {name: sa.bindparam(name, type_=table.c[name].type) for name in names}


class Insert:
    """The INSERT of a mapped object's row by a prepared statement, the object then in the
    session as if the ORM had inserted it (persistent, nothing left to flush).

    For rows a hot path writes once and reads back as objects (a report being filed): the
    ORM's unit of work costs several times the statement. Every column is written: a value
    the object does not hold is its column's default (a callable's is called, as the ORM
    would at its flush), so the object holds every column afterwards and reading one costs
    no query. Relationships are not followed: give foreign keys by id. What the ORM's flush
    hooks do for such a row (the audit trail, the search index) is the caller's to do.
    """

    def __init__(self, model: type) -> None:
        mapper: sa.orm.Mapper[Any] = sa.inspect(model)
        [pk] = mapper.primary_key
        self._pk = mapper.get_property_by_column(pk).key
        self._columns: list[tuple[str, sa.Column[Any]]] = []
        for attr in mapper.column_attrs:
            [col] = attr.columns
            if col is pk:
                continue
            if col.default is None and col.server_default is not None:
                raise ValueError(f"{col.key!r} has only a server default: give it one in Python")
            self._columns.append((attr.key, col))  # type: ignore[arg-type]
        table: sa.Table = mapper.local_table  # type: ignore[assignment]
        self._statement = Prepared(sa.insert(table).values(
            {col.key: sa.bindparam(col.key, type_=col.type) for _key, col in self._columns})
            .returning(pk))

    def add(self, session: Session, obj: Any) -> None:
        """Insert `obj`'s row in `session`'s transaction and make `obj` persistent in it."""
        held = instance_dict(obj)
        values: dict[str, Any] = {}
        for key, col in self._columns:
            if key in held:
                value = held[key]
            else:
                # Into the object's dict, as a load would: its history is about to be reset.
                value = held[key] = _default(col)
            values[col.key] = value
        row = self._statement.first(session.connection(), values)
        assert row is not None
        setattr(obj, self._pk, row[0])
        make_transient_to_detached(obj)
        session.add(obj)


class Get:
    """`session.get(model, id)` by a prepared statement, for an object a hot path reads by its
    key: the one the session holds, else its row read by one SELECT of every column and made
    an object as `loaded` does (None where there is no such row). Relationships load when
    touched, as the ORM's lazy loads do."""

    def __init__(self, model: type) -> None:
        mapper: sa.orm.Mapper[Any] = sa.inspect(model)
        [pk] = mapper.primary_key
        self._model = model
        self._mapper = mapper
        self._keys = [attr.key for attr in mapper.column_attrs]
        self._statement = Prepared(sa.select(*(attr.columns[0] for attr in mapper.column_attrs))
                                   .where(pk == sa.bindparam("pk", type_=pk.type)))

    def __call__(self, session: Session, pk: Any) -> Any:
        held = session.identity_map.get(self._mapper.identity_key_from_primary_key((pk,)))
        if held is not None:
            return held
        row = self._statement.first(session.connection(), {"pk": pk})
        return None if row is None else loaded(session, self._model, dict(zip(self._keys, row, strict=True)))


def loaded(session: Session, model: type[T], values: Mapping[str, Any]) -> T:
    """The object of `model` a row read by a prepared statement makes, in `session` as if the
    ORM had loaded it: the one the session holds already, else one made of `values` (every
    column's value, by attribute name)."""
    mapper: sa.orm.Mapper[Any] = sa.inspect(model)
    held = session.identity_map.get(mapper.identity_key_from_primary_key(
        tuple(values[mapper.get_property_by_column(c).key] for c in mapper.primary_key)))
    if held is not None:
        return held  # type: ignore[no-any-return]
    # As a query's load makes it: no __init__ (and its attribute events), the values put in
    # its dict, then marked as read from its row.
    obj = mapper.class_manager.new_instance()
    instance_dict(obj).update(values)
    make_transient_to_detached(obj)
    session.add(obj)
    return obj  # type: ignore[no-any-return]


def _default(col: sa.Column[Any]) -> Any:
    default = col.default
    if default is None:
        return None
    if default.is_scalar:
        return default.arg  # type: ignore[attr-defined]
    if default.is_callable:
        # The ORM's own wrapping of a callable default: it takes the execution context.
        return default.arg(None)  # type: ignore[attr-defined]
    raise ValueError(f"{col.key!r} has a default computed in SQL: give it a value")
