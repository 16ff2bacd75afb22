"""Matching a query's words in the search index, kept to a user's units where the index can.

`store.search.query` builds searches from these: `match_words` joins a select
to the index (SQLite FTS5 or PostgreSQL's tsvector table, `store.search.index`),
`units_of` says which units and received reports the index may keep to, and
`units_page` answers a unit user's plain search in one pass.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Session

from store import access
from store.models import Report, User
from store.search import index, text

# access.report_units: the user's units and the reports received by them (their ids when
# few, `units_of`), or None (no narrowing).
Within = tuple[set[int], sa.Select[Any] | list[int] | None] | None
# At most this many received reports are named by id in an index query; more stay a subquery.
RECEIVED_BY_ID = 1_000


def units_of(session: Session, user: User) -> Within:
    """`access.report_units`, with the received reports read once: none (the index
    keeps to the units alone), their ids when few, else still the subquery."""
    return received_read(session, access.report_units(session, user))


def received_read(session: Session, within: access.ReportUnits) -> Within:
    """`units_of` for what `access.report_units` (or `access.Reach`) answered."""
    if within is None:
        return None
    units, received = within
    if received is None:
        return within
    ids = list(session.scalars(received.limit(RECEIVED_BY_ID + 1)))
    if len(ids) > RECEIVED_BY_ID:
        return within
    return units, sorted(set(ids)) or None


def units_page(session: Session, query: text.Query, notes_too: bool, within: Within,
               page: int, per_page: int) -> tuple[list[int], int]:
    """A user whose scope is units: a page of the index's matches, newest first, and how
    many there are."""
    assert within is not None
    units, received = within
    at: dict[str, Any] = {"limit": per_page, "offset": (page - 1) * per_page}
    if session.get_bind().dialect.name == "sqlite" and received is None:
        # The units' own matches alone (most unit users): statements built once, the
        # words a parameter (building one per search cost a third of a millisecond).
        at["match"] = units_match(query, notes_too, units)
        page_of, count_of = _SQLITE_UNITS_PAGE, _SQLITE_UNITS_COUNT
    else:
        _, _, _, only_text = match_words(session, sa.select(Report.id), query, notes_too,
                                         False, True, within)
        page_of, count_of = _page_of(only_text, session.get_bind().dialect.name)
    rows = session.execute(page_of, at).all()
    if rows:
        return [rid for rid, _ in rows], rows[0][1]
    # A page past the end (or nothing found): the count alone.
    total = 0 if page == 1 else session.scalar(count_of, at) or 0
    return [], total


def _page_of(only_text: sa.Select[Any], dialect: str) -> tuple[sa.Select[Any], sa.Select[Any]]:
    """A page of `only_text`'s ids newest first with how many there are, and the count
    alone (limit and offset as parameters)."""
    # Collected first (as `match_words` does): walking the whole index newest first for
    # the units' matches would read every report's words on the way.
    matches = only_text.cte("matches")
    if dialect == "postgresql":
        matches = matches.prefix_with("MATERIALIZED")
    rid = list(matches.c)[0]
    return (sa.select(rid, sa.func.count().over()).order_by(rid.desc())
            .limit(sa.bindparam("limit")).offset(sa.bindparam("offset")),
            sa.select(sa.func.count()).select_from(matches))


def _fts_match(expr: Any) -> sa.ColumnElement[bool]:
    return sa.literal_column(index.FTS_TABLE).op("MATCH")(expr)


_FTS = sa.table(index.FTS_TABLE, sa.column("rowid"), sa.column("rank"))
_SQLITE_UNITS_PAGE, _SQLITE_UNITS_COUNT = _page_of(
    sa.select(_FTS.c.rowid).where(_fts_match(sa.bindparam("match", type_=sa.String()))),
    "sqlite")


# PostgreSQL: reading a report's word list (stored apart from the row) costs about this
# many times what the index pays per match it lists without reading the list.
READ_LIST_COST = 10


def sparse(session: Session, total: int, page: int, per_page: int, query: text.Query,
           notes_too: bool) -> bool:
    """PostgreSQL: whether collecting the `total` matches beats walking the index newest
    first until the page is full. The walk reads the word list of every report it meets,
    about (reports before the page's end) x (indexed reports / matches) of them; the
    index lists matches without reading them unless it must check a phrase or a field
    (weights), and then it reads each match's list once."""
    if session.get_bind().dialect.name != "postgresql":
        return True
    # Weights are checked in each match's list, a long word (`text.long_terms`) in its runs.
    checked = not notes_too or bool(text.long_terms(query))
    # The planner's own row count of the index (search_path decides which schema's).
    indexed = session.scalar(sa.text("SELECT greatest(reltuples, 0) FROM pg_class "
                                     f"WHERE oid = to_regclass('{index.PG_TABLE}')")) or 0
    walked = page * per_page * max(indexed, total)
    return walked * (1 if checked else READ_LIST_COST) >= total * total


def fts5_words(query: text.Query, notes_too: bool) -> str:
    """The FTS5 MATCH expression of `query`'s words, in the columns `notes_too` allows.

    Staff look in every column but `unit`, whose tokens (`index.unit_token`) are
    Latin: a query of Chinese words alone cannot match them, so it names no column,
    and FTS5 need not read where in a report each match lies (a phrase of a few
    bigrams matches up to a fifth faster).
    """
    if notes_too and all(term.chinese for term in query.terms):
        return "(" + text.fts5_match(query) + ")"
    columns = index.STAFF_WORD_COLUMNS if notes_too else index.WORD_COLUMNS
    return columns + " : (" + text.fts5_match(query) + ")"


def units_match(query: text.Query, notes_too: bool, units: set[int]) -> str:
    """SQLite: the MATCH expression of `query`'s words in reports of `units`. The units'
    tokens in the MATCH: FTS5 steps through the units' postings and the words' together,
    skipping the rest of the network instead of filtering it afterwards."""
    return f"unit : ({_tokens(units)}) AND {fts5_words(query, notes_too)}"


def _tokens(units: set[int]) -> str:
    return " OR ".join(index.unit_token(u) for u in sorted(units))


_RUNS = sa.table(index.PG_RUNS, sa.column("report_id", sa.Integer()), sa.column("runs", sa.Text()),
                 sa.column("note_runs", sa.Text()))


def _whole(rs: sa.TableClause, query: text.Query, notes_too: bool) -> list[sa.ColumnElement[bool]]:
    """PostgreSQL: that each long word, whose trigrams the index matched, stands whole in the
    report's long runs (`index.PG_RUNS`); none when the query has no long word.

    A subquery per candidate, by its key: a join would let the planner scan the whole
    table of runs for a common word's many candidates.
    """
    words = text.long_terms(query)
    if not words:
        return []
    runs = _RUNS.c.runs if not notes_too else _RUNS.c.runs + " " + _RUNS.c.note_runs
    whole = sa.and_(*(sa.func.strpos(runs, sa.literal(w, sa.Text())) > 0 for w in words))
    return [sa.select(whole).where(_RUNS.c.report_id == rs.c.report_id)
            .scalar_subquery().is_(True)]


def match_words(session: Session, base: sa.Select[Any], query: text.Query, notes_too: bool,
              ranked: bool, materialize: bool, within: Within = None) -> tuple[
        sa.Select[Any], sa.ColumnElement[Any], sa.ColumnElement[Any] | None, sa.Select[Any]]:
    """`base` joined to the index and kept to matches; the id column in index order,
    the relevance order, and the matches alone (for a count without the join).

    `within` (`access.report_units`) lets PostgreSQL's index keep to the user's
    units while it matches; the caller's WHERE still decides what the user sees.
    """
    if session.get_bind().dialect.name == "postgresql":
        rs = sa.table(index.PG_TABLE, sa.column("report_id"), sa.column("unit_id"),
                      sa.column("doc"), sa.column("grams"))

        def asked_of(covers: bool) -> list[tuple[Any, Any]]:
            # Each tsquery against its own tsvector: the words' and the trigrams'.
            return [(vector, sa.cast(sa.literal(q), postgresql.TSQUERY)) for vector, q in
                    zip((rs.c.doc, rs.c.grams), text.tsqueries(
                        query, "" if notes_too else "AB", covers=covers), strict=True) if q]

        asked, whole = asked_of(True), _whole(rs, query, notes_too)
        hit = sa.and_(*(vector.op("@@")(tsq) for vector, tsq in asked), *whole)
        columns: list[Any] = [rs.c.report_id]
        if ranked:
            ranks = [sa.func.ts_rank(vector, tsq) for vector, tsq in asked]
            columns.append(sum(ranks[1:], ranks[0]).label("score"))
        found: Any = sa.select(*columns).where(hit)
        if within is not None:
            units, received = within
            found = found.where(rs.c.unit_id.in_(sorted(units)))
            if received is not None:  # what was reported up to them, wherever it was filed
                found = sa.union(found, sa.select(*columns).where(hit, rs.c.report_id.in_(received)))
        only_text = sa.select(found.subquery().c.report_id)
        if not materialize:
            # Walked newest first, each report checked as it is met. The function, not the
            # operator: the planner cannot use the index for it, which it would (then sort
            # every match) whenever it guesses a phrase rare.
            # A long word is checked in the runs alone: its trigrams would read the lists.
            walked = sa.and_(*(sa.func.ts_match_vq(vector, tsq)
                               for vector, tsq in asked_of(False)), *whole)
            return (base.join(rs, rs.c.report_id == Report.id).where(walked), rs.c.report_id,
                    None, only_text)
        # Materialised, so the planner cannot walk every report newest-first
        # hoping to meet a match soon (a rare word would cost a full scan).
        matches = found.cte("matches").prefix_with("MATERIALIZED")
        return (base.join(matches, matches.c.report_id == Report.id), matches.c.report_id,
                matches.c.score.desc() if ranked else None, only_text)
    fts = _FTS
    words = fts5_words(query, notes_too)

    def match(expr: str) -> sa.ColumnElement[bool]:
        return _fts_match(sa.literal(expr))

    if within is None:
        return (base.join(fts, fts.c.rowid == Report.id).where(match(words)), fts.c.rowid,
                fts.c.rank, sa.select(fts.c.rowid).where(match(words)))
    units, received = within
    mine = match(units_match(query, notes_too, units))
    if received is None:  # FTS5 walks the units' matches newest first: a page stops early
        return (base.join(fts, fts.c.rowid == Report.id).where(mine), fts.c.rowid, fts.c.rank,
                sa.select(fts.c.rowid).where(mine))
    # What was reported up to them from elsewhere, looked up by rowid. bm25 only when
    # ranked: it costs more than the match.
    listed: list[Any] = [fts.c.rowid] + ([fts.c.rank.label("rank")] if ranked else [])
    found = sa.union_all(sa.select(*listed).where(mine), sa.select(*listed).where(
        match(f"{words} NOT unit : ({_tokens(units)})"), fts.c.rowid.in_(received))
    ).subquery("matches")
    return (base.join(found, found.c.rowid == Report.id), found.c.rowid,
            found.c.rank if ranked else None, sa.select(found.c.rowid))
