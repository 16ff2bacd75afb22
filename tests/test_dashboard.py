"""The 统计 dashboard: a period's figures by unit (rolled up), point, member, category, channel and
source, each equal to the inbox it clicks through to."""

from __future__ import annotations

import json
import re
from datetime import date, datetime, timedelta
from pathlib import Path

import openpyxl
import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from minyi.cli import main
from store import migrate
from store.models import AdoptionLevel, Channel, Report, ReportEvent, Role, Unit, User
from store.network import points, roster
from store.outputs import dashboard, destinations, period, upward
from store.outputs.journal import issues, publishing, series
from store.reports import lifecycle, timings
from store.reports.lifecycle import Action
from store.review import deadlines, instructions
from store.search import Filters, count
from tests.conftest import Network, staff
from tests.domain_support import make_report, reporter
from tests.review_support import adopt
from tests.test_cli import env  # noqa: F401 (the command line's environment)
from tests.web_support import login

MARCH = period.month(2026, 3)
# 2026-03-02 is a Monday; 03-06 a Friday, 03-09 the next Monday.
MONDAY = datetime.fromisoformat("2026-03-02T09:00:00+08:00")


def _at(report: Report, days: float, actions: tuple[str, ...]) -> None:
    """Restamp `report`'s events of `actions` (and its first answer and decision) `days` after it
    was filed, and recount the working days the report keeps, as if it had happened then."""
    at = report.created_at + timedelta(days=days)
    ids = sa.select(ReportEvent.id).where(ReportEvent.report_id == report.id,
                                          ReportEvent.action.in_(actions))
    report_ = sa.update(ReportEvent).where(ReportEvent.id.in_(ids)).values(created_at=at)
    Session.object_session(report).execute(report_)  # type: ignore[union-attr]
    if report.decided_at is not None:
        report.decided_at = at
    if report.answered_at is not None:
        report.answered_at = at
    Session.object_session(report).flush()  # type: ignore[union-attr]
    timings.recount(Session.object_session(report))  # type: ignore[arg-type]


@pytest.fixture
def office(session: Session, network: Network, admin: User) -> dict[str, Report]:
    """Six March reports in three units, one February report, with every kind of fact."""
    town = points.create_point(session, "城关镇")
    town.unit_id = network.township.id
    east = points.create_point(session, "东山镇")
    east.unit_id = network.other_county.id
    member = reporter(session, external_id="m1")
    person = roster.add(session, roster.entry(name="李委员", role="member", unit_id=network.township.id))
    member.kind, member.member_name, member.member_id = "member", "李委员", person.id
    web = reporter(session, external_id="w1", channel=Channel.WEB)
    r = {
        "a": make_report(session, town, who=member, created_at=MONDAY),
        "b": make_report(session, town, created_at=MONDAY, category="economy"),
        "c": make_report(session, town, who=web, created_at=MONDAY),
        "d": make_report(session, unit=network.county, created_at=MONDAY + timedelta(days=1)),
        "e": make_report(session, east, created_at=MONDAY + timedelta(days=2)),
        "f": make_report(session, east, who=member, created_at=MONDAY + timedelta(days=3)),
        "feb": make_report(session, town, created_at=MONDAY - timedelta(days=20)),
    }
    adopt(session, r["a"], admin)
    adopt(session, r["b"], admin, AdoptionLevel.CITY)
    adopt(session, r["e"], admin)
    adopt(session, r["feb"], admin)
    lifecycle.apply(session, r["a"], Action.RAISE, user=admin,
                    values={"adoption_level": AdoptionLevel.PROVINCE})
    lifecycle.apply(session, r["c"], Action.DECLINE, user=admin, note="重复")
    lifecycle.apply(session, r["d"], Action.RETURN, user=admin, note="请补充")
    instructions.record(session, r["b"], admin, leader_name="王明", leader_title="县长",
                        level="county", text="请研究。", instructed_on=date(2026, 3, 9))
    instructions.record(session, r["b"], admin, leader_name="张华", leader_title="市长",
                        level="city", text="请落实。", instructed_on=date(2026, 3, 10))
    record = upward.send(session, r["a"], destinations.find(session, "全国政协办公厅"), user=admin)
    upward.record_outcome(session, record, upward.Outcome("adopted"), user=admin)
    issue = issues.compose(session, series.find(session, "社情民意"), [r["a"], r["e"]], admin)
    publishing.sign_off(session, issue, admin)
    publishing.publish(session, issue, admin)
    lifecycle.apply(session, r["e"], Action.CLOSE, user=admin)
    lifecycle.apply(session, r["e"], Action.RATE, reporter=r["e"].reporter,
                    values={"satisfaction": "satisfied"})
    lifecycle.apply(session, r["a"], Action.CLOSE, user=admin)
    lifecycle.apply(session, r["a"], Action.REOPEN, reporter=member, note="还没解决")
    # Answers: a the same day, b after 4 working days (Friday), c and d after the weekend (5).
    for key, days in (("a", 0.1), ("b", 4), ("c", 7), ("d", 7), ("e", 1)):
        _at(r[key], days, ("adopt", "decline", "return"))
    session.commit()
    return r


def test_it_counts_a_months_figures_and_rolls_units_up_their_tree(
        session: Session, network: Network, admin: User, office: dict[str, Report]) -> None:
    d = dashboard.build(session, admin, MARCH, "unit")
    t = d.total
    assert (t.received, t.adopted, t.adopted_at) == (6, 3, [3, 2, 1, 1])
    assert round(t.adoption_rate or 0, 2) == 0.5
    assert (t.upward, t.carried) == (1, 2)
    assert t.instructed == {AdoptionLevel.COUNTY: 1, AdoptionLevel.CITY: 1,
                            AdoptionLevel.PROVINCE: 0, AdoptionLevel.NATIONAL: 0}
    assert t.rated == {"satisfied": 1, "basically": 0, "unsatisfied": 1}
    assert t.satisfaction_rate == 0.5
    # First answers after 0, 1, 4, 5, 5 working days; decisions (a, b, c, e) 0, 1, 4, 5.
    assert t.median_answer_days == 4 and t.median_decision_days == 2.5
    rows = {r.name: (r.depth, r.figures.received, r.figures.adopted) for r in d.rows}
    # The county's row holds its township's reports; the departments have none.
    assert rows == {"东山县政协": (0, 2, 1), "城关县政协": (0, 4, 2), "县住建局": (1, 0, 0),
                    "县水利局": (1, 0, 0), "城关镇政协联络组": (1, 3, 2)}
    assert [r.name for r in d.rows][:2] == ["东山县政协", "城关县政协"]


def test_it_groups_by_point_member_category_channel_and_source(
        session: Session, admin: User, office: dict[str, Report]) -> None:
    def by(key: str) -> dict[str, int]:
        return {r.name: r.figures.received for r in dashboard.build(session, admin, MARCH, key,
                                                                    {"economy": "经济"}).rows}

    assert by("point") == {"城关镇": 3, "东山镇": 2, "（无采集点）": 1}
    assert by("member") == {"李委员": 2, "（未指定）": 4}
    assert by("category") == {"livelihood": 5, "经济": 1}
    assert by("channel") == {"Telegram": 5, "网页": 1}
    assert by("source") == {"群众": 4, "委员": 2}


def test_every_figure_clicks_through_to_an_inbox_of_as_many_reports(
        session: Session, admin: User, network: Network, office: dict[str, Report]) -> None:
    checked = 0
    for key in ("unit", "point", "member", "category", "channel", "source"):
        d = dashboard.build(session, admin, MARCH, key)
        for row in [None, *d.rows]:
            figures = d.total if row is None else row.figures
            for figure, expected in (
                    ("received", figures.received), ("adopted_county", figures.adopted),
                    ("adopted_city", figures.adopted_at[1]), ("upward", figures.upward),
                    ("carried", figures.carried), ("instructed_city", figures.instructed[
                        AdoptionLevel.CITY]), ("rated_satisfied", figures.rated["satisfied"]),
                    ("rated_unsatisfied", figures.rated["unsatisfied"])):
                args = d.link(row, figure)
                if args is None:
                    assert row is not None and row.key is None
                    continue
                filters, problems = Filters.from_args(args)
                assert problems == []
                assert count(session, admin, filters) == expected, (key, row, figure)
                checked += 1
    assert checked > 150


def test_a_liaison_sees_only_their_units_subtree(
        session: Session, network: Network, office: dict[str, Report]) -> None:
    liaison = staff(session, "liaison", Role.UNIT_LIAISON, network.county)
    d = dashboard.build(session, liaison, MARCH, "unit")
    assert d.total.received == 4
    assert [r.name for r in d.rows] == ["城关县政协", "县住建局", "县水利局", "城关镇政协联络组"]
    assert "member" not in [dim.key for dim in dashboard.dimensions_for(liaison)]


def test_an_empty_period_has_zeros_and_no_rates(session: Session, admin: User,
                                                 office: dict[str, Report]) -> None:
    d = dashboard.build(session, admin, period.year(2020), "category")
    assert (d.total.received, d.rows, d.total.adoption_rate) == (0, [], None)
    assert d.total.median_answer_days is None and d.total.satisfaction_rate is None


def test_it_reads_months_quarters_years_and_ranges_and_refuses_bad_ones() -> None:
    now = date(2026, 5, 17)
    assert period.parse("month", "2026-02", now=now) == period.Period(
        date(2026, 2, 1), date(2026, 2, 28), "month")
    assert period.parse("quarter", "2026-Q4", now=now).end == date(2026, 12, 31)
    assert period.parse("year", "", now=now) == period.year(2026)
    assert period.parse(None, now=now) == period.month(2026, 5)
    assert period.parse("range", start="2026-01-05", end="2026-01-05", now=now).label == \
        "2026-01-05 至 2026-01-05"
    # Midnight in Beijing is 16:00 UTC the day before.
    assert period.month(2026, 3).since.isoformat() == "2026-02-28T16:00:00+00:00"
    with pytest.raises(period.PeriodError, match="结束日期（2026-01-01）早于开始日期"):
        period.parse("range", start="2026-02-01", end="2026-01-01")
    with pytest.raises(period.PeriodError, match="请填写统计期间"):
        period.parse("range")
    with pytest.raises(period.PeriodError, match="不是有效日期"):
        period.parse("range", start="2026-02-30")
    for kind, value in (("month", "2026-13"), ("quarter", "2026-Q5"), ("year", "0")):
        with pytest.raises(period.PeriodError, match="无法识别"):
            period.parse(kind, value)


def test_the_median_of_a_histogram_is_the_statistics_median() -> None:
    from collections import Counter
    assert dashboard.median(Counter()) is None
    assert dashboard.median(Counter({3: 1})) == 3
    assert dashboard.median(Counter({1: 1, 4: 1})) == 2.5
    assert dashboard.median(Counter({0: 2, 9: 1})) == 0


def test_the_page_shows_the_figures_as_a_table_with_links_and_the_charts_data(
        client: FlaskClient, session: Session, admin: User, office: dict[str, Report]) -> None:
    login(client, "alice")
    resp = client.get("/stats?period=month&value=2026-03&by=unit")
    page = resp.get_data(as_text=True)
    assert resp.status_code == 200
    assert "2026年3月" in page and "收到 6 条信息，采用 3 条" in page
    # The county's row holds its township's: 4 received, linked to the inbox of its subtree.
    county = session.scalar(sa.select(Unit.id).where(Unit.name == "城关县政协"))
    assert f'/search?from=2026-03-01&amp;to=2026-03-31&amp;unit={county}">4</a>' in page
    data = re.search(r'<script type="application/json" id="dashboard-data">(.*?)</script>', page, re.S)
    assert data is not None
    chart = json.loads(data.group(1))
    assert [(r["name"], r["received"]) for r in chart["rows"]] == [("东山县政协", 2), ("城关县政协", 4)]
    # A bar opens the same inbox as the table's number, and that inbox lists as many reports.
    target = chart["rows"][1]["links"]["received"]
    listed = client.get(target).get_data(as_text=True)
    assert "共 4 条" in listed or "4 条" in listed
    assert "vendor/echarts/echarts.common.min.js" in page and "<script>" not in page
    assert client.get("/static/vendor/echarts/echarts.common.min.js").status_code == 200


def test_the_page_refuses_a_period_that_ends_before_it_starts(
        client: FlaskClient, admin: User) -> None:
    login(client, "alice")
    resp = client.get("/stats?period=range&from=2026-03-10&to=2026-03-01")
    assert resp.status_code == 400
    assert "结束日期（2026-03-01）早于开始日期（2026-03-10）" in resp.get_data(as_text=True)
    resp = client.get("/stats?period=month&value=2026-13")
    assert resp.status_code == 400 and "无法识别" in resp.get_data(as_text=True)
    # No period: the current month.
    assert client.get("/stats").status_code == 200


@pytest.mark.usefixtures("env")
def test_the_command_line_gives_the_same_figures_as_csv_json_and_xlsx(
        session: Session, network: Network, office: dict[str, Report], tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    # The tables were made from the models, which equal the migrations (test_migrations).
    session.execute(sa.text("CREATE TABLE alembic_version (version_num VARCHAR(32) PRIMARY KEY)"))
    session.execute(sa.text("INSERT INTO alembic_version VALUES (:v)"), {"v": migrate.head()})
    session.commit()
    assert main(["stats", "--from", "2026-03-01", "--to", "2026-03-31", "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert (data["total"]["received"], data["total"]["adopted"], data["total"]["adoption_rate"]) == \
        (6, 3, 0.5)
    assert {r["name"]: r["received"] for r in data["rows"]}["城关县政协"] == 4
    assert data["total"]["median_working_days_to_answer"] == 4

    assert main(["stats", "--from", "2026-03-01", "--to", "2026-03-31", "--by", "category",
                 "-o", str(tmp_path / "march.csv")]) == 0
    text = (tmp_path / "march.csv").read_bytes().decode("utf-8-sig")
    lines = text.splitlines()
    assert lines[0].startswith("类别,收到,采用,采用率,市政协及以上采用")
    assert lines[-1].startswith("合计,6,3,50.0%")

    assert main(["stats", "--from", "2026-03-01", "--to", "2026-03-31", "--by", "point",
                 "-o", str(tmp_path / "march.xlsx")]) == 0
    sheet = openpyxl.load_workbook(tmp_path / "march.xlsx").active
    assert sheet is not None
    assert [[c.value for c in row][:2] for row in sheet.iter_rows(min_row=2)] == [
        ["东山镇", 2], ["城关镇", 3], ["（无采集点）", 1], ["合计", 6]]

    # A liaison's figures are their unit's; a period backwards is refused with the reason.
    staff(session, "liaison", Role.UNIT_LIAISON, network.county)
    assert main(["stats", "--from", "2026-03-01", "--to", "2026-03-31", "--user", "liaison",
                 "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["total"]["received"] == 4
    assert main(["stats", "--from", "2026-03-31", "--to", "2026-03-01"]) == 1
    assert "早于开始日期" in capsys.readouterr().err
    assert main(["stats", "--from", "2026-03-01", "--to", "2026-03-31", "--user", "liaison",
                 "--by", "member"]) == 1


def test_a_calendar_change_recounts_the_working_days_reports_waited(
        session: Session, office: dict[str, Report], admin: User) -> None:
    b = office["b"]
    session.refresh(b)
    assert (b.answer_workdays, b.decision_workdays) == (4, 4)  # Monday to Friday
    deadlines.save(session, calendar="china", days={}, hours={},
                   days_off=frozenset({date(2026, 3, 3)}))  # the Tuesday off
    session.refresh(b)
    assert (b.answer_workdays, b.decision_workdays) == (3, 3)
    assert dashboard.build(session, admin, MARCH).total.answer_days[3] >= 1
