"""Phrases on PostgreSQL: a Chinese word of three characters or more is found where its
characters stand in a row, looked for in the report's text kept in the index's row.

The GIN index says which reports hold a word's bigrams, not whether they stand in a row;
the row's normalised text (`index.PG_TABLE`.plain, migration 0036) says. On SQLite FTS5
keeps positions itself, and the same answers are asked of it.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from store.models import User
from store.reports import notes
from store.search import Filters, index, like_search, search
from tests.domain_support import make_report

FILLER = "，".join(["居民反映情况属实" for _ in range(1200)])  # 9,599 characters, no 养老院


def found(session: Session, user: User, q: str) -> set[int]:
    session.rollback()
    res = search(session, user, Filters(q=q, per_page=100))
    like = like_search(session, user, Filters(q=q, per_page=100))
    hits = {h.report.id for h in res.hits}
    assert res.total == len(hits)
    assert hits == {h.report.id for h in like.hits}, q
    return hits


def test_a_phrase_is_found_only_where_its_characters_stand_in_a_row(
    session: Session, admin: User,
) -> None:
    whole = make_report(session, title="养老院护理人员短缺", situation="城关镇养老院只有3名护理员。")
    apart = make_report(session, title="老院子里的养老难题", situation="村里养老靠老院子里的邻居。")
    noted = make_report(session, title="敬老服务", situation="敬老工作情况。")
    session.commit()
    notes.add(session, noted, admin, "回访时得知养老院床位紧张")
    session.commit()

    assert found(session, admin, "养老院") == {whole.id, noted.id}
    assert found(session, admin, "养老") == {whole.id, apart.id, noted.id}
    assert found(session, admin, "护理人员短缺") == {whole.id}
    assert found(session, admin, "养老院 护理员") == {whole.id}
    assert found(session, admin, "院养老") == set()


def test_a_phrase_deep_in_a_long_report_is_found(session: Session, admin: User) -> None:
    # PostgreSQL keeps a word's positions up to the 16,383rd: a phrase beyond that could not
    # be told from its bigrams apart on the word list. The text in the row has no such end.
    deep = make_report(session, title="长篇情况反映", situation=FILLER, analysis=FILLER,
                       suggestion="建议新建一所公办养老院。")
    session.commit()
    assert found(session, admin, "公办养老院") == {deep.id}


def test_a_row_indexed_before_the_text_was_kept_is_checked_on_its_word_list(
    session: Session, admin: User,
) -> None:
    whole = make_report(session, title="养老院护理人员短缺", situation="养老院只有3名护理员。")
    apart = make_report(session, title="老院子里的养老难题", situation="村里养老靠老院子里的邻居。")
    session.commit()
    if session.get_bind().dialect.name != "postgresql":
        return  # FTS5 has no such row
    session.execute(sa.text(f"UPDATE {index.PG_TABLE} SET plain = NULL"))  # as 0036 leaves them
    session.commit()
    assert found(session, admin, "养老院") == {whole.id}
    assert apart.id not in found(session, admin, "养老院护理")


def test_the_text_stays_in_the_row(session: Session) -> None:
    if session.get_bind().dialect.name != "postgresql":
        return
    storage = session.scalar(sa.text(
        "SELECT attstorage FROM pg_attribute WHERE attrelid = to_regclass(:t) AND attname = 'plain'"),
        {"t": index.PG_TABLE})
    assert storage == "m"  # MAIN: compressed if need be, moved out of the row only last
