"""积分 and 考评序列 (issue 13, point 2): rules by date, series by year, rankings and breakdowns."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from store.models import (
    Adoption,
    AdoptionLevel,
    AssessmentSeries,
    CollectionPoint,
    Report,
    ScoreRuleSet,
    SeriesMember,
    User,
)
from store.network import points as points_mod
from store.outputs import period, scorerules, scoring
from store.outputs.period import PeriodError
from store.outputs.scorerules import RuleError
from store.outputs.scoring import SeriesError
from store.review import instructions
from tests.conftest import Network
from tests.domain_support import make_report
from tests.review_support import adopt
from tests.test_races import together

NOV = period.named("2026-11")


def _rules(**over: str) -> dict[str, str]:
    typed = {key: "0" for key, _ in scorerules.RULES}
    typed[scorerules.PER] = "1"
    return {**typed, **over}


def _point(session: Session, unit_id: int, name: str) -> CollectionPoint:
    p = points_mod.create_point(session, name, address="人民路1号")
    p.unit_id = unit_id
    session.commit()
    return p


def _adopted(session: Session, point: CollectionPoint, admin: User, on: date,
             level: AdoptionLevel = AdoptionLevel.COUNTY, title: str = "人民路路灯长期不亮") -> int:
    report = make_report(session, point, title=title,
                         now=datetime(on.year, on.month, on.day, 2, tzinfo=UTC))
    adopt(session, report, admin, level)
    # The office adopted it on `on` (the lifecycle stamps today).
    session.execute(sa.update(Adoption).where(Adoption.report_id == report.id)
                    .values(adopted_on=on))
    session.commit()
    return report.id


@pytest.fixture
def series(session: Session, network: Network) -> int:
    s = scoring.create_series(session, "区县政协")
    scoring.place(session, s, 2026, [network.county.id, network.other_county.id])
    session.commit()
    return s.id


def test_it_reads_months_quarters_years_and_ranges_and_refuses_the_rest() -> None:
    assert (NOV.start, NOV.end, NOV.label) == (date(2026, 11, 1), date(2026, 11, 30), "2026年11月")
    q4 = period.named("2026-Q4")
    assert (q4.start, q4.end, q4.label) == (date(2026, 10, 1), date(2026, 12, 31), "2026年第四季度")
    assert period.named("2026").end == date(2026, 12, 31)
    assert period.named("2026-01-05..2026-02-03").key == "2026-01-05..2026-02-03"
    assert period.last_month(date(2027, 1, 5)).key == "2026-12"
    with pytest.raises(PeriodError, match="早于开始日期"):
        period.named("2026-02-03..2026-01-05")
    for bad in ("2026-13", "", "next month", "2026-Q5"):
        with pytest.raises(PeriodError):
            period.named(bad)


def test_it_refuses_a_rule_set_that_divides_by_zero_or_is_absurd(session: Session,
                                                                 admin: User) -> None:
    for typed, words in ((_rules(submitted="1", submitted_per="0"), "除以零"),
                         (_rules(**{"adopted.county": "-3"}), "负数"),
                         (_rules(**{"adopted.county": "1e9"}), "不能超过"),
                         (_rules(**{"adopted.county": "abc"}), "请填写分值"),
                         (_rules(**{"adopted.county": "1.234"}), "两位小数"),
                         (_rules(), "什么也不计分")):
        with pytest.raises(RuleError, match=words):
            scorerules.save(session, admin, date(2026, 1, 1), typed)
    assert session.scalar(sa.select(sa.func.count()).select_from(ScoreRuleSet)) == 0


def test_it_scores_each_fact_by_the_rules_in_force_on_its_day(
        session: Session, admin: User, network: Network, series: int) -> None:
    point = _point(session, network.county.id, "城关镇便民服务中心")
    scorerules.save(session, admin, date(2026, 1, 1), _rules(**{"adopted.county": "2"}))
    session.commit()
    _adopted(session, point, admin, date(2026, 10, 20))
    _adopted(session, point, admin, date(2026, 11, 10))
    before = scoring.compute(session, NOV).ranking(series)
    assert before is not None and before.standings[0].score == Decimal("2.00")

    # From 15 November, adoption is worth 5: the November score changes, October's does not.
    scorerules.save(session, admin, date(2026, 11, 15), _rules(**{"adopted.county": "5"}))
    session.commit()
    late = _adopted(session, point, admin, date(2026, 11, 20), title="东河排污口雨后黑臭")
    nov = scoring.compute(session, NOV)
    county = nov.standing(network.county.id)
    assert county is not None
    assert county[1].score == Decimal("7.00")  # 2 (10 Nov, old rules) + 5 (20 Nov, new rules)
    oct_ = scoring.compute(session, period.named("2026-10")).standing(network.county.id)
    assert oct_ is not None and oct_[1].score == Decimal("2.00")
    lines = scoring.breakdown(session, county[1])
    assert [(x.title, x.points, x.rules_from) for x in lines if x.kind == "采用"] == [
        ("人民路路灯长期不亮", Decimal("2.00"), "2026-01-01"),
        ("东河排污口雨后黑臭", Decimal("5.00"), "2026-11-15")]
    assert late in {line.fact.report_id for line in county[1].lines}
    # The history is kept, and a date not after the latest set's is refused.
    assert [r.effective_from for r in scorerules.history(session)] == [date(2026, 11, 15),
                                                                      date(2026, 1, 1)]
    with pytest.raises(RuleError, match="须晚于"):
        scorerules.save(session, admin, date(2026, 11, 1), _rules(**{"adopted.county": "9"}))


def test_it_ranks_a_series_with_ties_rolls_up_the_units_below_and_prices_every_fact(
        session: Session, admin: User, network: Network, series: int) -> None:
    scorerules.save(session, admin, date(2026, 1, 1), _rules(
        **{"adopted.county": "2", "adopted.province": "8", "instructed.city": "6"},
        submitted="1", submitted_per="4"))
    session.commit()
    township = _point(session, network.township.id, "人民路社区")  # below the county
    other = _point(session, network.other_county.id, "东山镇")
    rid = _adopted(session, township, admin, date(2026, 11, 3))
    session.add(Adoption(report_id=rid, level=AdoptionLevel.PROVINCE, adopted_on=date(2026, 11, 9)))
    report = session.get_one(Report, rid)
    instructions.record(session, report, admin, leader_name="王明", leader_title="市长",
                        level=AdoptionLevel.CITY, text="请研究。", instructed_on=date(2026, 11, 12))
    session.commit()
    _adopted(session, other, admin, date(2026, 11, 4))
    scores = scoring.compute(session, NOV)
    ranking = scores.ranking(series)
    assert ranking is not None
    by_name = {s.name: s for s in ranking.standings}
    # County: 2 + 8 + 6 + one submitted report at 1/4 = 16.25; 东山: 2 + 0.25.
    assert by_name["城关县政协"].score == Decimal("16.25")
    assert by_name["城关县政协"].counts["adopted.province"] == 1
    assert by_name["东山县政协"].score == Decimal("2.25")
    assert [s.rank for s in ranking.standings] == [1, 2]
    # A unit with nothing this period still has its place, at 0.
    assert scoring.compute(session, period.named("2026-12")).ranking(series).standings[0].score == 0


def test_it_keeps_a_unit_in_one_series_a_year(session: Session, network: Network,
                                              series: int) -> None:
    parties = scoring.create_series(session, "民主党派")
    scoring.place(session, parties, 2026, [network.county.id])
    session.commit()
    rows = session.execute(sa.select(SeriesMember.series_id, SeriesMember.year)
                           .where(SeriesMember.unit_id == network.county.id)).all()
    assert rows == [(parties.id, 2026)]  # moved, not doubled
    scoring.place(session, parties, 2027, [network.county.id])
    session.commit()
    assert scoring.members(session, 2027) == {network.county.id: parties.id}
    with pytest.raises(SeriesError, match="不参加考评"):
        scoring.place(session, parties, 2026, [network.roads.id])
    with pytest.raises(SeriesError, match="已有名为"):
        scoring.create_series(session, "民主党派")


def test_it_keeps_one_rule_set_and_one_placement_when_two_admins_save_at_once(
        Session_: sessionmaker[Session], session: Session, admin: User, network: Network) -> None:
    made = scoring.create_series(session, "区县政协")
    other = scoring.create_series(session, "民主党派")
    session.commit()
    ids = (made.id, other.id)

    def save(i: int) -> str:
        with Session_() as s, s.begin():
            try:
                scorerules.save(s, None, date(2027, 1, 1), _rules(**{"adopted.county": str(i + 1)}))
            except RuleError:
                return "refused"
            series = s.get(AssessmentSeries, ids[i % 2])
            assert series is not None
            scoring.place(s, series, 2027, [network.county.id])
            return "saved"

    outcomes = together(save, n=4)
    session.rollback()
    # One set for the date; the others were told, none failed with a database error.
    assert sorted(outcomes) == ["refused", "refused", "refused", "saved"]
    assert session.scalar(sa.select(sa.func.count()).select_from(ScoreRuleSet)) == 1
    assert len(scoring.members(session, 2027)) == 1
