"""Chinese full-text search with filters (issue 5): what a staff member finds, and never more."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from store.models import (
    CollectionPoint,
    Report,
    Reporter,
    ReporterKind,
    ReportStatus,
    Role,
    Topic,
    User,
)
from store.reports import editing, lifecycle, notes
from store.review import transfers
from store.search import Filters, index, like_search, search, text
from tests.conftest import Network, staff
from tests.domain_support import make_report, reporter
from tests.review_support import adopt

ELEVATOR = "老旧小区加装电梯进展缓慢"
PARKING = "人民路停车难问题突出"


def ids(results: object) -> set[int]:
    return {hit.report.id for hit in results.hits}  # type: ignore[attr-defined]


def find(session: Session, user: object, q: str, **kw: object) -> set[int]:
    session.rollback()
    res = search(session, user, Filters(q=q, per_page=100, **kw))  # type: ignore[arg-type]
    assert res.total == len(res.hits)
    return ids(res)


@pytest.fixture
def corpus(session: Session) -> dict[str, Report]:
    made = {
        "elevator": make_report(session, title=ELEVATOR,
                                situation="城关镇 12 个老旧小区只有 2 个装了电梯，老人上下楼困难。"),
        "parking": make_report(session, title=PARKING,
                               situation="人民路两侧每天有 300 辆车乱停，消防通道被占。"),
        "fiveg": make_report(session, title="5G基站建设选址遇阻",
                             situation="居民担心辐射，3 个5G基站停工；12345热线接到投诉 40 件。"),
        "mixed": make_report(session, title="PM2.5 超标", situation="ＡＢＣ１２３ 工厂夜间排放，周边 5 个村受影响。"),
        "split": make_report(session, title="电，梯子", situation="仓库里的梯子坏了 3 把，电线老化。"),
    }
    session.commit()
    return made


def test_it_finds_one_two_three_character_words_and_phrases(session: Session, admin, corpus) -> None:
    assert find(session, admin, "电梯") == {corpus["elevator"].id}  # two characters: one token
    assert find(session, admin, "梯") == {corpus["elevator"].id, corpus["split"].id}
    assert find(session, admin, "停车难") == {corpus["parking"].id}
    assert find(session, admin, "加装电梯进展") == {corpus["elevator"].id}
    assert find(session, admin, "老旧小区加装电梯") == {corpus["elevator"].id}
    assert find(session, admin, "电梯加装") == set()  # the words, not just the characters


def test_three_characters_are_found_together_not_as_two_pairs_anywhere(
        session: Session, admin) -> None:
    # 养老 and 老院 both occur here, but never 养老院.
    apart = make_report(session, title="养老服务中心", situation="敬老院，床位紧张；老院区改造。")
    together = make_report(session, title="养老院床位不足", situation="全县养老院只有 3 所。")
    session.commit()
    assert find(session, admin, "养老院") == {together.id}
    assert find(session, admin, "老院区") == {apart.id}
    assert find(session, admin, "养老院床位") == {together.id}
    assert find(session, admin, "老院床位") == {together.id}  # 敬老院，床位: not together


def test_long_words_stand_whole_though_their_trigrams_are_apart(
        session: Session, admin) -> None:
    """PostgreSQL finds a word of four characters or more by the trigrams that cover it,
    then checks it whole in the report's long runs; SQLite as a phrase. Both must refuse
    a report that holds every covering trigram but not the word."""
    # 养老院 and 院床位 (养老院床位's cover) both occur here, never 养老院床位 itself.
    apart = make_report(session, title="养老院很好", situation="医院床位紧张，住院难。")
    whole = make_report(session, title="养老院床位不足", situation="全县养老院只有 3 所。")
    noted = make_report(session, title="敬老院改造", situation="进展缓慢。")
    session.commit()
    notes.add(session, noted, admin, "与民政局核实：福利院床位周转困难。")
    session.commit()
    assert {"养老院", "院床位"} <= set(text.Term("养老院床位").cover())
    assert find(session, admin, "养老院床位") == {whole.id}
    assert find(session, admin, "养老院床位 全县") == {whole.id}
    assert find(session, admin, "院床位紧张") == {apart.id}
    assert find(session, admin, "福利院床位") == {noted.id}  # office staff read the notes
    assert find(session, admin, "床位周转") == {noted.id}
    # An edit that breaks the word takes the report out of its matches.
    whole.title = "养老院的床位不足"
    session.commit()
    assert find(session, admin, "养老院床位") == set()


@pytest.mark.parametrize("collected", [True, False], ids=["collected", "walked"])
def test_long_words_match_like_whether_matches_are_collected_or_walked(
        session: Session, network: Network, admin, collected: bool, monkeypatch) -> None:
    """PostgreSQL either collects a word's matches first or walks reports newest first,
    checking each (`matching.sparse` chooses); a long word's check is in both, for staff
    and for a department (which may not read notes), and agrees with LIKE."""
    from store.search import matching

    monkeypatch.setattr(matching, "sparse", lambda *a, **k: collected)
    dept = staff(session, "roads1", Role.DEPARTMENT, network.roads)
    texts = ["养老院床位紧张", "养老院很好，医院床位紧张", "床位紧张的养老院", "敬老院扩建"]
    made = [make_report(session, title=t, situation="情况说明。") for t in texts]
    session.commit()
    notes.add(session, made[3], admin, "福利院床位紧张，需协调。")
    session.commit()
    for report in made:
        adopt(session, report, staff(session, f"boss{report.id}", Role.ADMIN))
        transfers.transfer(session, report, staff(session, f"boss{report.id}b", Role.ADMIN),
                           department=network.roads, due_days=5, escalate_days=3)
    session.commit()
    for q, staff_sees, dept_sees in [("养老院床位", {0}, {0}), ("院床位紧张", {0, 1, 3}, {0, 1}),
                                     ("养老院床位 紧张", {0}, {0}), ("床位紧张", {0, 1, 2, 3}, {0, 1, 2})]:
        for user, want in ((admin, staff_sees), (dept, dept_sees)):
            for sort in ("new", "relevance"):
                session.rollback()
                res = search(session, user, Filters(q=q, per_page=100, sort=sort))
                got = {h.report.id for h in res.hits}
                assert got == {made[i].id for i in want}, (q, user.role, sort)
                assert res.total == len(want)
                like = like_search(session, user, Filters(q=q, per_page=100))
                assert got == {h.report.id for h in like.hits}, (q, user.role, "LIKE")


def test_a_long_word_far_into_a_long_report_is_found(session: Session, admin) -> None:
    # PostgreSQL's word lists keep no position past 16,383: a phrase there could not be
    # matched; a long word's check reads the runs, which have no such limit.
    long_text = "，".join(["老旧小区改造"] * 3000) + "，加装电梯补贴申请难。"
    far = make_report(session, title="改造情况", situation=long_text)
    session.commit()
    assert find(session, admin, "加装电梯补贴") == {far.id}


def test_postgresql_is_asked_for_trigrams_which_its_index_holds() -> None:
    """A three-character word is one trigram the GIN index answers alone, kept in a
    tsvector of its own at its bigram's position, and a longer one the trigrams that
    cover it (checked whole in the report's long runs); a two-character word or a Latin
    one is asked of the words' tsvector."""
    assert text.tsqueries(text.parse("养老院")) == ("", "('养老院')")
    assert text.tsqueries(text.parse("养老院床位 电梯 养老院")) == (
        "('电梯')", "('养老院' & '院床位') & ('养老院')")
    # A long word's trigrams carry no weights: its runs say which fields it stands in.
    assert text.tsqueries(text.parse("一二三四五六七八九 电梯"), "AB") == (
        "('电梯':AB)", "('一二三' & '四五六' & '七八九')")
    assert text.tsqueries(text.parse("一二三四五六七八九 电梯"), "AB", covers=False) == (
        "('电梯':AB)", "")
    assert text.long_terms(text.parse("养老院床位 电梯 养老院 5g")) == ["养老院床位"]
    assert text.long_runs("养老院床位不足，5G基站。老旧小区加装电梯") == "养老院床位不足 老旧小区加装电梯"
    assert text.long_runs("養老院床位", traditional=True) == "养老院床位"
    assert text.tsqueries(text.parse("电梯 5g 路"), "AB") == ("('电梯':AB) & '5g':*AB & '路':*AB", "")
    words, grams = text.tsvectors([("A", "养老院床位"), ("B", "加装电梯，5G基站")])
    assert words.split() == ["'养老':1A", "'老院':2A", "'院床':3A", "'床位':4A", "'位':5A",
                             "'加装':6B", "'装电':7B", "'电梯':8B", "'梯':9B", "'5g':10B",
                             "'基站':11B", "'站':12B"]
    assert grams.split() == ["'养老院':1A", "'老院床':2A", "'院床位':3A", "'加装电':6B",
                             "'装电梯':7B"]


def test_it_does_not_match_across_punctuation(session: Session, admin, corpus) -> None:
    # 电，梯子 has 电 and 梯 side by side, but not the word 电梯.
    assert corpus["split"].id not in find(session, admin, "电梯")


def test_it_finds_latin_numbers_and_mixed_text(session: Session, admin, corpus) -> None:
    assert find(session, admin, "5G基站") == {corpus["fiveg"].id}
    assert find(session, admin, "5g") == {corpus["fiveg"].id}
    assert find(session, admin, "12345热线") == {corpus["fiveg"].id}
    assert find(session, admin, "12345") == {corpus["fiveg"].id}
    assert find(session, admin, "pm2") == {corpus["mixed"].id}


def test_full_width_and_half_width_are_the_same(session: Session, admin, corpus) -> None:
    assert find(session, admin, "ABC123") == {corpus["mixed"].id}
    assert find(session, admin, "ａｂｃ１２３") == {corpus["mixed"].id}
    assert find(session, admin, "５Ｇ基站") == {corpus["fiveg"].id}


def test_several_words_must_all_occur(session: Session, admin, corpus) -> None:
    assert find(session, admin, "电梯 老人") == {corpus["elevator"].id}
    assert find(session, admin, "电梯 停车") == set()


@pytest.mark.parametrize("q", ['"', "*", "AND", "电梯 AND", "NEAR(", 'NEAR("电梯"', "电梯*",
                               "'; DROP TABLE reports; --", "title:电梯", "{title}: 电梯",
                               "^电梯", "电梯 OR 停车", "-电梯", "(电梯", "\\", "%", "_"])
def test_operators_quotes_and_sql_typed_by_a_user_are_just_text(
        session: Session, admin, corpus, q: str) -> None:
    session.rollback()
    res = search(session, admin, Filters(q=q))
    assert res.total == len(res.hits)
    # The words in it still count; operators in capitals and punctuation do not.
    if q in ("电梯 AND", 'NEAR("电梯"', "电梯*", "^电梯", "-电梯", "(电梯"):
        assert ids(res) == {corpus["elevator"].id}
    if q == "电梯 OR 停车":  # every word must occur
        assert ids(res) == set()
    assert session.scalar(sa.select(sa.func.count()).select_from(Report)) == 5


@pytest.mark.parametrize("q", ["", "   ", "，。！？", "——……", "!!!"])
def test_an_empty_or_punctuation_query_lists_by_the_other_filters(
        session: Session, admin, corpus, q: str) -> None:
    session.rollback()
    res = search(session, admin, Filters(q=q, per_page=100))
    assert res.total == 5
    assert (res.notice is not None) == bool(q.strip())


def test_a_5000_character_query_is_cut_with_a_notice(session: Session, admin, corpus) -> None:
    session.rollback()
    res = search(session, admin, Filters(q="电梯" + "加" * 4998))
    assert res.notice and "太长" in res.notice
    assert res.total == 0


def test_traditional_characters_fold_only_when_the_office_turns_it_on(
        session: Session, admin, corpus) -> None:
    assert find(session, admin, "電梯") == set()
    index.set_fold_traditional(session, True)
    session.commit()
    assert find(session, admin, "電梯") == {corpus["elevator"].id}
    trad = make_report(session, title="舊樓加裝電梯", situation="三棟樓 90 戶居民聯名。")
    session.commit()
    assert find(session, admin, "旧楼加装电梯") == {trad.id}
    assert find(session, admin, "电梯") == {corpus["elevator"].id, trad.id}
    index.set_fold_traditional(session, False)
    session.commit()
    assert find(session, admin, "電梯") == {trad.id}


# -- kept in step, in the same transaction -----------------------------------------

def test_an_edit_is_searchable_at_once_and_the_old_text_is_gone(
        session: Session, admin, corpus) -> None:
    report = corpus["parking"]
    editing.edit(session, report, admin, title="人民路违停整治", situation=report.situation,
                 analysis=None, suggestion=report.suggestion, summary="建议交警加强夜间巡查",
                 expected_version=report.version)
    session.commit()
    assert find(session, admin, "违停整治") == {report.id}
    assert find(session, admin, "停车难") == set()
    assert find(session, admin, "夜间巡查") == {report.id}  # the staff summary


def test_a_rolled_back_edit_leaves_the_index_as_it_was(session: Session, admin, corpus) -> None:
    report = corpus["parking"]
    editing.edit(session, report, admin, title="人民路违停整治", situation=report.situation,
                 analysis=None, suggestion=report.suggestion, summary=None,
                 expected_version=report.version)
    session.rollback()
    assert find(session, admin, "违停整治") == set()
    assert find(session, admin, "停车难") == {report.id}


def test_notes_are_searched_for_office_staff_only(
        session: Session, network: Network, corpus) -> None:
    clerk = staff(session, "clerk1", Role.CLERK)
    dept = staff(session, "roads1", Role.DEPARTMENT, network.roads)
    report = corpus["elevator"]
    notes.add(session, report, clerk, "已电话联系住建局王科长，电梯招标下周启动")
    session.commit()
    assert find(session, clerk, "王科长") == {report.id}
    assert find(session, clerk, "电梯招标") == {report.id}  # a long word, in a note
    hit = search(session, clerk, Filters(q="王科长")).hits[0]
    assert hit.snippet is not None and "内部备注" in hit.snippet and "<mark>王科长</mark>" in hit.snippet
    # Give the department the report: it may see it, but not the office's notes.
    adopt(session, report, staff(session, "boss", Role.ADMIN))
    transfers.transfer(session, report, staff(session, "boss2", Role.ADMIN),
                       department=network.roads, due_days=5, escalate_days=3)
    session.commit()
    assert find(session, dept, "电梯") == {report.id}
    assert find(session, dept, "王科长") == set()
    assert find(session, dept, "电梯招标") == set()
    assert find(session, dept, "老旧小区") == {report.id}  # a long word in the body


def test_a_full_rebuild_finds_what_the_running_index_found(session: Session, admin, corpus) -> None:
    before = {q: find(session, admin, q) for q in ("电梯", "5G", "梯", "人民路", "12345")}
    index.rebuild(session)
    session.commit()
    assert {q: find(session, admin, q) for q in before} == before


# -- filters -------------------------------------------------------------------------

def test_filters_combine_with_the_text(session: Session, admin, network: Network) -> None:
    town = CollectionPoint(name="城关镇", unit_id=network.county.id)
    session.add(town)
    session.flush()
    village = CollectionPoint(name="东门社区", parent_id=town.id, unit_id=network.township.id)
    elsewhere = CollectionPoint(name="东山乡", unit_id=network.other_county.id)
    session.add_all([village, elsewhere])
    session.flush()
    member = reporter(session)
    member.kind = ReporterKind.MEMBER
    topic = Topic(title="加装电梯", description="d", deadline=datetime(2030, 1, 1, tzinfo=UTC))
    session.add(topic)
    session.flush()
    a = make_report(session, point=village, who=member, urgent=True, category="livelihood",
                    title=ELEVATOR)
    b = make_report(session, point=town, category="economy", title=ELEVATOR)
    c = make_report(session, point=elsewhere, title=ELEVATOR)
    a.topic_id = topic.id
    b.created_at = datetime(2025, 3, 1, 2, 0, tzinfo=UTC)  # 2025-03-01 10:00 in Beijing
    c.created_at = datetime(2025, 2, 28, 17, 0, tzinfo=UTC)  # 2025-03-01 01:00 in Beijing
    session.commit()
    assert find(session, admin, "电梯", point_id=town.id) == {a.id, b.id}  # and points below
    assert find(session, admin, "电梯", point_id=village.id) == {a.id}
    assert find(session, admin, "电梯", unit_id=network.county.id) == {a.id, b.id}
    assert find(session, admin, "电梯", reporter_kind="member") == {a.id}
    assert find(session, admin, "电梯", urgency="urgent") == {a.id}
    assert find(session, admin, "电梯", topic_id=topic.id) == {a.id}
    assert find(session, admin, "电梯", category="economy") == {b.id}
    assert find(session, admin, "", date_from=date(2025, 3, 1), date_to=date(2025, 3, 1)) == {b.id, c.id}
    assert find(session, admin, "", date_to=date(2025, 2, 28)) == set()
    assert find(session, admin, "电梯", status=("submitted",)) == {a.id, b.id, c.id}
    assert find(session, admin, "电梯", status=("adopted",)) == set()
    assert find(session, admin, "电梯", level=0) == {a.id, b.id, c.id}
    assert find(session, admin, "电梯", level=1) == set()


def test_overdue_means_an_open_transfer_past_its_deadline(
        session: Session, admin, network: Network) -> None:
    late, fresh = make_report(session), make_report(session)
    for r in (late, fresh):
        adopt(session, r, admin)
        transfers.transfer(session, r, admin, department=network.roads, due_days=5,
                           escalate_days=3)
    session.flush()
    tr = transfers.for_report(session, late)[0]
    tr.due_at = datetime.now(UTC) - timedelta(days=1)
    session.commit()
    assert find(session, admin, "", overdue=True) == {late.id}


def test_the_url_carries_every_filter(session: Session) -> None:
    f = Filters(q="加装电梯", status=("submitted", "reviewing"), level=1, category="livelihood",
                point_id=3, unit_id=4, reporter_kind="member", urgency="urgent", topic_id=5,
                date_from=date(2026, 1, 1), date_to=date(2026, 12, 31), overdue=True,
                days=7, mine=True, sort="relevance", page=2)
    back, problems = Filters.from_args(f.to_args())
    assert back == f and problems == []
    assert Filters().to_args() == {}


@pytest.mark.parametrize("args", [{"status": "nonsense"}, {"page": "-1"}, {"page": "x" * 50},
                                  {"from": "2026-13-45"}, {"point": "1 OR 1=1"},
                                  {"sort": "id; DROP"}, {"reporter": "mayor"}, {"level": "99"}])
def test_malformed_filters_are_named_and_ignored(args: dict[str, str]) -> None:
    f, problems = Filters.from_args(args)
    assert problems
    assert f.page >= 1 and f.sort in ("new", "relevance")


def test_newest_first_or_by_relevance(session: Session, admin) -> None:
    body = make_report(session, title="社区问题", situation="楼里 3 部电梯停运多日，住户 80 户。")
    title = make_report(session, title="电梯停运无人修", situation="已经 3 个月没人管，住户 80 户。")
    session.commit()
    newest = search(session, admin, Filters(q="电梯"))
    assert [h.report.id for h in newest.hits] == [title.id, body.id]
    session.rollback()
    body2 = make_report(session, title="小区问题多", situation="电梯停运 3 个月。")
    session.commit()
    best = search(session, admin, Filters(q="电梯停运", sort="relevance"))
    assert best.hits[0].report.id == title.id
    assert {h.report.id for h in best.hits} == {title.id, body.id, body2.id}


# -- access ---------------------------------------------------------------------------

def test_a_search_never_reveals_another_units_reports(session: Session, network: Network) -> None:
    mine_point = CollectionPoint(name="城关镇", unit_id=network.township.id)
    theirs_point = CollectionPoint(name="东山乡", unit_id=network.other_county.id)
    session.add_all([mine_point, theirs_point])
    session.flush()
    mine = make_report(session, point=mine_point, title="城关加装电梯")
    theirs = make_report(session, point=theirs_point, title="东山加装电梯秘密")
    session.commit()
    clerk = staff(session, "townclerk", Role.CLERK, network.township)
    res = search(session, clerk, Filters(q="电梯", per_page=100))
    assert ids(res) == {mine.id} and res.total == 1
    res = search(session, clerk, Filters(q="秘密"))
    assert res.total == 0 and res.hits == []
    assert like_search(session, clerk, Filters(q="秘密")).total == 0
    # Even naming the other unit or its point in the URL gives nothing.
    assert find(session, clerk, "电梯", unit_id=network.other_county.id) == set()
    assert find(session, clerk, "电梯", point_id=theirs_point.id) == set()
    assert theirs.id in find(session, staff(session, "top", Role.ADMIN), "秘密")


# -- highlighting ----------------------------------------------------------------------

def test_highlighting_marks_matches_and_escapes_everything_else(session: Session, admin) -> None:
    make_report(session, title="<script>alert(1)</script>电梯&坏了",
                situation="<b>电梯</b> 停了 3 天，住户 40 户。")
    session.commit()
    hit = search(session, admin, Filters(q="电梯")).hits[0]
    assert str(hit.title) == "&lt;script&gt;alert(1)&lt;/script&gt;<mark>电梯</mark>&amp;坏了"
    assert "&lt;b&gt;<mark>电梯</mark>&lt;/b&gt;" in str(hit.snippet)


def test_highlighting_maps_folded_text_back_to_the_original() -> None:
    q = text.parse("abc 电梯", traditional=True)
    assert str(text.highlight("ＡＢＣ１２３的電梯", q, True)) == "<mark>ＡＢＣ</mark>１２３的<mark>電梯</mark>"


def test_a_snippet_maps_a_character_folded_to_two_back_to_the_original() -> None:
    q = text.parse("电梯")
    # ㎡ folds to "m2" and ﬁ to "fi": the folded text is longer than the original.
    assert str(text.highlight("面积100㎡的ﬁ电梯", q)) == "面积100㎡的ﬁ<mark>电梯</mark>"
    assert text.matches("㎡电梯㎡电梯", q) == [(1, 3), (4, 6)]
    assert text.matches("ＡＢ电梯", text.parse("ab")) == [(0, 2)]


def test_every_character_matched_unfolded_folds_to_itself_or_to_punctuation() -> None:
    def wordish(s: str) -> bool:
        return any(c.isalnum() or text._IS_CJK.match(c) for c in s)

    as_is = [c for c in map(chr, range(0x110000)) if text._TO_FOLD.match(c) is None]
    assert len(as_is) > 27_000  # ASCII, the common Chinese characters, punctuation
    traditional = text._traditional_chars()
    for c in as_is:
        for fold in (False, True):
            folded = text._fold_char(c, fold)
            if fold and traditional.match(c):
                continue  # never matched unfolded when the office folds traditional
            assert folded == c or not (wordish(c) or wordish(folded)), (hex(ord(c)), folded)


def test_a_text_is_indexed_alike_folded_or_as_it_stands() -> None:
    """The index cuts a text of characters that stand as they are without folding it: the
    same runs, whichever such character stands between two words."""
    traditional = text._traditional_chars()
    for c in map(chr, range(0x110000)):
        if text._TO_FOLD.match(c) is None:
            for fold in (False, not traditional.match(c)):
                sample = f"电梯{c}加装AB{c}5g{c}"
                assert text._index_runs(sample, fold) == text.runs(text.normalize(sample, fold)), \
                    hex(ord(c))
    long_run = "加装电梯" * 20
    for sample in ("老旧小区，加装电梯", "ＡＢＣ１２３ 電梯", long_run, f"{long_run}，电梯", ""):
        for fold in (False, True):
            cut = [t for run in text.runs(text.normalize(sample, fold)) for t in text._cut(run)]
            assert text.tokens(sample, fold) == cut
            assert text.document(sample, fold) == " ".join(cut)


def test_a_text_is_highlighted_alike_folded_or_as_it_stands() -> None:
    q = text.parse("电梯 ab 12")
    for s in ("加装电梯，AB栋12楼……“电梯”", "加装电梯，ab栋12楼……“电梯”", "电梯ab12", "ab12电梯，12ab",
              "（电梯）：xab 12"):
        normalized, where = text._normalize_mapped(s, False)
        spans = [(a, b) if where is None else (where[a], where[b - 1] + 1)
                 for a, b in text._spans(normalized, q)]
        assert text.matches(s, q) == spans, s
    folding = text.parse("电梯", traditional=True)
    assert text.matches("舊樓電梯，新樓电梯", folding, True) == [(2, 4), (7, 9)]


# -- the index agrees with a plain scan --------------------------------------------------

WORDS = ["电梯", "加装", "小区", "停车", "养老", "社区", "道路", "供水", "学校", "医院", "噪音", "垃圾"]


def test_the_index_finds_exactly_what_a_like_scan_finds(session: Session, admin) -> None:
    rng = random.Random(7)
    for _ in range(60):
        words = rng.sample(WORDS, 4)
        make_report(session, title="".join(words[:2]) + "问题",
                    situation="，".join(words) + f"，涉及 {rng.randint(2, 99)} 户。")
    session.commit()
    pairs = [a + b for a in WORDS[:4] for b in WORDS[:4] if a != b]
    queries = WORDS + pairs + [p[1:] for p in pairs] + [p[:3] + "问" for p in pairs] + \
        [w[0] for w in WORDS] + [w[1] for w in WORDS] + ["问题", "户", "涉及", "梯问题"]
    for q in queries:
        session.rollback()
        fast = search(session, admin, Filters(q=q, per_page=100))
        slow = like_search(session, admin, Filters(q=q, per_page=100))
        assert (ids(fast), fast.total) == (ids(slow), slow.total), q


def test_status_filter_accepts_several(session: Session, admin) -> None:
    a, b = make_report(session), make_report(session)
    adopt(session, b, admin)
    session.commit()
    assert find(session, admin, "", status=(ReportStatus.SUBMITTED.value,
                                            ReportStatus.ADOPTED.value)) == {a.id, b.id}


def test_reporters_kind_is_read_from_the_reporter(session: Session, admin) -> None:
    someone = reporter(session)
    make_report(session, who=someone)
    session.commit()
    assert find(session, admin, "", reporter_kind="citizen")
    assert session.get(Reporter, someone.id) is not None


def test_upgrading_to_the_search_revision_indexes_reports_already_filed(db_url: str) -> None:
    from store import migrate
    from store.db import make_engine, make_sessionmaker

    migrate.upgrade(db_url, "0005")
    engine = make_engine(db_url)
    with make_sessionmaker(engine)() as s, s.begin():
        # The flush hook would try to write an index that does not exist yet: plain SQL.
        s.execute(sa.text("INSERT INTO reporters (channel, external_id, chat_id, kind, language, "
                          "created_at, topics_opt_in) VALUES ('web', 'x', 'x', 'citizen', 'zh', "
                          "CURRENT_TIMESTAMP, false)"))
        s.execute(sa.text(
            "INSERT INTO reports (tracking_no, category, title, situation, suggestion, urgency, "
            "anonymous, answers, form, reporter_id, status, review_level, version, created_at, "
            "updated_at) VALUES ('2026-000001', 'livelihood', '老旧小区加装电梯', '12 个小区', '建议', "
            "'normal', false, '{}', 'report', 1, 'submitted', 0, 1, CURRENT_TIMESTAMP, "
            "CURRENT_TIMESTAMP)"))
    migrate.upgrade(db_url)
    with make_sessionmaker(engine)() as s:
        admin = User(username="a", password_hash="x", role=Role.ADMIN, active=True)
        assert search(s, admin, Filters(q="电梯")).total == 1
    engine.dispose()


def test_relative_days_and_my_queue_keep_a_saved_view_current(
        session: Session, admin, clerk, director) -> None:
    from store.search import views

    old = make_report(session, urgent=True, created_at=datetime.now(UTC) - timedelta(days=9))
    new = make_report(session, urgent=True)
    waiting_for_director = make_report(session)
    lifecycle.apply(session, waiting_for_director, lifecycle.Action.SIGN_OFF, user=clerk)
    session.commit()
    assert find(session, admin, "", urgency="urgent", days=7) == {new.id}
    assert find(session, clerk, "", mine=True) == {old.id, new.id}
    assert find(session, director, "", mine=True) == {waiting_for_director.id}
    counts = dict((v.name, n) for v, n in views.builtin_counts(session, clerk))
    assert counts == {"待我审核": 2, "本周紧急": 1}


@pytest.mark.parametrize("drive", [0, 10**9], ids=["walk-filters", "visit-matches"])
def test_filtered_counts_agree_with_a_scan_whichever_side_drives(
        session: Session, network: Network, monkeypatch: pytest.MonkeyPatch, drive: int) -> None:
    from store.search import query as query_mod

    monkeypatch.setattr(query_mod, "DRIVE_FROM_FILTERS", drive)
    here = CollectionPoint(name="城关镇", unit_id=network.township.id)
    there = CollectionPoint(name="东山乡", unit_id=network.other_county.id)
    session.add_all([here, there])
    session.flush()
    rng = random.Random(3)
    for i in range(40):
        words = rng.sample(WORDS, 3)
        make_report(session, point=here if i % 3 else there, title="".join(words),
                    situation="，".join(words) + f"，{i} 户。", urgent=i % 4 == 0)
    session.commit()
    clerk = staff(session, "towny2", Role.CLERK, network.township)
    for q in ("电梯", "小区", "学校", "加装"):
        for extra in ({}, {"urgency": "urgent"}):
            session.rollback()
            fast = search(session, clerk, Filters(q=q, per_page=100, **extra))
            slow = like_search(session, clerk, Filters(q=q, per_page=100, **extra))
            assert (fast.total, ids(fast)) == (slow.total, ids(slow)), (q, extra)
